//! Words for a campaign's states and results, in the reader's language.

use domain::campaign::views::PausedBy;
use domain::campaign::{AttemptResult, CampaignStatus};
use leptos_i18n::I18nContext;

use crate::i18n::{t_string, Locale};
use crate::ui::Tone;

pub fn status_label(i18n: I18nContext<Locale>, s: CampaignStatus) -> String {
    match s {
        CampaignStatus::Draft => t_string!(i18n, campaigns.st_draft),
        CampaignStatus::Active => t_string!(i18n, campaigns.st_active),
        CampaignStatus::Paused => t_string!(i18n, campaigns.st_paused),
        CampaignStatus::Completed => t_string!(i18n, campaigns.st_completed),
        CampaignStatus::Archived => t_string!(i18n, campaigns.st_archived),
    }
    .to_string()
}

pub fn status_tone(s: CampaignStatus) -> Tone {
    match s {
        CampaignStatus::Draft | CampaignStatus::Archived => Tone::Neutral,
        CampaignStatus::Active => Tone::Success,
        CampaignStatus::Paused => Tone::Warning,
        CampaignStatus::Completed => Tone::Info,
    }
}

pub fn result_label(i18n: I18nContext<Locale>, r: AttemptResult) -> String {
    match r {
        AttemptResult::Answered => t_string!(i18n, campaigns.r_answered),
        AttemptResult::NoAnswer => t_string!(i18n, campaigns.r_no_answer),
        AttemptResult::Busy => t_string!(i18n, campaigns.r_busy),
        AttemptResult::Voicemail => t_string!(i18n, campaigns.r_voicemail),
        AttemptResult::Failed => t_string!(i18n, campaigns.r_failed),
    }
    .to_string()
}

pub fn state_label(i18n: I18nContext<Locale>, state: &str) -> String {
    match state {
        "queued" => t_string!(i18n, campaigns.m_queued),
        "dialing" => t_string!(i18n, campaigns.m_dialing),
        "done" => t_string!(i18n, campaigns.m_done),
        _ => t_string!(i18n, campaigns.m_skipped),
    }
    .to_string()
}

/// Why a campaign is paused, in a sentence.
pub fn paused_label(i18n: I18nContext<Locale>, p: &PausedBy) -> String {
    match p {
        PausedBy::Manager { .. } => t_string!(i18n, campaigns.paused_manager).to_string(),
        PausedBy::Breaker { tripped } => t_string!(
            i18n,
            campaigns.paused_breaker,
            failed = tripped.failed,
            dials = tripped.dials,
            minutes = tripped.window_seconds / 60
        )
        .to_string(),
        PausedBy::Unreachable { code } => {
            let why = crate::i18n::describe(
                i18n,
                &crate::AppError::new(
                    domain::ErrorCode::parse(code).unwrap_or(domain::ErrorCode::ProviderUnavailable),
                ),
            );
            t_string!(i18n, campaigns.paused_unreachable, why = why).to_string()
        }
    }
}

/// The reason a prospect was not added, in the reader's language.
pub fn not_added_label(i18n: I18nContext<Locale>, key: &str) -> String {
    match key {
        "already_in_campaign" => t_string!(i18n, campaigns.na_already),
        "in_other_campaign" => t_string!(i18n, campaigns.na_other),
        "on_dnc_list" => t_string!(i18n, campaigns.na_dnc),
        "flagged_do_not_call" => t_string!(i18n, campaigns.na_flagged),
        "opted_out" => t_string!(i18n, campaigns.na_opted_out),
        _ => t_string!(i18n, campaigns.na_no_phone),
    }
    .to_string()
}

/// A weekday's short name.
pub fn day_label(i18n: I18nContext<Locale>, d: chrono::Weekday) -> String {
    use chrono::Weekday as W;
    match d {
        W::Mon => t_string!(i18n, campaigns.mon),
        W::Tue => t_string!(i18n, campaigns.tue),
        W::Wed => t_string!(i18n, campaigns.wed),
        W::Thu => t_string!(i18n, campaigns.thu),
        W::Fri => t_string!(i18n, campaigns.fri),
        W::Sat => t_string!(i18n, campaigns.sat),
        W::Sun => t_string!(i18n, campaigns.sun),
    }
    .to_string()
}
