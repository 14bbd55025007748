//! The feed of a campaign page: the campaign as it now is, each time it or
//! one of the organisation's calls changes (its calls move its counts),
//! read again at most every [`SETTLE`] — a busy campaign's page gets a
//! steady picture, not one read per event.

use std::time::Duration;

use domain::campaign::views::{Campaign, CampaignUpdate};
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::CAMPAIGNS_TOPIC;
use crate::calls::lifecycle::CALLS_TOPIC;
use crate::events::EventBus;
use crate::{OrgCtx, ServiceResult};

/// Reads coalesce changes over this long.
pub const SETTLE: Duration = Duration::from_millis(300);

/// The campaign now, then again after each change.
pub async fn watch(
    db: &DatabaseConnection,
    bus: &EventBus,
    ctx: &OrgCtx,
    id: Uuid,
) -> ServiceResult<impl Stream<Item = CampaignUpdate> + Send + 'static> {
    // Subscribed before the first read: nothing between is missed.
    let campaigns = bus.subscribe(ctx.org_id(), CAMPAIGNS_TOPIC).filter(move |ev| {
        let ours = ev.payload.get("campaign_id").and_then(|v| v.as_str()) == Some(id.to_string().as_str());
        futures::future::ready(ours)
    });
    let calls = bus.subscribe(ctx.org_id(), CALLS_TOPIC).filter(move |ev| {
        let ours =
            ev.payload.pointer("/call/campaign_id").and_then(|v| v.as_str()) == Some(id.to_string().as_str());
        futures::future::ready(ours)
    });
    let first = super::get(db, ctx, id).await?;
    let (db, ctx) = (db.clone(), *ctx);
    let changes = futures::stream::select(campaigns.map(|_| ()), calls.map(|_| ()));
    let reads =
        futures::stream::unfold((Box::pin(changes), db, ctx), move |(mut changes, db, ctx)| async move {
            changes.next().await?;
            // Let a burst of changes land, then read once.
            let deadline = tokio::time::sleep(SETTLE);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    _ = &mut deadline => break,
                    more = changes.next() => if more.is_none() { break },
                }
            }
            let read: Option<Campaign> = super::get(&db, &ctx, id).await.ok();
            Some((read, (changes, db, ctx)))
        })
        .filter_map(|c| futures::future::ready(c.map(|campaign| CampaignUpdate { campaign })));
    Ok(futures::stream::once(async move { CampaignUpdate { campaign: first } }).chain(reads))
}
