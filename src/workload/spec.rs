//! A workload's declaration: its name, its parameters, how to build it, and the
//! hooks parbench asks before measuring (what it can run under, how it scales, whether
//! it is a race by design).
//!
//! Everything here is a function of the parameters alone and cheap to call: the plan
//! asks it for every case before anything is built. Building (the set-up, which may
//! allocate a large input) happens later, outside every timed region.

use std::sync::Arc;

use super::param::{Param, Params, Value};
use super::reader::{ParamReader, Parameters};
use super::topology::{ErasedPipeline, Pipeline};
use super::typed::{DynWorkload, Erased, TypedWorkload};

type BuildFn = dyn Fn(&Params) -> Result<Box<dyn DynWorkload>, String> + Send + Sync;
type CheckFn = dyn Fn(&Params) -> Result<(), String> + Send + Sync;
type PropertiesFn = dyn Fn(&Params) -> Properties + Send + Sync;
type ScaleFn = dyn Fn(&Params, Scaling) -> Result<Params, String> + Send + Sync;
type CalibrateFn = dyn Fn(&Params) -> Params + Send + Sync;

/// What parbench should know about a case before running it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Properties {
    /// `Some(why)` when all workers must share one address space (a `std::sync::Mutex`):
    /// runners that use several processes are then skipped, or refused if asked for.
    pub one_address_space: Option<String>,
    /// `Some(why)` when the workers must run on parbench's own machine (they share
    /// memory, or use its files): runners whose workers may be on other machines (mpi)
    /// are then skipped, or refused if asked for.
    pub one_machine: Option<String>,
    /// Tasks mostly wait (sleep, I/O, other programs) rather than compute: more workers
    /// than cores can help, and CPU-bound reasoning does not apply.
    pub waits: bool,
    /// The result varies by design (the counter without synchronisation): reported,
    /// never gated by `compare`.
    pub race: bool,
    /// The share of each task's time spent computing by design, the rest waiting (the
    /// `mixed` workload's cpu / (cpu + io)): at most 1 / share workers per core are
    /// useful, and the notes give that bound next to the measured best.
    pub compute_share: Option<f64>,
    /// Each task takes this many milliseconds by design (a sleep), so the ideal wall
    /// time of W workers is known: reports and `compare` measure against it.
    pub task_ms: Option<f64>,
    /// A sentence printed under this case's table.
    pub note: Option<String>,
    /// How much work one sample does, so that cases of different sizes can be ranked
    /// by their cost per unit (the counter's increments).
    pub work: Option<Work>,
    /// What one sample processes, for the throughput column. parbench fills it from
    /// the built workload's [`TypedWorkload::throughput`]; leave it `None` here.
    pub throughput: Option<super::Throughput>,
}

/// An amount of work in a named unit: `8000000 increment`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Work {
    /// Units of work in one sample.
    pub amount: f64,
    /// The unit, singular: `increment`, `division`.
    pub unit: String,
}

/// How `parbench scale` sizes a case for one worker count of a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scaling {
    /// Workers of this point of the sweep.
    pub workers: usize,
    /// Largest worker count of the sweep.
    pub max_workers: usize,
    /// Weak scaling (work grows with the workers) rather than strong (work fixed).
    pub weak: bool,
}

/// A registered workload: name, declared parameters, constructor and hooks.
///
/// ```
/// use parbench::{Param, Params, WorkloadSpec};
/// # use parbench::{SharedState, TaskContext, Verification, Workload};
/// # struct Squares { n: u64 }
/// # impl Workload for Squares {
/// #     fn task_count(&self) -> usize { self.n as usize }
/// #     fn run_task(&self, task: usize, _: &TaskContext<'_>) -> u64 { (task * task) as u64 }
/// #     fn verify(&self, c: &[u64], _: &SharedState) -> Verification { Verification::verified("ok") }
/// # }
/// let spec = WorkloadSpec::new("squares", "squares of the task index", |p: &Params| {
///     Ok(Squares { n: p.uint("tasks") })
/// })
/// .param(Param::uint("tasks", 8).range(1, 1000).help("Number of tasks"));
/// assert_eq!(spec.name(), "squares");
/// ```
#[derive(Clone)]
pub struct WorkloadSpec {
    pub(crate) name: String,
    pub(crate) about: String,
    pub(crate) params: Vec<Param>,
    pub(crate) hidden: bool,
    /// Built by [`WorkloadSpec::pipeline`]: the workload defines its own topology.
    pipeline: bool,
    build: Arc<BuildFn>,
    check: Option<Arc<CheckFn>>,
    properties: Option<Arc<PropertiesFn>>,
    scale: Option<Arc<ScaleFn>>,
    calibrate: Option<Arc<CalibrateFn>>,
}

