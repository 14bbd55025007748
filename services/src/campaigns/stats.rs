//! A campaign's figures, counted in the database: where its prospects
//! stand and what its calls came to. Cheap enough to read again on every
//! change a live page hears of (grouped counts over two indexed columns).

use domain::call::CallStatus;
use domain::campaign::views::CampaignCounts;
use entity::{calls, campaign_prospects as members_t};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::ServiceResult;

pub(crate) async fn counts<C: ConnectionTrait>(db: &C, campaign_id: Uuid) -> ServiceResult<CampaignCounts> {
    let mut c = CampaignCounts::default();
    let states: Vec<(String, Option<String>, i64)> = members_t::Entity::find()
        .select_only()
        .column(members_t::Column::State)
        .column(members_t::Column::LastResult)
        .column_as(Expr::col(members_t::Column::Id).count(), "n")
        .filter(members_t::Column::CampaignId.eq(campaign_id))
        .group_by(members_t::Column::State)
        .group_by(members_t::Column::LastResult)
        .into_tuple()
        .all(db)
        .await?;
    for (state, result, n) in states {
        let n = n.max(0) as u64;
        c.total += n;
        match state.as_str() {
            "queued" => c.queued += n,
            "dialing" => {}
            "done" => {
                c.done += n;
                *c.done_by_result.entry(result.unwrap_or_else(|| "unknown".into())).or_default() += n;
            }
            _ => c.skipped += n,
        }
    }
    let calls_by: Vec<(String, Option<String>, bool, i64)> = calls::Entity::find()
        .select_only()
        .column(calls::Column::Status)
        .column(calls::Column::Outcome)
        .column_as(Expr::col(calls::Column::AnsweredAt).is_not_null(), "picked")
        .column_as(Expr::col(calls::Column::Id).count(), "n")
        .filter(calls::Column::CampaignId.eq(campaign_id))
        .group_by(calls::Column::Status)
        .group_by(calls::Column::Outcome)
        .group_by(Expr::col(calls::Column::AnsweredAt).is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    for (status, outcome, picked, n) in calls_by {
        let n = n.max(0) as u64;
        c.attempts += n;
        let status = CallStatus::parse(&status).unwrap_or(CallStatus::Failed);
        match status {
            CallStatus::Initiated | CallStatus::Ringing => c.dialing += n,
            CallStatus::Answered | CallStatus::InProgress => c.in_call += n,
            _ => {
                c.ended += n;
                // A machine that picked up is not a person who did.
                if picked && status.was_answered() && outcome.as_deref() != Some("voicemail") {
                    c.answered += n;
                }
            }
        }
        if outcome.as_deref() == Some("meeting_booked") {
            c.meetings_booked += n;
        }
    }
    c.answer_rate = (c.ended > 0).then(|| c.answered as f64 / c.ended as f64);
    Ok(c)
}
