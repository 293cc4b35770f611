//! Declared parameters: what a workload accepts (name, type, default, range, help) and
//! the values one case was given.
//!
//! Every value, whether it comes from a flag, a suite file, a result file or the
//! worker protocol, is turned into text and parsed by [`Param::parse`]: one set of
//! rules, one set of error messages, wherever the value came from.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The type and limits of a parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A whole number in `min..=max`.
    UInt {
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },
    /// A finite number in `min..=max`.
    Float {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// Any text (a command line, a path).
    Text,
    /// One of a fixed set of words.
    Choice(Vec<String>),
    /// A comma-separated list of whole numbers, each in `min..=max`.
    UIntList {
        /// Smallest allowed element.
        min: u64,
        /// Largest allowed element.
        max: u64,
    },
}

/// A parameter's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A whole number.
    UInt(u64),
    /// A number.
    Float(f64),
    /// Text or a choice.
    Text(String),
    /// A list of whole numbers.
    List(Vec<u64>),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::UInt(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(v) => f.write_str(v),
            Value::List(v) => {
                let items: Vec<String> = v.iter().map(u64::to_string).collect();
                f.write_str(&items.join(","))
            }
        }
    }
}

/// What happens when a parameter is not given.
#[derive(Clone, Debug, PartialEq)]
enum Absent {
    /// This value.
    Default(Value),
    /// The parameter has no value; the workload treats it as unset.
    Unset,
    /// It must be given.
    Required,
    /// A swept choice: one case per choice.
    EveryChoice,
}

/// One declared parameter of a workload.
///
/// ```
/// use parbench::Param;
/// let size = Param::uint("size-mib", 64).range(1, 4096).help("Size of the generated buffer, MiB");
/// assert_eq!(size.parse("128").unwrap().to_string(), "128");
/// assert!(size.parse("0").unwrap_err().contains("out of range 1..=4096"));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    pub(crate) name: String,
    pub(crate) help: String,
    pub(crate) kind: Kind,
    absent: Absent,
    pub(crate) sweep: bool,
    /// The value the smoke test gives it, when smaller than the default.
    pub(crate) smoke: Option<Value>,
    /// A further rule for a text value (a list of stages), checked by [`Param::parse`].
    validate: Option<Validator>,
}

/// A text parameter's own rule: `Err` says what is wrong with the value.
#[derive(Clone, Copy)]
struct Validator(fn(&str) -> Result<(), String>);

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Validator")
    }
}

/// Two declarations are the same whatever their rules: a rule is code, not data.
impl PartialEq for Validator {
    fn eq(&self, _: &Validator) -> bool {
        true
    }
}

impl Param {
    fn new(name: &str, kind: Kind, absent: Absent) -> Param {
        Param { name: name.to_string(), help: String::new(), kind, absent, sweep: false, smoke: None, validate: None }
    }

    /// A whole number with a default; any `u64` unless [`Param::range`] narrows it.
    pub fn uint(name: &str, default: u64) -> Param {
        Param::new(name, Kind::UInt { min: 0, max: u64::MAX }, Absent::Default(Value::UInt(default)))
    }

    /// A finite number with a default; narrow it with [`Param::range_float`].
    pub fn float(name: &str, default: f64) -> Param {
        let kind = Kind::Float { min: f64::MIN, max: f64::MAX };
        Param::new(name, kind, Absent::Default(Value::Float(default)))
    }

    /// Text with a default.
    pub fn text(name: &str, default: &str) -> Param {
        Param::new(name, Kind::Text, Absent::Default(Value::Text(default.to_string())))
    }

    /// One of `choices`, `default` when not given.
    pub fn choice(name: &str, choices: &[&str], default: &str) -> Param {
        let kind = Kind::Choice(choices.iter().map(|c| c.to_string()).collect());
        Param::new(name, kind, Absent::Default(Value::Text(default.to_string())))
    }

    /// A list of whole numbers with a default.
    pub fn uint_list(name: &str, default: &[u64]) -> Param {
        Param::new(name, Kind::UIntList { min: 0, max: u64::MAX }, Absent::Default(Value::List(default.to_vec())))
    }

    /// Allowed range of a whole number or of each element of a list.
    pub fn range(mut self, min: u64, max: u64) -> Param {
        match &mut self.kind {
            Kind::UInt { min: a, max: b } | Kind::UIntList { min: a, max: b } => (*a, *b) = (min, max),
            _ => panic!("parameter {}: range() applies to uint and uint_list parameters", self.name),
        }
        self
    }