impl std::fmt::Debug for WorkloadSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadSpec").field("name", &self.name).field("params", &self.params).finish()
    }
}

impl WorkloadSpec {
    /// A workload called `name` (its command-line name), described by `about` (one
    /// line), built by `build` from its parameter values. `build` is the set-up: it
    /// runs once per case in parbench and once in every worker process, always
    /// outside the timed region, and its time is reported.
    pub fn new<W, F>(name: &str, about: &str, build: F) -> WorkloadSpec
    where
        W: TypedWorkload + 'static,
        F: Fn(&Params) -> Result<W, String> + Send + Sync + 'static,
    {
        let erase = move |p: &Params| build(p).map(|w| Box::new(Erased(w)) as Box<dyn DynWorkload>);
        WorkloadSpec::built_by(name, about, Arc::new(erase), false)
    }

    /// A workload whose parameters are a struct of yours ([`Parameters`]): its `read`
    /// declares them (name, default, range, help) and reads them, so a misspelt name or
    /// a wrong type is a compile error rather than a panic at set-up. `build` gets the
    /// struct and is the set-up, as for [`WorkloadSpec::new`].
    ///
    /// ```
    /// use parbench::{ParamReader, Parameters, WorkloadSpec};
    /// # use parbench::{SharedState, TaskContext, Verification, Workload};
    /// # struct Squares { n: u64 }
    /// # impl Workload for Squares {
    /// #     fn task_count(&self) -> usize { self.n as usize }
    /// #     fn run_task(&self, task: usize, _: &TaskContext<'_>) -> u64 { (task * task) as u64 }
    /// #     fn verify(&self, c: &[u64], _: &SharedState) -> Verification { Verification::verified("ok") }
    /// # }
    /// struct SquaresParams { tasks: u64 }
    ///
    /// impl Parameters for SquaresParams {
    ///     fn read(p: &mut ParamReader<'_>) -> Self {
    ///         SquaresParams { tasks: p.uint("tasks", 8).range(1, 1000).help("Number of tasks").get() }
    ///     }
    /// }
    ///
    /// let spec = WorkloadSpec::with_params("squares", "squares of the task index", |p: SquaresParams| {
    ///     Ok(Squares { n: p.tasks })
    /// });
    /// assert_eq!(spec.params()[0].name(), "tasks");
    /// ```
    pub fn with_params<P, W, F>(name: &str, about: &str, build: F) -> WorkloadSpec
    where
        P: Parameters,
        W: TypedWorkload + 'static,
        F: Fn(P) -> Result<W, String> + Send + Sync + 'static,
    {
        let mut spec = WorkloadSpec::new(name, about, move |p: &Params| build(ParamReader::values::<P>(p)));
        spec.params = ParamReader::declarations::<P>();
        spec
    }

    /// A workload of the second shape: a [`Pipeline`] of stages joined by bounded
    /// queues, which every runner runs in its own pipeline model (a runner without
    /// one is refused before anything runs). `build` is the set-up, as for
    /// [`WorkloadSpec::new`]; declare the parameters with [`WorkloadSpec::param`].
    pub fn pipeline<P, F>(name: &str, about: &str, build: F) -> WorkloadSpec
    where
        P: Pipeline + 'static,
        F: Fn(&Params) -> Result<P, String> + Send + Sync + 'static,
    {
        let erase = move |p: &Params| build(p).map(|w| Box::new(ErasedPipeline::new(w)) as Box<dyn DynWorkload>);
        WorkloadSpec::built_by(name, about, Arc::new(erase), true)
    }

