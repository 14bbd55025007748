//! The campaign dialer through the HTTP boundary, against the LiveKit mock:
//! lines held to the concurrency and refilled as calls end, retries by
//! result on a clock the test moves, calling windows across a clock change
//! and a weekend in each prospect's zone, the breaker pausing a campaign
//! whose dials keep failing, what adding prospects reports, and the
//! lifecycle's refusals — on SQLite and PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::calls;
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};
use services::clock::ManualClock;
use uuid::Uuid;

use crate::calls::{calling_at, Calling};
use crate::common::{self, Backend, GOOD_PASSWORD};

/// A runner that looks for due jobs often, with room for several dials.
const FAST_RUNNER: &[(&str, &str)] = &[("HANDOO_JOB_POLL_MS", "20"), ("HANDOO_JOB_CONCURRENCY", "8")];

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Every hour of every day, in UTC.
fn always() -> Value {
    let day = json!([{"start_minute": 0, "end_minute": 1440}]);
    json!({"mon": day, "tue": day, "wed": day, "thu": day, "fri": day, "sat": day, "sun": day})
}

struct Dialer {
    c: Calling,
    clock: Option<ManualClock>,
}

impl Dialer {
    async fn start(backend: Backend, at: Option<DateTime<Utc>>) -> Option<Dialer> {
        let clock = at.map(ManualClock::at);
        let shared = clock.clone().map(|c| Arc::new(c) as services::clock::SharedClock);
        let c = calling_at(backend, FAST_RUNNER, shared).await?;
        Some(Dialer { c, clock })
    }

    fn org(&self) -> &str {
        &self.c.org
    }

    async fn prospect(&self, first: &str, phone: &str) -> String {
        self.c.prospect(json!({"first_name": first, "last_name": "Test", "phone": phone})).await
    }

