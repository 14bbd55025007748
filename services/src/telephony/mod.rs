//! Telephony: the organisation's LiveKit project and SIP trunks, reached
//! through LiveKit's server API.

pub mod bucket;
pub mod livekit;
pub mod recording_settings;
pub mod settings;
pub mod trunks;

use domain::ErrorCode;
use providers::EgressPolicy;

use crate::secrets::SecretBox;
use crate::{ServiceError, ServiceResult};

/// What the telephony services need from the server.
#[derive(Clone)]
pub struct TelephonyEnv {
    pub secrets: SecretBox,
    /// The operator's project (`LIVEKIT_URL`, `LIVEKIT_API_KEY`,
    /// `LIVEKIT_API_SECRET`), used by organisations that set none.
    pub default: Option<livekit::Project>,
    /// For the operator's project: reached as configured.
    pub http: reqwest::Client,
    /// For organisations' projects and trunk addresses.
    pub egress: EgressPolicy,
    /// The node's job runner, woken when a dial is queued (set once it
    /// exists: it is built with the handlers that need this environment).
    runner: std::sync::Arc<std::sync::OnceLock<crate::jobs::Runner>>,
    /// What time calls, dials and campaigns go by (a test clock in tests).
    pub clock: crate::clock::SharedClock,
    /// The plan's limits, checked before each dial; usage recorded at the end.
    pub billing: crate::billing::BillingEnv,
    /// How long a rep who left their call's room has to join it again
    /// before the call is hung up ([`crate::calls::rep::REP_GONE_JOB`]).
    pub rep_rejoin_grace: std::time::Duration,
}

impl TelephonyEnv {
    pub fn new(
        providers: &crate::credentials::ProviderEnv,
        default: Option<livekit::Project>,
    ) -> TelephonyEnv {
        TelephonyEnv {
            secrets: providers.secrets.clone(),
            default,
            http: providers.http.clone(),
            egress: providers.egress.clone(),
            runner: Default::default(),
            clock: crate::clock::system(),
            billing: providers.billing.clone(),
            rep_rejoin_grace: std::time::Duration::from_secs(15),
        }
    }

    pub fn set_runner(&self, runner: crate::jobs::Runner) {
        let _ = self.runner.set(runner);
    }

    /// A dial was queued: start it now rather than at the next poll.
    pub fn wake_runner(&self) {
        if let Some(r) = self.runner.get() {
            r.wake();
        }
    }
}

/// A settings change to one field: absent keeps `old`, blank clears it,
/// anything else is the new (trimmed) value.
pub(crate) fn keep(new: Option<String>, old: Option<&String>) -> Option<String> {
    match new {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(s.trim().to_string()),
        None => old.cloned(),
    }
}

/// The last connection or bucket check, as stored beside the settings.
pub(crate) fn stored_test(
    at: Option<chrono::DateTime<chrono::Utc>>,
    ok: Option<bool>,
    latency_ms: Option<i32>,
    error: Option<&String>,
) -> Option<domain::telephony::ConnectionTest> {
    Some(domain::telephony::ConnectionTest {
        at: at?,
        ok: ok.unwrap_or(false),
        latency_ms,
        error: error.cloned(),
        // Stored as `code` or `code: words`.
        code: error.and_then(|e| e.split(':').next()).and_then(ErrorCode::parse),
    })
}

/// A phone number as LiveKit wants it (E.164), or a validation error on `field`.
pub(crate) fn e164(input: &str, field: &str) -> ServiceResult<String> {
    domain::agent::normalize_e164(input).ok_or_else(|| {
        ServiceError::field(ErrorCode::InvalidPhone, field).with_detail(input.trim().to_string())
    })
}
