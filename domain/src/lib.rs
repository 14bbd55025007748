//! Pure business rules shared by the server and the browser (wasm).
//!
//! Nothing in here performs IO, so every rule can be unit-tested exhaustively and
//! reused verbatim by the hydrated UI for instant, identical validation.

pub mod agent;
pub mod agent_report;
pub mod analysis;
pub mod analytics;
pub mod audio;
pub mod billing;
pub mod call;
pub mod call_views;
pub mod campaign;
pub mod catalogue;
pub mod compliance;
pub mod copilot;
pub mod data_schema;
pub mod error;
pub mod locale;
pub mod permissions;
#[cfg(feature = "phone")]
pub mod phone;
pub mod playground;
pub mod prospect;
pub mod prospect_import;
pub mod telephony;
pub mod template;
pub mod tools;
pub mod validation;
pub mod views;

pub use error::ErrorCode;
pub use locale::Locale;
pub use permissions::{Permission, PermissionSet, Role};
