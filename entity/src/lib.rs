//! sea-orm entities, one module per table. Kept by hand to match `migrations`.

pub mod agent_folders;
pub mod agents;
pub mod audit_log;
pub mod invitations;
pub mod memberships;
pub mod oauth_accounts;
pub mod organizations;
pub mod password_credentials;
pub mod playground_conversations;
pub mod provider_credentials;
pub mod users;
