//! The signed-in session as every page sees it.

use leptos::prelude::*;

use super::types::{OrgDto, SessionInfo};

/// The session resource, shared by every page.
#[derive(Clone, Copy)]
pub struct SessionResource(pub Resource<Result<Option<SessionInfo>, crate::AppError>>);

/// The current organisation, for pages under /app.
pub fn use_current_org() -> Option<OrgDto> {
    use_context::<SessionInfo>().and_then(|s| s.current)
}
