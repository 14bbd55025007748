//! sea-orm entities, one module per table. Kept by hand to match `migrations`.

pub mod agent_folders;
pub mod agents;
pub mod audit_log;
pub mod compliance_settings;
pub mod consent_records;
pub mod custom_field_defs;
pub mod dnc_numbers;
pub mod invitations;
pub mod memberships;
pub mod oauth_accounts;
pub mod organizations;
pub mod password_credentials;
pub mod playground_conversations;
pub mod prospect_activities;
pub mod prospect_imports;
pub mod prospect_notes;
pub mod prospects;
pub mod provider_credentials;
pub mod saved_views;
pub mod users;
