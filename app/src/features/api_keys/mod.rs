//! Settings → API keys: the organisation's keys for Handoo's REST API
//! (create with a chosen grant, the secret shown once; list with usage;
//! revoke).

pub mod api;
pub mod pages;
pub mod types;
