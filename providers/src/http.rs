//! What every HTTP client here shares: endpoint config, sending with
//! retries (only where repeating is safe), and turning error responses into
//! [`ProviderError`]s with the vendor's own message.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::error::{ProviderError, ProviderResult};

/// Where and how to reach one provider.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL without trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    /// Deadline for the response head (status + headers).
    pub request_timeout: Duration,
    /// Longest silence tolerated between two chunks of a streamed body.
    pub idle_timeout: Duration,
    pub retry: RetryPolicy,
}

impl Endpoint {
    pub fn new(base_url: impl Into<String>, api_key: Option<String>) -> Self {
        Endpoint {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url, path.trim_start_matches('/'))
    }

    /// The key, or `NotConfigured` naming the provider.
    pub fn key(&self, provider: &str) -> ProviderResult<&str> {
        self.api_key.as_deref().ok_or_else(|| ProviderError::NotConfigured(provider.to_string()))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    pub base_delay: Duration,
    /// Cap for both backoff and a provider's Retry-After: past it, the
    /// caller hears "rate limited" instead of waiting.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { attempts: 3, base_delay: Duration::from_millis(250), max_delay: Duration::from_secs(4) }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        RetryPolicy { attempts: 1, ..Self::default() }
    }

    fn delay(&self, attempt: u32, err: &ProviderError) -> Option<Duration> {
        if attempt + 1 >= self.attempts || !err.is_transient() {
            return None;
        }
        let backoff = self.base_delay.saturating_mul(2u32.saturating_pow(attempt));
        let wait = match err {
            ProviderError::RateLimited { retry_after: Some(d), .. } => *d,
            _ => backoff,
        };
        (wait <= self.max_delay).then_some(wait)
    }
}

/// Sends the request built by `build` and returns the successful response
/// (body not yet read). Transient failures (connect errors, 429, 5xx,
/// timeouts before the head) are retried with backoff: nothing of the
/// response was consumed, so repeating the request is safe.
pub async fn send(
    endpoint: &Endpoint,
    extract_message: fn(&Value) -> Option<String>,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> ProviderResult<reqwest::Response> {
    let mut attempt = 0;
    loop {
        let err = match tokio::time::timeout(endpoint.request_timeout, build().send()).await {
            Err(_) => ProviderError::Timeout,
            Ok(Err(e)) => ProviderError::from_reqwest(e),
            Ok(Ok(resp)) if resp.status().is_success() => return Ok(resp),
            Ok(Ok(resp)) => error_from_response(resp, extract_message).await,
        };
        match endpoint.retry.delay(attempt, &err) {
            Some(wait) => {
                tracing::debug!(attempt, ?wait, error = %err, "retrying provider request");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            None => return Err(err),
        }
    }
}

/// Reads an error response: the status decides the kind, the body gives
/// the message (vendors differ in where they put it).
pub async fn error_from_response(
    resp: reqwest::Response,
    extract_message: fn(&Value) -> Option<String>,
) -> ProviderError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let body = resp.bytes().await.unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| extract_message(&v))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string());
    ProviderError::from_status(status, message, retry_after)
}

/// `retry-after-ms` (OpenAI) or `retry-after` in seconds.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        return (ms.is_finite() && ms >= 0.0).then(|| Duration::from_millis(ms as u64));
    }
    get("retry-after")
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64)
}

/// `{"error": {"message": …}}` (OpenAI, Anthropic, Gemini) or `{"error": "…"}`.
pub fn error_message(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    e.get("message").and_then(Value::as_str).or_else(|| e.as_str()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", HeaderValue::from_static("150"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"));
        assert_eq!(retry_after(&h), None, "HTTP dates fall back to our own backoff");
    }

    #[test]
    fn backoff_respects_attempts_kind_and_cap() {
        let p = RetryPolicy::default();
        let up = ProviderError::Upstream { status: 503, message: String::new() };
        assert_eq!(p.delay(0, &up), Some(Duration::from_millis(250)));
        assert_eq!(p.delay(1, &up), Some(Duration::from_millis(500)));
        assert_eq!(p.delay(2, &up), None, "three attempts in all");
        assert_eq!(p.delay(0, &ProviderError::Auth(String::new())), None);
        let slow =
            ProviderError::RateLimited { retry_after: Some(Duration::from_secs(60)), message: String::new() };
        assert_eq!(p.delay(0, &slow), None, "a long Retry-After is reported, not waited out");
        let soon =
            ProviderError::RateLimited { retry_after: Some(Duration::from_secs(1)), message: String::new() };
        assert_eq!(p.delay(0, &soon), Some(Duration::from_secs(1)));
        assert_eq!(RetryPolicy::none().delay(0, &up), None);
    }

    #[test]
    fn endpoint_urls_and_keys() {
        let e = Endpoint::new("http://x/v1/", Some("  ".into()));
        assert_eq!(e.url("/chat/completions"), "http://x/v1/chat/completions");
        assert_eq!(e.key("openai"), Err(ProviderError::NotConfigured("openai".into())));
    }
}
