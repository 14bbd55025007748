//! Phone calls placed through LiveKit: the list (filters, server-side sort
//! and pages, CSV export), a call's page whose status follows the call live,
//! "Call with agent…" on a prospect, and a prospect's calls (AI agents' and
//! reps') in one list, and a finished call's analysis.

pub mod analysis;
pub mod api;
pub mod detail;
pub mod labels;
pub mod list;
pub mod listen;
pub mod place;
pub mod prospect_calls;
