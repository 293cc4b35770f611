//! `pipeline`: N items through S stages joined by bounded queues, the seeds' assembly
//! line (`Queue`, the `ClosableQueue` and its sentinel, fan-out workers, subprocess
//! pipes). Each stage is a kind and a duration: `cpu:200us` computes (a chain of
//! dependent modular multiplications whose result is checked by a closed form), `sleep:1ms`
//! waits. The slowest stage, per worker, bounds the throughput; the report says which
//! it was and what bound it set next to the measured items per second.
//!
//! Every item's final value is checked against an independent computation (a cpu
//! stage's chain by its closed form, O(log n)), and every item must arrive at the sink
//! exactly once.

use std::time::Duration;

use super::topology::{Pipeline, Stage, StageContext, verify_sink};
use super::{Param, Params, Properties, TaskFuture, Timer, Verification, WorkloadSpec};

/// Most stages of one pipeline.
pub const MAX_STAGES: usize = 16;
/// Longest accepted stage duration.
pub const MAX_STAGE: Duration = Duration::from_secs(10);
/// Most items of one sample.
pub const MAX_ITEMS: u64 = 100_000;
/// Largest queue between two stages (the process model keeps this many items in a
/// pipe, which must never fill).
pub const MAX_QUEUE: u64 = 1024;

/// Steps of a cpu stage per microsecond it is declared to take (about what one core of
/// the machine it was tuned on does; the report shows the measured stage times).
const STEPS_PER_US: u64 = 250;

/// The chain's modulus, the Mersenne prime 2^61 - 1, and its multiplier.
const MODULUS: u64 = (1 << 61) - 1;
const MUL: u64 = 0x0123_4567_89AB_CDEF % MODULUS;

/// What a stage does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Computes for the duration.
    Cpu,
    /// Waits for the duration.
    Sleep,
    /// Test registries only: waits, and fails (returns an error) on the middle item.
    Fail,
    /// Test registries only: waits, and panics on the middle item.
    Panic,
    /// Test registries only: on the middle item, waits until the pipeline is torn
    /// down or twice `--timeout` has passed (a stage process is killed before).
    Hang,
    /// Test registries only: the stage's process exits on the middle item.
    Exit,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Cpu => "cpu",
            Kind::Sleep => "sleep",
            Kind::Fail => "fail",
            Kind::Panic => "panic",
            Kind::Hang => "hang",
            Kind::Exit => "exit",
        }
    }
}

/// The stage kinds anyone may name, and those only a test registry adds.
const KINDS: &[Kind] = &[Kind::Cpu, Kind::Sleep];
const FAULT_KINDS: &[Kind] = &[Kind::Cpu, Kind::Sleep, Kind::Fail, Kind::Panic, Kind::Hang, Kind::Exit];

/// One parsed stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StageKind {
    kind: Kind,
    duration: Duration,
}

/// Parses `--stages`: comma-separated `kind:duration` entries, durations a whole
/// number with a unit (`us`, `ms`, `s`).
fn parse_stages(text: &str, kinds: &[Kind]) -> Result<Vec<StageKind>, String> {
    let shown = super::param::shown;
    if text.trim().is_empty() {
        return Err("is empty: give stages like cpu:200us,sleep:1ms".into());
    }
    let entries: Vec<&str> = text.split(',').map(str::trim).collect();
    if entries.len() > MAX_STAGES {
        return Err(format!("has {} stages, more than the {MAX_STAGES} allowed", entries.len()));
    }
    let names: Vec<&str> = kinds.iter().map(|k| k.word()).collect();
    entries
        .into_iter()
        .map(|entry| {
            if entry.is_empty() {
                return Err("has an empty stage: give stages like cpu:200us,sleep:1ms".to_string());
            }
            let Some((word, duration)) = entry.split_once(':') else {
                return Err(format!("stage \"{}\" has no duration: write kind:duration, e.g. cpu:200us", shown(entry)));
            };
            let kind = kinds.iter().copied().find(|k| k.word() == word).ok_or_else(|| {
                format!("stage \"{}\": \"{}\" is not a stage kind ({})", shown(entry), shown(word), names.join(", "))
            })?;
            let duration = parse_duration(duration).map_err(|why| format!("stage \"{}\": {why}", shown(entry)))?;
            Ok(StageKind { kind, duration })
        })
        .collect()
}

