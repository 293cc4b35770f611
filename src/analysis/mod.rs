//! Analysis: measurements -> a finished [`Report`](crate::result::Report), every number
//! and sentence, once. `build` computes the rows (summaries, paired speedups,
//! verification, disturbance counts), `notes` the sentences, one per cause, and
//! `answer` the one line that leads. The reporters
//! ([`crate::report`]) only format what this layer stored in the result model.

mod answer;
mod build;
pub(crate) mod disturbance;
pub(crate) mod estimate;
mod notes;
mod scale_notes;
pub(crate) mod scaling;

pub use build::build;
pub use notes::load_notes;

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests;
