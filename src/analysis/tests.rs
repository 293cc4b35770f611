//! Tests of the notes: each sentence from seeded, fixed samples.

use super::notes::sweep_comparison;
use super::{build, fixture};
use crate::measure::{Look, RecordedSample, Stopped, WarmUp};
use crate::report::Reporter;
use crate::result::CaseReport;
use crate::runner::{RunnerId, Sample, WorkerStats};
use crate::workload::Verification;

/// One sample of `kind` (2 workers for the parallel ones): `ms` of wall time,
/// `cores` busy on average, other processes using `others` cores, the workers
/// waiting `waited` x wall time for a CPU in all.
fn sample(kind: RunnerId, ms: f64, cores: f64, others: f64, waited: f64) -> Sample {
    let w = kind.workers(2);
    let wall_ns = (ms * 1e6) as u64;
    Sample {
        other_cpu_ns: Some((others * ms * 1e6) as u64),
        waited_ns: Some((waited * ms * 1e6) as u64),
        ..Sample::simulated(
            kind,
            w,
            wall_ns,
            (cores * ms * 1e6) as u64,
            vec![WorkerStats { busy_ns: 1, tasks: 4 }; w],
            Verification::verified("ok"),
        )
    }
}

/// A fib case from rounds of samples, with these warm-ups and stopping look.
fn case_of(rounds: Vec<Vec<Sample>>, warmup: Vec<WarmUp>, look: Option<Look>) -> CaseReport {
    case_with(rounds, warmup, look, crate::workload::Properties::default())
}

/// [`case_of`] with the workload declaring `properties`.
fn case_with(
    rounds: Vec<Vec<Sample>>,
    warmup: Vec<WarmUp>,
    look: Option<Look>,
    properties: crate::workload::Properties,
) -> CaseReport {
    let mut runners: Vec<RunnerId> = rounds[0].iter().map(|s| s.runner).collect();
    runners.sort();
    let n = rounds.len() as u32;
    let samples = rounds
        .into_iter()
        .enumerate()
        .flat_map(|(round, row)| {
            row.into_iter().enumerate().map(move |(position, sample)| RecordedSample {
                round: round as u32,
                position: position as u32,
                sample,
            })
        })
        .collect();
    let mut m = fixture::fib_measurement(runners.clone(), samples);
    (m.rounds, m.warmup, m.precision, m.properties) = (n, warmup, look, properties);
    m.workers = m.samples.iter().map(|s| s.sample.workers).max().unwrap_or(1);
    let mut settings = fixture::settings(runners, n, 1);
    settings.precision_target = m.precision.as_ref().map(|_| 0.03);
    settings.max_time_s = m.precision.as_ref().map(|_| 10.0);
    build(vec![(m, Vec::new())], settings, fixture::environment(), vec![]).cases.remove(0)
}

/// Rounds of serial 200 ms and the given threads and rayon times, one round per time.
fn two_runners<const N: usize>(threads: [f64; N], rayon: [f64; N]) -> CaseReport {
    use crate::runner::kind::test_ids::*;
    let rounds = (0..N)
        .map(|r| {
            vec![
                sample(Serial, 200.0, 1.0, 0.0, 0.0),
                sample(Threads, threads[r], 2.0, 0.0, 0.0),
                sample(Rayon, rayon[r], 2.0, 0.0, 0.0),
            ]
        })
        .collect();
    case_of(rounds, Vec::new(), None)
}

/// Whether a note of `case` (its text, or a sentence it stands for) or its answer says `text`.
fn has(case: &CaseReport, text: &str) -> bool {
    sentences(case).iter().any(|n| n.contains(text))
}

/// Every sentence of `case`: its answer, its notes and what they stand for.
fn sentences(case: &CaseReport) -> Vec<String> {
    let notes = case.notes.iter().flat_map(|n| std::iter::once(n.text.clone()).chain(n.detail.iter().cloned()));
    case.answer.iter().map(|a| a.text.clone()).chain(notes).collect()
}

#[test]
fn a_swept_parameter_is_named_fastest_only_when_the_paired_interval_separates_it() {
    use crate::runner::kind::test_ids::*;
    let case = |n: u64, threads: f64, shift: u32| {
        let rounds = (0..8)
            .map(|r| {
                vec![
                    sample(Serial, 200.0, 1.0, 0.0, 0.0),
                    sample(Threads, threads + f64::from((r + shift) % 3), 2.0, 0.0, 0.0),
                ]
            })
            .collect();
        let mut m = case_of(rounds, Vec::new(), None);
        m.params.insert("n".into(), serde_json::json!(n));
        m
    };
    let notes = |cases: Vec<CaseReport>| sweep_comparison(&cases);
    let clear = notes(vec![case(30, 100.0, 0), case(31, 160.0, 0)]);
    assert_eq!(clear.len(), 1);
    assert!(clear[0].starts_with("With threads, n = 30 was fastest (30 101 ms, 31 161 ms)"), "{clear:?}");
    // The same times in another order: a tie, where the old rule named the one
    // with the lower median.
    let same = notes(vec![case(30, 100.0, 0), case(31, 100.0, 1)]);
    assert!(same[0].contains("tie in the paired 95% interval"), "{same:?}");
}

#[test]
fn no_runner_beating_serial_is_blamed_on_coordination_only_when_the_interval_says_so() {
    use crate::runner::kind::test_ids::*;
    let slow = |threads: &dyn Fn(u32) -> f64| {
        let rounds =
            (0..8).map(|r| vec![sample(Serial, 100.0, 1.0, 0.0, 0.0), sample(Threads, threads(r), 2.0, 0.0, 0.0)]);
        case_of(rounds.collect(), Vec::new(), None)
    };
    let clearly = slow(&|r| 120.0 + f64::from(r % 3));
    assert!(has(&clearly, "coordination cost more than it saved"), "{:?}", clearly.notes);
    // 0.99x in the median, but as often faster as slower: no finding.
    let noise = slow(&|r| if r % 3 == 0 { 80.0 } else { 101.0 + f64::from(r % 2) });
    assert!(
        has(&noise, "its interval cannot tell it from serial") && !has(&noise, "coordination"),
        "{:?}",
        noise.notes
    );
}

