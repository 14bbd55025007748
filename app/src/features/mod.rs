//! One folder per feature: `types` (DTOs shared with the browser), `api`
//! (thin `#[server]` functions), `pages`/`components` (UI).

pub mod account;
pub mod agents;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod calls;
pub mod campaigns;
pub mod copilot;
pub mod gallery;
pub mod invitations;
pub mod members;
pub mod orgs;
pub mod playground;
pub mod prospects;
pub mod providers;
pub mod telephony;
