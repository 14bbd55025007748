//! Translated labels for prospect enums, columns, refusals and timeline entries.

use domain::prospect::{ConsentMethod, ProspectStatus};
use domain::prospect_import::{RowIssue, Target};
use leptos_i18n::I18nContext;

use crate::i18n::{t_string, Locale};

type I18n = I18nContext<Locale>;

pub fn status_label(i18n: I18n, s: ProspectStatus) -> String {
    match s {
        ProspectStatus::New => t_string!(i18n, prospects.status_new),
        ProspectStatus::Contacted => t_string!(i18n, prospects.status_contacted),
        ProspectStatus::Interested => t_string!(i18n, prospects.status_interested),
        ProspectStatus::MeetingScheduled => t_string!(i18n, prospects.status_meeting_scheduled),
        ProspectStatus::CallbackScheduled => t_string!(i18n, prospects.status_callback_scheduled),
        ProspectStatus::NotInterested => t_string!(i18n, prospects.status_not_interested),
    }
    .to_string()
}

pub fn column_label(i18n: I18n, c: &str) -> String {
    match c {
        "name" => t_string!(i18n, prospects.col_name),
        "company" => t_string!(i18n, prospects.col_company),
        "title" => t_string!(i18n, prospects.col_title),
        "phone" => t_string!(i18n, prospects.col_phone),
        "email" => t_string!(i18n, prospects.col_email),
        "status" => t_string!(i18n, prospects.col_status),
        "owner" => t_string!(i18n, prospects.col_owner),
        "tags" => t_string!(i18n, prospects.col_tags),
        "timezone" => t_string!(i18n, prospects.col_timezone),
        _ => t_string!(i18n, prospects.col_updated_at),
    }
    .to_string()
}

pub fn method_label(i18n: I18n, m: ConsentMethod) -> String {
    match m {
        ConsentMethod::Verbal => t_string!(i18n, prospects.method_verbal),
        ConsentMethod::Written => t_string!(i18n, prospects.method_written),
        ConsentMethod::WebForm => t_string!(i18n, prospects.method_web_form),
        ConsentMethod::Email => t_string!(i18n, prospects.method_email),
        ConsentMethod::Imported => t_string!(i18n, prospects.method_imported),
        ConsentMethod::Other => t_string!(i18n, prospects.method_other),
    }
    .to_string()
}

/// Why a call is refused, from the refusal's reason code.
pub fn refusal_label(i18n: I18n, reason: &str) -> String {
    match reason {
        "on_dnc_list" => t_string!(i18n, prospects.refusal_on_dnc_list),
        "flagged_do_not_call" => t_string!(i18n, prospects.refusal_flagged_do_not_call),
        "opted_out" => t_string!(i18n, prospects.refusal_opted_out),
        "no_phone" => t_string!(i18n, prospects.refusal_no_phone),
        "unknown_timezone" => t_string!(i18n, prospects.refusal_unknown_timezone),
        _ => t_string!(i18n, prospects.refusal_outside_window),
    }
    .to_string()
}

pub fn target_label(i18n: I18n, t: &Target) -> String {
    match t {
        Target::Ignore => t_string!(i18n, prospects.target_ignore).to_string(),
        Target::FirstName => t_string!(i18n, prospects.first_name).to_string(),
        Target::LastName => t_string!(i18n, prospects.last_name).to_string(),
        Target::FullName => t_string!(i18n, prospects.target_full_name).to_string(),
        Target::Company => t_string!(i18n, prospects.col_company).to_string(),
        Target::Title => t_string!(i18n, prospects.col_title).to_string(),
        Target::Phone => t_string!(i18n, prospects.col_phone).to_string(),
        Target::Email => t_string!(i18n, prospects.col_email).to_string(),
        Target::Timezone => t_string!(i18n, prospects.col_timezone).to_string(),
        Target::Status => t_string!(i18n, prospects.col_status).to_string(),
        Target::Tags => t_string!(i18n, prospects.col_tags).to_string(),
        Target::Note => t_string!(i18n, prospects.target_note).to_string(),
        Target::Custom(k) => format!("{} · {k}", t_string!(i18n, prospects.custom_field)),
    }
}

