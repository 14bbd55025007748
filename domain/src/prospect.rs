//! Prospects: statuses, field rules, tags, custom fields and consent.
//!
//! Everything here is pure so the browser runs the same rules before it sends
//! a form. Phone numbers and time zones need large data tables (libphonenumber
//! metadata, the tz database); they live in [`crate::phone`] and
//! [`crate::compliance`], compiled only with the `phone` feature (server side).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::data_schema::{DataField, FieldKind};
use crate::error::FieldError;
use crate::template::is_ident;
use crate::ErrorCode;

pub const MAX_TEXT_CHARS: usize = 200;
pub const MAX_TAG_CHARS: usize = 40;
pub const MAX_TAGS: usize = 30;
pub const MAX_NOTE_CHARS: usize = 5000;
pub const MAX_CUSTOM_FIELDS: usize = 50;
pub const MAX_PAGE_SIZE: u64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProspectStatus {
    #[default]
    New,
    Contacted,
    Interested,
    MeetingScheduled,
    CallbackScheduled,
    NotInterested,
}

impl ProspectStatus {
    pub const ALL: [ProspectStatus; 6] = [
        ProspectStatus::New,
        ProspectStatus::Contacted,
        ProspectStatus::Interested,
        ProspectStatus::MeetingScheduled,
        ProspectStatus::CallbackScheduled,
        ProspectStatus::NotInterested,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProspectStatus::New => "new",
            ProspectStatus::Contacted => "contacted",
            ProspectStatus::Interested => "interested",
            ProspectStatus::MeetingScheduled => "meeting_scheduled",
            ProspectStatus::CallbackScheduled => "callback_scheduled",
            ProspectStatus::NotInterested => "not_interested",
        }
    }

    /// Accepts the wire name and the labels people type in spreadsheets, in
    /// English and French ("Meeting scheduled", "RDV pris", "Pas intéressé").
    pub fn parse(s: &str) -> Option<Self> {
        let key: String = fold(s).chars().filter(|c| c.is_ascii_alphanumeric()).collect();
        Some(match key.as_str() {
            "new" | "nouveau" | "nouvelle" | "" => ProspectStatus::New,
            "contacted" | "contacte" | "contactee" => ProspectStatus::Contacted,
            "interested" | "interesse" | "interessee" => ProspectStatus::Interested,
            "meetingscheduled" | "meeting" | "rdv" | "rdvpris" | "rendezvous" | "rendezvouspris" => {
                ProspectStatus::MeetingScheduled
            }
            "callbackscheduled" | "callback" | "rappel" | "arappeler" | "rappelprevu" => {
                ProspectStatus::CallbackScheduled
            }
            "notinterested" | "pasinteresse" | "pasinteressee" | "noninteresse" => {
                ProspectStatus::NotInterested
            }
            _ => return None,
        })
    }
}

/// Lowercases and strips the accents of Latin letters (for matching labels).
pub fn fold(s: &str) -> String {
    s.trim().chars().map(|c| crate::validation::fold_accent(c).to_ascii_lowercase()).collect()
}

/// A free-text prospect field (name, company, title): trimmed, inner
/// whitespace collapsed, no control characters, at most 200 characters.
/// Empty is allowed and becomes `""`.
pub fn normalize_text(field: &str, input: &str) -> Result<String, FieldError> {
    let s = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > MAX_TEXT_CHARS {
        return Err(FieldError::new(field, ErrorCode::TextTooLong).with_detail(MAX_TEXT_CHARS.to_string()));
    }
    if s.chars().any(char::is_control) {
        return Err(FieldError::new(field, ErrorCode::Validation));
    }
    Ok(s)
}

/// Tags are case-insensitive labels: stored lowercased and trimmed.
pub fn normalize_tag(input: &str) -> Result<String, FieldError> {
    let t = input.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if t.is_empty() {
        return Err(FieldError::new("tags", ErrorCode::InvalidValue).with_detail(input.to_string()));
    }
    if t.chars().count() > MAX_TAG_CHARS {
        return Err(FieldError::new("tags", ErrorCode::TextTooLong).with_detail(MAX_TAG_CHARS.to_string()));
    }
    if t.chars().any(|c| c.is_control() || matches!(c, ',' | ';' | '|')) {
        return Err(FieldError::new("tags", ErrorCode::InvalidValue).with_detail(t));
    }
    Ok(t)
}

