//! The one error type every provider client returns. Each variant is a
//! situation the caller handles differently (fix the key, wait, retry, give
//! up), so vendor specifics are mapped here once.

use std::time::Duration;

use domain::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// No key configured where the provider needs one.
    #[error("no API key configured for {0}")]
    NotConfigured(String),
    /// The provider refused the key (401/403).
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("rate limited{}: {message}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration>, message: String },
    /// No response, or the stream stalled, within the deadline.
    #[error("timed out")]
    Timeout,
    /// The provider says the request itself is wrong (400/422).
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("model not found: {0}")]
    ModelNotFound(String),
    /// 5xx (or Anthropic's 529 overloaded).
    #[error("provider error {status}: {message}")]
    Upstream { status: u16, message: String },
    /// The response did not follow the vendor's protocol.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// Connection refused, reset, DNS…
    #[error("network error: {0}")]
    Network(String),
    /// The caller cancelled the request.
    #[error("cancelled")]
    Cancelled,
    /// The destination is refused by the egress policy (see [`crate::egress`]).
    #[error("the provider address is not allowed (it points into a private or local network)")]
    AddressRefused,
}

impl ProviderError {
    /// The stable code shown to users and API clients.
    pub fn code(&self) -> ErrorCode {
        match self {
            ProviderError::NotConfigured(_) => ErrorCode::ProviderNotConfigured,
            ProviderError::Auth(_) => ErrorCode::ProviderAuth,
            ProviderError::RateLimited { .. } => ErrorCode::ProviderRateLimited,
            ProviderError::Timeout => ErrorCode::ProviderTimeout,
            ProviderError::BadRequest(_) => ErrorCode::ProviderBadRequest,
            ProviderError::ModelNotFound(_) => ErrorCode::ProviderModelNotFound,
            ProviderError::Upstream { .. } | ProviderError::Network(_) | ProviderError::Cancelled => {
                ErrorCode::ProviderUnavailable
            }
            ProviderError::Malformed(_) => ErrorCode::ProviderMalformed,
            ProviderError::AddressRefused => ErrorCode::ProviderAddressRefused,
        }
    }

    /// Worth sending the same request again (only before any response was consumed).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::RateLimited { .. }
                | ProviderError::Upstream { .. }
                | ProviderError::Network(_)
                | ProviderError::Timeout
        )
    }

    /// Maps an HTTP error status and body. `message` is the vendor's own
    /// message when the body had one.
    pub fn from_status(status: u16, message: String, retry_after: Option<Duration>) -> ProviderError {
        match status {
            // Redirects are never followed (they would replay the key to
            // another host): an API that answers one is misconfigured.
            300..=399 => ProviderError::BadRequest(message),
            401 | 403 => ProviderError::Auth(message),
            404 => ProviderError::ModelNotFound(message),
            408 => ProviderError::Timeout,
            429 => ProviderError::RateLimited { retry_after, message },
            400..=499 => ProviderError::BadRequest(message),
            _ => ProviderError::Upstream { status, message },
        }
    }

    pub(crate) fn from_reqwest(e: reqwest::Error) -> ProviderError {
        if crate::egress::is_refused(&e) {
            return ProviderError::AddressRefused;
        }
        // The details (which socket error, which address) are for the
        // operator: told to a tenant they would map the network for it.
        tracing::warn!(target: "provider", error = %without_url(&e), "provider request failed");
        if e.is_timeout() {
            ProviderError::Timeout
        } else if e.is_decode() || e.is_body() {
            ProviderError::Malformed("the response body could not be read".into())
        } else if e.is_connect() {
            ProviderError::Network("could not connect to the provider".into())
        } else {
            ProviderError::Network("the request to the provider failed".into())
        }
    }
}

/// reqwest errors quote the URL, which for some vendors carries the key.
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), &format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?")));
    }
    s
}

/// An error the vendor reported inside a stream: logged for the operator,
/// replaced by a fixed text for the tenant.
pub fn reported(vendor_message: String) -> String {
    tracing::warn!(target: "provider", message = %vendor_message, "provider reported an error in its stream");
    "the provider reported an error".to_string()
}

/// What a tenant is told about an error response: the status and its
/// standard reason, never the body (which the operator's log keeps).
pub fn safe_status_message(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
    match reason {
        Some(r) => format!("the provider answered {status} {r}"),
        None => format!("the provider answered {status}"),
    }
}

pub type ProviderResult<T> = Result<T, ProviderError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let m = |s| ProviderError::from_status(s, "m".into(), None);
        assert!(matches!(m(401), ProviderError::Auth(_)));
        assert!(matches!(m(403), ProviderError::Auth(_)));
        assert!(matches!(m(404), ProviderError::ModelNotFound(_)));
        assert!(matches!(m(400), ProviderError::BadRequest(_)));
        assert!(matches!(m(422), ProviderError::BadRequest(_)));
        assert!(matches!(m(429), ProviderError::RateLimited { .. }));
        assert!(matches!(m(500), ProviderError::Upstream { status: 500, .. }));
        assert!(matches!(m(529), ProviderError::Upstream { status: 529, .. }));
        assert!(matches!(m(302), ProviderError::BadRequest(_)) && !m(307).is_transient());
        assert_eq!(
            ProviderError::from_status(401, safe_status_message(401), None).to_string(),
            "authentication failed: the provider answered 401 Unauthorized"
        );
        assert!(m(503).is_transient() && m(429).is_transient());
        assert!(!m(400).is_transient() && !m(401).is_transient());
    }

    #[test]
    fn codes() {
        assert_eq!(ProviderError::Auth("x".into()).code(), ErrorCode::ProviderAuth);
        assert_eq!(ProviderError::Timeout.code(), ErrorCode::ProviderTimeout);
        assert_eq!(ProviderError::Malformed("x".into()).code(), ErrorCode::ProviderMalformed);
        let rl = ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
            message: "slow down".into(),
        };
        assert_eq!(rl.to_string(), "rate limited (retry after 7s): slow down");
    }
}
