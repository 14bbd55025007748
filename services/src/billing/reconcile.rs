//! The nightly reconciliation: every organisation Polar knows as a
//! customer (or that has a subscription stored) has its subscriptions read
//! again from the API and stored through the same ordering rule as the
//! webhooks — a webhook lost on the way is made up for within a day, and
//! one that was not lost changes nothing.

use chrono::{DateTime, Duration, Utc};
use entity::{billing_accounts, subscriptions};
use sea_orm::{DatabaseConnection, EntityTrait, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use super::BillingEnv;
use crate::jobs::{self, JobFailure, NewJob, RunningJob};
use crate::ServiceResult;

pub const RECONCILE_JOB: &str = "billing.reconcile";

/// The next run: 03:00 UTC after `now`.
pub fn next_run(now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.date_naive().and_hms_opt(3, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    if today > now {
        today
    } else {
        today + Duration::days(1)
    }
}

/// Queues the next nightly run (once per night, whoever asks).
pub async fn schedule(db: &DatabaseConnection, env: &BillingEnv) -> ServiceResult<()> {
    if env.polar.is_none() {
        return Ok(());
    }
    let at = next_run(env.clock.now());
    let mut job = NewJob::new(RECONCILE_JOB, None, json!({}));
    job.run_at = Some(at);
    job.dedupe_key = Some(format!("{RECONCILE_JOB}:{}", at.date_naive()));
    jobs::enqueue(db, &env.clock, job).await?;
    Ok(())
}

/// Reads every known organisation's subscriptions from Polar and stores
/// them; `(organisations, stored)`.
pub async fn run(db: &DatabaseConnection, env: &BillingEnv) -> ServiceResult<(usize, usize)> {
    let Some(polar) = &env.polar else { return Ok((0, 0)) };
    let mut orgs: Vec<Uuid> = billing_accounts::Entity::find()
        .select_only()
        .column(billing_accounts::Column::OrgId)
        .into_tuple()
        .all(db)
        .await?;
    let subscribed: Vec<Uuid> = subscriptions::Entity::find()
        .select_only()
        .column(subscriptions::Column::OrgId)
        .into_tuple()
        .all(db)
        .await?;
    orgs.extend(subscribed);
    orgs.sort();
    orgs.dedup();
    let mut stored = 0;
    for org in &orgs {
        let subs = polar.subscriptions(&org.to_string()).await?;
        for s in subs {
            let txn = crate::db::begin_write(db).await?;
            let out = super::webhook::store(&txn, &s, false, env.clock.now(), "reconciliation").await?;
            txn.commit().await?;
            if matches!(out, super::webhook::Received::Applied(_)) {
                stored += 1;
            }
        }
    }
    Ok((orgs.len(), stored))
}

pub struct ReconcileHandler {
    pub env: BillingEnv,
}

#[async_trait::async_trait]
impl jobs::Handler for ReconcileHandler {
    async fn run(&self, job: &RunningJob) -> Result<(), JobFailure> {
        let (orgs, stored) = run(job.db(), &self.env).await?;
        tracing::info!(orgs, stored, "billing reconciled with Polar");
        // The next night's run, whatever this one found.
        schedule(job.db(), &self.env).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_runs_at_three_each_night() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        assert_eq!(next_run(t("2026-12-07T02:59:00Z")), t("2026-12-07T03:00:00Z"));
        assert_eq!(next_run(t("2026-12-07T03:00:00Z")), t("2026-12-08T03:00:00Z"));
        assert_eq!(next_run(t("2026-12-07T23:00:00Z")), t("2026-12-08T03:00:00Z"));
    }
}
