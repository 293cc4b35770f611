//! Which task goes to which worker process, as a pure state machine: no processes, no
//! clocks, so every schedule and every misbehaviour (a task reported twice, by the
//! wrong worker, out of range, a worker gone early) is unit-tested.
//!
//! Dynamic hand-out keeps one task queued ahead in each child's stdin while more tasks
//! remain than there are workers. Without it, every finished task would wait for the
//! parent to be scheduled, read the reply and answer, which on a machine whose cores
//! are all busy with the children costs a scheduler time slice per task. Near the end,
//! only one task per child is in flight, so uneven tasks still balance. Static hand-out
//! sends each worker its one contiguous block at the start.

use std::ops::Range;

/// How tasks are handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// One task at a time to whichever worker is free, with one queued ahead.
    Dynamic,
    /// One contiguous block per worker, all sent at the start.
    Static,
}

/// A reply the dispatch cannot accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A task index that is out of range, already done, or not this worker's.
    Unexpected {
        /// The task it named.
        task: usize,
    },
}

const NOBODY: u32 = u32::MAX;

/// The hand-out of one sample's tasks to `workers` worker processes.
pub struct Dispatch {
    plan: Plan,
    /// Which worker each task was sent to (`NOBODY` before it is sent).
    owner: Vec<u32>,
    done: Vec<bool>,
    /// Tasks sent to each worker and not yet done.
    pending: Vec<usize>,
    /// When each worker was last heard from, in events: the quietest busy one is blamed.
    heard: Vec<u64>,
    events: u64,
    next: usize,
    finished: usize,
}

impl Dispatch {
    /// A hand-out of `tasks` tasks to `workers` workers (made before the timed region:
    /// it allocates, the calls after it do not).
    pub fn new(tasks: usize, workers: usize, plan: Plan) -> Dispatch {
        let workers = workers.max(1);
        Dispatch {
            plan,
            owner: vec![NOBODY; tasks],
            done: vec![false; tasks],
            pending: vec![0; workers],
            heard: vec![0; workers],
            events: 0,
            next: 0,
            finished: 0,
        }
    }

    /// The first hand-out, worker by worker: `send(worker, tasks)` for each range to
    /// send now.
    pub fn start(&mut self, mut send: impl FnMut(usize, Range<usize>)) {
        let (tasks, workers) = (self.owner.len(), self.pending.len());
        match self.plan {
            Plan::Static => {
                for worker in 0..workers {
                    let block = static_block(tasks, worker, workers);
                    self.next = self.next.max(block.end);
                    if !block.is_empty() {
                        self.assign(worker, block.clone());
                        send(worker, block);
                    }
                }
            }
            Plan::Dynamic => {
                // One task each first, then the look-ahead: with few tasks, handing the
                // second task to worker 0 before worker 1 has any would be a static split.
                for worker in 0..workers.min(tasks) {
                    let task = self.next..self.next + 1;
                    self.next += 1;
                    self.assign(worker, task.clone());
                    send(worker, task);
                }
                for worker in 0..workers {
                    if let Some(more) = self.top_up(worker) {
                        send(worker, more);
                    }
                }
            }
        }
    }

    /// Worker `worker` finished `task`: returns the tasks to send it next, if any.
    pub fn done(&mut self, worker: usize, task: usize) -> Result<Option<Range<usize>>, Fault> {
        self.heard(worker);
        let mine = self.owner.get(task).is_some_and(|&o| o as usize == worker);
        if !mine || self.done[task] {
            return Err(Fault::Unexpected { task });
        }
        self.done[task] = true;
        self.finished += 1;
        self.pending[worker] -= 1;
        Ok(match self.plan {
            Plan::Dynamic => self.top_up(worker),
            Plan::Static => None,
        })
    }

    /// Notes that `worker` said something (progress restarts its silence).
    pub fn heard(&mut self, worker: usize) {
        self.events += 1;
        self.heard[worker] = self.events;
    }

    /// Whether every task is done.
    pub fn complete(&self) -> bool {
        self.finished == self.owner.len()
    }

    /// The worker to blame when the deadline passes: the busy one heard from least
    /// recently.
    pub fn quietest(&self) -> usize {
        (0..self.pending.len()).filter(|&w| self.pending[w] > 0).min_by_key(|&w| self.heard[w]).unwrap_or(0)
    }

    /// Whether `worker` still has tasks to finish.
    pub fn busy(&self, worker: usize) -> bool {
        self.pending[worker] > 0
    }

    fn assign(&mut self, worker: usize, tasks: Range<usize>) {
        self.pending[worker] += tasks.len();
        for task in tasks {
            self.owner[task] = worker as u32;
        }
    }

