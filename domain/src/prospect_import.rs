//! CSV import of prospects, the pure parts: where each column goes (with a
//! suggested mapping from the headers, in English and French), what the
//! dry run reports, and the import job's state as the UI polls it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::data_schema::FieldKind;
use crate::prospect::{fold, key_from_label};

/// Where a CSV column goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "to", content = "key", rename_all = "snake_case")]
pub enum Target {
    Ignore,
    FirstName,
    LastName,
    /// "Jean Dupont" split at the first space.
    FullName,
    Company,
    Title,
    Phone,
    Email,
    Timezone,
    Status,
    /// Comma/semicolon separated.
    Tags,
    /// A note added to the prospect's timeline.
    Note,
    /// An existing custom field, or one created by the import.
    Custom(String),
}

impl Target {
    fn standard() -> [(Target, &'static [&'static str]); 11] {
        [
            (Target::FirstName, &["first name", "firstname", "first", "given name", "prenom", "forename"]),
            (Target::LastName, &["last name", "lastname", "surname", "family name", "nom de famille", "nom"]),
            (
                Target::FullName,
                &["name", "full name", "contact", "contact name", "nom complet", "prenom nom"],
            ),
            (
                Target::Company,
                &[
                    "company",
                    "company name",
                    "organization",
                    "organisation",
                    "account",
                    "societe",
                    "entreprise",
                    "raison sociale",
                ],
            ),
            (Target::Title, &["title", "job title", "position", "role", "poste", "fonction", "titre"]),
            (
                Target::Phone,
                &[
                    "phone",
                    "phone number",
                    "mobile",
                    "mobile phone",
                    "cell",
                    "telephone",
                    "tel",
                    "portable",
                    "numero",
                    "numero de telephone",
                    "direct line",
                    "ligne directe",
                ],
            ),
            (
                Target::Email,
                &["email", "e-mail", "email address", "mail", "courriel", "adresse email", "adresse e-mail"],
            ),
            (Target::Timezone, &["timezone", "time zone", "tz", "fuseau horaire", "fuseau"]),
            (Target::Status, &["status", "lead status", "stage", "statut", "etape"]),
            (Target::Tags, &["tags", "tag", "labels", "label", "etiquettes", "etiquette"]),
            (
                Target::Note,
                &["note", "notes", "comment", "comments", "commentaire", "commentaires", "remarques"],
            ),
        ]
    }
}

/// Suggests a target for each header: standard fields by name (EN/FR,
/// case, accents and punctuation ignored), then existing custom fields by
/// key or label; anything else is ignored until the user decides. Each
/// target is used once (the first matching column wins).
pub fn suggest_mapping(headers: &[String], custom: &[(String, String)]) -> Vec<Target> {
    let norm = |s: &str| -> String {
        fold(s)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { ' ' })
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut used: Vec<Target> = Vec::new();
    let mut out = Vec::with_capacity(headers.len());
    for h in headers {
        let n = norm(h);
        let mut pick = Target::Ignore;
        for (target, names) in Target::standard() {
            if names.iter().any(|x| norm(x) == n) && !used.contains(&target) {
                pick = target;
                break;
            }
        }
        if pick == Target::Ignore {
            let key = key_from_label(h);
            if let Some((k, _)) = custom.iter().find(|(k, label)| *k == key || norm(label) == n) {
                let t = Target::Custom(k.clone());
                if !used.contains(&t) {
                    pick = t;
                }
            }
        }
        // First/last name beat a full-name column suggested earlier.
        if pick != Target::Ignore {
            used.push(pick.clone());
        }
        out.push(pick);
    }
    if out.contains(&Target::FirstName) || out.contains(&Target::LastName) {
        if let Some(i) = out.iter().position(|t| *t == Target::FullName) {
            out[i] = Target::Ignore;
        }
    }
    out
}

/// What to do with a row that matches an existing prospect (same phone or email).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DuplicatePolicy {
    #[default]
    Skip,
    /// Update the existing prospect with the row's non-empty values.
    Update,
}

/// A custom field the import creates before it runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCustomField {
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub kind: FieldKind,
}

/// The user's choices for one import.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportOptions {
    /// One target per column, in column order.
    pub mapping: Vec<Target>,
    #[serde(default)]
    pub new_fields: Vec<NewCustomField>,
    #[serde(default)]
    pub duplicates: DuplicatePolicy,
    /// Region for numbers written without a country code (`FR`, `US`).
    #[serde(default)]
    pub default_region: Option<String>,
    /// Tags added to every imported prospect (e.g. "salon-2026").
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Why a row cannot be imported as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RowIssue {
    /// The row has a different number of columns than the header.
    Ragged {
        expected: usize,
        found: usize,
    },
    InvalidPhone {
        value: String,
    },
    InvalidEmail {
        value: String,
    },
    /// No name and no company.
    MissingName,
    /// Neither phone nor email.
    MissingContact,
    InvalidStatus {
        value: String,
    },
    InvalidTimezone {
        value: String,
    },
    InvalidValue {
        column: String,
        message: String,
    },
    /// Matches a prospect already in the organisation.
    DuplicateExisting {
        prospect_id: Uuid,
        by: String,
    },
    /// Same phone or email as an earlier row of this file.
    DuplicateInFile {
        first_row: u64,
        by: String,
    },
}

