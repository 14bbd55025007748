//! Phone calls placed through LiveKit: the list (filters, server-side sort
//! and pages, CSV export), a call's page whose status follows the call live,
//! "Call with agent…" on a prospect, and a prospect's calls (AI agents' and
//! reps') in one list, a finished call's analysis, and the managers' live
//! board (listen, whisper, barge).

pub mod analysis;
pub mod api;
pub mod detail;
pub mod labels;
pub mod list;
pub mod listen;
pub mod live;
pub mod place;
pub mod prospect_calls;
#[cfg(feature = "hydrate")]
pub mod room;

/// Follows the organisation's calls as they change (the call list, the
/// live board), for as long as the calling component lives.
pub(crate) fn follow_calls(
    org_id: uuid::Uuid,
    on_update: impl Fn(domain::call_views::CallUpdate) + Clone + 'static,
    on_open: impl Fn() + Clone + 'static,
) {
    crate::live::follow(move || Some(format!("/api/v1/orgs/{org_id}/calls/events")), on_update, on_open);
}
