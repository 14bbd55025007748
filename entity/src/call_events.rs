use sea_orm::entity::prelude::*;

/// One entry of a call's timeline: every event that reached the call, with
/// the state before and after (equal, with the reason, when it changed
/// nothing).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "call_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub call_id: Uuid,
    pub org_id: Uuid,
    /// `webhook`, `request`, `user` or `worker`.
    pub source: String,
    pub kind: String,
    /// LiveKit's webhook event id (unique): a redelivery is found by it.
    pub event_id: Option<String>,
    pub from_status: String,
    pub to_status: String,
    /// `domain::call::Ignored`, by name, when the state stayed as it was.
    pub ignored: Option<String>,
    pub data: Json,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