    /// Allowed range of a number.
    pub fn range_float(mut self, min: f64, max: f64) -> Param {
        match &mut self.kind {
            Kind::Float { min: a, max: b } => (*a, *b) = (min, max),
            _ => panic!("parameter {}: range_float() applies to float parameters", self.name),
        }
        self
    }

    /// A rule a text value must obey beyond being text (`cpu:200us,sleep:1ms`): `rule`
    /// returns what is wrong with a value, and the error names the parameter and the
    /// value as the user spelled them, like any other bad value.
    pub fn validate(mut self, rule: fn(&str) -> Result<(), String>) -> Param {
        assert!(matches!(self.kind, Kind::Text), "parameter {}: validate() applies to text parameters", self.name);
        self.validate = Some(Validator(rule));
        self
    }

    /// The help text shown by `--help` and `list`.
    pub fn help(mut self, help: &str) -> Param {
        self.help = help.to_string();
        self
    }

    /// The value the smoke test (`cargo test --bench`, `-- --test`, a bench target
    /// without arguments) uses instead of the default, so that a debug build finishes
    /// quickly.
    pub fn smoke(mut self, value: impl Into<Value>) -> Param {
        self.smoke = Some(value.into());
        self
    }

    /// No default: the parameter is unset unless given ([`Params::get`] is `None`).
    pub fn optional(mut self) -> Param {
        self.absent = Absent::Unset;
        self
    }

    /// No default: the parameter must be given.
    pub fn required(mut self) -> Param {
        self.absent = Absent::Required;
        self
    }

    /// Accept several comma-separated values (a list in suite files) and measure one
    /// case per value. For a choice, not giving it measures every choice.
    pub fn sweep(mut self) -> Param {
        self.sweep = true;
        if matches!(self.kind, Kind::Choice(_)) {
            self.absent = Absent::EveryChoice;
        }
        self
    }

    /// The parameter's name: `--NAME` on the command line, `NAME = ...` in suites.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Parses one value from text, checking type and range. The error says what is
    /// wrong with the value, without naming the parameter (the caller knows how it was
    /// spelled: `--n` or `n =`).
    pub fn parse(&self, text: &str) -> Result<Value, String> {
        let t = text.trim();
        match &self.kind {
            Kind::UInt { min, max } => parse_uint(t, *min, *max).map(Value::UInt),
            Kind::Float { min, max } => {
                let v: f64 = t.parse().map_err(|_| format!("\"{}\" is not a number", shown(t)))?;
                if !v.is_finite() || v < *min || v > *max {
                    return Err(format!("{} is out of range {}", shown(t), float_range(*min, *max)));
                }
                Ok(Value::Float(v))
            }
            Kind::Text => {
                if let Some(Validator(rule)) = self.validate {
                    rule(text)?;
                }
                Ok(Value::Text(text.to_string()))
            }
            Kind::Choice(choices) => {
                if choices.iter().any(|c| c == t) {
                    Ok(Value::Text(t.to_string()))
                } else {
                    Err(format!("\"{}\" is not one of {}{}", shown(t), choices.join(", "), suggest(t, choices.iter())))
                }
            }
            Kind::UIntList { min, max } => {
                if t.is_empty() || t.split(',').any(|s| s.trim().is_empty()) {
                    return Err(format!("\"{}\" is empty or has an empty entry: give numbers like 12,34", shown(t)));
                }
                let items: Vec<&str> = t.split(',').collect();
                if items.len() as u64 > super::MAX_TASKS {
                    return Err(format!("{} entries are more than {} allowed", items.len(), super::MAX_TASKS));
                }
                items.into_iter().map(|s| parse_uint(s.trim(), *min, *max)).collect::<Result<_, _>>().map(Value::List)
            }
        }
    }

    /// The value used when the parameter is not given: `Ok(None)` when it stays unset,
    /// `Err` when it is required.
    pub(crate) fn absent_values(&self) -> Result<Vec<Option<Value>>, String> {
        match &self.absent {
            Absent::Default(v) => Ok(vec![Some(v.clone())]),
            Absent::Unset => Ok(vec![None]),
            Absent::Required => Err("is required".into()),
            Absent::EveryChoice => match &self.kind {
                Kind::Choice(c) => Ok(c.iter().map(|c| Some(Value::Text(c.clone()))).collect()),
                _ => unreachable!("EveryChoice is set for choices only"),
            },
        }
    }

