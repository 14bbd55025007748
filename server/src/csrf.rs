//! CSRF protection (server half): double-submit token. A random token lives
//! in an HttpOnly, SameSite=Lax cookie and is rendered into the page's
//! `<meta name="csrf-token">`; every unsafe request must echo it in the
//! `x-csrf-token` header (or a `_csrf` form field for no-JS form posts).
//! A cross-site page can neither read the cookie nor the page, so it cannot
//! produce a matching token. Over https the cookie is `__Host-` prefixed
//! (see [`app::csrf::SECURE_COOKIE`]), which closes the cookie-planting hole
//! double-submit otherwise has.

use app::csrf::{cookie_name, CsrfToken, FORM_FIELD, HEADER};
use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::ErrorCode;
use services::tokens::{constant_time_eq, random_token};

const MAX_FORM_BYTES: usize = 64 * 1024;

#[derive(Clone, Copy)]
pub struct CsrfConfig {
    pub secure: bool,
}

pub fn reject(code: ErrorCode) -> Response {
    crate::rest::error_response(StatusCode::FORBIDDEN, code, None)
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

pub async fn layer(
    axum::extract::State(cfg): axum::extract::State<CsrfConfig>,
    mut req: Request,
    next: Next,
) -> Response {
    // A key or a signature authenticates it, and it carries no cookie
    // (see `crate::bearer`): there is no ambient credential to forge with.
    if req.extensions().get::<crate::bearer::CookieFree>().is_some() {
        return next.run(req).await;
    }
    let name = cookie_name(cfg.secure);
    let existing = app::ssr::cookie_value(req.headers(), name).filter(|t| t.len() >= 32 && t.len() <= 64);
    if !is_safe(req.method()) {
        let Some(expected) = existing.clone() else {
            return reject(ErrorCode::CsrfMissing);
        };
        let mut supplied = req.headers().get(HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        if supplied.is_none() && is_form(&req) {
            let (parts, body) = req.into_parts();
            let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
                Ok(b) => b,
                Err(_) => {
                    return crate::rest::error_response(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        ErrorCode::Validation,
                        None,
                    )
                }
            };
            supplied = url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == FORM_FIELD)
                .map(|(_, v)| v.into_owned());
            req = Request::from_parts(parts, Body::from(bytes));
        }
        match supplied {
            None => return reject(ErrorCode::CsrfMissing),
            Some(s) if !constant_time_eq(s.as_bytes(), expected.as_bytes()) => {
                return reject(ErrorCode::CsrfInvalid)
            }
            Some(_) => {}
        }
    }
    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (random_token(), true),
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next.run(req).await;
    if fresh {
        let cookie = format!(
            "{name}={token}; Path=/; HttpOnly; SameSite=Lax{}",
            if cfg.secure { "; Secure" } else { "" }
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res.into_response()
}

fn is_form(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}
