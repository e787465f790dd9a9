//! The parameter table of a toy: each config key declared once with its type, default range
//! and meaning (like Piston's `*_CONFIG_METADATA`). `validate` checks a config against it, the
//! CLI's `--set key=value` and the web page's share links parse values through it, and the
//! page builds its sliders from it. Keys are snake_case everywhere.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

#[derive(Clone, Copy, Debug, Serialize)]
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

#[derive(Clone, Copy, Debug, Serialize)]
pub struct ParamSpec {
    pub name: &'static str,
    #[serde(flatten)]
    pub kind: Kind,
    pub help: &'static str,
}

impl ParamSpec {
    pub const fn int(name: &'static str, min: i64, max: i64, help: &'static str) -> ParamSpec {
        ParamSpec { name, kind: Kind::Int { min, max }, help }
    }
    pub const fn float(name: &'static str, min: f64, max: f64, help: &'static str) -> ParamSpec {
        ParamSpec { name, kind: Kind::Float { min, max, log: false }, help }
    }
    pub const fn log_float(name: &'static str, min: f64, max: f64, help: &'static str) -> ParamSpec {
        ParamSpec { name, kind: Kind::Float { min, max, log: true }, help }
    }
    pub const fn choice(name: &'static str, options: &'static [&'static str], help: &'static str) -> ParamSpec {
        ParamSpec { name, kind: Kind::Choice { options }, help }
    }

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

/// Checks every key of `config` against `params`: unknown keys and bad values are errors.
pub fn check_all<'a>(params: impl Iterator<Item = &'a ParamSpec> + Clone, config: &Map<String, Value>) -> Result<()> {
    for (k, v) in config {
        find(params.clone(), k)?.check(v)?;
    }
    Ok(())
}

pub fn find<'a>(mut params: impl Iterator<Item = &'a ParamSpec> + Clone, key: &str) -> Result<&'a ParamSpec> {
    params.clone().find(|p| p.name == key).ok_or_else(|| {
        let names: Vec<_> = params.by_ref().map(|p| p.name).collect();
        Error::msg(format!("unknown key '{key}' (known: {})", names.join(", ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &[ParamSpec] =
        &[ParamSpec::int("p", 7, 113, "modulus"), ParamSpec::log_float("lr", 1e-4, 1e-1, "step size"), ParamSpec::choice("op", &["add", "sub"], "operation")];

    #[test]
    fn parse_checks_type_and_range() {
        assert_eq!(P[0].parse("97").unwrap(), Value::from(97));
        assert_eq!(P[0].parse("200").unwrap_err().0, "p = 200 is out of range [7, 113]");
        assert!(P[0].parse("9.5").unwrap_err().0.contains("not an integer"));
        assert!(P[1].parse("nan").is_err());
        assert!(P[2].parse("mul").unwrap_err().0.contains("not one of add, sub"));
        assert!(find(P.iter(), "lrr").unwrap_err().0.contains("unknown key 'lrr'"));
    }
}