    /// `[default: 34] (1..=50)`, for help texts.
    pub(crate) fn default_and_range(&self) -> String {
        let default = match &self.absent {
            Absent::Default(v) => format!("[default: {v}]"),
            Absent::Unset => "[optional]".to_string(),
            Absent::Required => "[required]".to_string(),
            Absent::EveryChoice => "[default: all]".to_string(),
        };
        let range = match &self.kind {
            Kind::UInt { min, max } | Kind::UIntList { min, max } if (*min, *max) != (0, u64::MAX) => {
                format!(" ({min}..={max})")
            }
            Kind::Float { min, max } if (*min, *max) != (f64::MIN, f64::MAX) => {
                format!(" ({})", float_range(*min, *max))
            }
            Kind::Choice(c) => format!(" ({})", c.join(", ")),
            _ => String::new(),
        };
        format!("{default}{range}")
    }

    /// The placeholder in `--name <N>`.
    pub(crate) fn value_name(&self) -> &'static str {
        match (&self.kind, self.sweep) {
            (Kind::UInt { .. }, false) => "N",
            (Kind::Float { .. }, false) => "X",
            (Kind::Text, false) => "TEXT",
            (Kind::Choice(_), false) => "WORD",
            (_, true) | (Kind::UIntList { .. }, _) => "LIST",
        }
    }

    /// Checks the declaration itself: a default that breaks its own range is the
    /// workload author's mistake, reported when the registry is checked.
    pub(crate) fn check_declaration(&self) -> Result<(), String> {
        if let Absent::Default(v) = &self.absent {
            self.parse(&v.to_string()).map_err(|e| format!("default {e}"))?;
        }
        if let Some(v) = &self.smoke {
            let parsed = self.parse(&v.to_string()).map_err(|e| format!("smoke value {e}"))?;
            if std::mem::discriminant(&parsed) != std::mem::discriminant(v) {
                return Err(format!("smoke value {v} is not of the parameter's type"));
            }
        }
        if !valid_name(&self.name) {
            return Err("names start with a lowercase letter, then lowercase letters, digits, - and _".into());
        }
        if let Kind::Choice(c) = &self.kind {
            if c.is_empty() {
                return Err("a choice needs at least one word".into());
            }
        }
        Ok(())
    }
}

/// `text` as shown in a message: at most 40 characters, made safe for a terminal.
pub(crate) fn shown(text: &str) -> String {
    let clean = crate::text::terminal_safe(text);
    match clean.char_indices().nth(40) {
        Some((i, _)) => format!("{}... ({} characters)", &clean[..i], text.chars().count()),
        None => clean.into_owned(),
    }
}

/// A name for the command line: `size-mib`, `n`, `checksum`.
pub(crate) fn valid_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn parse_uint(t: &str, min: u64, max: u64) -> Result<u64, String> {
    let v: u64 = t.parse().map_err(|_| {
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
            format!("{} is too large: at most {max}", shown(t))
        } else {
            format!("\"{}\" is not a whole number", shown(t))
        }
    })?;
    if v < min || v > max {
        return Err(format!("{v} is out of range {min}..={max}"));
    }
    Ok(v)
}

/// `0.5..=2`, with very large or small bounds in exponent form.
fn float_range(min: f64, max: f64) -> String {
    let f = |v: f64| if v != 0.0 && (v.abs() >= 1e6 || v.abs() < 1e-4) { format!("{v:e}") } else { format!("{v}") };
    format!("{}..={}", f(min), f(max))
}

/// `; did you mean "x"?` when one of `options` is close to `given`.
pub(crate) fn suggest<'a>(given: &str, options: impl Iterator<Item = &'a String>) -> String {
    options
        .map(|o| (strsim::levenshtein(given, o), o))
        .filter(|(d, o)| *d <= 2.max(o.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, o)| format!("; did you mean {o:?}?"))
        .unwrap_or_default()
}

/// The values of one case: each declared parameter that has a value, in declaration
/// order, plus the run's worker count and seed, which a workload may use (the counter
/// runs one task per worker; factorize draws its numbers from the seed).
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    values: Vec<(String, Value)>,
    workers: usize,
    seed: u64,
}

impl Params {
    pub(crate) fn new(values: Vec<(String, Value)>, workers: usize, seed: u64) -> Params {
        Params { values, workers, seed }
    }

