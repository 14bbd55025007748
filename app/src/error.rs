//! `AppError`: the one error type that crosses the server-function boundary.
//! It carries a stable code (translated by the UI) and, for validation
//! errors, the offending field. It never carries database text.

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
