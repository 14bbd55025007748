use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "knowledge_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// `domain::copilot::knowledge::KnowledgeKind` wire name.
    pub kind: String,
    pub title: String,
    pub body: String,
    /// `|a|b|`, like prospect tags.
    pub tags: String,
    /// Kind-specific fields by name.
    pub fields: Json,
    /// `domain::copilot::knowledge::KnowledgeStatus` wire name.
    pub status: String,
    /// Starts at 1, bumped by every content edit. Approve and reject name the
    /// version the reviewer read and only apply while it is still current.
    pub version: i64,
    pub author_id: Option<Uuid>,
    pub reviewer_id: Option<Uuid>,
    pub review_comment: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    /// Folded title, body, tags and fields: what search matches.
    pub search_text: String,
    pub shown_count: i64,
    pub copied_count: i64,
    pub helpful_count: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