#[test]
fn tasks_without_an_async_form_are_said_to_block_their_worker_thread() {
    use crate::runner::kind::test_ids::*;
    let case = |inline: Option<u64>, waits: bool| {
        let rounds = (0..3)
            .map(|_| {
                let mut futures = sample(Async, 100.0, 2.0, 0.0, 0.0);
                futures.inline_tasks = inline;
                vec![sample(Serial, 200.0, 1.0, 0.0, 0.0), sample(Threads, 100.0, 2.0, 0.0, 0.0), futures]
            })
            .collect();
        let properties = crate::workload::Properties {
            waits,
            task_ms: waits.then_some(25.0),
            ..crate::workload::Properties::default()
        };
        case_with(rounds, Vec::new(), None, properties)
    };
    // CPU work under futures: every task blocked its thread.
    let cpu = case(Some(8), false);
    assert!(has(
        &cpu,
        "async: Its tasks have no async form: each ran inline and blocked its worker thread, so at most 2"
    ));
    assert!(has(&cpu, "Async does not help CPU work."), "{:?}", cpu.notes);
    // Waiting tasks without an async form (a command): they waited no more at once than
    // the threads.
    let blocking = case(Some(3), true);
    assert!(has(
        &blocking,
        "async: 3 of its 8 tasks had no async form: each blocked its worker thread while it waited"
    ));
    assert!(!has(&blocking, "kept all 8 tasks waiting at once"), "{:?}", blocking.notes);
    // All in their async form: all waited at once, against one task's time.
    let waiting = case(Some(0), true);
    assert!(
        has(
            &waiting,
            "async kept all 8 tasks waiting at once on 2 thread(s), as futures: the ideal wall time is one task's 25.0 ms"
        ),
        "{:?}",
        waiting.notes
    );
    assert!(!has(&waiting, "no async form"), "{:?}", waiting.notes);
    // A runner that polls no futures counts nothing, and nothing is said.
    let threads = case(None, false);
    assert!(!has(&threads, "async form") && !has(&threads, "futures"), "{:?}", threads.notes);
}

#[test]
fn a_rows_peak_memory_is_the_most_of_any_sample_and_the_note_says_what_samples_added() {
    use crate::runner::Memory;
    use crate::runner::kind::test_ids::*;
    let with = |kind, start_kib, peak_kib, children: Option<u64>| {
        let mut s = sample(kind, 100.0, 2.0, 0.0, 0.0);
        s.memory = Some(Memory { start_kib, peak_kib });
        s.children_peak_kib = children;
        s
    };
    let rounds = vec![
        vec![
            with(Serial, 10_240, 10_240, None),
            with(Threads, 10_240, 30_720, None),
            with(Process, 10_240, 11_264, Some(40_960)),
        ],
        vec![
            with(Serial, 10_240, 10_240, None),
            with(Threads, 20_480, 25_600, None),
            with(Process, 10_240, 10_240, Some(51_200)),
        ],
    ];
    let case = case_of(rounds, Vec::new(), None);
    let row = |kind| case.rows.iter().find(|r| r.runner == kind).unwrap();
    // The most of any sample, not the median or the last: 30 MiB, where the rise was 20.
    assert_eq!((row(Threads).peak_rss_mib, row(Threads).rss_rise_mib), (Some(30.0), Some(20.0)));
    assert_eq!(row(Process).children_peak_mib, Some(50.0));
    assert_eq!(row(Serial).children_peak_mib, None);
    assert!(
        has(&case, "The samples themselves added at most: serial 0 B, threads 20.0 MiB, process 1.0 MiB."),
        "{:?}",
        case.notes
    );
    assert!(has(&case, "+ the peaks of their worker processes, summed"), "{:?}", case.notes);
    let mut report = fixture::report();
    report.cases = vec![case.clone()];
    let mut out = Vec::new();
    crate::report::TableReporter { view: Default::default() }.write(&report, &mut out).unwrap();
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains("peak RSS") && table.contains("11.0 MiB + 50.0 MiB children"), "{table}");
    // Without measurements: no column and no note.
    let plain = case_of(
        vec![vec![sample(Serial, 100.0, 1.0, 0.0, 0.0), sample(Threads, 60.0, 2.0, 0.0, 0.0)]],
        Vec::new(),
        None,
    );
    assert!(plain.rows.iter().all(|r| r.peak_rss_mib.is_none()) && !has(&plain, "Peak RSS"));
}

#[test]
fn a_single_round_names_no_fastest_runner() {
    use crate::runner::kind::test_ids::*;
    // One round: an "interval" of one ratio has no width; the old rule called threads
    // fastest "in the paired 95% interval". Five rounds are still too few for two.
    for n in [1, 5] {
        let rounds = vec![
            vec![
                sample(Serial, 200.0, 1.0, 0.0, 0.0),
                sample(Threads, 100.0, 2.0, 0.0, 0.0),
                sample(Rayon, 120.0, 2.0, 0.0, 0.0)
            ];
            n
        ];
        let case = case_of(rounds, Vec::new(), None);
        assert!(!has(&case, "was fastest") && !has(&case, "tie"), "{:?}", case.notes);
        assert!(
            has(&case, &format!("threads reached 2.00x serial (median of {n} round(s); an interval needs 6)")),
            "{:?}",
            case.notes
        );
    }
}

