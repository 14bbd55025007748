//! What every HTTP client here shares: endpoint config, sending with
//! retries (only where repeating is safe), and turning error responses into
//! [`ProviderError`]s with the vendor's own message.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::egress::EgressPolicy;
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
    /// Set when the base URL came from a tenant: every request then goes
    /// through this policy (and its client). `None` is the operator's own
    /// configuration.
    pub egress: Option<EgressPolicy>,
}

impl Endpoint {
    /// An endpoint the operator configured (trusted destination).
    pub fn new(base_url: impl Into<String>, api_key: Option<String>) -> Self {
        Endpoint {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            request_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            egress: None,
        }
    }

    /// An endpoint whose base URL a tenant chose: refused up front when it
    /// names a forbidden address literal; names are checked when resolved.
    pub fn guarded(
        base_url: impl Into<String>,
        api_key: Option<String>,
        egress: EgressPolicy,
    ) -> ProviderResult<Self> {
        let mut e = Endpoint::new(base_url, api_key);
        let url = url::Url::parse(&e.base_url)
            .map_err(|_| ProviderError::BadRequest("invalid provider URL".into()))?;
        if !matches!(url.scheme(), "http" | "https" | "ws" | "wss") {
            return Err(ProviderError::BadRequest("provider URLs are http(s) or ws(s)".into()));
        }
        egress.check_url(&url)?;
        e.egress = Some(egress);
        Ok(e)
    }

    /// The client requests to this endpoint must use: the policy's own
    /// for a tenant's URL, `default` for the operator's.
    pub fn client(&self, default: reqwest::Client) -> reqwest::Client {
        match &self.egress {
            Some(policy) => policy.client().clone(),
            None => default,
        }
    }

    /// `base_url` + `segments`, each percent-encoded as one path segment
    /// (so a model or voice id cannot add `/`, `?`, `#` or `..` to the
    /// path), + `query`, encoded as pairs.
    pub fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> ProviderResult<String> {
        let mut url = url::Url::parse(&self.base_url)
            .map_err(|_| ProviderError::BadRequest("invalid provider URL".into()))?;
        url.set_fragment(None);
        let base_query = url.query().map(str::to_string);
        url.set_query(None);
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ProviderError::BadRequest("invalid provider URL".into()))?;
            path.pop_if_empty();
            for segment in segments {
                if segment.is_empty() || *segment == "." || *segment == ".." {
                    return Err(ProviderError::BadRequest(format!("invalid path segment {segment:?}")));
                }
                // `push` percent-encodes what a segment may not hold
                // (`/`, `?`, `#`, `%`…), so the id stays one segment.
                path.push(segment);
            }
        }
        if let Some(q) = base_query.filter(|q| !q.is_empty()) {
            url.set_query(Some(&q));
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url.into())
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

/// Reads an error response: the status decides the kind. The body (with
/// the vendor's own message) goes to the operator's log only — a tenant
/// who aimed us at some server must not read that server's answers
/// through our error messages.
pub async fn error_from_response(
    resp: reqwest::Response,
    extract_message: fn(&Value) -> Option<String>,
) -> ProviderError {
    let status = resp.status().as_u16();
    let retry_after = retry_after(resp.headers());
    let host = resp.url().host_str().unwrap_or_default().to_string();
    let body = read_capped(resp, 4096).await;
    let vendor_message = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| extract_message(&v))
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(300)]).trim().to_string());
    tracing::warn!(target: "provider", status, host, message = %vendor_message, "provider returned an error");
    // Google's APIs (Gemini) report a bad key as 400 with the documented
    // error reason `API_KEY_INVALID`, not as 401.
    let status =
        if status == 400 && body.windows(15).any(|w| w == b"API_KEY_INVALID") { 401 } else { status };
    ProviderError::from_status(status, crate::error::safe_status_message(status), retry_after)
}

/// At most `cap` bytes of a body: an error page may be arbitrarily large.
async fn read_capped(mut resp: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut out = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        out.extend_from_slice(&chunk[..chunk.len().min(cap - out.len())]);
        if out.len() >= cap {
            break;
        }
    }
    out
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
        assert_eq!(e.url(&["chat", "completions"], &[]).unwrap(), "http://x/v1/chat/completions");
        assert_eq!(e.key("openai"), Err(ProviderError::NotConfigured("openai".into())));
    }

    #[test]
    fn urls_are_joined_by_segment_not_concatenated() {
        let e = Endpoint::new("https://api.example.com/v1", None);
        // A voice or model id stays one segment: no traversal, no query, no fragment.
        assert_eq!(
            e.url(&["text-to-speech", "../../admin/users?x=1#", "stream"], &[("output_format", "pcm_16000")])
                .unwrap(),
            "https://api.example.com/v1/text-to-speech/..%2F..%2Fadmin%2Fusers%3Fx=1%23/stream?output_format=pcm_16000"
        );
        assert_eq!(
            e.url(&["models", "gemini-2.5-flash:streamGenerateContent"], &[("alt", "sse")]).unwrap(),
            "https://api.example.com/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            e.url(&["models", "%2e%2e"], &[]).unwrap(),
            "https://api.example.com/v1/models/%252e%252e",
            "percent signs are encoded, so no encoded dot-segment survives"
        );
        for bad in ["..", ".", ""] {
            assert!(e.url(&["voices", bad], &[]).is_err(), "{bad:?}");
        }
        // Query values are encoded as pairs: no parameter injection.
        assert_eq!(
            e.url(&["listen"], &[("model", "nova&language=xx"), ("language", "en")]).unwrap(),
            "https://api.example.com/v1/listen?model=nova%26language%3Dxx&language=en"
        );
        // A fragment smuggled into a base URL cannot swallow the vendor path.
        let f = Endpoint::new("http://internal.example/admin#", None);
        assert_eq!(
            f.url(&["chat", "completions"], &[]).unwrap(),
            "http://internal.example/admin/chat/completions"
        );
    }

    #[test]
    fn guarded_endpoints_refuse_internal_literals() {
        let strict = EgressPolicy::new(vec![]);
        for base in
            ["http://127.0.0.1:11434/v1", "http://[::1]/v1", "http://169.254.169.254/", "http://0.0.0.0/"]
        {
            assert_eq!(
                Endpoint::guarded(base, None, strict.clone()).unwrap_err(),
                ProviderError::AddressRefused,
                "{base}"
            );
        }
        assert!(Endpoint::guarded("file:///etc/passwd", None, strict.clone()).is_err());
        let ok = Endpoint::guarded("https://api.openai.com/v1", Some("k".into()), strict).unwrap();
        assert!(ok.egress.is_some());
    }
}
