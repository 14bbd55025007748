//! The services' error: a stable [`ErrorCode`] plus optional field. Database
//! errors are logged here, with their detail, and leave as `Internal` only.

use domain::error::FieldError;
use domain::ErrorCode;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", code.as_str(), field.as_ref().map(|f| format!(" ({f})")).unwrap_or_default())]
pub struct ServiceError {
    pub code: ErrorCode,
    pub field: Option<String>,
    /// A value the translated message quotes (see `FieldError::detail`).
    pub detail: Option<String>,
}

pub type ServiceResult<T> = Result<T, ServiceError>;

impl ServiceError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, field: None, detail: None }
    }

    pub fn field(code: ErrorCode, field: impl Into<String>) -> Self {
        Self { code, field: Some(field.into()), detail: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound)
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal)
    }
}

impl From<ErrorCode> for ServiceError {
    fn from(code: ErrorCode) -> Self {
        Self::new(code)
    }
}

impl From<FieldError> for ServiceError {
    fn from(e: FieldError) -> Self {
        Self { code: e.code, field: Some(e.field), detail: e.detail }
    }
}

impl From<sea_orm::DbErr> for ServiceError {
    fn from(e: sea_orm::DbErr) -> Self {
        // Unique violations that reach this point are races the service did not
        // pre-check; they are conflicts, not crashes.
        if let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = e.sql_err() {
            tracing::warn!(%detail, "unique constraint violation");
            return Self::new(ErrorCode::Conflict);
        }
        tracing::error!(error = %e, "database error");
        Self::internal()
    }
}

impl From<sea_orm::TransactionError<ServiceError>> for ServiceError {
    fn from(e: sea_orm::TransactionError<ServiceError>) -> Self {
        match e {
            sea_orm::TransactionError::Connection(db) => db.into(),
            sea_orm::TransactionError::Transaction(s) => s,
        }
    }
}