#[test]
fn more_workers_than_cores_are_not_preempted_by_each_other() {
    use crate::runner::kind::test_ids::*;
    let w4 = |kind: RunnerId, cores: f64, waited: f64| {
        let mut s = sample(kind, 100.0, cores, 0.0, waited);
        s.workers = kind.workers(4);
        s
    };
    // 4 workers on the fixture's 2 cores, alone: 2 cores busy, each worker waiting
    // half the time for the others. The old rule flagged every sample.
    let alone = case_of(vec![vec![w4(Serial, 1.0, 0.0), w4(Threads, 2.0, 2.0)]; 3], Vec::new(), None);
    assert!(!has(&alone, "Preempted"), "{:?}", alone.notes);
    // With a core taken by other work: 1 core busy, 3 x wall waited: preempted,
    // said in terms of 4 workers on 2 cores.
    let loaded = case_of(vec![vec![w4(Serial, 1.0, 0.0), w4(Threads, 1.0, 3.0)]; 3], Vec::new(), None);
    assert!(has(&loaded, "4 workers on 2 cores wait for each other by design"), "{:?}", loaded.notes);
    assert_eq!(loaded.rows.iter().find(|r| r.runner == Threads).unwrap().preempted_samples, 3);
}

#[test]
fn cores_left_idle_are_blamed_on_what_the_numbers_show() {
    use crate::runner::kind::test_ids::*;
    // 1 s samples, threads at 1.05 cores while other processes used 0.98: the
    // machine was shared. The old note blamed thread placement in samples "this short".
    let shared = case_of(
        vec![vec![sample(Serial, 1000.0, 1.0, 0.98, 0.0), sample(Threads, 950.0, 1.05, 0.98, 0.0)]; 3],
        Vec::new(),
        None,
    );
    assert!(
        has(&shared, "threads kept only 1.05 cores busy with 2 workers while other processes used 0.98 cores"),
        "{:?}",
        shared.notes
    );
    assert!(!has(&shared, "placement"), "{:?}", shared.notes);
    // Short samples on a quiet machine: placement, as before.
    let short = case_of(
        vec![vec![sample(Serial, 10.0, 1.0, 0.0, 0.0), sample(Threads, 9.0, 1.05, 0.0, 0.0)]; 3],
        Vec::new(),
        None,
    );
    assert!(has(&short, "samples this short measure thread placement"), "{:?}", short.notes);
    // Long samples on a quiet machine: not "this short".
    let long = case_of(
        vec![vec![sample(Serial, 1000.0, 1.0, 0.0, 0.0), sample(Threads, 950.0, 1.05, 0.0, 0.0)]; 3],
        Vec::new(),
        None,
    );
    assert!(has(&long, "shared one core or waited for each other") && !has(&long, "this short"), "{:?}", long.notes);
}

#[test]
fn a_warm_up_cut_short_by_contention_says_so() {
    use crate::runner::kind::test_ids::*;
    let warm = |runner, steady, short_of_cores, times_settled| WarmUp {
        runner,
        samples: 13,
        wall_ns: 1_300_000_000,
        steady,
        short_of_cores,
        times_settled,
    };
    let rounds = vec![
        vec![
            sample(Serial, 100.0, 1.0, 0.0, 0.0),
            sample(Threads, 60.0, 1.2, 0.0, 0.0),
            sample(Rayon, 55.0, 2.0, 0.0, 0.0)
        ];
        3
    ];
    let case = case_of(
        rounds,
        vec![
            warm(Serial, false, Some((0.2, 1)), false),
            warm(Threads, false, Some((1.2, 2)), true),
            warm(Rayon, false, None, false),
        ],
        None,
    );
    assert!(has(&case, "threads got 1.2 of its 2 cores in 13 warm-up samples"), "{:?}", case.notes);
    assert!(!has(&case, "threads was not steady"), "{:?}", case.notes);
    let serial = "serial was not steady after 13 warm-up samples (1.30 s), and got 0.2 of its 1 core: other work";
    assert!(has(&case, serial), "{:?}", case.notes);
    assert!(
        has(&case, "rayon was not steady after 13 warm-up samples (1.30 s): its times may still drift."),
        "{:?}",
        case.notes
    );
}

#[test]
fn the_precision_note_says_why_the_run_stopped_and_advises_more_time_only_when_it_would_help() {
    use crate::runner::kind::test_ids::*;
    let rounds = vec![vec![sample(Serial, 100.0, 1.0, 0.0, 0.0), sample(Threads, 50.0, 2.0, 0.0, 0.0)]; 11];
    let look = |widest, needed, stopped| Look {
        rounds: 11,
        look: 2,
        confidence: crate::measure::Stopping::confidence(2),
        widest: Some(widest),
        intervals: Vec::new(),
        needed,
        stopped: Some(stopped),
    };
    let note = |l: Look| {
        let case = case_of(rounds.clone(), Vec::new(), Some(l));
        case.notes.into_iter().next().unwrap().text
    };
    let reached = case_of(rounds.clone(), Vec::new(), Some(look(0.021, Some(11), Stopped::Reached)));
    assert_eq!(reached.precision, Some(0.021));
    assert_eq!(
        reached.notes[0].text,
        "11 rounds: every speedup is known to ±2.1% (a 95% interval allowing for the 2 looks at the data)."
    );
    // The old note said "raise --max-time for more rounds" whatever the spread.
    assert_eq!(
        note(look(0.08, Some(2000), Stopped::Futile)),
        "Stopped after 11 rounds: more rounds would not reach ±3.0% within --max-time (10 s); reached ±8.0% (a \
         95% interval allowing for the 2 looks at the data). At this spread ±3.0% would take more than the 1000 \
         rounds --rounds auto runs: a quieter machine narrows it, a longer --max-time would not."
    );
    assert!(
        note(look(0.08, Some(134), Stopped::Futile)).ends_with("At this spread ±3.0% would take about 134 rounds.")
    );
    // Out of time, with the spread saying 17 rounds would do: then more time helps.
    assert_eq!(
        note(look(0.035, Some(17), Stopped::OutOfTime)),
        "Stopped after 11 rounds at --max-time (10 s): the widest speedup interval is ±3.5%, wider than the ±3.0% \
         aimed for (a 95% interval allowing for the 2 looks at the data). About 17 rounds would reach it: \
         --max-time 16 allows them."
    );
    let hopeless = note(look(0.2, Some(10_000), Stopped::OutOfTime));
    assert!(!hopeless.contains("allows them") && hopeless.ends_with("a longer --max-time would not."), "{hopeless}");
    assert!(note(look(0.04, Some(1020), Stopped::RoundLimit)).starts_with("Stopped at the limit of 11 rounds"));
}