    /// The value of `name`, or `None` for an unset optional parameter.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn expect(&self, name: &str, what: &str) -> ! {
        match self.get(name) {
            None => panic!("parameter {name:?} has no value: it is not declared, or optional and unset"),
            Some(v) => panic!("parameter {name:?} is {v:?}, not {what}"),
        }
    }

    /// A whole-number parameter. Panics if `name` is not a declared, set uint.
    pub fn uint(&self, name: &str) -> u64 {
        match self.get(name) {
            Some(Value::UInt(v)) => *v,
            _ => self.expect(name, "a whole number"),
        }
    }

    /// A number parameter. Panics if `name` is not a declared, set float.
    pub fn float(&self, name: &str) -> f64 {
        match self.get(name) {
            Some(Value::Float(v)) => *v,
            Some(Value::UInt(v)) => *v as f64,
            _ => self.expect(name, "a number"),
        }
    }

    /// A text or choice parameter. Panics if `name` is not a declared, set text.
    pub fn text(&self, name: &str) -> &str {
        match self.get(name) {
            Some(Value::Text(v)) => v,
            _ => self.expect(name, "text"),
        }
    }

    /// A list parameter. Panics if `name` is not a declared, set list.
    pub fn list(&self, name: &str) -> &[u64] {
        match self.get(name) {
            Some(Value::List(v)) => v,
            _ => self.expect(name, "a list"),
        }
    }

    /// The set values, in declaration order.
    pub(crate) fn to_values(&self) -> Vec<(String, Value)> {
        self.values.clone()
    }

    /// Worker count of the case (1..=1024). Serial runs the same tasks.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The run's seed (`--seed`).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The same values with `name` set to `value` (for scaling hooks).
    pub fn with(&self, name: &str, value: Value) -> Params {
        let mut p = self.clone();
        match p.values.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => p.values.push((name.to_string(), value)),
        }
        p
    }

    /// `n=34, tasks=8`: every set value; lists longer than six numbers are counted.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .values
            .iter()
            .map(|(n, v)| match v {
                Value::List(l) if l.len() > 6 => format!("{n}={} values", l.len()),
                Value::Text(t) if t.chars().count() > 40 => {
                    format!("{n}={:?}", format!("{}...", t.chars().take(37).collect::<String>()))
                }
                Value::Text(t) if t.contains([' ', ',', '(', ')']) => format!("{n}={t:?}"),
                v => format!("{n}={v}"),
            })
            .collect();
        parts.join(", ")
    }

    /// The values as a JSON object, for result files and the worker protocol.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.values
            .iter()
            .map(|(n, v)| (n.clone(), serde_json::to_value(v).expect("values always serialise")))
            .collect()
    }

    /// Reads values back from [`Params::to_json`], checking each against `declared`.
    pub(crate) fn from_json(
        declared: &[Param],
        json: &serde_json::Map<String, serde_json::Value>,
        workers: usize,
        seed: u64,
    ) -> Result<Params, String> {
        let mut values = Vec::new();
        for (name, v) in json {
            let param =
                declared.iter().find(|p| &p.name == name).ok_or_else(|| format!("unknown parameter {name:?}"))?;
            values.push((name.clone(), param.parse(&json_text(v)?).map_err(|e| format!("{name}: {e}"))?));
        }
        // What was not sent takes its default, as on the command line.
        let missing: Vec<&Param> = declared.iter().filter(|p| !values.iter().any(|(n, _)| n == &p.name)).collect();
        for p in missing {
            match p.absent_values() {
                Ok(v) if v.len() == 1 => values.extend(v.into_iter().flatten().map(|v| (p.name.clone(), v))),
                _ => return Err(format!("missing {}", p.name)),
            }
        }
        // Declaration order, whatever order the object had.
        values.sort_by_key(|(n, _)| declared.iter().position(|p| &p.name == n));
        Ok(Params { values, workers, seed })
    }
}

/// `name (n=34, tasks=8)`, or just `name` without parameters: the label of a case.
pub(crate) fn label(name: &str, params: &Params) -> String {
    match params.describe() {
        d if d.is_empty() => name.to_string(),
        d => format!("{name} ({d})"),
    }
}

