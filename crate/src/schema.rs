//! The config schema: each key of a toy declared once, with its type, range, default and help
//! (after Piston's `*_CONFIG_METADATA`), by the `config!` macro, which writes the typed struct,
//! its `Default` and its parameter table from one list. Choices are `choice!` enums, so that the
//! option list and every `match` on it are one thing. Keys shared by many toys come in groups
//! declared once (`Run`, `Shape`, `Optim`) and flattened into a toy's config.
//!
//! The CLI's `--set key=value`, the page's links and its controls all go through `accept`, which
//! parses and range-checks each value and applies the toy's cross-field rules; keys are
//! snake_case everywhere.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    /// `log`: the slider moves on a log scale.
    Float {
        min: f64,
        max: f64,
        log: bool,
    },
    Choice {
        options: &'static [&'static str],
    },
}

/// One config key: its name, type with range, and meaning.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct ParamSpec {
    pub name: &'static str,
    #[serde(flatten)]
    pub kind: Kind,
    pub help: &'static str,
}

/// The kinds as the `config!` macro writes them: `int(5, 113)`, `log(1e-5, 1e-1)`, `choice()`.
/// The type parameter is the field's type; only `choice` reads it.
pub mod kind {
    use super::{Choice, Kind};
    pub fn int<T>(min: i64, max: i64) -> Kind {
        Kind::Int { min, max }
    }
    pub fn float<T>(min: f64, max: f64) -> Kind {
        Kind::Float { min, max, log: false }
    }
    pub fn log<T>(min: f64, max: f64) -> Kind {
        Kind::Float { min, max, log: true }
    }
    pub fn choice<T: Choice>() -> Kind {
        Kind::Choice { options: T::OPTIONS }
    }
}

/// A choice key's options, in the order a select shows them (written by `choice!`).
pub trait Choice {
    const OPTIONS: &'static [&'static str];
}

/// A typed config with its parameter table (written by `config!`).
pub trait Schema: Serialize + DeserializeOwned + Default + Clone + 'static {
    fn params() -> Vec<ParamSpec>;
}

/// Declares an enum of options: `choice! { pub enum Op { Add = "add", Sub = "sub" } }`. The
/// strings are the values in links, the CLI and JSON.
#[macro_export]
macro_rules! choice {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[doc = $doc:literal])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[doc = $doc])* #[serde(rename = $text)] $variant),*
        }
        impl $crate::schema::Choice for $name {
            const OPTIONS: &'static [&'static str] = &[$($text),*];
        }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }
    };
}

