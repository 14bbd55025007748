//! Campaigns: a manager's list of prospects an AI agent dials inside the
//! calling hours — the list, a new campaign's settings, and a campaign's
//! page with its figures moving live, its controls, adding prospects (a
//! saved view or a search) and where each prospect stands.

pub mod api;
pub mod detail;
pub mod form;
pub mod labels;
pub mod list;