#[test]
fn a_winner_is_named_only_when_the_paired_interval_separates_it() {
    let clear = two_runners([100.0, 101.0, 99.0, 100.0, 102.0, 100.0], [120.0, 119.0, 121.0, 118.0, 122.0, 120.0]);
    assert!(sentences(&clear).iter().any(|n| n.starts_with("threads was fastest: 2.00x")), "{:?}", clear.notes);
    let close = two_runners([100.0, 101.0, 99.0, 100.0, 102.0, 100.0], [101.0, 100.0, 100.0, 99.0, 101.0, 101.0]);
    assert!(has(&close, "tie"), "{:?}", close.notes);
    assert!(!has(&close, "fastest"), "{:?}", close.notes);
}

#[test]
fn fixture_report_has_speedups_paired_per_round() {
    let r = fixture::report();
    let fib = &r.cases[0];
    let threads = fib.rows.iter().find(|r| r.runner == RunnerId::new("threads")).unwrap();
    // serial rounds 200,210,190 / threads 100,105,100 -> ratios 2.0, 2.0, 1.9.
    assert_eq!(threads.speedup.unwrap().median, 2.0);
    assert_eq!(threads.efficiency, Some(1.0));
}

#[test]
fn the_counter_none_case_reports_lost_updates_in_a_sentence() {
    let r = fixture::report();
    let none = r.cases.iter().find(|c| c.label.contains("sync=none")).unwrap();
    assert!(has(none, "lost 500 (25.0%) of the 2,000 updates"), "{:?}", none.notes);
    // 3 rounds are too few for the paired interval that would name the cheapest.
    let cheapest = "per increment: sharded 2500 ns, atomic 15000 ns; 3 round(s) are too few to name the cheapest";
    assert!(r.notes.iter().any(|n| n.contains(cheapest)), "{:?}", r.notes);
    assert!(!r.notes.iter().any(|n| n.contains("none")), "races are not ranked: {:?}", r.notes);
}

#[test]
fn degenerate_samples_never_put_nan_or_infinity_in_the_json() {
    let mut report = fixture::report();
    // Zero wall times would divide by zero if the statistics were careless.
    for case in &mut report.cases {
        for s in &mut case.samples {
            s.sample.wall_ns = 0;
            s.sample.cpu_ns = 0;
        }
    }
    let measurements: Vec<_> = report
        .cases
        .iter()
        .map(|c| {
            let runners = c.rows.iter().map(|r| r.runner).collect();
            (fixture::fib_measurement(runners, c.samples.clone()), Vec::new())
        })
        .collect();
    let rebuilt = build(measurements, report.settings.clone(), fixture::environment(), vec![]);
    let mut out = Vec::new();
    crate::report::JsonReporter.write(&rebuilt, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains("NaN") && !text.contains("inf"), "{text}");
    assert_no_stray_null(&serde_json::from_str(&text).unwrap(), "");
}

#[test]
fn a_scale_table_prints_the_load_notes_under_it() {
    let mut report = fixture::report();
    report.scale = Some(crate::result::ScaleAnalysis {
        weak: false,
        workers: vec![1, 2],
        cores: 2,
        families: Vec::new(),
        notes: Vec::new(),
    });
    let mut rows = report.cases[0].rows.clone();
    rows[1].preempted_samples = 2;
    report.cases[0].rows = rows;
    report.notes = super::load_notes(&report.cases, &report.environment);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    let mut out = Vec::new();
    crate::report::TableReporter { view: crate::report::View::default() }.write(&report, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("fib (n=34, tasks=8): samples were preempted at "), "{text}");
}

#[test]
fn a_scale_sweep_names_its_load_once_per_workload_with_the_worker_counts() {
    // The old notes: one "Preempted samples" and one "ran while other processes" line
    // per worker count, each repeating the advice.
    let mut report = fixture::report();
    let one = report.cases[0].clone();
    report.cases = [1, 2, 4]
        .iter()
        .map(|&w| {
            let mut case = one.clone();
            case.workers = w;
            for row in &mut case.rows {
                row.preempted_samples = 1;
                row.disturbed_samples = usize::from(w == 2);
            }
            case
        })
        .collect();
    let notes = super::load_notes(&report.cases, &report.environment);
    assert_eq!(notes.len(), 1, "{notes:?}");
    let note = &notes[0];
    assert!(note.starts_with("fib (n=34, tasks=8): samples were preempted at 1, 2 and 4 workers"), "{note}");
    let n = one.rows[0].wall_ms.n;
    assert!(note.contains(&format!("serial 3 of {}", 3 * n)), "totals over the sweep: {note}");
    assert!(note.contains("beyond 2 workers only CPU they could have had"), "{note}");
    assert!(note.contains(&format!("{} of {} samples ran while", one.rows.len(), 3 * n * one.rows.len())), "{note}");
    assert!(note.contains("more than 10% of a core (at 2 workers)"), "{note}");
    assert_eq!(note.matches("Treat their times with care").count(), 1, "{note}");
}

/// Keys whose value may legitimately be `null` (an absent optional value).
const OPTIONAL: [&str; 10] = [
    "speedup",
    "efficiency",
    "startup_ms",
    "setup_ms",
    "imbalance",
    "other_cpu_ns",
    "kernel",
    "os_release",
    "git_commit",
    "rayon_num_threads",
];

fn assert_no_stray_null(value: &serde_json::Value, key: &str) {
    match value {
        serde_json::Value::Null => assert!(OPTIONAL.contains(&key), "`{key}` is null: a non-finite float?"),
        serde_json::Value::Array(items) => items.iter().for_each(|v| assert_no_stray_null(v, key)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| assert_no_stray_null(v, k)),
        _ => {}
    }
}

