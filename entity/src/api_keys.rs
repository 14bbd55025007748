use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    /// The key's first characters, shown so people can tell keys apart;
    /// unique, and how a presented key is looked up.
    pub prefix: String,
    /// SHA-256 (hex) of the whole key; the key itself is never stored.
    pub secret_hash: String,
    /// The role whose permissions the grant was chosen from (a ceiling).
    pub role: String,
    /// Granted permissions, by their stable names.
    pub permissions: Json,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub request_count: i64,
    pub revoked_at: Option<DateTimeUtc>,
    pub revoked_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