/// Normalises a tag list: deduplicated, sorted, each tag checked.
pub fn normalize_tags<I: IntoIterator<Item = S>, S: AsRef<str>>(tags: I) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for t in tags {
        let t = normalize_tag(t.as_ref())?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(FieldError::new("tags", ErrorCode::OutOfRange).with_detail(MAX_TAGS.to_string()));
    }
    out.sort();
    Ok(out)
}

/// Tags as stored in one column: `|a|b|` (empty string for none), so that
/// "has tag t" is a substring test for `|t|` on either database.
pub fn encode_tags(tags: &[String]) -> String {
    if tags.is_empty() {
        String::new()
    } else {
        format!("|{}|", tags.join("|"))
    }
}

pub fn decode_tags(stored: &str) -> Vec<String> {
    let mut v: Vec<String> = stored.split('|').filter(|t| !t.is_empty()).map(str::to_string).collect();
    v.sort();
    v
}

/// Splits a spreadsheet cell such as `"vip, paris; 2024"` into tags.
pub fn split_tags(cell: &str) -> Vec<&str> {
    cell.split([',', ';', '|']).map(str::trim).filter(|t| !t.is_empty()).collect()
}

/// A typed custom field, defined once per organisation (`industry: enum`,
/// `seats: number`…). The type system is the agents' data schema's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomFieldDef {
    /// Identifier used in APIs, CSV headers and `{{custom.key}}` templates.
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
}

impl CustomFieldDef {
    pub fn validate(mut self) -> Result<CustomFieldDef, FieldError> {
        self.key = self.key.trim().to_string();
        if !is_ident(&self.key) {
            return Err(FieldError::new("key", ErrorCode::InvalidFieldName).with_detail(self.key.clone()));
        }
        self.label = normalize_text("label", &self.label)?;
        if self.label.is_empty() {
            self.label = self.key.clone();
        }
        // Reuse the schema validator for the kind (enum options etc.).
        let checked = crate::data_schema::DataSchema { fields: vec![self.as_data_field()] }
            .validate()
            .map_err(|e| FieldError { field: e.field.replace("data_schema.0.", ""), ..e })?;
        self.kind = checked.fields[0].kind.clone();
        Ok(self)
    }

    pub fn as_data_field(&self) -> DataField {
        DataField {
            name: self.key.clone(),
            kind: self.kind.clone(),
            description: String::new(),
            required: false,
        }
    }

    /// Checks and normalises one value; an empty string clears the field (`None`).
    pub fn check(&self, value: &Value) -> Result<Option<Value>, FieldError> {
        if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
            return Ok(None);
        }
        self.as_data_field().check_value(value).map(Some).map_err(|e| {
            FieldError::new(format!("custom.{}", self.key), ErrorCode::InvalidValue)
                .with_detail(e.to_string())
        })
    }
}

/// Turns a CSV header such as "Annual revenue (€)" into a field key.
pub fn key_from_label(label: &str) -> String {
    let mut out = String::new();
    for c in fold(label).chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let out = out.trim_end_matches('_').to_string();
    let out = if out.starts_with(|c: char| c.is_ascii_digit()) { format!("f_{out}") } else { out };
    out.chars().take(40).collect()
}

