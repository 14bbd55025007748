//! The managers' analytics through the HTTP boundary, on SQLite and
//! PostgreSQL: figures that match rows written to a known pattern (AI calls
//! and reps' copilot calls together), the previous period beside them,
//! filters by campaign, agent and rep, CSV export of each table, and who may
//! read it — Admins and Owners of the organisation, no one else.

#[path = "../../benches/support/analytics_seed.rs"]
mod seed;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::common::{self, Backend, TestApp, GOOD_PASSWORD};
use seed::{ai_call, rep_call, Seed};

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-6)
}

on_both_backends!(the_dashboard_counts_ai_and_rep_calls_by_their_pattern, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.unwrap();
    let org = owner.create_org("Acme").await;
    let me = owner.session().await["user"]["id"].as_str().unwrap().to_string();
    let settings = domain::agent::AgentSettings {
        name: "Max".into(),
        ..domain::agent::AgentSettings::new_default(domain::agent::AgentKind::Voice, "en_us")
    };
    let (status, agent) =
        owner.rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": settings}))).await;
    assert_eq!(status, 201, "{agent}");
    let (_, p) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospects"),
            Some(json!({"first_name": "Ada", "phone": "+33612345678"})),
        )
        .await;
    let start: DateTime<Utc> = "2026-11-01T00:00:00Z".parse().unwrap();
    let s = Seed {
        org: org.parse().unwrap(),
        agent: agent["id"].as_str().unwrap().parse().unwrap(),
        user: me.parse().unwrap(),
        prospect: p["id"].as_str().unwrap().parse().unwrap(),
        start,
        days: 14,
    };
    let (n_ai, n_rep) = (700u64, 90u64);
    seed::seed_ai_calls(&app.state.db, &s, n_ai).await;
    seed::seed_rep_calls(&app.state.db, &s, n_rep).await;
    // Another organisation's calls, the same days: never counted here.
    let other = app.client().await;
    other.sign_up("Eve", "eve@example.com", GOOD_PASSWORD).await.unwrap();
    let org_b = other.create_org("Other").await;
    let b = Seed { org: org_b.parse().unwrap(), ..s };
    seed::seed_ai_calls(&app.state.db, &b, 50).await;

    // The second week only; the first is the previous period.
    let (from, until) =
        (NaiveDate::from_ymd_opt(2026, 11, 8).unwrap(), NaiveDate::from_ymd_opt(2026, 11, 14).unwrap());
    let in_range = |at: DateTime<Utc>| at.date_naive() >= from && at.date_naive() <= until;
    let ai: Vec<_> = (0..n_ai).map(|i| ai_call(&s, i)).filter(|c| in_range(c.at)).collect();
    let reps: Vec<_> = (0..n_rep).map(|i| rep_call(&s, i)).filter(|(at, _)| in_range(*at)).collect();
    let connected = ai.iter().filter(|c| c.answered).count() + reps.len();
    let meetings = ai.iter().filter(|c| c.outcome == Some("meeting_booked")).count()
        + reps.iter().filter(|(_, o)| *o == "meeting_booked").count();
    let answered = ai.iter().filter(|c| c.answered && c.outcome != Some("voicemail")).count() + reps.len();
    let talk: f64 = ai.iter().filter_map(|c| c.talk_ms).map(|t| t as f64 / 1000.0).sum::<f64>()
        + 60.0 * reps.len() as f64;
    let timed = ai.iter().filter(|c| c.talk_ms.is_some()).count() + reps.len();
    let scores: Vec<f64> = ai.iter().filter_map(|c| c.analysed).chain(reps.iter().map(|_| 0.2)).collect();

    let q = format!("/orgs/{org}/analytics?from={from}&until={until}");
    let (status, d) = owner.rest(Method::GET, &q, None).await;
    assert_eq!(status, 200, "{d}");
    let t = &d["totals"];
    assert_eq!(t["calls"].as_u64(), Some((ai.len() + reps.len()) as u64), "{t}");
    assert_eq!(
        (t["ai_calls"].as_u64(), t["rep_calls"].as_u64()),
        (Some(ai.len() as u64), Some(reps.len() as u64))
    );
    assert_eq!(t["connected"].as_u64(), Some(connected as u64));
    assert_eq!(t["answered"].as_u64(), Some(answered as u64));
    assert_eq!(t["meetings"].as_u64(), Some(meetings as u64));
    assert!(close(&t["connect_rate"], connected as f64 / (ai.len() + reps.len()) as f64), "{t}");
    assert!(close(&t["avg_duration_s"], talk / timed as f64), "{t}");
    assert!(close(&t["avg_sentiment"], scores.iter().sum::<f64>() / scores.len() as f64), "{t}");
    // The previous week holds the rest.
    assert_eq!(d["previous"]["calls"].as_u64(), Some((n_ai + n_rep) - (ai.len() + reps.len()) as u64));
    // One row per day, adding up; the funnel narrows.
    let days = d["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    assert_eq!(days.iter().map(|r| r["calls"].as_u64().unwrap()).sum::<u64>(), t["calls"].as_u64().unwrap());
    let funnel: Vec<u64> =
        d["funnel"].as_array().unwrap().iter().map(|s| s["count"].as_u64().unwrap()).collect();
    assert!(funnel.windows(2).all(|w| w[0] >= w[1]), "{funnel:?}");
    assert_eq!(funnel[0], t["calls"].as_u64().unwrap());
    // Leaderboards: the agent and the rep, with their own counts.
    assert_eq!(d["agents"][0]["calls"].as_u64(), Some(ai.len() as u64));
    assert_eq!(d["reps"][0]["calls"].as_u64(), Some(reps.len() as u64));
    assert_eq!(d["reps"][0]["name"], "Olivia");
    assert!(close(&d["reps"][0]["avg_score"], 7.0));
    let phases = d["phases"].as_array().unwrap();
    assert_eq!((phases[0]["phase"].as_str(), phases[0]["average"].as_f64()), (Some("opening"), Some(8.0)));
    assert_eq!(phases[2]["average"], Value::Null);

    // Voice latency from the agent reports in range: two replies each.
    let reported = ai.iter().filter(|c| c.reported).count() as u64;
    let lat = &d["latency"][0];
    assert_eq!(lat["replies"].as_u64(), Some(2 * reported), "{lat}");
    assert_eq!((lat["p50_ms"].as_f64(), lat["p90_ms"].as_f64()), (Some(700.0), Some(900.0)), "{lat}");

    // A write after that read moves the figures on the next one: an outcome
    // logged on one of the week's calls adds a meeting.
    let open: entity::calls::Model = entity::calls::Entity::find()
        .filter(entity::calls::Column::OrgId.eq(s.org))
        .filter(entity::calls::Column::Outcome.is_null())
        .filter(entity::calls::Column::AnsweredAt.is_not_null())
        .filter(entity::calls::Column::CreatedAt.gte(from.and_hms_opt(0, 0, 0).unwrap().and_utc()))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("an answered call without an outcome");
    let (status, v) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/calls/{}/outcome", open.id),
            Some(json!({"outcome": "meeting_booked"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let (_, again) = owner.rest(Method::GET, &q, None).await;
    assert_eq!(again["totals"]["meetings"].as_u64(), Some(meetings as u64 + 1), "{}", again["totals"]);
    assert_eq!(again["totals"]["calls"], t["calls"]);

    // Filters: a rep's calls only, an agent's only.
    let (_, r) = owner.rest(Method::GET, &format!("{q}&rep_id={me}"), None).await;
    assert_eq!(
        (r["totals"]["calls"].as_u64(), r["totals"]["ai_calls"].as_u64()),
        (Some(reps.len() as u64), Some(0))
    );
    let (_, r) = owner.rest(Method::GET, &format!("{q}&agent_id={}", s.agent), None).await;
    assert_eq!(r["totals"]["calls"].as_u64(), Some(ai.len() as u64));
    let (_, r) = owner.rest(Method::GET, &format!("{q}&campaign_id={}", Uuid::now_v7()), None).await;
    assert_eq!(r["totals"]["calls"], 0);

    // CSV of each table.
    let res = owner
        .http
        .get(format!(
            "{}/api/v1/orgs/{org}/analytics/export.csv?table=days&from={from}&until={until}",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let csv = res.text().await.unwrap();
    assert_eq!(csv.lines().count(), 8, "{csv}");
    assert!(csv.starts_with("day,calls,connected,meetings,avg_sentiment"));
    let (status, e) =
        owner.rest(Method::GET, &format!("/orgs/{org}/analytics/export.csv?table=secrets"), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("table")), "{e}");
    let (status, e) = owner
        .rest(Method::GET, &format!("/orgs/{org}/analytics?from=2026-12-01&until=2026-11-01"), None)
        .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("from")), "{e}");

    // Who may read it.
    let (member, _) = owner.invite_new_user(&app, &org, "Mia", "mia@example.com", "member").await;
    let (status, _) = member.rest(Method::GET, &q, None).await;
    assert_eq!(status, 403);
    let (status, _) = other.rest(Method::GET, &q, None).await;
    assert_eq!(status, 404);
    let (_, theirs) = other
        .rest(Method::GET, &format!("/orgs/{org_b}/analytics?from=2026-11-01&until=2026-11-14"), None)
        .await;
    assert_eq!(theirs["totals"]["calls"], 50);
    let _ = Duration::zero();
});
