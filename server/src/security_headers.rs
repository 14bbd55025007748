//! Browser security headers on every response.
//!
//! Pages get their Content-Security-Policy from the shell (it carries the
//! page's nonce, see `app::ssr::content_security_policy`); everything else
//! (JSON, event streams, errors) gets a policy that allows nothing, which is
//! right for a document that is not HTML. Responses other than static
//! assets are private (`no-store`): signed-in pages and API answers must
//! not be kept by a shared cache or the browser's back button after logout.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderName, HeaderValue, Request};
use axum::response::Response;
use futures::StreamExt;

/// What the layer needs from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct HeaderConfig {
    /// Served over https (`HANDOO_PUBLIC_URL`): send HSTS.
    pub https: bool,
    /// The build names every file under `/pkg/` by its content
    /// (cargo-leptos `hash-files`): a name never changes meaning, so
    /// browsers may keep those files for a year without asking again.
    pub hashed_assets: bool,
}

/// A year, and never revalidated: the name changes when the content does.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Same for everyone, but the name stays across builds (`public/`, or an
/// unhashed build): the browser asks again each time (a 304 when unchanged).
const REVALIDATE: &str = "public, no-cache";

const NON_HTML_CSP: &str = "default-src 'none'; frame-ancestors 'none'";
const PERMISSIONS_POLICY: &str = "camera=(), geolocation=(), payment=(), usb=(), microphone=(self)";

pub async fn layer(
    State(cfg): State<HeaderConfig>,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path();
    let static_asset = is_static_asset(path);
    let immutable = cfg.hashed_assets && path.starts_with("/pkg/");
    let resp = next.run(req).await;
    let mut resp = with_page_policy(resp).await;
    let h = resp.headers_mut();
    h.entry(CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(NON_HTML_CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // For browsers that predate `frame-ancestors`.
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Invitation links carry their token in the path: never in a Referer
    // sent to another site.
    h.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(HeaderName::from_static("permissions-policy"), HeaderValue::from_static(PERMISSIONS_POLICY));
    h.insert(HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin"));
    if cfg.https {
        h.insert(STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    let ok = resp.status().is_success() || resp.status() == axum::http::StatusCode::NOT_MODIFIED;
    let h = resp.headers_mut();
    let cache = match (static_asset && ok, immutable) {
        (true, true) => IMMUTABLE,
        (true, false) => REVALIDATE,
        // A missing asset may exist after the next deploy: never cache a 404.
        (false, _) => "no-store",
    };
    h.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

/// An HTML page's policy names the nonce its own scripts carry, read from
/// the page itself (its first chunk holds the `<head>`, whose first script
/// is the shell's): the header and the page cannot disagree, whichever way
/// Leptos rendered it. A page without a nonce gets a policy without one
/// (its inline scripts do not run).
async fn with_page_policy(resp: Response) -> Response {
    if !is_html(&resp) {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let mut stream = body.into_data_stream();
    let first = stream.next().await;
    let nonce = first.as_ref().and_then(|r| r.as_ref().ok()).and_then(|b| page_nonce(b));
    let connect = parts.extensions.get::<ConnectSources>().map(|c| c.0.as_slice()).unwrap_or_default();
    let policy = app::ssr::content_security_policy(nonce.as_deref(), connect);
    if let Ok(v) = HeaderValue::from_str(&policy) {
        parts.headers.insert(CONTENT_SECURITY_POLICY, v);
    }
    Response::from_parts(parts, Body::from_stream(futures::stream::iter(first).chain(stream)))
}

/// Origins a page may connect to beyond ours, found by [`connect_sources`].
#[derive(Debug, Clone)]
pub struct ConnectSources(pub Vec<String>);

/// Inside the session layer: a page for a signed-in person may connect to
/// the LiveKit servers of their organisations (listening to a live call
/// joins the room from the browser). Read for HTML pages only; the outer
/// layer puts them in the page's policy.
pub async fn connect_sources(
    State(state): State<crate::state::AppState>,
    session: tower_sessions::Session,
    req: Request<Body>,
    next: axum::middleware::Next,
) -> Response {
    let mut resp = next.run(req).await;
    if !is_html(&resp) {
        return resp;
    }
    let Ok(Some(user)) = session.get::<uuid::Uuid>(app::ssr::SESSION_USER).await else { return resp };
    let env = &state.server_ctx.telephony;
    match services::telephony::settings::client_origins(&state.db, env, user).await {
        Ok(origins) if !origins.is_empty() => {
            resp.extensions_mut().insert(ConnectSources(origins));
        }
        Ok(_) => {}
        // The page still works; listening live will say it cannot connect.
        Err(e) => tracing::warn!(error = %e, "LiveKit origins for the page policy not read"),
    }
    resp
}

fn is_html(resp: &Response) -> bool {
    resp.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

/// The value of the first `<script nonce="…">` in `html`, if well formed.
fn page_nonce(html: &[u8]) -> Option<String> {
    const OPEN: &[u8] = b"<script nonce=\"";
    let at = html.windows(OPEN.len()).position(|w| w == OPEN)? + OPEN.len();
    let len = html[at..].iter().take(65).position(|&c| c == b'"')?;
    let nonce = std::str::from_utf8(&html[at..at + len]).ok()?;
    let ok =
        !nonce.is_empty() && nonce.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_'));
    ok.then(|| nonce.to_string())
}

/// The build's assets and the files in `public/`: same for everyone.
fn is_static_asset(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.rsplit_once('.').is_some_and(|(_, ext)| {
            matches!(ext, "js" | "mjs" | "css" | "wasm" | "png" | "svg" | "ico" | "woff2" | "txt")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_is_read_from_the_page() {
        let page = br#"<!DOCTYPE html><html><head><meta charset="utf-8"/><script nonce="AJ0-mWx5bsxHjWiG5rytfA">try{}</script>"#;
        assert_eq!(page_nonce(page).as_deref(), Some("AJ0-mWx5bsxHjWiG5rytfA"));
        assert_eq!(page_nonce(b"<html><script>x</script>"), None);
        assert_eq!(page_nonce(br#"<script nonce="a' 'unsafe-inline">"#), None, "only nonce characters");
        assert_eq!(page_nonce(br#"<script nonce=""#), None);
    }

    #[test]
    fn only_assets_are_cacheable() {
        assert!(is_static_asset("/pkg/handoo.wasm"));
        assert!(is_static_asset("/pcm-capture.js"));
        for private in [
            "/",
            "/dashboard",
            "/api/get_session",
            "/api/v1/prospects",
            "/invite/abc",
            "/prospects/export.csv",
        ] {
            assert!(!is_static_asset(private), "{private}");
        }
    }
}