/// The reporters' tests read the fixture report as a result file (`report/fixture.json`),
/// so they need nothing but the result model; this keeps that file what the analysis
/// builds today. After a deliberate change: `PARBENCH_BLESS=1 cargo test --lib fixture_json`.
#[test]
fn the_reporters_fixture_json_is_the_report_the_analysis_builds() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/report/fixture.json");
    let built = serde_json::to_string_pretty(&fixture::report()).unwrap() + "\n";
    if std::env::var_os("PARBENCH_BLESS").is_some() {
        std::fs::write(path, &built).unwrap();
    }
    let stored = std::fs::read_to_string(path).unwrap();
    assert!(stored == built, "{path} is not what analysis::fixture::report() builds; see this test's doc");
    // And it reads back as the same report.
    let read = serde_json::to_string_pretty(&crate::report::fixture::report()).unwrap() + "\n";
    assert!(read == built, "report::fixture::report() differs from what it was written from");
}

#[test]
fn work_that_computes_a_quarter_of_its_time_is_told_its_bound_on_useful_workers() {
    use crate::runner::kind::test_ids::*;
    let rounds: Vec<Vec<Sample>> =
        (0..6).map(|_| vec![sample(Serial, 200.0, 0.25, 0.0, 0.0), sample(Threads, 100.0, 0.5, 0.0, 0.0)]).collect();
    let runners = vec![Serial, Threads];
    let samples = rounds
        .into_iter()
        .enumerate()
        .flat_map(|(round, row)| {
            row.into_iter().enumerate().map(move |(position, sample)| RecordedSample {
                round: round as u32,
                position: position as u32,
                sample,
            })
        })
        .collect();
    let mut m = fixture::fib_measurement(runners.clone(), samples);
    (m.rounds, m.workers) = (6, 2);
    m.properties.waits = true;
    m.properties.compute_share = Some(0.25);
    let case =
        build(vec![(m, Vec::new())], fixture::settings(runners, 6, 1), fixture::environment(), vec![]).cases.remove(0);
    assert_eq!(case.compute_share, Some(0.25));
    let cores = fixture::environment().available_parallelism;
    let bound = format!("{:.1} on {cores} core(s)", 4.0 * cores as f64);
    assert!(
        has(&case, "Each task computes 25.0% of its time and waits the rest, so up to 4.0 workers per core"),
        "{:?}",
        case.notes
    );
    assert!(
        has(&case, &bound) && has(&case, "the best measured, threads, reached 2.00x serial with 2 workers"),
        "{:?}",
        case.notes
    );
    // Without the declaration there is no such sentence.
    assert!(!two_runners([100.0; 6], [100.0; 6]).notes.iter().any(|n| n.text.contains("workers per core")));
}

#[test]
fn runners_that_did_not_beat_serial_are_said_to_be_none_never_a_tie() {
    // threads at 1.01x and rayon at 0.99x serial, both intervals including 1: the old
    // notes said "threads and rayon tie at 1.01x and 0.99x serial".
    let case = two_runners([190.0, 198.0, 196.0, 202.0, 208.0, 198.0], [202.0, 206.0, 200.0, 198.0, 204.0, 208.0]);
    let answer = &case.answer.as_ref().unwrap().text;
    assert!(answer.starts_with("no runner beat serial: the best, threads, reached 1.01x serial ["), "{answer}");
    assert!(answer.ends_with("its interval cannot tell it from serial"), "{answer}");
    assert!(!has(&case, "tie") && !has(&case, "fastest"), "{:?}", sentences(&case));
    assert_eq!(case.answer.as_ref().unwrap().fastest, None);
}

#[test]
fn the_answer_names_the_fastest_with_its_interval_or_a_tie_of_runners_that_beat_serial() {
    let clear = two_runners([100.0, 101.0, 99.0, 100.0, 102.0, 100.0], [120.0, 119.0, 121.0, 118.0, 122.0, 120.0]);
    let answer = clear.answer.as_ref().unwrap();
    // Serial 200 ms over threads 99..102: ratios 1.96..2.02, median 2.00 (the table's).
    assert_eq!(answer.text, "threads is fastest: 2.00x serial [1.96, 2.02], ahead of rayon (1.67x)");
    assert_eq!(answer.fastest, Some(RunnerId::new("threads")));
    let close = two_runners([100.0, 101.0, 99.0, 100.0, 102.0, 100.0], [101.0, 100.0, 100.0, 99.0, 101.0, 101.0]);
    let answer = close.answer.as_ref().unwrap();
    assert!(answer.text.contains(" and ") && answer.text.contains(" tie: 2.00x serial ["), "{}", answer.text);
    assert_eq!(answer.fastest, None);
}

#[test]
fn a_busy_machine_is_the_one_cause_named_for_slow_or_idle_parallel_runners() {
    use crate::runner::kind::test_ids::*;
    // Short samples, both parallel runners slower than serial on about one core; other
    // processes used 0.9 cores during rayon's and 0.3 during threads'. The old notes
    // blamed coordination, and thread placement for threads, beside the busy machine.
    let rounds = (0..8)
        .map(|r| {
            vec![
                sample(Serial, 50.0, 1.0, 0.0, 0.0),
                sample(Threads, 60.0 + f64::from(r % 3), 0.9, 0.3, 0.0),
                sample(Rayon, 62.0 + f64::from(r % 2), 0.9, 0.9, 0.0),
            ]
        })
        .collect();
    let case = case_of(rounds, Vec::new(), None);
    let answer = &case.answer.as_ref().unwrap().text;
    assert!(answer.starts_with("no runner beat serial: the best, threads"), "{answer}");
    assert!(answer.contains("other processes used 0.90 cores during the samples"), "{answer}");
    for wrong in ["coordination", "placement", "shared one core"] {
        assert!(!has(&case, wrong), "{wrong}: {:?}", sentences(&case));
    }
    // The idle cores and the disturbed samples have one cause: one note names it.
    use crate::result::Cause;
    let load: Vec<&crate::result::Note> = case.notes.iter().filter(|n| n.cause == Cause::Load).collect();
    assert_eq!(load.len(), 1, "{:?}", case.notes);
    assert_eq!(load[0].runners, [Threads, Rayon]);
    assert!(
        load[0].text.starts_with(
            "Other processes used up to 0.90 cores during the samples (median per sample, from /proc/stat): threads \
             and rayon kept only 0.90 and 0.90 cores busy with 2 workers; "
        ),
        "{load:?}"
    );
    assert!(load[0].text.contains(" samples were disturbed"), "{load:?}");
    for gone in [Cause::BusyMachine, Cause::Disturbed, Cause::Preempted, Cause::WarmUpCores] {
        assert!(case.notes.iter().all(|n| n.cause != gone), "{gone:?} left beside the load note: {:?}", case.notes);
    }
    // -v: each runner's own sentence, and the disturbed samples'.
    assert!(load[0].detail.len() >= 3, "{:?}", load[0].detail);
    assert!(load[0].detail[0].starts_with("threads kept only 0.90 cores busy with 2 workers while other processes"));
}