/// A JSON scalar or array of scalars as the text a flag would hold.
pub(crate) fn json_text(v: &serde_json::Value) -> Result<String, String> {
    use serde_json::Value as J;
    match v {
        J::String(s) => Ok(s.clone()),
        J::Number(n) => Ok(n.to_string()),
        J::Bool(b) => Ok(b.to_string()),
        J::Array(items) => items.iter().map(json_text).collect::<Result<Vec<_>, _>>().map(|v| v.join(",")),
        other => Err(format!("{other} is not a value")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_name_too_large_and_out_of_range_values() {
        let p = Param::uint("n", 3).range(1, 50);
        assert_eq!(p.parse(" 7 "), Ok(Value::UInt(7)));
        assert_eq!(p.parse("51").unwrap_err(), "51 is out of range 1..=50");
        assert!(p.parse("18446744073709551616").unwrap_err().contains("too large"));
        assert!(p.parse("-1").unwrap_err().contains("not a whole number"));
        assert!(p.parse("1e3").unwrap_err().contains("not a whole number"));
        let long = p.parse(&"1".repeat(100_000)).unwrap_err();
        assert!(long.len() < 120 && long.contains("100000 characters"), "{long}");
    }

    #[test]
    fn choices_suggest_a_close_word() {
        let p = Param::choice("sync", &["none", "mutex", "atomic"], "none");
        assert!(p.parse("mutx").unwrap_err().contains("did you mean \"mutex\""));
        assert!(!p.parse("zzzzzz").unwrap_err().contains("did you mean"));
    }

    #[test]
    fn lists_refuse_empty_entries_and_check_each_element() {
        let p = Param::uint_list("numbers", &[1]).range(1, 100);
        assert_eq!(p.parse("1,2, 3"), Ok(Value::List(vec![1, 2, 3])));
        assert!(p.parse("1,,2").is_err());
        assert!(p.parse("").is_err());
        assert!(p.parse("1,200").unwrap_err().contains("200 is out of range"));
    }

    #[test]
    fn floats_must_be_finite_and_in_range() {
        let p = Param::float("ratio", 0.5).range_float(0.0, 1.0);
        assert_eq!(p.parse("0.25"), Ok(Value::Float(0.25)));
        assert!(p.parse("nan").is_err());
        assert!(p.parse("inf").is_err());
        assert!(p.parse("1.5").is_err());
    }

    #[test]
    fn a_swept_choice_defaults_to_every_choice() {
        let p = Param::choice("mode", &["a", "b"], "a").sweep();
        assert_eq!(p.absent_values().unwrap().len(), 2);
        assert!(Param::text("cmd", "").required().absent_values().is_err());
    }

    #[test]
    fn values_survive_the_json_round_trip_in_declaration_order() {
        let declared = vec![Param::uint("n", 1), Param::text("cmd", "x"), Param::uint_list("l", &[])];
        let p = Params::new(
            vec![
                ("n".into(), Value::UInt(5)),
                ("cmd".into(), Value::Text("a b".into())),
                ("l".into(), Value::List(vec![1, 2])),
            ],
            2,
            9,
        );
        let back = Params::from_json(&declared, &p.to_json(), 2, 9).unwrap();
        assert_eq!(back, p);
        assert_eq!(p.describe(), "n=5, cmd=\"a b\", l=1,2");
        // Missing values take their defaults; a required one without a value is an error.
        let filled = Params::from_json(&declared, &serde_json::Map::new(), 2, 9).unwrap();
        assert_eq!(filled.uint("n"), 1);
        let required = vec![Param::text("cmd", "").required()];
        assert!(Params::from_json(&required, &serde_json::Map::new(), 1, 1).unwrap_err().contains("missing cmd"));
        let mut bad = p.to_json();
        bad.insert("zz".into(), serde_json::json!(1));
        assert!(Params::from_json(&declared, &bad, 2, 9).unwrap_err().contains("unknown parameter \"zz\""));
    }

    #[test]
    fn a_default_outside_its_range_is_a_declaration_error() {
        assert!(Param::uint("n", 0).range(1, 5).check_declaration().is_err());
        assert!(Param::uint("N", 1).check_declaration().is_err());
        assert!(Param::uint("size-mib", 1).check_declaration().is_ok());
        assert!(Param::uint("-x", 1).check_declaration().is_err());
        assert!(Param::choice("c", &[], "").check_declaration().is_err());
        let nan = Param::float("f", f64::NAN).range_float(0.0, 1.0).check_declaration().unwrap_err();
        assert!(nan.len() < 80, "{nan}");
    }
}