/// Declares a config struct, its defaults and its parameter table in one list. Each line is
/// either a key, `name: Type = default, kind(range…), "help",` or a group of shared keys,
/// `group name: Group = Group { …defaults… },` (flattened: its keys sit beside the others).
///
/// ```ignore
/// config! {
///     pub struct Config {
///         group run: Run = Run { seed: 0, eval_every: 10 },
///         p: u64 = 47, int(5, 113), "the prime modulus",
///         op: Op = Op::Add, choice(), "the operation",
///     }
/// }
/// ```
#[macro_export]
macro_rules! config {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $crate::config!(@munch [$(#[$meta])*] $name [] [] [] $($body)*);
    };
    (@munch $metas:tt $name:ident [$($fields:tt)*] [$($defaults:tt)*] [$($params:tt)*]
        group $field:ident : $ty:ty = $default:expr , $($rest:tt)*) => {
        $crate::config!(@munch $metas $name
            [$($fields)* #[serde(flatten)] pub $field: $ty,]
            [$($defaults)* $field: $default,]
            [$($params)* (<$ty as $crate::schema::Schema>::params());]
            $($rest)*);
    };
    (@munch $metas:tt $name:ident [$($fields:tt)*] [$($defaults:tt)*] [$($params:tt)*]
        $field:ident : $ty:ty = $default:expr , $kind:ident ( $($arg:expr),* ) , $help:literal , $($rest:tt)*) => {
        $crate::config!(@munch $metas $name
            [$($fields)* #[doc = $help] pub $field: $ty,]
            [$($defaults)* $field: $default,]
            [$($params)* (vec![$crate::schema::ParamSpec {
                name: stringify!($field),
                kind: $crate::schema::kind::$kind::<$ty>($($arg),*),
                help: $help,
            }]);]
            $($rest)*);
    };
    (@munch [$($meta:tt)*] $name:ident [$($fields:tt)*] [$($defaults:tt)*] [$($params:expr;)*]) => {
        $($meta)*
        #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct $name { $($fields)* }
        impl Default for $name {
            fn default() -> $name {
                $name { $($defaults)* }
            }
        }
        impl $crate::schema::Schema for $name {
            fn params() -> Vec<$crate::schema::ParamSpec> {
                let mut out = Vec::new();
                $(out.extend($params);)*
                out
            }
        }
    };
}

config! {
    /// What every toy has: the seed of its random draws and how often it is measured.
    pub struct Run {
        seed: u64 = 0, int(0, u32::MAX as i64), "seeds every random draw: data, initialisation, batches, sampling",
        eval_every: u64 = 100, int(1, 1000), "steps between metric rows",
    }
}

config! {
    /// The size of a transformer (or of a toy's other network where its help says so).
    pub struct Shape {
        layers: usize = 2, int(1, 6), "transformer blocks (or an MLP's hidden layers)",
        d_model: usize = 32, int(8, 256), "width of the residual stream (or of an MLP's hidden layers)",
        heads: usize = 2, int(1, 8), "attention heads (must divide d_model)",
    }
}

config! {
    /// Adam(W)'s step size and decay, and the batch each step sees.
    pub struct Optim {
        lr: f64 = 1e-3, log(1e-5, 1e-1), "Adam(W) learning rate",
        weight_decay: f64 = 0.0, float(0.0, 10.0), "weight decay (AdamW's decoupled decay unless the toy says otherwise)",
        batch_size: usize = 32, int(1, 4096), "examples per step",
    }
}

impl Shape {
    /// Heads must split the width evenly.
    pub fn check(&self) -> Result<()> {
        if self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return Err(Error::msg(format!("heads = {} must divide d_model = {}", self.heads, self.d_model)));
        }
        Ok(())
    }
}

impl ParamSpec {
    /// Parses a value typed by a person ("0.3", "113", "add") and range-checks it.
    pub fn parse(&self, text: &str) -> Result<Value> {
        let text = text.trim();
        let v = match self.kind {
            Kind::Int { .. } => text.parse::<i64>().map(Value::from).map_err(|_| self.bad(text, "an integer")),
            Kind::Float { .. } => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Value::from(x)),
                _ => Err(self.bad(text, "a number")),
            },
            Kind::Choice { .. } => Ok(Value::from(text)),
        }?;
        self.check(&v)?;
        Ok(v)
    }

    /// Checks a JSON value's type and range; the message names the field, value and range.
    pub fn check(&self, v: &Value) -> Result<()> {
        match self.kind {
            Kind::Int { min, max } => match v.as_i64() {
                Some(x) if (min..=max).contains(&x) => Ok(()),
                Some(_) => Err(self.out_of_range(v)),
                None => Err(self.bad(&v.to_string(), "an integer")),
            },
            Kind::Float { min, max, .. } => match v.as_f64() {
                Some(x) if x >= min && x <= max => Ok(()),
                Some(_) => Err(self.out_of_range(v)),
                None => Err(self.bad(&v.to_string(), "a number")),
            },
            Kind::Choice { options } => match v.as_str() {
                Some(s) if options.contains(&s) => Ok(()),
                _ => Err(Error::msg(format!("{} = {v} is not one of {}", self.name, options.join(", ")))),
            },
        }
    }

    /// A value from a link or a control: text is parsed, a number or string is checked.
    pub fn read(&self, v: &Value) -> Result<Value> {
        match v {
            Value::String(text) if !matches!(self.kind, Kind::Choice { .. }) => self.parse(text),
            // A whole float written as an integer (1 for 1.0) is still that float.
            Value::Number(n) if matches!(self.kind, Kind::Float { .. }) => {
                let x = Value::from(n.as_f64().unwrap_or(f64::NAN));
                self.check(&x).map(|_| x)
            }
            _ => self.check(v).map(|_| v.clone()),
        }
    }

    fn range(&self) -> String {
        match self.kind {
            Kind::Int { min, max } => format!("[{min}, {max}]"),
            Kind::Float { min, max, .. } => format!("[{min}, {max}]"),
            Kind::Choice { options } => options.join(", "),
        }
    }
    fn out_of_range(&self, v: &Value) -> Error {
        Error::msg(format!("{} = {v} is out of range {}", self.name, self.range()))
    }
    fn bad(&self, text: &str, what: &str) -> Error {
        Error::msg(format!("{} = {text} is not {what} (allowed: {})", self.name, self.range()))
    }
}

/// The key `key` of `params`, or an error listing the known ones.
pub fn find<'a>(params: &'a [ParamSpec], key: &str) -> Result<&'a ParamSpec> {
    params.iter().find(|p| p.name == key).ok_or_else(|| {
        let names: Vec<_> = params.iter().map(|p| p.name).collect();
        Error::msg(format!("unknown key '{key}' (known: {})", names.join(", ")))
    })
}