#[test]
fn a_busy_machine_is_named_once_for_idle_cores_preempted_samples_disturbed_samples_and_warm_up() {
    // What a run beside two spinning loops printed as four or five notes, each blaming
    // the load again: warm-up short of cores, cores kept busy, preempted, disturbed.
    use crate::result::Cause;
    use crate::runner::kind::test_ids::*;
    let rounds = (0..8)
        .map(|r| {
            vec![
                sample(Serial, 200.0, 1.0, 1.2, 0.0),
                sample(Threads, 150.0 + f64::from(r % 3), 1.0, 1.2, 0.9),
                sample(Rayon, 160.0 + f64::from(r % 2), 1.0, 1.1, 0.9),
            ]
        })
        .collect();
    let warm = |runner| WarmUp {
        runner,
        samples: 11,
        wall_ns: 1_700_000_000,
        steady: false,
        short_of_cores: Some((1.0, 2)),
        times_settled: false,
    };
    let case = case_of(rounds, vec![warm(Threads), warm(Rayon)], None);
    let texts: Vec<&str> = case.notes.iter().map(|n| n.text.as_str()).collect();
    let load: Vec<&crate::result::Note> = case.notes.iter().filter(|n| n.cause == Cause::Load).collect();
    assert_eq!(load.len(), 1, "{texts:?}");
    let text = &load[0].text;
    assert!(text.starts_with("Other processes used up to 1.20 cores during the samples"), "{text}");
    for part in [
        "threads and rayon kept only 1.00 and 1.00 cores busy with 2 workers",
        "samples were preempted (threads 8 of 8, rayon 8 of 8)",
        "24 of 24 samples were disturbed;",
        "threads and rayon got under 75% of their cores in warm-up and did not settle",
    ] {
        assert!(text.contains(part), "{part:?} missing from {text}");
    }
    assert_eq!(load[0].runners, [Serial, Threads, Rayon]);
    // Nowhere else is the load blamed again.
    let blamed = texts.iter().filter(|t| t.contains("other processes") || t.contains("other work")).count();
    assert_eq!(blamed, 0, "{texts:?}");
    // -v still shows every sentence it stands for.
    let verbose = load[0].detail.join(" ");
    for said in ["not steady after 11 warm-up samples", "kept only", "Preempted samples", "ran while other processes"] {
        assert!(verbose.contains(said), "{said:?} missing from -v: {verbose}");
    }
}

#[test]
fn one_sign_of_load_keeps_its_own_note() {
    use crate::result::Cause;
    use crate::runner::kind::test_ids::*;
    // Only some samples disturbed, nothing else: the disturbed note as it was.
    let rounds = (0..8)
        .map(|r| {
            let others = if r == 3 { 0.9 } else { 0.0 };
            vec![sample(Serial, 200.0, 1.0, others, 0.0), sample(Threads, 100.0 + f64::from(r % 3), 2.0, 0.0, 0.0)]
        })
        .collect();
    let case = case_of(rounds, Vec::new(), None);
    assert!(case.notes.iter().all(|n| n.cause != Cause::Load), "{:?}", case.notes);
    assert!(case.notes.iter().any(|n| n.cause == Cause::Disturbed), "{:?}", case.notes);
}

#[test]
fn a_cause_shared_by_several_runners_is_one_note_naming_them() {
    use crate::runner::kind::test_ids::*;
    let w3 = |kind: RunnerId, ms: f64, cores: f64| {
        let mut s = sample(kind, ms, cores, 0.0, 0.0);
        s.workers = kind.workers(2);
        s
    };
    let rounds = vec![
        vec![
            w3(Serial, 1000.0, 1.0),
            w3(Threads, 1000.0, 0.49),
            w3(Rayon, 1000.0, 0.51),
            w3(Process, 1000.0, 0.50)
        ];
        3
    ];
    let warm = |runner| WarmUp {
        runner,
        samples: 11,
        wall_ns: 11_000_000_000,
        steady: false,
        short_of_cores: None,
        times_settled: false,
    };
    let case = case_of(rounds, vec![warm(Threads), warm(Rayon), warm(Process)], None);
    // The old notes: "X was not steady after 11 warm-up samples" and "X kept only ...
    // cores busy" once per runner.
    let unsteady: Vec<&crate::result::Note> =
        case.notes.iter().filter(|n| n.cause == crate::result::Cause::Unsteady).collect();
    assert_eq!(unsteady.len(), 1, "{:?}", case.notes);
    assert_eq!(
        unsteady[0].text,
        "threads, rayon and process were not steady after 11 warm-up samples: their times may still drift."
    );
    assert_eq!(unsteady[0].detail.len(), 3, "-v keeps each runner's sentence");
    assert!(unsteady[0].detail[0].starts_with("threads was not steady after 11 warm-up samples (11.00 s)"));
    let idle: Vec<&crate::result::Note> =
        case.notes.iter().filter(|n| n.cause == crate::result::Cause::SharedCore).collect();
    assert_eq!(idle.len(), 1, "{:?}", case.notes);
    assert!(
        idle[0].text.starts_with("threads, rayon and process kept only 0.49, 0.51 and 0.50 cores busy with 2 workers"),
        "{}",
        idle[0].text
    );
    assert_eq!(case.notes.iter().filter(|n| n.text.contains("kept only")).count(), 1);
}

