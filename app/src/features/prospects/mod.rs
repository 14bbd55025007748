//! Prospects CRM-lite: list (search, filters, saved views, bulk actions),
//! detail (inline edits, notes, consent, timeline), CSV import wizard, and
//! the settings that compliance checks use (calling hours, do-not-call list).

pub mod api;
pub mod detail;
pub mod import_page;
pub mod labels;
pub mod list;
pub mod settings;
#[cfg(feature = "hydrate")]
pub mod upload;
