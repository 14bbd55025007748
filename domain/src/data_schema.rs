//! The structured data an agent must collect during a conversation
//! ("budget", "preferred test-drive date"...), and the validation of every
//! value the LLM tries to store through `updateData`.
//!
//! Values are normalised on the way in: `"42"` for a number becomes `42`,
//! `"oui"` for a boolean becomes `true`, an enum option matches regardless of
//! case and is stored as declared.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::FieldError;
use crate::template::is_ident;
use crate::ErrorCode;

pub const MAX_FIELDS: usize = 50;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_ENUM_OPTIONS: usize = 50;
pub const MAX_OPTION_CHARS: usize = 100;
pub const MAX_STRING_VALUE_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    String,
    Number,
    Boolean,
    Enum {
        options: Vec<String>,
    },
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

impl FieldKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Number => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Enum { .. } => "enum",
            FieldKind::Date => "date",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataField {
    pub name: String,
    #[serde(flatten)]
    pub kind: FieldKind,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DataSchema {
    #[serde(default)]
    pub fields: Vec<DataField>,
}

/// Values collected so far, by field name.
pub type CollectedData = BTreeMap<String, Value>;

impl DataSchema {
    pub fn field(&self, name: &str) -> Option<&DataField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Checks the schema itself and returns it normalised (trimmed
    /// descriptions and options). Errors name the field as
    /// `data_schema.<index>.<part>` so the form can point at the row.
    pub fn validate(mut self) -> Result<DataSchema, FieldError> {
        if self.fields.len() > MAX_FIELDS {
            return Err(
                FieldError::new("data_schema", ErrorCode::TooManyFields).with_detail(MAX_FIELDS.to_string())
            );
        }
        let mut seen: Vec<String> = Vec::new();
        for (i, f) in self.fields.iter_mut().enumerate() {
            let at = |part: &str| format!("data_schema.{i}.{part}");
            f.name = f.name.trim().to_string();
            if !is_ident(&f.name) {
                return Err(
                    FieldError::new(at("name"), ErrorCode::InvalidFieldName).with_detail(f.name.clone())
                );
            }
            if seen.contains(&f.name) {
                return Err(
                    FieldError::new(at("name"), ErrorCode::DuplicateFieldName).with_detail(f.name.clone())
                );
            }
            seen.push(f.name.clone());
            f.description = f.description.trim().to_string();
            if f.description.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(FieldError::new(at("description"), ErrorCode::TextTooLong)
                    .with_detail(MAX_DESCRIPTION_CHARS.to_string()));
            }
            if let FieldKind::Enum { options } = &mut f.kind {
                let mut clean: Vec<String> = Vec::new();
                for o in options.iter() {
                    let o = o.trim();
                    if o.is_empty() {
                        continue;
                    }
                    if o.chars().count() > MAX_OPTION_CHARS {
                        return Err(FieldError::new(at("options"), ErrorCode::TextTooLong)
                            .with_detail(MAX_OPTION_CHARS.to_string()));
                    }
                    if clean.iter().any(|c| c.eq_ignore_ascii_case(o)) {
                        return Err(FieldError::new(at("options"), ErrorCode::DuplicateFieldName)
                            .with_detail(o.to_string()));
                    }
                    clean.push(o.to_string());
                }
                if clean.is_empty() || clean.len() > MAX_ENUM_OPTIONS {
                    return Err(FieldError::new(at("options"), ErrorCode::EnumOptionsRequired)
                        .with_detail(MAX_ENUM_OPTIONS.to_string()));
                }
                *options = clean;
            }
        }
        Ok(self)
    }

    /// Validates one value for `field` and returns its normalised form.
    pub fn check_value(&self, field: &str, value: &Value) -> Result<Value, ValueError> {
        let f = self.field(field).ok_or_else(|| ValueError::UnknownField(field.to_string()))?;
        f.check_value(value)
    }

    /// Required fields that have no value yet.
    pub fn missing_required(&self, data: &CollectedData) -> Vec<String> {
        self.fields
            .iter()
            .filter(|f| f.required && data.get(&f.name).is_none_or(Value::is_null))
            .map(|f| f.name.clone())
            .collect()
    }
}

/// Why a value was refused. The message is what the LLM reads back as the
/// tool result, so it says what would be accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ValueError {
    #[error("no field named '{0}' in the data schema")]
    UnknownField(String),
    #[error("'{field}' expects {expected}")]
    WrongType { field: String, expected: String },
    #[error("'{field}' must not be empty")]
    Empty { field: String },
    #[error("'{field}' is too long (at most {max} characters)")]
    TooLong { field: String, max: usize },
}