/// A key of a request that was left out, with the message that says why.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Rejected {
    pub key: String,
    pub message: String,
}

/// An integer key moved to the nearest value that satisfies the toy's cross-field rules.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Snapped {
    pub key: String,
    pub from: i64,
    pub to: i64,
    pub message: String,
}

/// What `accept` made of a request: a config that runs, and what it left out or moved.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "cli", derive(ts_rs::TS))]
pub struct Accepted {
    #[cfg_attr(feature = "cli", ts(type = "Record<string, number | string>"))]
    pub config: Map<String, Value>,
    pub rejected: Vec<Rejected>,
    pub snapped: Option<Snapped>,
}

/// Applies `changes` (values as text or JSON) to `base`, a valid config, one key at a time in
/// their order: a change whose value is bad, or that breaks a cross-field rule (`validate`), is
/// left out and listed, so the result always runs. With `snap`, an integer key that alone breaks
/// a rule (p = 48 is not prime) moves to the nearest value that works, first in `direction`.
pub fn accept(
    params: &[ParamSpec],
    validate: impl Fn(&Map<String, Value>) -> Result<()>,
    base: Map<String, Value>,
    changes: &Map<String, Value>,
    snap: Option<(&str, i64)>,
) -> Accepted {
    let mut config = base;
    let mut rejected = Vec::new();
    let mut snapped = None;
    let mut pending = Vec::new();
    for (key, raw) in changes {
        match find(params, key).and_then(|p| p.read(raw)) {
            Ok(v) => pending.push((key.clone(), v)),
            Err(e) => rejected.push(Rejected { key: key.clone(), message: e.0 }),
        }
    }
    // Changes that are valid together apply in any order (queries=8 before pairs=8 or after):
    // apply what fits, and retry the rest while that makes progress.
    loop {
        let before = pending.len();
        pending.retain(|(key, value)| {
            let mut next = config.clone();
            next.insert(key.clone(), value.clone());
            let fits = validate(&next).is_ok();
            if fits {
                config = next;
            }
            !fits
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for (key, value) in pending {
        let mut next = config.clone();
        next.insert(key.clone(), value.clone());
        let Err(e) = validate(&next) else {
            config = next;
            continue;
        };
        match snap.filter(|(k, _)| *k == key).and_then(|(_, dir)| nearest(params, &validate, &config, &key, &value, dir)) {
            Some((to, fixed)) => {
                snapped = Some(Snapped { key: key.clone(), from: value.as_i64().unwrap_or(0), to, message: e.0 });
                config = fixed;
            }
            None => rejected.push(Rejected { key, message: e.0 }),
        }
    }
    Accepted { config, rejected, snapped }
}

/// The valid config nearest to `config` with `key` = `value` ± k, trying `direction` first.
fn nearest(
    params: &[ParamSpec],
    validate: &impl Fn(&Map<String, Value>) -> Result<()>,
    config: &Map<String, Value>,
    key: &str,
    value: &Value,
    direction: i64,
) -> Option<(i64, Map<String, Value>)> {
    let (Some(from), Ok(p)) = (value.as_i64(), find(params, key)) else { return None };
    let Kind::Int { min, max } = p.kind else { return None };
    let direction = if direction < 0 { -1 } else { 1 };
    for k in 1..=256 {
        for d in [direction, -direction] {
            let to = from + d * k;
            if to < min || to > max {
                continue;
            }
            let mut next = config.clone();
            next.insert(key.to_string(), Value::from(to));
            if validate(&next).is_ok() {
                return Some((to, next));
            }
        }
    }
    None
}

/// Deserialises a checked config map into a toy's typed config.
pub fn typed<T: DeserializeOwned>(config: &Map<String, Value>) -> Result<T> {
    serde_json::from_value(Value::Object(config.clone())).map_err(|e| Error::msg(format!("config: {e}")))
}

/// Serialises a typed config into a map (every key present).
pub fn untyped<T: Serialize>(config: &T) -> Map<String, Value> {
    match serde_json::to_value(config) {
        Ok(Value::Object(m)) => m,
        _ => unreachable!("configs are structs"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    choice! {
        pub enum Op { Add = "add", Sub = "sub" }
    }

    config! {
        pub struct Small {
            group run: Run = Run { seed: 0, eval_every: 10 },
            p: u64 = 7, int(7, 113), "modulus",
            lr: f64 = 1e-3, log(1e-4, 1e-1), "step size",
            op: Op = Op::Add, choice(), "operation",
        }
    }

    fn odd_p(c: &Map<String, Value>) -> Result<()> {
        let s: Small = typed(c)?;
        if s.p.is_multiple_of(2) {
            Err(Error::msg(format!("p = {} is even", s.p)))
        } else if s.run.eval_every > 3 * s.p {
            Err(Error::msg(format!("eval_every = {} exceeds 3·p = {}", s.run.eval_every, 3 * s.p)))
        } else {
            Ok(())
        }
    }

    #[test]
    fn one_declaration_gives_struct_defaults_and_table() {
        let names: Vec<_> = Small::params().iter().map(|p| p.name).collect();
        assert_eq!(names, ["seed", "eval_every", "p", "lr", "op"]);
        let d = untyped(&Small::default());
        assert_eq!((d["p"].as_u64(), d["op"].as_str(), d["eval_every"].as_u64()), (Some(7), Some("add"), Some(10)));
        assert_eq!(find(&Small::params(), "op").unwrap().kind, Kind::Choice { options: &["add", "sub"] });
        assert_eq!(Op::Sub.as_str(), "sub");
    }

    #[test]
    fn parse_checks_type_and_range() {
        let p = Small::params();
        let [_, _, modulus, lr, op] = &p[..] else { panic!() };
        assert_eq!(modulus.parse("97").unwrap(), Value::from(97));
        assert_eq!(modulus.parse("200").unwrap_err().0, "p = 200 is out of range [7, 113]");
        assert!(modulus.parse("9.5").unwrap_err().0.contains("not an integer"));
        assert!(lr.parse("nan").is_err());
        assert!(op.parse("mul").unwrap_err().0.contains("not one of add, sub"));
        assert!(find(&p, "lrr").unwrap_err().0.contains("unknown key 'lrr'"));
    }

    #[test]
    fn accept_leaves_out_bad_changes_and_snaps_on_request() {
        let p = Small::params();
        let base = untyped(&Small::default());
        let changes: Map<String, Value> = serde_json::from_str(r#"{"p": "12", "lr": 0.01, "op": "mul", "q": 1}"#).unwrap();
        let a = accept(&p, odd_p, base.clone(), &changes, None);
        assert_eq!(a.config["p"], 7, "an even p breaks the rule and is left out");
        assert_eq!(a.config["lr"], 0.01);
        let keys: Vec<_> = a.rejected.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["op", "q", "p"], "unreadable values first, then broken rules");
        let a = accept(&p, odd_p, base, &serde_json::from_str(r#"{"p": 12}"#).unwrap(), Some(("p", -1)));
        assert_eq!((a.config["p"].as_u64(), a.snapped.map(|s| s.to)), (Some(11), Some(11)));
    }

    #[test]
    fn changes_valid_together_apply_in_any_order() {
        let base = untyped(&Small::default());
        for changes in [r#"{"eval_every": 60, "p": 23}"#, r#"{"p": 23, "eval_every": 60}"#] {
            let a = accept(&Small::params(), odd_p, base.clone(), &serde_json::from_str(changes).unwrap(), None);
            assert_eq!((a.config["p"].as_u64(), a.config["eval_every"].as_u64(), a.rejected.len()), (Some(23), Some(60), 0), "{changes}");
        }
    }
}
