//! Typed parameters: one function both declares a workload's parameters and reads them
//! into the user's own struct, so each name is written once and each value has the
//! type of the field it fills.
//!
//! parbench runs the function twice in different modes: once when the spec is made,
//! to collect the declarations (every getter returns its default), and once per case,
//! to read the values. A name cannot be misspelt against itself, and `.get()` on a
//! `uint` returns a `u64`, so putting it in a `String` field does not compile. The
//! string form ([`Params::uint`]) remains for the built-ins and the spec's hooks.

use super::param::{Param, Params, Value};

/// What a workload's parameters read into: implement it for your own struct.
///
/// ```
/// use parbench::{ParamReader, Parameters};
///
/// struct SortParams { len: u64, tasks: usize }
///
/// impl Parameters for SortParams {
///     fn read(p: &mut ParamReader) -> Self {
///         SortParams {
///             len: p.uint("len", 1_000_000).range(1, 1 << 28).help("Elements per task").get(),
///             tasks: p.uint("tasks", 8).range(1, 256).help("Number of tasks").get() as usize,
///         }
///     }
/// }
/// ```
///
/// A value read into a field of another type does not compile:
///
/// ```compile_fail
/// use parbench::{ParamReader, Parameters};
/// struct SortParams { len: String }
/// impl Parameters for SortParams {
///     fn read(p: &mut ParamReader) -> Self {
///         SortParams { len: p.uint("len", 1_000_000).get() } // expected `String`, found `u64`
///     }
/// }
/// ```
pub trait Parameters: Sized + 'static {
    /// Declares and reads every parameter, in the order `--help` lists them.
    fn read(p: &mut ParamReader<'_>) -> Self;
}

enum Mode<'a> {
    Declare(Vec<Param>),
    Read(&'a Params),
}

/// Declares parameters and reads their values (see [`Parameters`]).
pub struct ParamReader<'a> {
    mode: Mode<'a>,
}

impl<'a> ParamReader<'a> {
    /// The declarations `P` makes, with the values its defaults give.
    pub(crate) fn declarations<P: Parameters>() -> Vec<Param> {
        let mut reader = ParamReader { mode: Mode::Declare(Vec::new()) };
        P::read(&mut reader);
        match reader.mode {
            Mode::Declare(params) => params,
            Mode::Read(_) => unreachable!("declaring"),
        }
    }

    /// Reads one case's values into `P`.
    pub(crate) fn values<P: Parameters>(params: &'a Params) -> P {
        P::read(&mut ParamReader { mode: Mode::Read(params) })
    }

    /// A whole number (`u64`) with a default.
    pub fn uint(&mut self, name: &str, default: u64) -> TypedParam<'_, 'a, u64> {
        self.typed(Param::uint(name, default), default)
    }

    /// A finite number (`f64`) with a default.
    pub fn float(&mut self, name: &str, default: f64) -> TypedParam<'_, 'a, f64> {
        self.typed(Param::float(name, default), default)
    }

    /// Text (`String`) with a default.
    pub fn text(&mut self, name: &str, default: &str) -> TypedParam<'_, 'a, String> {
        self.typed(Param::text(name, default), default.to_string())
    }

    /// One of `choices` (`String`), `default` when not given.
    pub fn choice(&mut self, name: &str, choices: &[&str], default: &str) -> TypedParam<'_, 'a, String> {
        self.typed(Param::choice(name, choices, default), default.to_string())
    }

    /// A list of whole numbers (`Vec<u64>`) with a default.
    pub fn uint_list(&mut self, name: &str, default: &[u64]) -> TypedParam<'_, 'a, Vec<u64>> {
        self.typed(Param::uint_list(name, default), default.to_vec())
    }

    /// The case's worker count ([`Params::workers`]; 1 while declaring).
    pub fn workers(&self) -> usize {
        match &self.mode {
            Mode::Declare(_) => 1,
            Mode::Read(p) => p.workers(),
        }
    }

    /// The run's seed ([`Params::seed`]; 0 while declaring).
    pub fn seed(&self) -> u64 {
        match &self.mode {
            Mode::Declare(_) => 0,
            Mode::Read(p) => p.seed(),
        }
    }

