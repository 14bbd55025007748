use sea_orm::entity::prelude::*;

/// A prospect in a campaign (one row each): where its turn stands, the
/// attempts used, when it is next due and what the last dial came to (m0021).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "campaign_prospects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub org_id: Uuid,
    pub prospect_id: Uuid,
    /// `queued`, `dialing`, `done`, `skipped`.
    pub state: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTimeUtc>,
    /// `domain::campaign::AttemptResult`'s wire name.
    pub last_result: Option<String>,
    pub last_call_id: Option<Uuid>,
    /// Why it will not be dialled (on the do-not-call list, opted out, no
    /// time zone, in another active campaign…).
    pub skip_reason: Option<String>,
    /// Per-prospect variables for the agent (a CSV's extra columns).
    pub variables: Json,
    pub added_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
