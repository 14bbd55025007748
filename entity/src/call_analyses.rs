//! `call_analyses`: the post-call analysis of one call or copilot session
//! (see the m0022 migration).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "call_analyses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    pub call_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    /// `domain::analysis::AnalysisState` wire name.
    pub state: String,
    /// `domain::analysis::CallAnalysis`.
    pub result: Option<Json>,
    pub model: Option<String>,
    pub attempts: i32,
    pub error: Option<String>,
    pub sentiment: Option<String>,
    pub sentiment_score: Option<f64>,
    pub score_opening: Option<i16>,
    pub score_discovery: Option<i16>,
    pub score_presentation: Option<i16>,
    pub score_objection_handling: Option<i16>,
    pub score_closing: Option<i16>,
    pub edited_by: Option<Uuid>,
    pub edited_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
