//! Campaigns: the tables the dialer stands on, on SQLite and PostgreSQL
//! alike — what the entities write reads back the same (the settings' JSON
//! included), one row per prospect and campaign, calls name their campaign,
//! and everything goes with its organisation or its campaign.

use crate::common;

use common::{Backend, TestApp, GOOD_PASSWORD};
use domain::campaign::{CampaignStatus, CampaignZone, RetryPolicy, WeeklyWindows};
use entity::{calls, campaign_prospects, campaigns};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

fn campaign(org: Uuid, agent: Uuid, now: chrono::DateTime<chrono::Utc>) -> campaigns::ActiveModel {
    campaigns::ActiveModel {
        id: Set(Uuid::now_v7()),
        org_id: Set(org),
        name: Set("December follow-ups".into()),
        status: Set(CampaignStatus::Draft.as_str().into()),
        agent_id: Set(agent),
        script_id: Set(None),
        trunk_id: Set(None),
        from_number: Set(Some("+33187654321".into())),
        starts_at: Set(Some(now)),
        ends_at: Set(None),
        windows: Set(serde_json::to_value(WeeklyWindows::default()).unwrap()),
        zone: Set(serde_json::to_value(CampaignZone::Fixed { zone: "Europe/Paris".into() }).unwrap()),
        concurrency: Set(3),
        retry: Set(serde_json::to_value(RetryPolicy::default()).unwrap()),
        paused_reason: Set(None),
        version: Set(1),
        wake_at: Set(None),
        created_by: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        started_at: Set(None),
        completed_at: Set(None),
    }
}

fn member(
    org: Uuid,
    campaign: Uuid,
    prospect: Uuid,
    now: chrono::DateTime<chrono::Utc>,
) -> campaign_prospects::ActiveModel {
    campaign_prospects::ActiveModel {
        id: Set(Uuid::now_v7()),
        campaign_id: Set(campaign),
        org_id: Set(org),
        prospect_id: Set(prospect),
        state: Set("queued".into()),
        attempts: Set(0),
        next_attempt_at: Set(Some(now)),
        last_result: Set(None),
        last_call_id: Set(None),
        skip_reason: Set(None),
        variables: Set(json!({"offer": "-20 %"})),
        added_at: Set(now),
        updated_at: Set(now),
    }
}

on_both_backends!(the_campaign_tables_hold_what_the_design_counts_on, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org_s = owner.create_org("Acme").await;
    let org: Uuid = org_s.parse().unwrap();
    let db = &app.state.db;
    let now = chrono::Utc::now();
    let (s, p) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org_s}/prospects"),
            Some(json!({"first_name": "Paul", "last_name": "Martin", "phone": "+33612345002"})),
        )
        .await;
    assert_eq!(s, 201, "{p}");
    let prospect: Uuid = p["id"].as_str().unwrap().parse().unwrap();

    let c = campaign(org, Uuid::now_v7(), now).insert(db).await.unwrap();
    let back = campaigns::Entity::find_by_id(c.id).one(db).await.unwrap().unwrap();
    assert_eq!(back, c, "a campaign reads back as written");
    let windows: WeeklyWindows = serde_json::from_value(back.windows).unwrap();
    assert_eq!(windows, WeeklyWindows::default());

    let m = member(org, c.id, prospect, now).insert(db).await.unwrap();
    assert_eq!(campaign_prospects::Entity::find_by_id(m.id).one(db).await.unwrap(), Some(m.clone()));
    assert!(member(org, c.id, prospect, now).insert(db).await.is_err(), "one row per prospect and campaign");
    let other = campaign(org, Uuid::now_v7(), now).insert(db).await.unwrap();
    member(org, other.id, prospect, now).insert(db).await.expect("the same prospect in another campaign");

    // A call is an attempt of its campaign.
    let call = calls::Entity::find().all(db).await.unwrap();
    assert!(call.is_empty());
    let mut row: calls::ActiveModel = crate::calls::call(org, "call-c1", None);
    row.campaign_id = Set(Some(c.id));
    let row = row.insert(db).await.unwrap();
    let attempts = calls::Entity::find().filter(calls::Column::CampaignId.eq(c.id)).all(db).await.unwrap();
    assert_eq!(attempts.iter().map(|a| a.id).collect::<Vec<_>>(), vec![row.id]);

    // A campaign's members go with it; everything goes with the organisation.
    campaigns::Entity::delete_by_id(other.id).exec(db).await.unwrap();
    let left = campaign_prospects::Entity::find().all(db).await.unwrap();
    assert_eq!(left.iter().map(|r| r.campaign_id).collect::<Vec<_>>(), vec![c.id]);
    entity::organizations::Entity::delete_by_id(org).exec(db).await.unwrap();
    assert!(campaigns::Entity::find().all(db).await.unwrap().is_empty());
    assert!(campaign_prospects::Entity::find().all(db).await.unwrap().is_empty());
});
