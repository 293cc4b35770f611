//! All statistics, computed here and only here, by hand: summaries and paired ratios
//! ([`summary`]), the normal distribution ([`normal`]), rank tests ([`rank`]),
//! intervals and the bootstrap ([`interval`]), and the scaling models ([`models`]).
//!
//! Every function returns finite numbers or `None`; nothing here can produce NaN.

pub mod interval;
pub mod models;
pub mod normal;
pub mod rank;
pub mod summary;

pub use interval::{bootstrap_median, hodges_lehmann, moses_interval};
pub use normal::normal_quantile;
pub use rank::{Alternative, holm, mann_whitney_p, smallest_p};
pub use summary::{RatioSummary, Summary, median, paired_ratios, ratio_summary, robust_cv, summarize};