#[test]
fn the_pools_built_outside_the_timed_region_are_one_note() {
    use crate::runner::kind::test_ids::*;
    let runners = vec![Serial, Rayon, Async];
    let rounds: Vec<RecordedSample> = (0..3u32)
        .flat_map(|round| {
            runners.clone().into_iter().enumerate().map(move |(position, kind)| RecordedSample {
                round,
                position: position as u32,
                sample: sample(kind, 100.0, 1.0, 0.0, 0.0),
            })
        })
        .collect();
    let mut m = fixture::fib_measurement(runners.clone(), rounds);
    m.rounds = 3;
    m.setup_ns = vec![(Rayon, 557_000), (Async, 10_300_000)];
    let case =
        build(vec![(m, Vec::new())], fixture::settings(runners, 3, 1), fixture::environment(), vec![]).cases.remove(0);
    // The old notes: "The X pool took ... to build" once per runner.
    let pools: Vec<&crate::result::Note> =
        case.notes.iter().filter(|n| n.cause == crate::result::Cause::PoolBuild).collect();
    assert_eq!(pools.len(), 1, "{:?}", case.notes);
    assert_eq!(
        pools[0].text,
        "The rayon pool and tokio runtime took 557 µs and 10.3 ms to build, once each, outside the timed region."
    );
    assert_eq!(pools[0].runners, vec![Rayon, Async]);
    assert_eq!(pools[0].detail[1], "The tokio runtime took 10.3 ms to build, once, outside the timed region.");
}

#[test]
fn a_counter_that_lost_updates_in_a_few_samples_never_says_it_lost_0() {
    use crate::runner::kind::test_ids::*;
    let rounds = (0..8)
        .map(|r| {
            let mut threads = sample(Threads, 50.0, 2.0, 0.0, 0.0);
            if r == 3 {
                threads.verification = Verification::LostUpdates { expected: 2000, observed: 1998 };
            }
            vec![sample(Serial, 100.0, 1.0, 0.0, 0.0), threads]
        })
        .collect();
    let case = case_of(rounds, Vec::new(), None);
    let row = case.rows.iter().find(|r| r.runner == Threads).unwrap();
    assert!(matches!(row.result, crate::result::RowResult::LostUpdates { median_lost: 0.0, samples_losing: 1, .. }));
    // The old note: "threads lost 0 (0.0%) of the 2,000 updates (median; ...)".
    assert!(
        has(
            &case,
            "threads lost updates in 1 of 8 samples (up to 2, 0.1%, of the 2,000 updates; none in the median sample)"
        ),
        "{:?}",
        sentences(&case)
    );
    assert!(!has(&case, "lost 0"), "{:?}", sentences(&case));
}

#[test]
fn files_written_before_notes_had_causes_still_load() {
    let mut json = serde_json::to_value(fixture::report()).unwrap();
    json["cases"][0]["notes"] = serde_json::json!(["an old sentence"]);
    json["cases"][0].as_object_mut().unwrap().remove("answer");
    let report: crate::result::Report = serde_json::from_value(json).unwrap();
    assert_eq!(
        report.cases[0].notes,
        [crate::result::Note::case(crate::result::Cause::Other, "an old sentence".into())]
    );
    assert_eq!(report.cases[0].answer, None);
}

#[test]
fn each_held_pool_is_named_by_its_own_runner_in_the_set_up_note() {
    use crate::runner::kind::test_ids::*;
    let pool = RunnerId::new("process-pool");
    // A runner this build lacks (not mpi: a build with the feature has that one).
    let foreign = RunnerId::intern("cluster");
    let runners = vec![Serial, Rayon, pool, Async, foreign];
    let samples = (0..3)
        .flat_map(|round| {
            runners.iter().enumerate().map(move |(position, &kind)| RecordedSample {
                round,
                position: position as u32,
                sample: sample(kind, 100.0, 1.0, 0.0, 0.0),
            })
        })
        .collect();
    let mut m = fixture::fib_measurement(runners.clone(), samples);
    m.setup_ns = vec![(Rayon, 2_000_000), (pool, 12_000_000), (Async, 3_000_000), (foreign, 4_000_000)];
    let case =
        build(vec![(m, Vec::new())], fixture::settings(runners, 3, 1), fixture::environment(), vec![]).cases.remove(0);
    let notes: Vec<&crate::result::Note> =
        case.notes.iter().filter(|n| n.cause == crate::result::Cause::PoolBuild).collect();
    assert_eq!(notes.len(), 1, "one note for every pool: {notes:?}");
    assert_eq!(
        notes[0].text,
        "The rayon pool, pool of worker processes, tokio runtime and cluster runner's set-up took 2.00 ms, 12.0 ms, \
         3.00 ms and 4.00 ms to build, once each, outside the timed region."
    );
    assert_eq!(
        notes[0].detail,
        [
            "The rayon pool took 2.00 ms to build, once, outside the timed region.",
            "The pool of worker processes took 12.0 ms to build, once, outside the timed region.",
            "The tokio runtime took 3.00 ms to build, once, outside the timed region.",
            "The cluster runner's set-up took 4.00 ms, once, outside the timed region.",
        ]
    );
}