    fn built_by(name: &str, about: &str, build: Arc<BuildFn>, pipeline: bool) -> WorkloadSpec {
        WorkloadSpec {
            name: name.to_string(),
            about: about.to_string(),
            params: Vec::new(),
            hidden: false,
            pipeline,
            build,
            check: None,
            properties: None,
            scale: None,
            calibrate: None,
        }
    }

    /// Declares a parameter (order is kept in help texts and labels).
    pub fn param(mut self, param: Param) -> WorkloadSpec {
        self.params.push(param);
        self
    }

    /// A check across parameters (`--numbers` or `--count`, not both), run for every
    /// case before anything is measured; `Err` is a usage error (exit 2).
    pub fn check(mut self, check: impl Fn(&Params) -> Result<(), String> + Send + Sync + 'static) -> WorkloadSpec {
        self.check = Some(Arc::new(check));
        self
    }

    /// What parbench should know about a case (see [`Properties`]); default: nothing
    /// special.
    pub fn properties(mut self, f: impl Fn(&Params) -> Properties + Send + Sync + 'static) -> WorkloadSpec {
        self.properties = Some(Arc::new(f));
        self
    }

    /// How to size the workload for one point of a `scale` sweep. The default keeps the
    /// parameters under strong scaling and multiplies a `tasks` parameter by the worker
    /// count under weak scaling (a workload without one refuses `--weak`).
    pub fn scaling(
        mut self,
        f: impl Fn(&Params, Scaling) -> Result<Params, String> + Send + Sync + 'static,
    ) -> WorkloadSpec {
        self.scale = Some(Arc::new(f));
        self
    }

    /// Parameters that make this workload's tasks (nearly) empty, so that `scale`
    /// calibrates each runner's fixed cost on the workload itself. Default: empty tasks
    /// of parbench's own, one per worker.
    pub fn calibration(mut self, f: impl Fn(&Params) -> Params + Send + Sync + 'static) -> WorkloadSpec {
        self.calibrate = Some(Arc::new(f));
        self
    }

    /// Leaves the workload out of `list` and the command line (parbench's own
    /// calibration workload).
    pub(crate) fn hidden(mut self) -> WorkloadSpec {
        self.hidden = true;
        self
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The one-line description.
    pub fn about(&self) -> &str {
        &self.about
    }

    /// The declared parameters.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// Whether the workload defines its own topology ([`WorkloadSpec::pipeline`]):
    /// runners run it in their pipeline model, not as independent tasks.
    pub fn is_pipeline(&self) -> bool {
        self.pipeline
    }

    /// Runs the set-up: builds the workload.
    pub(crate) fn build(&self, params: &Params) -> Result<Box<dyn DynWorkload>, String> {
        (self.build)(params)
    }

    pub(crate) fn run_check(&self, params: &Params) -> Result<(), String> {
        self.check.as_ref().map_or(Ok(()), |c| c(params))
    }

    pub(crate) fn properties_of(&self, params: &Params) -> Properties {
        self.properties.as_ref().map(|f| f(params)).unwrap_or_default()
    }

    pub(crate) fn calibration_of(&self, params: &Params) -> Option<Params> {
        self.calibrate.as_ref().map(|f| f(params))
    }

    pub(crate) fn scaled(&self, params: &Params, scaling: Scaling) -> Result<Params, String> {
        if let Some(f) = &self.scale {
            return f(params, scaling);
        }
        if !scaling.weak {
            return Ok(params.clone());
        }
        match params.get("tasks") {
            Some(Value::UInt(tasks)) => {
                let grown = tasks.checked_mul(scaling.workers as u64).filter(|&t| t <= super::MAX_TASKS);
                let grown = grown.ok_or_else(|| {
                    format!(
                        "weak scaling to {} workers needs {tasks} x {} tasks, more than the {} allowed; \
                         lower --tasks or the largest worker count",
                        scaling.workers,
                        scaling.workers,
                        super::MAX_TASKS
                    )
                })?;
                Ok(params.with("tasks", Value::UInt(grown)))
            }
            _ => Err(format!("workload {} has no tasks parameter to grow for --weak", self.name)),
        }
    }
}