/// Checks every custom value against the organisation's definitions.
pub fn check_custom(
    defs: &[CustomFieldDef],
    values: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, Value>, FieldError> {
    let mut out = BTreeMap::new();
    for (k, v) in values {
        let def = defs.iter().find(|d| &d.key == k).ok_or_else(|| {
            FieldError::new(format!("custom.{k}"), ErrorCode::InvalidFieldName).with_detail(k.clone())
        })?;
        if let Some(v) = def.check(v)? {
            out.insert(k.clone(), v);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    Verbal,
    Written,
    WebForm,
    Email,
    Imported,
    Other,
}

impl ConsentMethod {
    pub const ALL: [ConsentMethod; 6] = [
        ConsentMethod::Verbal,
        ConsentMethod::Written,
        ConsentMethod::WebForm,
        ConsentMethod::Email,
        ConsentMethod::Imported,
        ConsentMethod::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentMethod::Verbal => "verbal",
            ConsentMethod::Written => "written",
            ConsentMethod::WebForm => "web_form",
            ConsentMethod::Email => "email",
            ConsentMethod::Imported => "imported",
            ConsentMethod::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s.trim())
    }
}

/// What the caller may record about consent; the server stamps who and when
/// unless a past timestamp is given (consent captured before Handoo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsentInput {
    /// Where the consent came from ("Website contact form", "Trade show 2026").
    pub source: String,
    pub method: ConsentMethod,
    /// Defaults to now; may not be in the future.
    #[serde(default)]
    pub captured_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub granted: Option<bool>,
}

impl ConsentInput {
    pub fn validate(mut self, now: chrono::DateTime<chrono::Utc>) -> Result<ConsentInput, FieldError> {
        self.source = normalize_text("source", &self.source)?;
        if self.source.is_empty() {
            return Err(FieldError::new("source", ErrorCode::RequiredValue));
        }
        if self.captured_at.is_some_and(|t| t > now + chrono::Duration::minutes(5)) {
            return Err(FieldError::new("captured_at", ErrorCode::InvalidValue));
        }
        Ok(self)
    }
}

/// The editable fields of a prospect, as the create form and the API send
/// them. Phone and email are raw here; the server normalises them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ProspectInput {
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub title: String,
    pub phone: String,
    pub email: String,
    /// IANA zone; empty = infer from the phone number.
    pub timezone: String,
    pub status: ProspectStatus,
    pub owner_id: Option<Uuid>,
    pub tags: Vec<String>,
    pub custom: BTreeMap<String, Value>,
    pub do_not_call: bool,
    pub opted_out: bool,
}

impl ProspectInput {
    /// Field rules that need no data tables (the phone is checked server-side).
    pub fn validate_basic(mut self) -> Result<ProspectInput, FieldError> {
        self.first_name = normalize_text("first_name", &self.first_name)?;
        self.last_name = normalize_text("last_name", &self.last_name)?;
        self.company = normalize_text("company", &self.company)?;
        self.title = normalize_text("title", &self.title)?;
        self.email = if self.email.trim().is_empty() {
            String::new()
        } else {
            crate::validation::normalize_email(&self.email)?
        };
        self.phone = self.phone.trim().to_string();
        self.timezone = self.timezone.trim().to_string();
        self.tags = normalize_tags(&self.tags)?;
        if self.first_name.is_empty() && self.last_name.is_empty() && self.company.is_empty() {
            return Err(FieldError::new("first_name", ErrorCode::NameRequired));
        }
        if self.phone.is_empty() && self.email.is_empty() {
            return Err(FieldError::new("phone", ErrorCode::RequiredValue));
        }
        Ok(self)
    }
}

/// A change to one prospect: only the fields present are touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ProspectPatch {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
    pub status: Option<ProspectStatus>,
    /// `Some(None)` unassigns. Absent must stay absent on the wire.
    #[serde(default, with = "double_option", skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<Option<Uuid>>,
    pub tags: Option<Vec<String>>,
    /// Values to set; an empty string or null removes the key.
    pub custom: Option<BTreeMap<String, Value>>,
    pub do_not_call: Option<bool>,
    pub opted_out: Option<bool>,
}

/// Distinguishes "absent" (`None`) from "null" (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            None => s.serialize_none(),
            Some(inner) => inner.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Columns a list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    CreatedAt,
    UpdatedAt,
    LastName,
    Company,
    /// In pipeline order (new → … → not interested), not alphabetically.
    Status,
    Title,
    Phone,
    Email,
    Timezone,
}

