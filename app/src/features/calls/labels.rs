//! Translated labels and badge tones for calls.

use domain::call::CallStatus;
use leptos_i18n::I18nContext;

use crate::i18n::{t_string, Locale};
use crate::ui::Tone;

type I18n = I18nContext<Locale>;

pub fn status_label(i18n: I18n, s: CallStatus) -> String {
    match s {
        CallStatus::Initiated => t_string!(i18n, calls.st_initiated),
        CallStatus::Ringing => t_string!(i18n, calls.st_ringing),
        CallStatus::Answered => t_string!(i18n, calls.st_answered),
        CallStatus::InProgress => t_string!(i18n, calls.st_in_progress),
        CallStatus::Completed => t_string!(i18n, calls.st_completed),
        CallStatus::Failed => t_string!(i18n, calls.st_failed),
        CallStatus::Busy => t_string!(i18n, calls.st_busy),
        CallStatus::NoAnswer => t_string!(i18n, calls.st_no_answer),
        CallStatus::Canceled => t_string!(i18n, calls.st_canceled),
    }
    .to_string()
}

pub fn status_tone(s: CallStatus) -> Tone {
    match s {
        CallStatus::Initiated | CallStatus::Ringing => Tone::Info,
        CallStatus::Answered | CallStatus::InProgress => Tone::Warning,
        CallStatus::Completed => Tone::Success,
        CallStatus::Failed | CallStatus::Busy | CallStatus::NoAnswer | CallStatus::Canceled => Tone::Danger,
    }
}

pub fn direction_label(i18n: I18n, d: &str) -> String {
    match d {
        "inbound" => t_string!(i18n, calls.inbound),
        _ => t_string!(i18n, calls.outbound),
    }
    .to_string()
}

/// `m:ss` (or `h:mm:ss`) of a talk time.
pub fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_clocks() {
        assert_eq!(super::duration(0), "0:00");
        assert_eq!(super::duration(61_999), "1:01");
        assert_eq!(super::duration(3_725_000), "1:02:05");
        assert_eq!(super::duration(-5), "0:00");
    }
}
