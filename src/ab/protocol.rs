//! The samples protocol between `parbench ab` and each build it measures: one typed,
//! versioned line per message over the build's stdin and stdout.
//!
//! ```text
//! parent -> build   ab parbench-samples/1                  (first, before anything)
//! build  -> parent  hello parbench-samples/1 {"plan":...,"environment":...}
//! parent -> build   sample <case> <runner>                 (one verified sample)
//! build  -> parent  sample {Sample as JSON}
//! build  -> parent  fail "<message>"                       (a wrong answer, a failed task:
//!                                                           then it exits 1)
//! build  -> parent  error "<message>"                      (a command line or request it
//!                                                           refuses: then it exits 2)
//! parent -> build   quit
//! ```
//!
//! The parent speaks first, so a program that only echoes (`cat`) is told from a
//! build at once, by its first line, instead of after a timeout. A build plans the
//! command line and builds every case's workload and runners before its hello: all
//! process starts and set-ups happen before the first sample, none inside one.

use serde::{Deserialize, Serialize};

use crate::fingerprint::Fingerprint;
use crate::runner::{RunnerId, Sample};

/// The protocol's name and version.
pub const VERSION: &str = "parbench-samples/1";

/// What a build says about itself and about what it will measure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    /// What the command line plans, as this build understood it.
    pub plan: serde_json::Value,
    /// The build's fingerprint (git commit, rustc; the machine as it sees it).
    pub environment: Fingerprint,
}

/// A line the parent sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// The greeting, first: the version the parent speaks.
    Greeting(String),
    /// One verified sample of `runner` on case `case` (its index in the plan).
    Sample {
        /// Case index.
        case: usize,
        /// Runner.
        runner: RunnerId,
    },
    /// Free everything and exit.
    Quit,
}

/// A line a build sends.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// The build's version and hello.
    Hello(String, Box<Hello>),
    /// A sample.
    Sample(Box<Sample>),
    /// The measurement failed (a wrong answer, a failed task); the build exits 1.
    Fail(String),
    /// A command line or request the build refuses; it exits 2.
    Error(String),
}

fn json_string(text: &str, what: &str, line: &str) -> Result<String, String> {
    serde_json::from_str::<String>(text).map_err(|_| format!("a bad {what} line {:?}", short(line)))
}

/// The first 120 characters of a line, for an error.
pub fn short(line: &str) -> &str {
    crate::worker::protocol::truncate(line, 120)
}

impl Request {
    /// Parses one line from the parent.
    pub fn parse(line: &str) -> Result<Request, String> {
        let mut words = line.split(' ');
        match (words.next(), words.next(), words.next(), words.next()) {
            (Some("ab"), Some(version), None, None) => Ok(Request::Greeting(version.to_string())),
            (Some("sample"), Some(case), Some(runner), None) if !runner.is_empty() => Ok(Request::Sample {
                case: case.parse().map_err(|_| format!("a bad case number in {:?}", short(line)))?,
                runner: RunnerId::intern(runner),
            }),
            (Some("quit"), None, None, None) => Ok(Request::Quit),
            _ => Err(format!("an unexpected request {:?}", short(line))),
        }
    }

    /// The request as one line, newline included.
    pub fn line(&self) -> String {
        match self {
            Request::Greeting(version) => format!("ab {version}\n"),
            Request::Sample { case, runner } => format!("sample {case} {runner}\n"),
            Request::Quit => "quit\n".to_string(),
        }
    }
}

impl Reply {
    /// Parses one line from a build.
    pub fn parse(line: &str) -> Result<Reply, String> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "hello" => {
                let (version, json) = rest.split_once(' ').unwrap_or((rest, ""));
                let hello = serde_json::from_str::<Hello>(json)
                    .map_err(|e| format!("a hello of {version:?} this parbench cannot read ({e})"))?;
                Ok(Reply::Hello(version.to_string(), Box::new(hello)))
            }
            "sample" => serde_json::from_str::<Sample>(rest)
                .map(|s| Reply::Sample(Box::new(s)))
                .map_err(|e| format!("a sample this parbench cannot read ({e})")),
            "fail" => json_string(rest, "fail", line).map(Reply::Fail),
            "error" => json_string(rest, "error", line).map(Reply::Error),
            _ => Err(format!("an unexpected line {:?}", short(line))),
        }
    }

    /// The reply as one line, newline included.
    pub fn line(&self) -> String {
        let quoted = |s: &str| serde_json::to_string(s).expect("strings serialise");
        match self {
            Reply::Hello(version, hello) => {
                format!("hello {version} {}\n", serde_json::to_string(hello).expect("a hello serialises"))
            }
            Reply::Sample(sample) => format!("sample {}\n", serde_json::to_string(sample).expect("samples serialise")),
            Reply::Fail(message) => format!("fail {}\n", quoted(message)),
            Reply::Error(message) => format!("error {}\n", quoted(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_reads_back_as_written() {
        let requests = [
            Request::Greeting(VERSION.into()),
            Request::Sample { case: 3, runner: RunnerId::new("threads") },
            Request::Quit,
        ];
        for r in requests {
            assert_eq!(Request::parse(r.line().trim_end()), Ok(r.clone()), "{r:?}");
        }
        let hello = Hello { plan: serde_json::json!({"cases": []}), environment: crate::fingerprint::collect() };
        for r in
            [Reply::Hello(VERSION.into(), Box::new(hello)), Reply::Fail("a \"b\"\nc".into()), Reply::Error("x".into())]
        {
            assert_eq!(Reply::parse(r.line().trim_end()), Ok(r.clone()), "{r:?}");
        }
    }

    #[test]
    fn lines_parse_strictly() {
        for bad in ["ab", "sample 1", "sample x threads", "sample 1 threads 2", "quit now", ""] {
            assert!(Request::parse(bad).is_err(), "{bad:?}");
        }
        for bad in ["hello parbench-samples/1", "hello v {}", "sample {}", "fail x", "ab parbench-samples/1", ""] {
            assert!(Reply::parse(bad).is_err(), "{bad:?}");
        }
    }
}