#[test]
fn the_runner_said_to_beat_serial_the_most_is_one_that_beat_it() {
    // rayon's median is the highest (2.13x), but two slow rounds put its interval below
    // 1; threads beat serial in every round. The old answer: "rayon and threads tie:
    // 2.13x serial [0.77, 2.22] and 1.82x serial [1.77, 1.85]" (with fewer rounds,
    // "threads beat serial, rayon the most").
    let rayon = [90.0, 95.0, 92.0, 250.0, 260.0, 94.0, 93.0];
    let threads = [110.0, 112.0, 109.0, 111.0, 110.0, 113.0, 108.0];
    let case = two_runners(threads, rayon);
    let answer = &case.answer.as_ref().unwrap().text;
    assert!(
        answer.starts_with("threads beat serial: 1.82x serial [1.77, 1.85]; rayon reached 2.13x serial ["),
        "{answer}"
    );
    assert!(answer.ends_with("] but cannot be told from serial"), "{answer}");
    assert_eq!(case.answer.as_ref().unwrap().fastest, None, "rayon's median is higher: none is named fastest");
    assert!(!has(&case, "tie"), "{:?}", sentences(&case));
}

#[test]
fn with_several_rivals_the_runner_up_is_named_as_the_closest() {
    // The runner-up is the rival closest in the paired rounds; with more than one rival
    // it need not be the second by median, so it is called the closest.
    use crate::runner::kind::test_ids::*;
    let rounds = (0..10)
        .map(|r| {
            let jitter = f64::from(r % 3);
            vec![
                sample(Serial, 200.0, 1.0, 0.0, 0.0),
                sample(Threads, 100.0 + jitter, 2.0, 0.0, 0.0),
                sample(Rayon, 120.0 + jitter, 2.0, 0.0, 0.0),
                sample(Process, 150.0 + jitter, 2.0, 0.0, 0.0),
            ]
        })
        .collect();
    let case = case_of(rounds, Vec::new(), None);
    let answer = &case.answer.as_ref().unwrap().text;
    assert!(answer.starts_with("threads is fastest: 1.98x serial ["), "{answer}");
    assert!(answer.ends_with("ahead of the closest, rayon (1.65x)"), "{answer}");
}

#[test]
fn a_tie_of_three_names_all_three_so_no_median_between_them_goes_unnamed() {
    // The README's sample once read "async and threads tie" while rayon's median lay
    // between theirs: every runner not separated from the first is named.
    use crate::runner::kind::test_ids::*;
    let rounds = (0..12)
        .map(|r| {
            let j = |k: u32| f64::from((r + k) % 4);
            vec![
                sample(Serial, 200.0, 1.0, 0.0, 0.0),
                sample(Threads, 100.0 + j(0), 2.0, 0.0, 0.0),
                sample(Rayon, 100.5 + j(1), 2.0, 0.0, 0.0),
                sample(Process, 101.0 + j(2), 2.0, 0.0, 0.0),
            ]
        })
        .collect();
    let case = case_of(rounds, Vec::new(), None);
    let answer = &case.answer.as_ref().unwrap().text;
    assert!(answer.contains(" tie: "), "{answer}");
    for runner in ["threads", "rayon", "process"] {
        assert!(answer.contains(runner), "{runner} missing: {answer}");
    }
    assert_eq!(answer.matches("x serial [").count(), 3, "one interval per runner: {answer}");
    assert_eq!(case.answer.as_ref().unwrap().fastest, None);
}

#[test]
fn under_rounds_auto_the_answer_gives_the_interval_of_the_look_that_ended_the_run() {
    use crate::runner::kind::test_ids::*;
    // 485 rounds and their 12th look, as a run stopped by --max-time: a plain 95%
    // interval at the end is narrower than the one the stopping rule saw.
    let mut rng = crate::rng::SplitMix64::new(17);
    let rounds: Vec<Vec<Sample>> = (0..485)
        .map(|_| {
            let noise = 0.9 + rng.below(1001) as f64 / 5000.0;
            vec![sample(Serial, 200.0, 1.0, 0.0, 0.0), sample(Threads, 110.0 * noise, 2.0, 0.0, 0.0)]
        })
        .collect();
    let plain = case_of(rounds.clone(), Vec::new(), None);
    let ratios = crate::measure::speedup_ratios(&plain.samples, &[Serial, Threads]);
    let mut look = Look::at(485, 12, &ratios);
    look.stopped = Some(Stopped::OutOfTime);
    let wide = look.intervals[0].unwrap();
    let auto = case_of(rounds, Vec::new(), Some(look));
    let answer = |c: &CaseReport| c.answer.as_ref().unwrap().text.clone();
    let median = plain.rows[1].speedup.unwrap().median;
    assert_eq!(answer(&auto), format!("threads beat serial: {median:.2}x serial [{:.2}, {:.2}]", wide.low, wide.high));
    assert_ne!(answer(&plain), answer(&auto), "the plain 95% interval is narrower");
    assert!(has(&auto, "in the paired 95% interval (allowing for the 12 looks at the data) of its speedup"));
    // A look taken at other rounds than the case's (none is reported then) changes nothing.
    let mut early = Look::at(453, 11, &ratios);
    early.stopped = Some(Stopped::OutOfTime);
    let rounds: Vec<Vec<Sample>> =
        plain.samples.chunks(2).map(|r| r.iter().map(|s| s.sample.clone()).collect()).collect();
    assert_eq!(answer(&case_of(rounds, Vec::new(), Some(early))), answer(&plain));
    // No runner beat serial: the sentence behind it names the looks too.
    let rounds: Vec<Vec<Sample>> = (0..11)
        .map(|r| {
            vec![sample(Serial, 200.0, 1.0, 0.0, 0.0), sample(Threads, 196.0 + f64::from(r % 3) * 4.0, 2.0, 0.0, 0.0)]
        })
        .collect();
    let plain = case_of(rounds.clone(), Vec::new(), None);
    let mut look = Look::at(11, 2, &crate::measure::speedup_ratios(&plain.samples, &[Serial, Threads]));
    look.stopped = Some(Stopped::Futile);
    let tied = case_of(rounds, Vec::new(), Some(look));
    assert!(
        has(
            &tied,
            "No parallel runner beat serial in the paired 95% intervals (allowing for the 2 looks at the data) of their speedups"
        ),
        "{:?}",
        sentences(&tied)
    );
}