    async fn campaign(&self, extra: Value) -> String {
        let mut body = json!({
            "name": "Spring push", "agent_id": self.c.agent, "concurrency": 2,
            "windows": always(), "zone": {"kind": "fixed", "zone": "UTC"},
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (s, c) =
            self.c.owner.rest(Method::POST, &format!("/orgs/{}/campaigns", self.org()), Some(body)).await;
        assert_eq!(s, 201, "{c}");
        assert_eq!(c["status"], "draft");
        c["id"].as_str().unwrap().to_string()
    }

    async fn add(&self, campaign: &str, ids: &[&str]) -> Value {
        let (s, r) = self
            .c
            .owner
            .rest(
                Method::POST,
                &format!("/orgs/{}/campaigns/{campaign}/prospects", self.org()),
                Some(json!({"source": {"kind": "ids", "ids": ids}})),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        r
    }

    async fn act(&self, campaign: &str, action: &str) -> (u16, Value) {
        self.c
            .owner
            .rest(Method::POST, &format!("/orgs/{}/campaigns/{campaign}/{action}", self.org()), None)
            .await
    }

    async fn get(&self, campaign: &str) -> Value {
        let (s, c) =
            self.c.owner.rest(Method::GET, &format!("/orgs/{}/campaigns/{campaign}", self.org()), None).await;
        assert_eq!(s, 200, "{c}");
        c
    }

    async fn members(&self, campaign: &str) -> Vec<Value> {
        let (s, p) = self
            .c
            .owner
            .rest(
                Method::GET,
                &format!("/orgs/{}/campaigns/{campaign}/prospects?per_page=200", self.org()),
                None,
            )
            .await;
        assert_eq!(s, 200, "{p}");
        p["items"].as_array().unwrap().clone()
    }

    async fn member(&self, campaign: &str, prospect: &str) -> Value {
        self.members(campaign).await.into_iter().find(|m| m["prospect_id"] == prospect).expect("a member")
    }

    /// The campaign's calls (its attempts), oldest first.
    async fn calls(&self, campaign: &str) -> Vec<calls::Model> {
        calls::Entity::find()
            .filter(calls::Column::CampaignId.eq(Uuid::parse_str(campaign).unwrap()))
            .order_by_asc(calls::Column::CreatedAt)
            .all(&self.c.app.state.db)
            .await
            .unwrap()
    }

    /// Waits (real time) until `check` holds of the campaign.
    async fn until(
        &self,
        campaign: &str,
        what: &str,
        check: impl Fn(&Value, &[calls::Model]) -> bool,
    ) -> Value {
        for _ in 0..400 {
            let c = self.get(campaign).await;
            if check(&c, &self.calls(campaign).await) {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let c = self.get(campaign).await;
        panic!("campaign never got to: {what}\n{c:#}\nmembers: {:#}", json!(self.members(campaign).await));
    }

    async fn hang_up(&self, call: Uuid) {
        let (s, v) = self
            .c
            .owner
            .rest(Method::POST, &format!("/orgs/{}/calls/{call}/hang-up", self.org()), None)
            .await;
        assert_eq!(s, 200, "{v}");
    }

    fn set_clock(&self, t: DateTime<Utc>) {
        self.clock.as_ref().expect("a test clock").set(t);
    }
}

fn live(calls: &[calls::Model]) -> usize {
    calls
        .iter()
        .filter(|c| ["initiated", "ringing", "answered", "in_progress"].contains(&c.status.as_str()))
        .count()
}

on_both_backends!(
    lines_are_held_to_the_concurrency_and_refilled_as_calls_end,
    |backend: Backend| async move {
        let Some(d) = Dialer::start(backend, None).await else { return };
        let mut people = Vec::new();
        for i in 0..5 {
            // Numbers the mock answers (one ending 486, 480, 404 or 603 would not be).
            people.push(d.prospect(&format!("P{i}"), &format!("+3361234571{i}")).await);
        }
        let campaign = d.campaign(json!({"concurrency": 2})).await;
        let ids: Vec<&str> = people.iter().map(String::as_str).collect();
        assert_eq!(d.add(&campaign, &ids).await["added"], 5);
        let (s, c) = d.act(&campaign, "start").await;
        assert_eq!((s, c["status"].as_str()), (200, Some("active")), "{c}");

        // Two answered calls hold both lines; nobody else is dialled.
        d.until(&campaign, "two calls answered", |_, calls| {
            calls.iter().filter(|c| c.status == "in_progress" || c.status == "answered").count() == 2
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let calls = d.calls(&campaign).await;
        assert_eq!(calls.len(), 2, "a third dial went out while both lines were busy");
        let c = d.get(&campaign).await;
        assert_eq!(
            (c["counts"]["queued"].as_u64(), c["counts"]["in_call"].as_u64()),
            (Some(3), Some(2)),
            "{c}"
        );
        // The calls carry their campaign and the prospect.
        assert!(calls.iter().all(|c| c.prospect_id.is_some() && c.campaign_id.is_some()));

        // One ends: its line goes to the next prospect.
        d.hang_up(calls[0].id).await;
        d.until(&campaign, "a third call", |_, calls| calls.len() == 3 && live(calls) == 2).await;
        // Everyone answers and hangs up in turn: the campaign completes by itself.
        for _ in 0..10 {
            let calls = d.calls(&campaign).await;
            for call in calls.iter().filter(|c| c.status == "in_progress" || c.status == "answered") {
                d.hang_up(call.id).await;
            }
            if calls.len() == 5 && live(&calls) == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let c = d.until(&campaign, "completed", |c, _| c["status"] == "completed").await;
        let counts = &c["counts"];
        assert_eq!(
            (counts["done"].as_u64(), counts["attempts"].as_u64(), counts["answered"].as_u64()),
            (Some(5), Some(5), Some(5)),
            "{c}"
        );
        assert_eq!(counts["done_by_result"]["answered"], 5);
        assert_eq!(counts["answer_rate"], 1.0);
        // Each prospect was called exactly once.
        let mut called: Vec<Uuid> = d.calls(&campaign).await.iter().filter_map(|c| c.prospect_id).collect();
        called.sort();
        called.dedup();
        assert_eq!(called.len(), 5);
    }
);

on_both_backends!(retries_follow_each_result_as_the_clock_moves, |backend: Backend| async move {
    let t0 = utc("2026-12-07T10:00:00Z");
    let Some(d) = Dialer::start(backend, Some(t0)).await else { return };
    let busy = d.prospect("Busy", "+33612345486").await;
    let away = d.prospect("Away", "+33612345480").await;
    let gone = d.prospect("Gone", "+33612345404").await;
    let retry = json!({
        "no_answer": {"max_attempts": 2, "delay_minutes": 60},
        "busy": {"max_attempts": 2, "delay_minutes": 30},
        "voicemail": {"max_attempts": 1, "delay_minutes": 60},
        "failed": {"max_attempts": 1, "delay_minutes": 60},
    });
    let campaign = d.campaign(json!({"concurrency": 3, "retry": retry})).await;
    d.add(&campaign, &[&busy, &away, &gone]).await;
    d.act(&campaign, "start").await;

    // The three first attempts end at once: the busy line comes back in
    // 30 minutes, the unanswered one in an hour, the failed one never.
    let c = d
        .until(&campaign, "three attempts settled", |c, calls| {
            calls.len() == 3
                && live(calls) == 0
                && c["counts"]["queued"] == 2
                && c["wakes_at"].as_str().map(utc) == Some(utc("2026-12-07T10:30:00Z"))
        })
        .await;
    assert_eq!(c["counts"]["dialing"], 0, "{c}");
    let m = d.member(&campaign, &busy).await;
    assert_eq!((m["state"].as_str(), m["last_result"].as_str()), (Some("queued"), Some("busy")));
    assert_eq!(m["next_attempt_at"].as_str().map(utc), Some(utc("2026-12-07T10:30:00Z")));
    let m = d.member(&campaign, &away).await;
    assert_eq!((m["last_result"].as_str(), m["attempts"].as_i64()), (Some("no_answer"), Some(1)));
    assert_eq!(m["next_attempt_at"].as_str().map(utc), Some(utc("2026-12-07T11:00:00Z")));
    let m = d.member(&campaign, &gone).await;
    assert_eq!((m["state"].as_str(), m["last_result"].as_str()), (Some("done"), Some("failed")));

    // Nothing is due before its time, however long the dialer waits.
    d.set_clock(utc("2026-12-07T10:29:00Z"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(d.calls(&campaign).await.len(), 3);

    d.set_clock(utc("2026-12-07T10:30:00Z"));
    d.until(&campaign, "the busy line tried again", |_, calls| calls.len() == 4 && live(calls) == 0).await;
    let m = d.member(&campaign, &busy).await;
    assert_eq!((m["state"].as_str(), m["attempts"].as_i64()), (Some("done"), Some(2)), "{m}");

    d.set_clock(utc("2026-12-07T11:00:00Z"));
    let c = d.until(&campaign, "completed", |c, _| c["status"] == "completed").await;
    assert_eq!(d.calls(&campaign).await.len(), 5);
    assert_eq!(c["counts"]["done_by_result"], json!({"busy": 1, "failed": 1, "no_answer": 1}));
    assert_eq!(c["counts"]["answer_rate"], 0.0);
});

on_both_backends!(
    calling_hours_hold_across_a_weekend_and_a_clock_change_in_each_zone,
    |backend: Backend| async move {
        // Friday 27 March 2026, 17:30 UTC: 18:30 in Paris (closed until Monday,
        // which is on summer time), 13:30 in New York (lunch, open at 14:00).
        let Some(d) = Dialer::start(backend, Some(utc("2026-03-27T17:30:00Z"))).await else { return };
        let paris = d.prospect("Paris", "+33612345601").await;
        let new_york = d.prospect("NewYork", "+12125550123").await;
        let campaign = d
        .campaign(json!({
            "zone": {"kind": "prospect"},
            "windows": {
                "mon": [{"start_minute": 540, "end_minute": 720}, {"start_minute": 840, "end_minute": 1080}],
                "tue": [{"start_minute": 540, "end_minute": 1080}],
                "wed": [{"start_minute": 540, "end_minute": 1080}],
                "thu": [{"start_minute": 540, "end_minute": 1080}],
                "fri": [{"start_minute": 540, "end_minute": 720}, {"start_minute": 840, "end_minute": 1080}],
            }
        }))
        .await;
        d.add(&campaign, &[&paris, &new_york]).await;
        d.act(&campaign, "start").await;
        let c = d
            .until(&campaign, "asleep until New York's afternoon", |c, _| {
                c["wakes_at"].as_str().map(utc) == Some(utc("2026-03-27T18:00:00Z"))
            })
            .await;
        assert_eq!(c["status"], "active");
        assert!(d.calls(&campaign).await.is_empty(), "dialled outside the calling hours");
        let m = d.member(&campaign, &paris).await;
        assert_eq!(m["next_attempt_at"].as_str().map(utc), Some(utc("2026-03-30T07:00:00Z")), "{m}");

        d.set_clock(utc("2026-03-27T18:00:00Z"));
        // Answered before it is hung up (a call cut while ringing would be a
        // no-answer, retried later that evening).
        let c = d
            .until(&campaign, "New York answered", |_, calls| {
                calls.len() == 1 && ["answered", "in_progress"].contains(&calls[0].status.as_str())
            })
            .await;
        let calls = d.calls(&campaign).await;
        assert_eq!(calls[0].to_number, "+12125550123", "{c}");
        d.hang_up(calls[0].id).await;
        // Then it sleeps through the weekend and the clock change: 09:00 in
        // Paris on Monday is 07:00 UTC (08:00 before the change).
        d.until(&campaign, "asleep until Monday", |c, _| {
            c["wakes_at"].as_str().map(utc) == Some(utc("2026-03-30T07:00:00Z"))
        })
        .await;
        d.set_clock(utc("2026-03-30T06:59:00Z"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(d.calls(&campaign).await.len(), 1, "dialled before Monday's opening");
        d.set_clock(utc("2026-03-30T07:00:00Z"));
        d.until(&campaign, "Paris called", |_, calls| calls.len() == 2).await;
        assert_eq!(d.calls(&campaign).await[1].to_number, "+33612345601");
    }
);

on_both_backends!(the_breaker_pauses_a_campaign_whose_dials_keep_failing, |backend: Backend| async move {
    let Some(d) = Dialer::start(backend, None).await else { return };
    let mut people = Vec::new();
    for i in 0..6 {
        // Numbers the mock answers with 404.
        people.push(d.prospect(&format!("F{i}"), &format!("+3361234{i}404")).await);
    }
    let campaign = d.campaign(json!({"concurrency": 6})).await;
    let ids: Vec<&str> = people.iter().map(String::as_str).collect();
    d.add(&campaign, &ids).await;
    d.act(&campaign, "start").await;
    let c = d.until(&campaign, "paused by the breaker", |c, _| c["status"] == "paused").await;
    assert_eq!(c["paused_by"]["kind"], "breaker", "{c}");
    let tripped = &c["paused_by"]["tripped"];
    assert!(tripped["failed"].as_u64().unwrap() * 2 > tripped["dials"].as_u64().unwrap(), "{c}");
    assert!(tripped["dials"].as_u64().unwrap() >= 5);
    // The manager is told in the audit log.
    let log = d.c.owner.call("audit_log", &[("org_id", d.org())]).await.unwrap();
    assert!(log.as_array().unwrap().iter().any(|e| e["action"] == "campaign.paused_by_dialer"), "{log}");
    // Resumed by hand: active again, the reason gone.
    let (s, c) = d.act(&campaign, "resume").await;
    assert_eq!((s, c["status"].as_str()), (200, Some("active")), "{c}");
    assert_eq!(c["paused_by"], Value::Null);
});

on_both_backends!(adding_prospects_reports_each_one_left_out, |backend: Backend| async move {
    let Some(d) = Dialer::start(backend, None).await else { return };
    let ok = d.prospect("Fine", "+33612345611").await;
    let listed = d.prospect("Listed", "+33612345612").await;
    let flagged = d.prospect("Flagged", "+33612345613").await;
    let no_phone = d.c.prospect(json!({"first_name": "Nophone", "email": "np@example.com"})).await;
    let busy_elsewhere = d.prospect("Elsewhere", "+33612345614").await;
    let (s, _) =
        d.c.owner
            .rest(
                Method::POST,
                &format!("/orgs/{}/dnc", d.org()),
                Some(json!({"phone": "+33612345612", "reason": "asked"})),
            )
            .await;
    assert_eq!(s, 201);
    let (s, v) =
        d.c.owner
            .rest(
                Method::PATCH,
                &format!("/orgs/{}/prospects/{flagged}", d.org()),
                Some(json!({"do_not_call": true})),
            )
            .await;
    assert!(s == 200, "{v}");
    let other = d.campaign(json!({"name": "Other"})).await;
    assert_eq!(d.add(&other, &[&busy_elsewhere]).await["added"], 1);

    let campaign = d.campaign(json!({})).await;
    let r = d.add(&campaign, &[&ok, &listed, &flagged, &no_phone, &busy_elsewhere]).await;
    assert_eq!(r["added"], 1, "{r}");
    assert_eq!(
        r["skipped_by_reason"],
        json!({"on_dnc_list": 1, "flagged_do_not_call": 1, "no_phone": 1, "in_other_campaign": 1}),
        "{r}"
    );
    let elsewhere =
        r["skipped"].as_array().unwrap().iter().find(|s| s["prospect_id"] == busy_elsewhere).unwrap();
    assert_eq!(
        (elsewhere["reason"].as_str(), elsewhere["campaign_name"].as_str()),
        (Some("in_other_campaign"), Some("Other"))
    );
    // Twice: the one added is reported as already there, nothing doubles.
    let r = d.add(&campaign, &[&ok]).await;
    assert_eq!(
        (r["added"].as_u64(), r["skipped_by_reason"]["already_in_campaign"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(d.get(&campaign).await["counts"]["total"], 1);
    // A saved view and a filter are sources too.
    let (s, view) =
        d.c.owner
            .rest(
                Method::POST,
                &format!("/orgs/{}/saved-views", d.org()),
                Some(json!({"name": "Fine ones", "query": {"filter": {"search": "Fine"}}, "columns": []})),
            )
            .await;
    assert!(s == 200 || s == 201, "{view}");
    let third = d.campaign(json!({"name": "From a view"})).await;
    let (s, r) =
        d.c.owner
            .rest(
                Method::POST,
                &format!("/orgs/{}/campaigns/{third}/prospects", d.org()),
                Some(json!({"source": {"kind": "view", "view_id": view["id"]}})),
            )
            .await;
    // "Fine" waits in the draft campaign: reported, not added.
    assert_eq!((s, r["skipped_by_reason"]["in_other_campaign"].as_u64()), (200, Some(1)), "{r}");
});

on_both_backends!(
    the_lifecycle_refuses_what_it_does_not_allow_and_tenants_stay_apart,
    |backend: Backend| async move {
        let Some(d) = Dialer::start(backend, None).await else { return };
        let campaign = d.campaign(json!({})).await;
        // Nothing to call: starting says so.
        let (s, e) = d.act(&campaign, "start").await;
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str()),
            (422, Some("required_value"), Some("prospects")),
            "{e}"
        );
        for action in ["pause", "resume", "complete"] {
            let (s, e) = d.act(&campaign, action).await;
            assert_eq!((s, e["code"].as_str()), (409, Some("invalid_transition")), "{action}: {e}");
        }
        // Bad settings are named field by field.
        let (s, e) =
            d.c.owner
                .rest(
                    Method::POST,
                    &format!("/orgs/{}/campaigns", d.org()),
                    Some(json!({"name": "X", "agent_id": d.c.agent, "concurrency": 0})),
                )
                .await;
        assert_eq!((s, e["field"].as_str()), (422, Some("concurrency")), "{e}");
        let (s, e) = d
        .c
        .owner
        .rest(
            Method::POST,
            &format!("/orgs/{}/campaigns", d.org()),
            Some(json!({"name": "X", "agent_id": d.c.agent, "concurrency": 1, "zone": {"kind": "fixed", "zone": "Mars/Base"}})),
        )
        .await;
        assert_eq!((s, e["field"].as_str()), (422, Some("zone.zone")), "{e}");
        // Edits go at the version read.
        let c = d.get(&campaign).await;
        let mut edit = c.clone();
        edit["name"] = json!("Renamed");
        let (s, e) =
            d.c.owner
                .rest(Method::PUT, &format!("/orgs/{}/campaigns/{campaign}", d.org()), Some(edit.clone()))
                .await;
        assert_eq!((s, e["name"].as_str(), e["version"].as_i64()), (200, Some("Renamed"), Some(2)), "{e}");
        let (s, e) =
            d.c.owner.rest(Method::PUT, &format!("/orgs/{}/campaigns/{campaign}", d.org()), Some(edit)).await;
        assert_eq!((s, e["code"].as_str()), (409, Some("stale_version")), "{e}");

        // Another organisation sees none of it and cannot add its prospects.
        let other = d.c.app.client().await;
        other.sign_up("Eve", "eve@example.com", GOOD_PASSWORD).await.unwrap();
        let org_b = other.create_org("Other").await;
        let (s, _) = other.rest(Method::GET, &format!("/orgs/{org_b}/campaigns/{campaign}"), None).await;
        assert_eq!(s, 404);
        let (s, _) = other.rest(Method::GET, &format!("/orgs/{}/campaigns/{campaign}", d.org()), None).await;
        assert_eq!(s, 404);
        let (s, list) = other.rest(Method::GET, &format!("/orgs/{org_b}/campaigns"), None).await;
        assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(0)));
        let agent_b = crate::calls::ready_to_call(&other, &org_b).await;
        let (s, mine) = other
            .rest(
                Method::POST,
                &format!("/orgs/{org_b}/campaigns"),
                Some(json!({"name": "B", "agent_id": agent_b, "concurrency": 1})),
            )
            .await;
        assert_eq!(s, 201);
        let a_prospect = d.prospect("Alice", "+33612345699").await;
        let (s, r) = other
            .rest(
                Method::POST,
                &format!("/orgs/{org_b}/campaigns/{}/prospects", mine["id"].as_str().unwrap()),
                Some(json!({"source": {"kind": "ids", "ids": [a_prospect]}})),
            )
            .await;
        assert_eq!((s, r["added"].as_u64()), (200, Some(0)), "{r}");
        // Org A's agent is not org B's to use.
        let (s, e) = other
            .rest(
                Method::POST,
                &format!("/orgs/{org_b}/campaigns"),
                Some(json!({"name": "B", "agent_id": d.c.agent, "concurrency": 1})),
            )
            .await;
        assert!(s == 422 || s == 404, "{s} {e}");

        // A member reads campaigns but does not run them.
        let (member, _) =
            d.c.owner.invite_new_user(&d.c.app, d.org(), "Mia", "mia@example.com", "member").await;
        let (s, _) = member.rest(Method::GET, &format!("/orgs/{}/campaigns/{campaign}", d.org()), None).await;
        assert_eq!(s, 200);
        let (s, e) =
            member.rest(Method::POST, &format!("/orgs/{}/campaigns/{campaign}/archive", d.org()), None).await;
        assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")));
        // An owner archives a draft never run; nothing leaves the archive.
        let (s, c) = d.act(&campaign, "archive").await;
        assert_eq!((s, c["status"].as_str()), (200, Some("archived")));
        let (s, _) = d.act(&campaign, "start").await;
        assert_eq!(s, 409);
    }
);

on_both_backends!(
    a_voicemail_reported_after_the_call_ended_gets_the_voicemail_rule,
    |backend: Backend| async move {
        use domain::agent_report::{AgentReport, CallUsage, EndReason};
        let t0 = utc("2026-12-07T10:00:00Z");
        let Some(d) = Dialer::start(backend, Some(t0)).await else { return };
        let machine = d.prospect("Machine", "+33612345601").await;
        let next = d.prospect("Next", "+33612345602").await;
        let once = json!({"max_attempts": 1, "delay_minutes": 60});
        let retry = json!({
            "no_answer": once, "busy": once, "failed": once,
            "voicemail": {"max_attempts": 2, "delay_minutes": 120},
        });
        let campaign = d.campaign(json!({"concurrency": 1, "retry": retry})).await;
        d.add(&campaign, &[&machine, &next]).await;
        d.act(&campaign, "start").await;
        d.until(&campaign, "the first call answered", |_, calls| {
            calls.first().is_some_and(|c| c.status == "answered")
        })
        .await;
        let call = d.calls(&campaign).await.remove(0);
        // The line drops before the agent has said what answered: settled as a person.
        d.hang_up(call.id).await;
        d.until(&campaign, "the first attempt settled", |_, calls| calls.len() == 2).await;
        let m = d.members(&campaign).await.into_iter().find(|m| m["last_call_id"] == call.id.to_string());
        let m = m.expect("the first prospect's attempt");
        assert_eq!((m["state"].as_str(), m["last_result"].as_str()), (Some("done"), Some("answered")), "{m}");

        // Then the agent's report: a machine took it. Twice, as a retried report would.
        let report = AgentReport {
            duration_ms: 9_000,
            end: EndReason::Voicemail { message_left: true },
            turns: 1,
            interruptions: 0,
            usage: CallUsage::default(),
            latencies: vec![],
            barge_ins_ms: vec![],
            outcome: None,
        };
        let s = &d.c.app.state;
        let ctx = services::OrgCtx::system(call.org_id, "voice");
        for _ in 0..2 {
            services::calls::voice::finish(
                &s.db,
                &s.server_ctx.telephony,
                &s.server_ctx.bus,
                &ctx,
                call.id,
                &report,
            )
            .await
            .unwrap();
        }
        let m = d.member(&campaign, m["prospect_id"].as_str().unwrap()).await;
        assert_eq!(
            (m["state"].as_str(), m["last_result"].as_str()),
            (Some("queued"), Some("voicemail")),
            "{m}"
        );
        assert_eq!(m["attempts"], 1, "settled again, not counted again: {m}");
        assert_eq!(m["next_attempt_at"].as_str().map(utc), Some(utc("2026-12-07T12:00:00Z")));
        let c = d.get(&campaign).await;
        assert_eq!(c["counts"]["queued"], 1, "{c}");
    }
);

on_both_backends!(
    a_campaigns_script_is_pinned_at_each_dial_and_given_to_the_agent,
    |backend: Backend| async move {
        // Keys for the agent's vendors: the test builds what the voice
        // agent gets at the start of a call (nothing is sent to them).
        let keys =
            [("OPENAI_API_KEY", "sk-test"), ("DEEPGRAM_API_KEY", "dg-test"), ("CARTESIA_API_KEY", "ca-test")];
        let env: Vec<(&str, &str)> = FAST_RUNNER.iter().copied().chain(keys).collect();
        let Some(c) = calling_at(backend, &env, None).await else { return };
        let d = Dialer { c, clock: None };
        let org = d.org().to_string();
        let script = d.c.script("Fleet pitch", "en").await;
        let french = d.c.script("Relance flotte", "fr").await;
        let refused = |body: Value| {
            let owner = &d.c.owner;
            let org = org.clone();
            let agent = d.c.agent.clone();
            async move {
                let mut b = json!({
                    "name": "Refused", "agent_id": agent, "concurrency": 1,
                    "windows": always(), "zone": {"kind": "fixed", "zone": "UTC"},
                });
                for (k, v) in body.as_object().unwrap() {
                    b[k] = v.clone();
                }
                owner.rest(Method::POST, &format!("/orgs/{org}/campaigns"), Some(b)).await
            }
        };
        // The agent speaks English: a French script would have it switch mid-call.
        let (s, e) = refused(json!({"script_id": french})).await;
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str(), e["detail"].as_str()),
            (422, Some("script_language_mismatch"), Some("script_id"), Some("fr/en")),
            "{e}"
        );
        // Another organisation's script does not exist here.
        let other = d.c.app.client().await;
        other.sign_up("Ivan", "ivan@example.com", GOOD_PASSWORD).await.unwrap();
        let org_b = other.create_org("Other").await;
        let (_, theirs) = other
            .rest(
                Method::POST,
                &format!("/orgs/{org_b}/scripts"),
                Some(json!({"name": "Theirs", "language": "en",
                            "content": {"phases": [{"phase": "opening", "text": "Hi."}]}})),
            )
            .await;
        let (s, e) = refused(json!({"script_id": theirs["id"]})).await;
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str()),
            (404, Some("not_found"), Some("script_id")),
            "{e}"
        );

        let paula = d.prospect("Paula", "+33612345720").await;
        let yann = d.prospect("Yann", "+33612345721").await;
        let campaign = d.campaign(json!({"concurrency": 1, "script_id": script})).await;
        assert_eq!(d.get(&campaign).await["script_id"], script.as_str());
        d.add(&campaign, &[&paula, &yann]).await;
        let (s, v) = d.act(&campaign, "start").await;
        assert_eq!(s, 200, "{v}");
        let script_id: Uuid = script.parse().unwrap();
        d.until(&campaign, "the first call answered", |_, calls| {
            calls.len() == 1 && ["answered", "in_progress"].contains(&calls[0].status.as_str())
        })
        .await;
        let first = d.calls(&campaign).await.remove(0);
        assert_eq!((first.script_id, first.script_version), (Some(script_id), Some(1)));

        // The script is edited while the campaign runs: the call under way
        // keeps the version it started with, the next dial takes the new one.
        let (s, v) = d
            .c
            .owner
            .rest(
                Method::PUT,
                &format!("/orgs/{org}/scripts/{script}"),
                Some(json!({"name": "Fleet pitch", "language": "en", "expected_version": 1, "content": {"phases": [
                    {"phase": "opening", "text": "Hello {{prospect.first_name}}, this is {{agent.name}} from Handoo."},
                    {"phase": "presentation", "text": "Our routing software cuts your fuel bill by a quarter.",
                     "tips": ["Name {{prospect.company}}'s fleet"]},
                ]}})),
            )
            .await;
        assert_eq!((s, v["version"].as_i64()), (200, Some(2)), "{v}");
        d.hang_up(first.id).await;
        d.until(&campaign, "the second call", |_, calls| calls.len() == 2).await;
        let calls = d.calls(&campaign).await;
        assert_eq!(calls[0].script_version, Some(1));
        assert_eq!((calls[1].script_id, calls[1].script_version), (Some(script_id), Some(2)));
        let second = calls[1].clone();
        let v = d.c.call(&second.id.to_string()).await;
        assert_eq!(
            (v["call"]["script_name"].as_str(), v["call"]["script_version"].as_i64()),
            (Some("Fleet pitch"), Some(2)),
            "{v}"
        );

        // What the voice agent is told on that call: its own prompt, then
        // the script's version 2, rendered for this prospect.
        let ctx = services::OrgCtx::system(org.parse().unwrap(), "test");
        let state = &d.c.app.state;
        let agent =
            services::calls::voice::prepare(&state.db, &state.server_ctx.providers, &ctx, &second, None)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        let name = if second.prospect_id == Some(paula.parse().unwrap()) { "Paula" } else { "Yann" };
        let prompt = &agent.system_prompt;
        assert!(prompt.contains(&format!("## Opening\nHello {name}, this is Max from Handoo.")), "{prompt}");
        assert!(
            prompt.contains("## Presentation\nOur routing software cuts your fuel bill by a quarter."),
            "{prompt}"
        );
        assert!(
            !prompt.contains("by a fifth") && !prompt.contains("## Closing"),
            "version 1 leaked: {prompt}"
        );
        // A call placed without a script gets none.
        let plain = services::calls::voice::prepare(
            &state.db,
            &state.server_ctx.providers,
            &ctx,
            &without_script(second.clone()),
            None,
        )
        .await
        .unwrap();
        assert!(!plain.system_prompt.contains("call script"), "{}", plain.system_prompt);

        // Archived since: the campaign keeps it (an edit naming it passes),
        // a new campaign cannot choose it.
        let (s, _) = d.c.owner.rest(Method::DELETE, &format!("/orgs/{org}/scripts/{script}"), None).await;
        assert_eq!(s, 204);
        let mut edit = d.get(&campaign).await;
        edit["concurrency"] = json!(2);
        let (s, v) =
            d.c.owner.rest(Method::PUT, &format!("/orgs/{org}/campaigns/{campaign}"), Some(edit)).await;
        assert_eq!((s, v["script_id"].as_str()), (200, Some(script.as_str())), "{v}");
        let (s, e) = refused(json!({"script_id": script})).await;
        assert_eq!(
            (s, e["code"].as_str(), e["field"].as_str()),
            (422, Some("script_archived"), Some("script_id")),
            "{e}"
        );
    }
);

/// `call` as if it had been placed without a script.
fn without_script(call: calls::Model) -> calls::Model {
    calls::Model { script_id: None, script_version: None, ..call }
}