/// `200us`, `1ms`, `2s`: a whole number and a unit, from 1 us to [`MAX_STAGE`].
fn parse_duration(text: &str) -> Result<Duration, String> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let scale = match unit {
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "" => return Err(format!("duration \"{}\" has no unit (us, ms or s)", super::param::shown(text))),
        _ => return Err(format!("\"{}\" is not a duration like 200us, 1ms or 2s", super::param::shown(text))),
    };
    let too_long = || format!("duration {} is longer than the {} s allowed", text, MAX_STAGE.as_secs());
    let n: u64 = number.parse().map_err(|_| {
        if number.is_empty() {
            format!("\"{}\" is not a duration like 200us", super::param::shown(text))
        } else {
            too_long()
        }
    })?;
    let ns = n.checked_mul(scale).ok_or_else(too_long)?;
    if ns == 0 {
        return Err(format!("duration {text} is zero: a stage takes at least 1us"));
    }
    if ns > MAX_STAGE.as_nanos() as u64 {
        return Err(too_long());
    }
    Ok(Duration::from_nanos(ns))
}

fn valid_stages(text: &str) -> Result<(), String> {
    parse_stages(text, KINDS).map(drop)
}

fn valid_fault_stages(text: &str) -> Result<(), String> {
    parse_stages(text, FAULT_KINDS).map(drop)
}

/// The `pipeline` declaration.
pub fn spec() -> WorkloadSpec {
    declare(KINDS, valid_stages)
}

/// The `pipeline` declaration with the stage kinds that fail on purpose (`fail`,
/// `panic`, `hang`, `exit`), each on the middle item: for a test program's registry
/// only, never parbench's own.
#[doc(hidden)]
pub fn spec_with_faults() -> WorkloadSpec {
    declare(FAULT_KINDS, valid_fault_stages)
}

fn declare(kinds: &'static [Kind], rule: fn(&str) -> Result<(), String>) -> WorkloadSpec {
    WorkloadSpec::pipeline(
        "pipeline",
        "items through stages joined by bounded queues; the slowest stage bounds the throughput",
        move |p: &Params| {
            let stages = parse_stages(p.text("stages"), kinds)?;
            Ok(StagedPipeline::new(p.uint("items") as usize, stages, p.uint("queue") as usize))
        },
    )
    .param(Param::uint("items", 64).range(1, MAX_ITEMS).smoke(8u64).help("Number of items through the pipeline"))
    .param(Param::text("stages", "cpu:200us,sleep:1ms,cpu:200us").validate(rule).help(
        "The stages, in order: kind:duration, comma-separated; cpu computes for the duration, sleep waits \
         (durations in us, ms or s)",
    ))
    .param(Param::uint("queue", 16).range(1, MAX_QUEUE).help("Capacity of each queue between two stages"))
    .properties(move |p| {
        let waits = parse_stages(p.text("stages"), kinds).is_ok_and(|s| s.iter().any(|s| s.kind != Kind::Cpu));
        Properties {
            waits,
            note: Some(
                "A pipeline moves each item through its stages in order: the slowest stage, per worker, bounds \
                 the throughput, whatever the others do."
                    .into(),
            ),
            ..Properties::default()
        }
    })
}

/// The built pipeline.
pub struct StagedPipeline {
    items: usize,
    kinds: Vec<StageKind>,
    stages: Vec<Stage>,
    queue: usize,
}

impl StagedPipeline {
    fn new(items: usize, kinds: Vec<StageKind>, queue: usize) -> Self {
        let stages = kinds
            .iter()
            .map(|s| Stage {
                name: format!("{}:{}", s.kind.word(), fmt_duration(s.duration)),
                nominal_ns: ns(s.duration),
            })
            .collect();
        StagedPipeline { items, kinds, stages, queue }
    }

