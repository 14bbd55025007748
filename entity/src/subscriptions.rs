use sea_orm::entity::prelude::*;

/// One Polar subscription of an organisation, as last heard (m0025).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "subscriptions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub org_id: Uuid,
    /// Polar's subscription id.
    pub polar_id: String,
    /// `domain::billing::SubscriptionStatus` wire name.
    pub status: String,
    /// Polar's product id.
    pub plan_id: String,
    pub plan_name: String,
    pub amount_minor: i64,
    pub currency: String,
    pub interval: String,
    pub current_period_start: Option<DateTimeUtc>,
    pub current_period_end: Option<DateTimeUtc>,
    pub cancel_at_period_end: bool,
    /// Polar's `modified_at`: an update older than this is ignored.
    pub polar_modified_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
