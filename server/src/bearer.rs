//! Requests that are not a browser's: they carry `Authorization: Bearer`
//! (an API key) or go to `/webhooks/…` (verified by their signature). They
//! are exempt from CSRF — a cross-site page can make neither: it cannot
//! read a key, and a browser sends no custom `Authorization` header across
//! origins without a CORS preflight we never grant — and so they must not be
//! able to ride on a cookie either: this layer, outside the session and
//! CSRF layers, removes their `Cookie` headers. A request is therefore
//! authenticated by its key (or signature) or by its session with a CSRF
//! token, never by a cookie without one.

use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

/// Marks a request authenticated by something other than cookies.
#[derive(Debug, Clone, Copy)]
pub struct CookieFree;

/// Routes that verify their own signature (LiveKit, Polar…).
pub const WEBHOOK_PREFIX: &str = "/webhooks/";

/// The token of `Authorization: Bearer <token>` (the scheme in any case);
/// `Some("")` for a bare `Bearer`, which is still a bearer request (and an
/// invalid key), never a cookie one.
pub fn bearer_token(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim_start();
    let (scheme, token) = v.split_once(' ').unwrap_or((v, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let bearer = bearer_token(req.headers()).is_some();
    if bearer || req.uri().path().starts_with(WEBHOOK_PREFIX) {
        req.headers_mut().remove(header::COOKIE);
        req.extensions_mut().insert(CookieFree);
    }
    next.run(req).await
}
