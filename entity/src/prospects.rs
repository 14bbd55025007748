use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prospects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub title: String,
    /// E.164.
    pub phone: Option<String>,
    /// Lowercased.
    pub email: Option<String>,
    /// IANA zone, or empty when unknown.
    pub timezone: String,
    /// `domain::prospect::ProspectStatus` wire name.
    pub status: String,
    pub owner_id: Option<Uuid>,
    /// `|a|b|`, see `domain::prospect::encode_tags`.
    pub tags: String,
    /// Custom field values by key.
    pub custom: Json,
    pub do_not_call: bool,
    pub opted_out: bool,
    pub search_text: String,
    pub import_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    pub delete_batch: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
