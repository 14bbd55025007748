//! `AppError`: the one error type that crosses every boundary — server
//! functions (JSON `{code, field?, detail?}`, translated by the UI) and the
//! REST API (the same fields plus an English `message`, with the code's HTTP
//! status). It carries a stable code and, for validation errors, the
//! offending field. It never carries database text.

use domain::ErrorCode;
use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", code.as_str())]
pub struct AppError {
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A value the translated message quotes (an unknown variable, a range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AppError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, field: None, detail: None }
    }

    pub fn field(code: ErrorCode, field: impl Into<String>) -> Self {
        Self { code, field: Some(field.into()), detail: None }
    }

    /// True when the error concerns `field` (for inline form errors).
    pub fn is_for(&self, field: &str) -> bool {
        self.field.as_deref() == Some(field)
    }
}

impl From<domain::error::FieldError> for AppError {
    fn from(e: domain::error::FieldError) -> Self {
        Self { code: e.code, field: Some(e.field), detail: e.detail }
    }
}

impl From<ErrorCode> for AppError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            // The request could not be decoded: malformed form input.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::Deserialization(_) => {
                Self::new(ErrorCode::Validation)
            }
            ServerFnErrorErr::MissingArg(field) => Self::field(ErrorCode::Validation, field),
            _ => Self::new(ErrorCode::Internal),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<services::ServiceError> for AppError {
    fn from(e: services::ServiceError) -> Self {
        Self { code: e.code, field: e.field, detail: e.detail }
    }
}

#[cfg(feature = "ssr")]
mod http_answer {
    use std::collections::HashMap;
    use std::sync::LazyLock;

    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use axum::Json;
    use serde::Serialize;

    use super::AppError;

    /// English messages for API clients: the same texts the web UI shows in
    /// English (`locales/en.json`), so the two never drift apart.
    static MESSAGES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
        let all: serde_json::Value =
            serde_json::from_str(include_str!("../locales/en.json")).expect("en.json is valid JSON");
        all["errors"]
            .as_object()
            .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
            .unwrap_or_default()
    });

    #[derive(Serialize)]
    struct Body<'a> {
        code: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        detail: Option<&'a str>,
        message: String,
    }

    impl AppError {
        /// The English message for this error (what the UI shows in English).
        pub fn message(&self) -> String {
            let text = MESSAGES.get(self.code.as_str()).cloned().unwrap_or_else(|| "request refused".into());
            let detail = self.detail.as_deref().unwrap_or("…");
            let text = text.replace("{{ detail }}", detail);
            if self.code != domain::ErrorCode::ScriptLanguageMismatch {
                return text;
            }
            // `<script>/<agent>` language codes, named as the UI names them.
            let (script, agent) = detail.split_once('/').unwrap_or((detail, "…"));
            let name = |code: &str| {
                MESSAGES.get(&format!("lang_{code}")).cloned().unwrap_or_else(|| code.to_string())
            };
            text.replace("{{ script }}", &name(script)).replace("{{ agent }}", &name(agent))
        }

        /// The REST answer with an explicit status (e.g. CSRF's 403).
        pub fn with_status(self, status: StatusCode) -> Response {
            let body = Body {
                code: self.code.as_str(),
                field: self.field.as_deref(),
                detail: self.detail.as_deref(),
                message: self.message(),
            };
            (status, Json(body)).into_response()
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let status =
                StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            self.with_status(status)
        }
    }
}
