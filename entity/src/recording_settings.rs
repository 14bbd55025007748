use sea_orm::entity::prelude::*;

/// Whether an organisation's calls are recorded by default, and the
/// S3-compatible bucket recordings go to (m0018).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "recording_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub org_id: Uuid,
    pub record_calls: bool,
    /// `https://s3.eu-west-3.amazonaws.com`, `https://minio.example.com`.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`), as most S3-compatible servers want.
    pub path_style: bool,
    pub access_key: Option<String>,
    /// Sealed with the server's secret key, bound to the organisation.
    pub secret_ciphertext: Option<String>,
    pub secret_hint: Option<String>,
    pub last_tested_at: Option<DateTimeUtc>,
    pub last_test_ok: Option<bool>,
    pub last_test_latency_ms: Option<i32>,
    pub last_test_error: Option<String>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