    /// The value stage `stage` passes on for `value`, computed the slow way (by the
    /// stage) or the fast way (by verification).
    fn steps(&self, stage: usize) -> u64 {
        ns(self.kinds[stage].duration) / 1000 * STEPS_PER_US
    }

    /// What item `item` should arrive as, computed without running any stage.
    fn expected(&self, item: usize) -> u64 {
        (0..self.kinds.len()).fold(self.source(item), |v, s| match self.kinds[s].kind {
            Kind::Cpu => jump(v ^ salt(s), self.steps(s)),
            _ => pass(v, s),
        })
    }
}

fn ns(d: Duration) -> u64 {
    d.as_nanos() as u64
}

fn fmt_duration(d: Duration) -> String {
    let us = d.as_micros() as u64;
    match us {
        _ if us % 1_000_000 == 0 => format!("{}s", us / 1_000_000),
        _ if us % 1_000 == 0 => format!("{}ms", us / 1_000),
        _ => format!("{us}us"),
    }
}

/// A per-stage constant, so that stages in another order give other values.
fn salt(stage: usize) -> u64 {
    splitmix(stage as u64 + 0x5151)
}

/// What a waiting stage does to a value.
fn pass(value: u64, stage: usize) -> u64 {
    value.rotate_left(17) ^ salt(stage)
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `a * b` modulo 2^61 - 1, both below it.
fn mul_mod(a: u64, b: u64) -> u64 {
    let z = u128::from(a) * u128::from(b);
    let s = (z as u64 & MODULUS) + (z >> 61) as u64;
    if s >= MODULUS { s - MODULUS } else { s }
}

/// A value as a chain's start: a nonzero residue.
fn residue(value: u64) -> u64 {
    value % (MODULUS - 1) + 1
}

/// `steps` dependent modular multiplications from `x`: the work of a cpu stage. (The
/// reduction keeps the compiler from folding steps together, as it would fold an
/// affine chain's.)
fn chain(x: u64, steps: u64) -> u64 {
    let mut x = residue(x);
    for _ in 0..std::hint::black_box(steps) {
        x = mul_mod(x, MUL);
    }
    std::hint::black_box(x)
}

/// The same as [`chain`] by the closed form, `x * MUL^steps`, the power by squaring.
fn jump(x: u64, mut steps: u64) -> u64 {
    let (mut power, mut base) = (1, MUL);
    while steps > 0 {
        if steps & 1 == 1 {
            power = mul_mod(power, base);
        }
        base = mul_mod(base, base);
        steps >>= 1;
    }
    mul_mod(residue(x), power)
}

impl Pipeline for StagedPipeline {
    fn items(&self) -> usize {
        self.items
    }

    fn stages(&self) -> &[Stage] {
        &self.stages
    }

    fn queue(&self) -> usize {
        self.queue
    }

    fn source(&self, item: usize) -> u64 {
        splitmix(item as u64)
    }

    fn stage(&self, stage: usize, item: usize, value: u64, ctx: &StageContext<'_>) -> Result<u64, String> {
        let StageKind { kind, duration } = self.kinds[stage];
        if kind == Kind::Cpu {
            return Ok(chain(value ^ salt(stage), self.steps(stage)));
        }
        let faulty = item == self.items / 2;
        match kind {
            Kind::Fail if faulty => return Err(format!("it failed on purpose on item {item}")),
            Kind::Panic if faulty => panic!("a stage that panics on purpose, on item {item}"),
            Kind::Exit if faulty => std::process::exit(3),
            Kind::Hang if faulty => {
                // Past any --timeout, so that it is always caught; bounded, so that a
                // caller without a watchdog (the calibration) still gets on.
                let until = std::time::Instant::now() + 2 * ctx.timeout;
                while !ctx.stop.load(std::sync::atomic::Ordering::Relaxed) && std::time::Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            _ => std::thread::sleep(duration),
        }
        Ok(pass(value, stage))
    }

    /// A waiting stage waits on the runtime's timer; a stage that computes, and a
    /// fault on its item, run inline.
    fn stage_async<'a>(
        &'a self,
        stage: usize,
        item: usize,
        value: u64,
        ctx: StageContext<'a>,
        timer: &'a dyn Timer,
    ) -> TaskFuture<'a, Result<u64, String>> {
        let StageKind { kind, duration } = self.kinds[stage];
        let faulty = kind != Kind::Sleep && item == self.items / 2;
        if kind == Kind::Cpu || faulty {
            return Box::pin(async move { self.stage(stage, item, value, &ctx) });
        }
        Box::pin(async move {
            timer.sleep(duration).await;
            Ok(pass(value, stage))
        })
    }

    fn verify(&self, sink: &[(usize, u64)]) -> Verification {
        let what = format!("the final value through {} stages", self.stages.len());
        verify_sink(sink, self.items, |item| self.expected(item), &what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closed_form_matches_the_chain() {
        for (x, steps) in [(42, 0), (0, 1), (u64::MAX, 2), (7, 3), (1 << 61, 64), (99, 1000), (5, 12345)] {
            assert_eq!(jump(x, steps), chain(x, steps), "{x}, {steps} steps");
        }
    }

    #[test]
    fn stages_parse_with_their_units_and_bad_ones_say_why() {
        let ok = parse_stages("cpu:200us, sleep:1ms,cpu:2s", KINDS).unwrap();
        assert_eq!(ok.len(), 3);
        assert_eq!(ok[1], StageKind { kind: Kind::Sleep, duration: Duration::from_millis(1) });
        let err = |t: &str| parse_stages(t, KINDS).unwrap_err();
        assert!(err("").contains("is empty"), "{}", err(""));
        assert!(err("cpu:200us,,sleep:1ms").contains("empty stage"));
        assert!(err("gpu:1ms").contains("\"gpu\" is not a stage kind (cpu, sleep)"), "{}", err("gpu:1ms"));
        assert!(err("cpu:0us").contains("is zero"), "{}", err("cpu:0us"));
        assert!(err("cpu:11s").contains("longer than the 10 s"), "{}", err("cpu:11s"));
        assert!(err("cpu:99999999999999999999s").contains("longer than"));
        assert!(err("cpu:200").contains("has no unit"), "{}", err("cpu:200"));
        assert!(err("cpu").contains("has no duration"), "{}", err("cpu"));
        assert!(err("cpu:2h").contains("is not a duration"), "{}", err("cpu:2h"));
        assert!(err("cpu:\u{1b}[2J").contains("\\u{1b}"), "{}", err("cpu:\u{1b}[2J"));
        // The fault kinds exist only where a test registry asks for them.
        assert!(err("hang:1ms").contains("not a stage kind"));
        assert!(parse_stages("hang:1ms", FAULT_KINDS).is_ok());
    }

    #[test]
    fn every_item_through_every_stage_verifies_and_a_stage_out_of_order_does_not() {
        let kinds = parse_stages("cpu:10us,sleep:1us,cpu:5us", KINDS).unwrap();
        let p = StagedPipeline::new(5, kinds, 4);
        let stop = std::sync::atomic::AtomicBool::new(false);
        let ctx = StageContext { worker: 0, stop: &stop, timeout: Duration::from_secs(60) };
        let run = |order: &[usize]| -> Vec<(usize, u64)> {
            (0..5).map(|i| (i, order.iter().fold(p.source(i), |v, &s| p.stage(s, i, v, &ctx).unwrap()))).rev().collect()
        };
        assert!(p.verify(&run(&[0, 1, 2])).is_ok());
        assert!(!p.verify(&run(&[0, 2, 1])).is_ok());
        assert!(!p.verify(&run(&[0, 1])).is_ok());
        assert_eq!(p.stages()[0].name, "cpu:10us");
    }
}
