//! Forward-only migrations. They run at start-up and in every test, on SQLite
//! and PostgreSQL alike, so they use sea-query's portable schema builder only.

pub use sea_orm_migration::prelude::*;

mod cols;
mod m0001_accounts;
mod m0002_agents;
mod m0003_prospects;
mod m0004_prospect_search;
mod m0005_copilot;
mod m0006_invitation_delivery;
mod m0007_knowledge_version;
mod m0008_email_verifications;
mod m0009_api_keys;
mod m0010_event_payloads;
mod m0011_jobs;
mod m0012_import_chunks;
pub mod m0013_prospect_sorts;
mod m0014_import_chunk_lz4;
mod m0015_status_index;
mod m0016_calls;
mod m0017_call_outcomes;
mod m0018_recordings;
mod m0019_call_turns;
mod m0020_agent_reports;
mod m0021_campaigns;
mod m0022_call_analyses;
mod m0023_analytics_rollups;
mod m0024_call_scripts;
mod m0025_billing;
mod m0026_rep_calls;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_accounts::Migration),
            Box::new(m0002_agents::Migration),
            Box::new(m0003_prospects::Migration),
            Box::new(m0004_prospect_search::Migration),
            Box::new(m0005_copilot::Migration),
            Box::new(m0006_invitation_delivery::Migration),
            Box::new(m0007_knowledge_version::Migration),
            Box::new(m0008_email_verifications::Migration),
            Box::new(m0009_api_keys::Migration),
            Box::new(m0010_event_payloads::Migration),
            Box::new(m0011_jobs::Migration),
            Box::new(m0012_import_chunks::Migration),
            Box::new(m0013_prospect_sorts::Migration),
            Box::new(m0014_import_chunk_lz4::Migration),
            Box::new(m0015_status_index::Migration),
            Box::new(m0016_calls::Migration),
            Box::new(m0017_call_outcomes::Migration),
            Box::new(m0018_recordings::Migration),
            Box::new(m0019_call_turns::Migration),
            Box::new(m0020_agent_reports::Migration),
            Box::new(m0021_campaigns::Migration),
            Box::new(m0022_call_analyses::Migration),
            Box::new(m0023_analytics_rollups::Migration),
            Box::new(m0024_call_scripts::Migration),
            Box::new(m0025_billing::Migration),
            Box::new(m0026_rep_calls::Migration),
        ]
    }
}