pub fn issue_label(i18n: I18n, issue: &RowIssue) -> String {
    match issue {
        RowIssue::Ragged { expected, found } => {
            t_string!(i18n, prospects.issue_ragged, expected = *expected, found = *found).to_string()
        }
        RowIssue::InvalidPhone { value } => {
            t_string!(i18n, prospects.issue_invalid_phone, value = value.clone()).to_string()
        }
        RowIssue::InvalidEmail { value } => {
            t_string!(i18n, prospects.issue_invalid_email, value = value.clone()).to_string()
        }
        RowIssue::MissingName => t_string!(i18n, prospects.issue_missing_name).to_string(),
        RowIssue::MissingContact => t_string!(i18n, prospects.issue_missing_contact).to_string(),
        RowIssue::InvalidStatus { value } => {
            t_string!(i18n, prospects.issue_invalid_status, value = value.clone()).to_string()
        }
        RowIssue::InvalidTimezone { value } => {
            t_string!(i18n, prospects.issue_invalid_timezone, value = value.clone()).to_string()
        }
        RowIssue::InvalidValue { column, message } => {
            t_string!(i18n, prospects.issue_invalid_value, column = column.clone(), message = message.clone())
                .to_string()
        }
        RowIssue::DuplicateExisting { by, .. } => {
            t_string!(i18n, prospects.issue_duplicate_existing, by = by.clone()).to_string()
        }
        RowIssue::DuplicateInFile { first_row, by } => {
            t_string!(i18n, prospects.issue_duplicate_in_file, row = *first_row, by = by.clone()).to_string()
        }
    }
}

/// One line of the activity timeline.
/// A prospect field as the timeline names it (custom fields by their key).
pub fn field_label(i18n: I18n, field: &str) -> String {
    match field {
        "first_name" => t_string!(i18n, prospects.first_name).to_string(),
        "last_name" => t_string!(i18n, prospects.last_name).to_string(),
        "company" => t_string!(i18n, prospects.col_company).to_string(),
        "title" => t_string!(i18n, prospects.col_title).to_string(),
        "phone" => t_string!(i18n, prospects.col_phone).to_string(),
        "email" => t_string!(i18n, prospects.col_email).to_string(),
        "timezone" => t_string!(i18n, prospects.col_timezone).to_string(),
        "do_not_call" => t_string!(i18n, prospects.do_not_call).to_string(),
        "opted_out" => t_string!(i18n, prospects.opted_out).to_string(),
        other => other.strip_prefix("custom.").unwrap_or(other).to_string(),
    }
}

pub fn activity_label(i18n: I18n, kind: &str, data: &serde_json::Value) -> String {
    let s = |k: &str| {
        data.get(k)
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
            .unwrap_or_default()
    };
    let status =
        |k: &str| ProspectStatus::parse(&s(k)).map(|st| status_label(i18n, st)).unwrap_or_else(|| s(k));
    match kind {
        "created" => t_string!(i18n, prospects.act_created).to_string(),
        "imported" => t_string!(i18n, prospects.act_imported, file = s("file")).to_string(),
        "status_changed" => {
            t_string!(i18n, prospects.act_status_changed, from = status("from"), to = status("to"))
                .to_string()
        }
        "field_changed" => {
            let field = s("field");
            let value = |k: &str| match data.get(k) {
                None | Some(serde_json::Value::Null) => "—".to_string(),
                Some(serde_json::Value::String(v)) if v.is_empty() => "—".to_string(),
                Some(serde_json::Value::Bool(true)) => t_string!(i18n, prospects.yes).to_string(),
                Some(serde_json::Value::Bool(false)) => t_string!(i18n, prospects.no).to_string(),
                Some(_) => s(k),
            };
            t_string!(
                i18n,
                prospects.act_field_changed,
                field = field_label(i18n, &field),
                from = value("from"),
                to = value("to")
            )
            .to_string()
        }
        "tags_changed" => {
            let list = |k: &str| {
                data.get(k)
                    .and_then(|v| v.as_array())
                    .map(|a| a.iter().filter_map(|t| t.as_str()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            };
            t_string!(i18n, prospects.act_tags_changed, added = list("added"), removed = list("removed"))
                .to_string()
        }
        "owner_changed" => t_string!(i18n, prospects.act_owner_changed).to_string(),
        "consent_recorded" => {
            t_string!(i18n, prospects.act_consent_recorded, source = s("source")).to_string()
        }
        "updated_by_import" => t_string!(i18n, prospects.act_updated_by_import).to_string(),
        other => other.to_string(),
    }
}