impl ValueError {
    pub fn field(&self) -> &str {
        match self {
            ValueError::UnknownField(f)
            | ValueError::WrongType { field: f, .. }
            | ValueError::Empty { field: f }
            | ValueError::TooLong { field: f, .. } => f,
        }
    }
}

impl DataField {
    pub fn check_value(&self, value: &Value) -> Result<Value, ValueError> {
        let wrong = |expected: String| ValueError::WrongType { field: self.name.clone(), expected };
        match &self.kind {
            FieldKind::String => {
                let s = scalar_text(value).ok_or_else(|| wrong("text".into()))?;
                let s = s.trim();
                if s.is_empty() {
                    return Err(ValueError::Empty { field: self.name.clone() });
                }
                if s.chars().count() > MAX_STRING_VALUE_CHARS {
                    return Err(ValueError::TooLong {
                        field: self.name.clone(),
                        max: MAX_STRING_VALUE_CHARS,
                    });
                }
                Ok(Value::String(s.to_string()))
            }
            FieldKind::Number => {
                let n = match value {
                    Value::Number(n) => n.as_f64(),
                    // LLMs and spreadsheets often quote numbers.
                    Value::String(s) => parse_written_number(s),
                    _ => None,
                }
                .filter(|n| n.is_finite())
                .ok_or_else(|| wrong("a number".into()))?;
                // Keep integers integral in JSON (42, not 42.0).
                if n.fract() == 0.0 && n.abs() < 9.0e15 {
                    return Ok(Value::from(n as i64));
                }
                serde_json::Number::from_f64(n).map(Value::Number).ok_or_else(|| wrong("a number".into()))
            }
            FieldKind::Boolean => {
                let b = match value {
                    Value::Bool(b) => Some(*b),
                    Value::String(s) => match s.trim().to_lowercase().as_str() {
                        "true" | "yes" | "y" | "oui" | "vrai" | "1" => Some(true),
                        "false" | "no" | "n" | "non" | "faux" | "0" => Some(false),
                        _ => None,
                    },
                    Value::Number(n) if n.as_i64() == Some(1) => Some(true),
                    Value::Number(n) if n.as_i64() == Some(0) => Some(false),
                    _ => None,
                }
                .ok_or_else(|| wrong("true or false".into()))?;
                Ok(Value::Bool(b))
            }
            FieldKind::Enum { options } => {
                let s = scalar_text(value).unwrap_or_default();
                options
                    .iter()
                    .find(|o| o.eq_ignore_ascii_case(s.trim()))
                    .map(|o| Value::String(o.clone()))
                    .ok_or_else(|| wrong(format!("one of: {}", options.join(", "))))
            }
            FieldKind::Date => {
                let s = scalar_text(value).unwrap_or_default();
                parse_date(s.trim())
                    .map(|(y, m, d)| Value::String(format!("{y:04}-{m:02}-{d:02}")))
                    .ok_or_else(|| wrong("a date as YYYY-MM-DD".into()))
            }
        }
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `YYYY-MM-DD`, a real calendar date between years 1900 and 2200.
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(y) && all_digits(m) && all_digits(d)) {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    if !(1900..=2200).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some((y, m, d))
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// A number as people write it: "42", "3.5", "3,5", "1 200", "1,200,000",
/// "1.234,5", "1'200". A single comma followed by exactly three digits
/// ("1,200") is refused: it is 1200 in English and 1.2 in French, and
/// guessing would silently corrupt the value.
pub fn parse_written_number(s: &str) -> Option<f64> {
    let cleaned: String = s.trim().chars().filter(|c| !c.is_whitespace() && *c != '\'').collect();
    let commas = cleaned.matches(',').count();
    let dots = cleaned.matches('.').count();
    let normalised = match (commas, dots) {
        (0, 0) => cleaned,
        // Both: the last one is the decimal mark, the other groups thousands.
        (_, _) if commas > 0 && dots > 0 => {
            let (group, decimal) =
                if cleaned.rfind(',') > cleaned.rfind('.') { ('.', ',') } else { (',', '.') };
            if cleaned.matches(decimal).count() > 1 {
                return None;
            }
            cleaned.replace(group, "").replace(decimal, ".")
        }
        (1, 0) => {
            let (whole, decimals) = cleaned.split_once(',').unwrap_or_default();
            let whole = whole.trim_start_matches(['-', '+']);
            // "0,125" cannot be a thousands group; "1,200" can.
            let grouped = !whole.is_empty() && whole != "0";
            if grouped && decimals.len() == 3 && decimals.chars().all(|c| c.is_ascii_digit()) {
                return None;
            }
            cleaned.replace(',', ".")
        }
        (0, 1) => cleaned,
        // Several of one mark: thousands groups ("1,200,000", "1.200.000").
        _ => cleaned.replace([',', '.'], ""),
    };
    normalised.parse::<f64>().ok().filter(|n| n.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_numbers_parse_without_guessing() {
        for (text, n) in [
            ("42", 42.0),
            ("3.5", 3.5),
            ("3,5", 3.5),
            ("1 200", 1200.0),
            ("1\u{a0}200,50", 1200.5),
            ("1,200,000", 1_200_000.0),
            ("1.200.000", 1_200_000.0),
            ("1,234.5", 1234.5),
            ("1.234,5", 1234.5),
            ("1'200", 1200.0),
            ("-7", -7.0),
            ("0,125", 0.125),
        ] {
            assert_eq!(parse_written_number(text), Some(n), "{text}");
        }
        for bad in ["1,200", "12,345", "1,2,3.4.5", "", "abc", "NaN", "inf", "1.2.3,4,5"] {
            assert_eq!(parse_written_number(bad), None, "{bad}");
        }
    }
    use serde_json::json;

    fn field(name: &str, kind: FieldKind) -> DataField {
        DataField { name: name.into(), kind, description: String::new(), required: false }
    }

    fn schema() -> DataSchema {
        DataSchema {
            fields: vec![
                DataField { required: true, ..field("budget", FieldKind::Number) },
                field("trade_in", FieldKind::Boolean),
                field("model", FieldKind::Enum { options: vec!["Clio".into(), "Megane".into()] }),
                field("test_drive", FieldKind::Date),
                field("notes", FieldKind::String),
            ],
        }
    }

    #[test]
    fn json_shape_is_stable() {
        let s = schema();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            v["fields"][2],
            json!({"name": "model", "type": "enum", "options": ["Clio", "Megane"], "description": "", "required": false})
        );
        let back: DataSchema = serde_json::from_value(v).unwrap();
        assert_eq!(back, s);
        // An unknown type is a decode error, not a silent default.
        assert!(
            serde_json::from_value::<DataSchema>(json!({"fields":[{"name":"x","type":"money"}]})).is_err()
        );
    }

    #[test]
    fn schema_validation() {
        let ok = DataSchema {
            fields: vec![DataField {
                description: "  what they can spend  ".into(),
                ..field(
                    " budget ",
                    FieldKind::Enum { options: vec![" low ".into(), "".into(), "high".into()] },
                )
            }],
        }
        .validate()
        .unwrap();
        assert_eq!(ok.fields[0].name, "budget");
        assert_eq!(ok.fields[0].description, "what they can spend");
        assert_eq!(ok.fields[0].kind, FieldKind::Enum { options: vec!["low".into(), "high".into()] });

        let err = |s: DataSchema| s.validate().unwrap_err();
        let e = err(DataSchema { fields: vec![field("Budget", FieldKind::String)] });
        assert_eq!((e.field.as_str(), e.code), ("data_schema.0.name", ErrorCode::InvalidFieldName));
        let e =
            err(DataSchema { fields: vec![field("a", FieldKind::String), field("a", FieldKind::Number)] });
        assert_eq!((e.field.as_str(), e.code), ("data_schema.1.name", ErrorCode::DuplicateFieldName));
        let e = err(DataSchema { fields: vec![field("a", FieldKind::Enum { options: vec![" ".into()] })] });
        assert_eq!(e.code, ErrorCode::EnumOptionsRequired);
        let e = err(DataSchema {
            fields: vec![field("a", FieldKind::Enum { options: vec!["X".into(), "x".into()] })],
        });
        assert_eq!(e.code, ErrorCode::DuplicateFieldName);
        let many = (0..=MAX_FIELDS).map(|i| field(&format!("f{i}"), FieldKind::String)).collect();
        assert_eq!(err(DataSchema { fields: many }).code, ErrorCode::TooManyFields);
        let long =
            DataField { description: "x".repeat(MAX_DESCRIPTION_CHARS + 1), ..field("a", FieldKind::String) };
        assert_eq!(err(DataSchema { fields: vec![long] }).code, ErrorCode::TextTooLong);
    }

    #[test]
    fn values_are_checked_and_normalised() {
        let s = schema();
        let ok = |f: &str, v: Value| s.check_value(f, &v).unwrap();
        assert_eq!(ok("budget", json!(25000)), json!(25000));
        assert_eq!(ok("budget", json!("25000")), json!(25000));
        assert_eq!(ok("budget", json!("12 500,5")), json!(12500.5));
        assert_eq!(ok("trade_in", json!("Oui")), json!(true));
        assert_eq!(ok("trade_in", json!(false)), json!(false));
        assert_eq!(ok("model", json!("clio")), json!("Clio"));
        assert_eq!(ok("test_drive", json!("2024-02-29")), json!("2024-02-29"));
        assert_eq!(ok("notes", json!("  call after 5 ")), json!("call after 5"));

        let bad = |f: &str, v: Value| s.check_value(f, &v).unwrap_err();
        assert!(matches!(bad("budget", json!("a lot")), ValueError::WrongType { .. }));
        assert!(matches!(bad("budget", json!(null)), ValueError::WrongType { .. }));
        assert!(matches!(bad("budget", json!("NaN")), ValueError::WrongType { .. }));
        assert!(matches!(bad("trade_in", json!("maybe")), ValueError::WrongType { .. }));
        let e = bad("model", json!("Zoe"));
        assert_eq!(e.to_string(), "'model' expects one of: Clio, Megane");
        assert!(matches!(bad("test_drive", json!("2023-02-29")), ValueError::WrongType { .. }));
        assert!(matches!(bad("test_drive", json!("29/02/2024")), ValueError::WrongType { .. }));
        assert!(matches!(bad("test_drive", json!("2024-1-05")), ValueError::WrongType { .. }));
        assert!(matches!(bad("notes", json!("   ")), ValueError::Empty { .. }));
        assert!(matches!(bad("notes", json!({"a": 1})), ValueError::WrongType { .. }));
        assert!(matches!(bad("notes", json!("x".repeat(2001))), ValueError::TooLong { .. }));
        assert_eq!(bad("colour", json!("red")), ValueError::UnknownField("colour".into()));
    }

    #[test]
    fn missing_required_lists_unfilled_required_fields() {
        let s = schema();
        let mut data = CollectedData::new();
        assert_eq!(s.missing_required(&data), vec!["budget"]);
        data.insert("budget".into(), json!(null));
        assert_eq!(s.missing_required(&data), vec!["budget"]);
        data.insert("budget".into(), json!(1));
        assert!(s.missing_required(&data).is_empty());
    }

    #[test]
    fn calendar() {
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2026, 4), 30);
        assert_eq!(parse_date("2026-12-31"), Some((2026, 12, 31)));
        for bad in ["2026-13-01", "2026-00-10", "2026-04-31", "1899-01-01", "2026-01-01x", "+026-01-01", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
