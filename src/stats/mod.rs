//! All statistics, computed here and only here, by hand: summaries and paired ratios
//! ([`summary`]), the normal distribution ([`normal`]), rank tests ([`rank`]),
//! intervals and the bootstrap ([`interval`]), paired differences ([`paired`]), the
//! fastest of several paired runners ([`fastest`]), and the scaling models ([`models`]).
//!
//! Every function returns finite numbers or `None`; nothing here can produce NaN.

pub mod fastest;
pub mod interval;
pub mod models;
pub mod normal;
pub mod paired;
pub mod rank;
pub mod summary;

pub use fastest::{Fastest, fastest};
pub use interval::{Interval, hodges_lehmann, median_interval, moses_interval, projected_half_width, relative_spread};
pub use normal::normal_quantile;
pub use paired::{fewest_for_signed_rank, signed_rank_interval, signed_rank_p};
pub use rank::{Alternative, holm, mann_whitney_p, smallest_p};
pub use summary::{RatioSummary, Summary, median, paired_ratios, ratio_summary, robust_cv, summarize};
