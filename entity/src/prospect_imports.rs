use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "prospect_imports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub created_by: Option<Uuid>,
    pub file_name: String,
    /// Unused since files are stored in `prospect_import_chunks` (kept so
    /// the schema stays additive).
    pub data: Option<Vec<u8>>,
    pub encoding: String,
    pub delimiter: String,
    pub total_rows: i64,
    /// `domain::prospect_import::JobState` wire name.
    pub state: String,
    pub options: Option<Json>,
    pub processed_rows: i64,
    pub created: i64,
    pub updated: i64,
    pub skipped: i64,
    pub error: Option<String>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    /// Size of the uploaded file; 0 once it is dropped (or while uploading).
    pub file_bytes: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