    fn typed<T: FromValue>(&mut self, param: Param, default: T) -> TypedParam<'_, 'a, T> {
        TypedParam { reader: self, param, default }
    }
}

/// One parameter being declared: narrow it, describe it, then [`get`](TypedParam::get) it.
pub struct TypedParam<'r, 'a, T> {
    reader: &'r mut ParamReader<'a>,
    param: Param,
    default: T,
}

impl<T: FromValue> TypedParam<'_, '_, T> {
    /// Allowed range of a whole number or of each element of a list.
    pub fn range(mut self, min: u64, max: u64) -> Self {
        self.param = self.param.range(min, max);
        self
    }

    /// Allowed range of a number.
    pub fn range_float(mut self, min: f64, max: f64) -> Self {
        self.param = self.param.range_float(min, max);
        self
    }

    /// The help text shown by `--help` and `list`.
    pub fn help(mut self, help: &str) -> Self {
        self.param = self.param.help(help);
        self
    }

    /// Accept several comma-separated values and measure one case per value (see
    /// [`Param::sweep`]); each case reads its own.
    pub fn sweep(mut self) -> Self {
        self.param = self.param.sweep();
        self
    }

    /// The value the smoke test (`cargo test --bench`, `-- --test`) uses instead of
    /// the default, so that a debug build finishes quickly.
    pub fn smoke(mut self, value: T) -> Self
    where
        T: Into<Value>,
    {
        self.param = self.param.smoke(value.into());
        self
    }

    /// Declares the parameter (returning its default) or reads its value.
    pub fn get(self) -> T {
        match &mut self.reader.mode {
            Mode::Declare(params) => {
                params.push(self.param);
                self.default
            }
            Mode::Read(values) => {
                let name = self.param.name();
                let value = values.get(name).unwrap_or_else(|| {
                    panic!("parameter {name:?} has no value: Parameters::read declared it conditionally")
                });
                T::from_value(value).unwrap_or_else(|| panic!("parameter {name:?} is {value:?}"))
            }
        }
    }
}

/// The Rust type of a parameter's value.
pub trait FromValue: Sized {
    /// The value, if it is of this type.
    fn from_value(value: &Value) -> Option<Self>;
}

impl FromValue for u64 {
    fn from_value(value: &Value) -> Option<u64> {
        match value {
            Value::UInt(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromValue for f64 {
    fn from_value(value: &Value) -> Option<f64> {
        match value {
            Value::Float(v) => Some(*v),
            Value::UInt(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Option<String> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u64> {
    fn from_value(value: &Value) -> Option<Vec<u64>> {
        match value {
            Value::List(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::UInt(v)
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<Vec<u64>> for Value {
    fn from(v: Vec<u64>) -> Value {
        Value::List(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sizes {
        len: u64,
        label: String,
        scale: f64,
    }

    impl Parameters for Sizes {
        fn read(p: &mut ParamReader<'_>) -> Self {
            Sizes {
                len: p.uint("len", 100).range(1, 1000).help("Elements").smoke(10).get(),
                label: p.choice("label", &["a", "b"], "a").get(),
                scale: p.float("scale", 1.5).range_float(0.0, 2.0).get(),
            }
        }
    }

    #[test]
    fn one_function_declares_and_reads_each_parameter_once() {
        let declared = ParamReader::declarations::<Sizes>();
        let names: Vec<&str> = declared.iter().map(|p| p.name()).collect();
        assert_eq!(names, ["len", "label", "scale"]);
        assert_eq!(declared[0].parse("1001").unwrap_err(), "1001 is out of range 1..=1000");
        let given = [("len".to_string(), serde_json::json!(7)), ("label".to_string(), serde_json::json!("b"))];
        let params = Params::from_json(&declared, &given.into_iter().collect(), 2, 9).unwrap();
        let sizes: Sizes = ParamReader::values(&params);
        assert_eq!((sizes.len, sizes.label.as_str(), sizes.scale), (7, "b", 1.5));
    }
}