    /// Dynamic look-ahead: the worker's queue holds two tasks while more tasks remain
    /// unassigned than there are workers, else one.
    fn top_up(&mut self, worker: usize) -> Option<Range<usize>> {
        let (tasks, workers) = (self.owner.len(), self.pending.len());
        let first = self.next;
        loop {
            let depth = if tasks - self.next > workers { 2 } else { 1 };
            if self.pending[worker] >= depth || self.next >= tasks {
                break;
            }
            self.assign(worker, self.next..self.next + 1);
            self.next += 1;
        }
        (self.next > first).then_some(first..self.next)
    }
}

/// Worker `worker`'s contiguous block of `tasks` under a static split.
pub fn static_block(tasks: usize, worker: usize, workers: usize) -> Range<usize> {
    let workers = workers.max(1);
    (tasks * worker / workers)..(tasks * (worker + 1) / workers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(d: &mut Dispatch) -> Vec<(usize, Range<usize>)> {
        let mut sent = Vec::new();
        d.start(|w, r| sent.push((w, r)));
        sent
    }

    #[test]
    fn dynamic_hands_one_each_then_one_ahead() {
        let mut d = Dispatch::new(10, 3, Plan::Dynamic);
        assert_eq!(start(&mut d), vec![(0, 0..1), (1, 1..2), (2, 2..3), (0, 3..4), (1, 4..5), (2, 5..6)]);
        assert_eq!(d.done(1, 1), Ok(Some(6..7)));
        // 3 tasks left for 3 workers: no look-ahead any more, one in flight each.
        assert_eq!(d.done(1, 4), Ok(None));
        assert_eq!(d.done(1, 6), Ok(Some(7..8)));
        assert_eq!(d.done(0, 0), Ok(None));
        assert_eq!(d.done(0, 3), Ok(Some(8..9)));
        assert_eq!(d.done(2, 2), Ok(None));
        assert_eq!(d.done(2, 5), Ok(Some(9..10)));
        for (w, t) in [(1, 7), (0, 8), (2, 9)] {
            assert!(!d.complete());
            assert_eq!(d.done(w, t), Ok(None));
        }
        assert!(d.complete());
    }

    #[test]
    fn dynamic_with_fewer_tasks_than_workers_leaves_some_idle() {
        let mut d = Dispatch::new(2, 4, Plan::Dynamic);
        assert_eq!(start(&mut d), vec![(0, 0..1), (1, 1..2)]);
        assert_eq!(d.done(1, 1), Ok(None));
        assert_eq!(d.done(0, 0), Ok(None));
        assert!(d.complete());
    }

    #[test]
    fn static_sends_each_worker_its_block_once() {
        let mut d = Dispatch::new(7, 3, Plan::Static);
        assert_eq!(start(&mut d), vec![(0, 0..2), (1, 2..4), (2, 4..7)]);
        for (w, t) in [(2, 4), (0, 0), (2, 5), (1, 2), (0, 1), (1, 3)] {
            assert_eq!(d.done(w, t), Ok(None));
        }
        assert!(!d.complete());
        d.done(2, 6).unwrap();
        assert!(d.complete());
        assert!(start(&mut Dispatch::new(0, 2, Plan::Static)).is_empty());
    }

    #[test]
    fn duplicates_strangers_and_out_of_range_tasks_are_faults() {
        let mut d = Dispatch::new(4, 2, Plan::Dynamic);
        start(&mut d);
        assert_eq!(d.done(1, 0), Err(Fault::Unexpected { task: 0 }), "task 0 went to worker 0");
        d.done(0, 0).unwrap();
        assert_eq!(d.done(0, 0), Err(Fault::Unexpected { task: 0 }), "reported twice");
        assert_eq!(d.done(0, 99), Err(Fault::Unexpected { task: 99 }));
        assert_eq!(d.done(0, usize::MAX), Err(Fault::Unexpected { task: usize::MAX }));
        // A task not sent to anyone yet.
        let mut d = Dispatch::new(10, 2, Plan::Dynamic);
        start(&mut d);
        assert_eq!(d.done(0, 9), Err(Fault::Unexpected { task: 9 }));
    }

    #[test]
    fn the_quietest_busy_worker_is_blamed() {
        let mut d = Dispatch::new(3, 3, Plan::Dynamic);
        start(&mut d);
        d.heard(0);
        d.heard(2);
        assert_eq!(d.quietest(), 1);
        d.done(1, 1).unwrap();
        // Worker 1 is idle now: of the busy ones, 0 was heard from before 2.
        assert_eq!(d.quietest(), 0);
        assert!(!d.busy(1) && d.busy(0));
    }
}