impl SortKey {
    pub const ALL: [SortKey; 9] = [
        SortKey::CreatedAt,
        SortKey::UpdatedAt,
        SortKey::LastName,
        SortKey::Company,
        SortKey::Status,
        SortKey::Title,
        SortKey::Phone,
        SortKey::Email,
        SortKey::Timezone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::CreatedAt => "created_at",
            SortKey::UpdatedAt => "updated_at",
            SortKey::LastName => "last_name",
            SortKey::Company => "company",
            SortKey::Status => "status",
            SortKey::Title => "title",
            SortKey::Phone => "phone",
            SortKey::Email => "email",
            SortKey::Timezone => "timezone",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Which prospects a list, a bulk action or an export applies to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ProspectFilter {
    /// Words matched (all of them, each as a substring) against name,
    /// company, email and phone.
    pub search: String,
    pub status: Vec<ProspectStatus>,
    pub tag: Option<String>,
    /// `Some(None)` = unassigned.
    #[serde(with = "double_option", skip_serializing_if = "Option::is_none")]
    pub owner: Option<Option<Uuid>>,
    /// `(key, value)`: the custom field equals the value (normalised by its type).
    pub custom: Option<(String, String)>,
    pub do_not_call: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct ListQuery {
    pub filter: ProspectFilter,
    pub sort: SortKey,
    pub descending: bool,
    /// 1-based.
    pub page: u64,
    pub per_page: u64,
}

/// The last page number a list serves (ten million rows at the largest page size).
pub const MAX_PAGE: u64 = 100_000;

impl ListQuery {
    /// Past [`MAX_PAGE`] there is nothing to show anyway; the cap keeps a
    /// hostile `?page=` from overflowing the offset.
    pub fn page(&self) -> u64 {
        self.page.clamp(1, MAX_PAGE)
    }
    pub fn per_page(&self) -> u64 {
        if self.per_page == 0 {
            50
        } else {
            self.per_page.min(MAX_PAGE_SIZE)
        }
    }
}

/// The columns the list can show; a saved view remembers which.
pub const COLUMNS: &[&str] =
    &["name", "company", "title", "phone", "email", "status", "owner", "tags", "timezone", "updated_at"];

/// A named filter + sort + columns, saved per user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedViewInput {
    pub name: String,
    pub query: ListQuery,
    pub columns: Vec<String>,
}

impl SavedViewInput {
    pub fn validate(mut self) -> Result<SavedViewInput, FieldError> {
        self.name = crate::validation::normalize_name("name", &self.name)?;
        self.columns.retain(|c| COLUMNS.contains(&c.as_str()));
        self.columns.dedup();
        if self.columns.is_empty() {
            self.columns = COLUMNS.iter().take(7).map(|c| c.to_string()).collect();
        }
        Ok(self)
    }
}

/// A bulk action on explicit ids or on everything a filter matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BulkAction {
    SetStatus { status: ProspectStatus },
    AddTag { tag: String },
    RemoveTag { tag: String },
    AssignOwner { owner_id: Option<Uuid> },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Selection {
    Ids { ids: Vec<Uuid> },
    Filter { filter: ProspectFilter },
}

pub const MAX_BULK_IDS: usize = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_page_numbers_stay_in_range() {
        let q = |page, per_page| ListQuery { page, per_page, ..Default::default() };
        assert_eq!(q(0, 0).page(), 1);
        assert_eq!(q(u64::MAX, MAX_PAGE_SIZE).page(), MAX_PAGE);
        // The offset a list computes from them cannot overflow.
        let worst = q(u64::MAX, u64::MAX);
        assert!((worst.page() - 1).checked_mul(worst.per_page()).is_some());
    }

    #[test]
    fn statuses_parse_from_wire_names_and_spreadsheet_labels() {
        for s in ProspectStatus::ALL {
            assert_eq!(ProspectStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ProspectStatus::parse("Meeting Scheduled"), Some(ProspectStatus::MeetingScheduled));
        assert_eq!(ProspectStatus::parse("Pas intéressé"), Some(ProspectStatus::NotInterested));
        assert_eq!(ProspectStatus::parse("RDV pris"), Some(ProspectStatus::MeetingScheduled));
        assert_eq!(ProspectStatus::parse(""), Some(ProspectStatus::New));
        assert_eq!(ProspectStatus::parse("maybe"), None);
    }

    #[test]
    fn tags_are_lowercased_deduplicated_and_bounded() {
        assert_eq!(normalize_tags(["VIP", " vip ", "Paris  Nord"]).unwrap(), vec!["paris nord", "vip"]);
        assert_eq!(split_tags("vip, paris; 2024 | "), vec!["vip", "paris", "2024"]);
        assert!(normalize_tag("").is_err());
        assert!(normalize_tag(&"x".repeat(41)).is_err());
        let many: Vec<String> = (0..31).map(|i| format!("t{i}")).collect();
        assert_eq!(normalize_tags(&many).unwrap_err().code, ErrorCode::OutOfRange);
    }

    #[test]
    fn tags_round_trip_through_their_column_form() {
        let tags = normalize_tags(["b", "a"]).unwrap();
        assert_eq!(encode_tags(&tags), "|a|b|");
        assert_eq!(decode_tags("|b|a|"), tags);
        assert_eq!(encode_tags(&[]), "");
        assert!(decode_tags("").is_empty());
        assert!(normalize_tag("a|b").is_err(), "the separator cannot be part of a tag");
    }

    #[test]
    fn keys_are_derived_from_headers() {
        assert_eq!(key_from_label("Annual revenue (€)"), "annual_revenue");
        assert_eq!(key_from_label("Secteur d'activité"), "secteur_d_activite");
        assert_eq!(key_from_label("2024 budget"), "f_2024_budget");
    }

    #[test]
    fn custom_values_follow_their_definitions() {
        let defs = vec![
            CustomFieldDef { key: "seats".into(), label: "Seats".into(), kind: FieldKind::Number },
            CustomFieldDef {
                key: "industry".into(),
                label: "Industry".into(),
                kind: FieldKind::Enum { options: vec!["Retail".into(), "Auto".into()] },
            },
        ];
        let mut v = BTreeMap::new();
        v.insert("seats".to_string(), Value::String("1 200".into()));
        v.insert("industry".to_string(), Value::String("auto".into()));
        let out = check_custom(&defs, &v).unwrap();
        assert_eq!(out["seats"], Value::from(1200));
        assert_eq!(out["industry"], Value::String("Auto".into()));
        v.insert("industry".into(), Value::String("space".into()));
        assert_eq!(check_custom(&defs, &v).unwrap_err().field, "custom.industry");
        let mut unknown = BTreeMap::new();
        unknown.insert("nope".to_string(), Value::from(1));
        assert_eq!(check_custom(&defs, &unknown).unwrap_err().code, ErrorCode::InvalidFieldName);
    }

    #[test]
    fn a_prospect_needs_a_name_and_a_way_to_reach_them() {
        let ok = ProspectInput {
            first_name: "  Jean ".into(),
            email: "JEAN@Example.com".into(),
            tags: vec!["B".into(), "a".into()],
            ..Default::default()
        }
        .validate_basic()
        .unwrap();
        assert_eq!(ok.first_name, "Jean");
        assert_eq!(ok.email, "jean@example.com");
        assert_eq!(ok.tags, vec!["a", "b"]);
        let nameless = ProspectInput { email: "a@b.co".into(), ..Default::default() };
        assert_eq!(nameless.validate_basic().unwrap_err().code, ErrorCode::NameRequired);
        let unreachable = ProspectInput { first_name: "A".into(), ..Default::default() };
        assert_eq!(unreachable.validate_basic().unwrap_err().field, "phone");
        let bad_email = ProspectInput { first_name: "A".into(), email: "nope".into(), ..Default::default() };
        assert_eq!(bad_email.validate_basic().unwrap_err().code, ErrorCode::InvalidEmail);
    }

    #[test]
    fn patch_distinguishes_absent_from_null_owner() {
        let p: ProspectPatch = serde_json::from_str(r#"{"owner_id": null}"#).unwrap();
        assert_eq!(p.owner_id, Some(None));
        let p: ProspectPatch = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.owner_id, None);
        // And it survives a round trip (the browser serialises, the server reads).
        for owner in [None, Some(None), Some(Some(Uuid::nil()))] {
            let p = ProspectPatch { owner_id: owner, ..Default::default() };
            let back: ProspectPatch = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
            assert_eq!(back.owner_id, owner);
            let f = ProspectFilter { owner, ..Default::default() };
            let back: ProspectFilter = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
            assert_eq!(back.owner, owner);
        }
    }

    #[test]
    fn consent_needs_a_source_and_a_past_time() {
        let now = chrono::Utc::now();
        let c = ConsentInput {
            source: " Web ".into(),
            method: ConsentMethod::WebForm,
            captured_at: None,
            granted: None,
        };
        assert_eq!(c.validate(now).unwrap().source, "Web");
        let future = ConsentInput {
            source: "x".into(),
            method: ConsentMethod::Verbal,
            captured_at: Some(now + chrono::Duration::days(1)),
            granted: None,
        };
        assert_eq!(future.validate(now).unwrap_err().field, "captured_at");
    }
}

// ---- views (what the server returns) ---------------------------------------

/// One row of the list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProspectRow {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub title: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub timezone: String,
    pub status: ProspectStatus,
    pub owner_id: Option<Uuid>,
    pub owner_name: Option<String>,
    pub tags: Vec<String>,
    pub do_not_call: bool,
    pub opted_out: bool,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl ProspectRow {
    pub fn display_name(&self) -> String {
        let n = format!("{} {}", self.first_name, self.last_name).trim().to_string();
        if n.is_empty() {
            self.company.clone()
        } else {
            n
        }
    }
}

/// Where counting stops when a condition is tested row by row — a search no
/// index narrows to a few matches, a tag, a custom value (see
/// [`ProspectPage::total_capped`]).
pub const SEARCH_COUNT_CAP: u64 = 1_000;

/// Where counting any other list stops. Past it the page says "10,000+":
/// an exact count of a million-row organisation reads every row (hundreds
/// of milliseconds on each page turn) for a figure nobody pages through.
pub const LIST_COUNT_CAP: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProspectPage {
    pub rows: Vec<ProspectRow>,
    pub total: u64,
    /// More rows matched than counting goes ([`LIST_COUNT_CAP`], or
    /// [`SEARCH_COUNT_CAP`] for a condition tested row by row) and `total` is that cap:
    /// show "10,000+" (an exact count would read every match).
    #[serde(default)]
    pub total_capped: bool,
    pub page: u64,
    pub per_page: u64,
}

/// Everything the detail page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Prospect {
    #[serde(flatten)]
    pub row: ProspectRow,
    pub custom: BTreeMap<String, Value>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Why a call would be refused right now, if it would (`None` = may call).
    pub call_block: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Note {
    pub id: Uuid,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub body: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: Uuid,
    pub actor_name: Option<String>,
    /// `created`, `status_changed`, `field_changed`, `tags_changed`,
    /// `owner_changed`, `note_added`, `consent_recorded`, `imported`, `updated_by_import`.
    pub kind: String,
    pub data: Value,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Consent {
    pub id: Uuid,
    pub source: String,
    pub method: ConsentMethod,
    pub granted: bool,
    pub captured_at: chrono::DateTime<chrono::Utc>,
    pub captured_by: Option<Uuid>,
    pub captured_by_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomField {
    pub id: Uuid,
    #[serde(flatten)]
    pub def: CustomFieldDef,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedView {
    pub id: Uuid,
    pub name: String,
    pub query: ListQuery,
    pub columns: Vec<String>,
}

/// Reasons the system writes on do-not-call entries it adds by itself (the
/// UI translates them; a reason typed by a person is shown as typed).
pub const DNC_REASON_OPT_OUT: &str = "system:opt_out";
pub const DNC_REASON_DELETED_DNC: &str = "system:deleted_do_not_call";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DncEntry {
    pub phone: String,
    pub reason: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Calling hours and the default phone region of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ComplianceSettings {
    pub window_start_minute: u16,
    pub window_end_minute: u16,
    pub default_region: Option<String>,
}

impl Default for ComplianceSettings {
    fn default() -> Self {
        ComplianceSettings { window_start_minute: 8 * 60, window_end_minute: 21 * 60, default_region: None }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkResult {
    pub affected: u64,
    /// For deletes: pass to `undo_delete` within [`UNDO_SECONDS`].
    pub undo_token: Option<Uuid>,
}

/// How long a bulk delete can be undone.
pub const UNDO_SECONDS: i64 = 30;

/// Result of importing a do-not-call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DncImportResult {
    pub added: u64,
    pub already_listed: u64,
    /// Lines that are not phone numbers (1-based line numbers, at most 100).
    pub invalid_lines: Vec<u64>,
    pub invalid: u64,
}
