//! Server-only use cases. Every organisation-scoped operation takes an
//! [`OrgCtx`], which can only be built by [`authz::require_org`]: the one
//! authorization path shared by server functions and REST handlers.

pub mod agents;
pub mod analysis;
pub mod analytics;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod authz;
pub mod billing;
pub mod calls;
pub mod campaigns;
pub mod clock;
pub mod copilot;
pub mod credentials;
pub mod db;
pub mod error;
pub mod events;
pub mod invitations;
pub mod jobs;
pub mod mailer;
pub mod orgs;
pub mod passwords;
pub mod playground;
pub mod prospects;
pub mod secrets;
pub mod seed;
pub mod telephony;
pub mod tokens;
pub mod users;

pub use authz::{require_org, Actor, Memberships, OrgCtx, Principal};
pub use error::{ServiceError, ServiceResult};

/// New primary keys are UUIDv7: time-ordered, so indexes stay compact.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}
