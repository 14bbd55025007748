//! The variables a template is filled with for one real prospect: a copilot
//! script for the rep who calls them, a voice agent's prompt and first
//! message for the call it makes. (The playground fills the same names
//! from a sample prospect.)

use std::collections::BTreeMap;

use chrono::Datelike;
use domain::template::RenderContext;
use domain::Locale;
use entity::prospects;

use super::custom_of;

/// `speaker` is who calls: the rep's name, or the agent's.
pub fn render_context(p: &prospects::Model, speaker: &str, lang: Locale) -> RenderContext {
    let mut prospect = BTreeMap::new();
    let full = format!("{} {}", p.first_name, p.last_name).trim().to_string();
    for (k, v) in [
        ("first_name", p.first_name.clone()),
        ("last_name", p.last_name.clone()),
        ("full_name", full),
        ("company", p.company.clone()),
        ("title", p.title.clone()),
        ("phone", p.phone.clone().unwrap_or_default()),
        ("email", p.email.clone().unwrap_or_default()),
    ] {
        prospect.insert(k.to_string(), v);
    }
    let custom = custom_of(p)
        .into_iter()
        .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
        .collect();
    RenderContext {
        prospect,
        custom,
        call: BTreeMap::new(),
        agent_name: speaker.to_string(),
        today: today(lang),
    }
}

/// For a call to a bare number: only the phone is known.
pub fn number_context(phone: &str, speaker: &str, lang: Locale) -> RenderContext {
    RenderContext {
        prospect: [("phone".to_string(), phone.to_string())].into_iter().collect(),
        custom: BTreeMap::new(),
        call: BTreeMap::new(),
        agent_name: speaker.to_string(),
        today: today(lang),
    }
}

fn today(lang: Locale) -> String {
    let today = chrono::Utc::now().date_naive();
    lang.format_date(today.year(), today.month(), today.day())
}
