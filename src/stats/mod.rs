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

pub use interval::{Interval, Shift, bootstrap_median, hodges_lehmann, moses_interval, moses_rank};
pub use normal::{erfc, normal_cdf, normal_quantile, normal_upper_tail};
pub use rank::{Alternative, RankMethod, RankTest, holm, mann_whitney, mann_whitney_p, smallest_p, u_distribution};
pub use summary::{RatioSummary, Summary, median, paired_ratios, ratio_summary, robust_cv, summarize};