impl RowIssue {
    /// Duplicates are not errors: the duplicate policy decides their fate.
    pub fn is_error(&self) -> bool {
        !matches!(self, RowIssue::DuplicateExisting { .. } | RowIssue::DuplicateInFile { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RowReport {
    /// 1-based data row (the header is row 0), as a spreadsheet shows it minus one.
    pub row: u64,
    /// Physical line where the record starts (quoted newlines make these differ).
    pub line: u64,
    pub issues: Vec<RowIssue>,
}

/// The dry run's answer: counts for everything, details for the first rows with issues.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DryRunReport {
    pub total_rows: u64,
    /// Rows that would be created.
    pub to_create: u64,
    /// Rows that match an existing prospect (updated or skipped per policy).
    pub duplicates_existing: u64,
    pub duplicates_in_file: u64,
    pub invalid: u64,
    /// Rows that would be updated (policy `update`) — included in `duplicates_existing`.
    pub to_update: u64,
    /// Issue counts by kind (`invalid_phone` → 12).
    pub issue_counts: BTreeMap<String, u64>,
    /// The first [`MAX_REPORTED_ROWS`] rows with an issue; every one of
    /// them ([`DryRunReport::problem_rows`]) is in the problems CSV.
    pub rows: Vec<RowReport>,
    /// Rows with at least one issue (errors, duplicates), all of them.
    #[serde(default)]
    pub problem_rows: u64,
}

pub const MAX_REPORTED_ROWS: usize = 500;

/// Text encodings the importer recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    Utf8,
    Utf16le,
    Utf16be,
    /// Not valid UTF-8: read as Windows-1252 (what Excel writes in Western Europe).
    Windows1252,
}

/// What the upload step learned about the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportPreview {
    pub id: Uuid,
    pub file_name: String,
    pub encoding: Encoding,
    pub delimiter: char,
    pub headers: Vec<String>,
    /// Up to 5 data rows as read.
    pub sample: Vec<Vec<String>>,
    pub total_rows: u64,
    pub suggested: Vec<Target>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Uploaded, not started.
    Pending,
    Running,
    Succeeded,
    /// Nothing was written (the import is one transaction).
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [JobState::Pending, JobState::Running, JobState::Succeeded, JobState::Failed]
            .into_iter()
            .find(|j| j.as_str() == s)
    }
}

/// An import as the UI polls it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportJob {
    pub id: Uuid,
    pub file_name: String,
    pub state: JobState,
    pub total_rows: u64,
    pub processed_rows: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    /// Error code when `Failed`.
    pub error: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn english_and_french_headers_are_recognised() {
        let m = suggest_mapping(
            &h(&["First Name", "Last Name", "Company", "Phone Number", "E-mail", "Unknown"]),
            &[],
        );
        assert_eq!(
            m,
            vec![
                Target::FirstName,
                Target::LastName,
                Target::Company,
                Target::Phone,
                Target::Email,
                Target::Ignore
            ]
        );
        let m =
            suggest_mapping(&h(&["Prénom", "Nom", "Société", "Téléphone", "Courriel", "Étiquettes"]), &[]);
        assert_eq!(
            m,
            vec![
                Target::FirstName,
                Target::LastName,
                Target::Company,
                Target::Phone,
                Target::Email,
                Target::Tags
            ]
        );
    }

    #[test]
    fn a_full_name_column_is_used_only_without_first_and_last() {
        assert_eq!(suggest_mapping(&h(&["Name", "Mobile"]), &[]), vec![Target::FullName, Target::Phone]);
        assert_eq!(
            suggest_mapping(&h(&["Name", "First name", "Last name"]), &[]),
            vec![Target::Ignore, Target::FirstName, Target::LastName]
        );
    }

    #[test]
    fn each_target_is_suggested_once_and_custom_fields_match_by_key_or_label() {
        let custom = vec![("industry".to_string(), "Secteur".to_string())];
        let m = suggest_mapping(&h(&["Phone", "Mobile", "Industry", "secteur"]), &custom);
        assert_eq!(m, vec![Target::Phone, Target::Ignore, Target::Custom("industry".into()), Target::Ignore]);
    }

    #[test]
    fn options_round_trip_as_json() {
        let o = ImportOptions {
            mapping: vec![Target::Phone, Target::Custom("seats".into()), Target::Ignore],
            new_fields: vec![NewCustomField {
                key: "seats".into(),
                label: "Seats".into(),
                kind: FieldKind::Number,
            }],
            duplicates: DuplicatePolicy::Update,
            default_region: Some("FR".into()),
            tags: vec![],
        };
        let json = serde_json::to_value(&o).unwrap();
        assert_eq!(json["mapping"][1], serde_json::json!({"to": "custom", "key": "seats"}));
        assert_eq!(json["mapping"][0], serde_json::json!({"to": "phone"}));
        assert_eq!(serde_json::from_value::<ImportOptions>(json).unwrap(), o);
    }
}
