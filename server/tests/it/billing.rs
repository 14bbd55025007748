//! Billing through the HTTP boundary against the Polar stand-in (which
//! signs its webhooks on its own, with its own HMAC): a plan bought
//! through checkout becomes the organisation's once the webhook lands;
//! webhooks with a bad signature, a stale timestamp or a replayed id change
//! nothing, and an older update never overwrites a newer one; a dial over
//! the plan's limit is refused naming it; usage reported while Polar is
//! down is kept and reported once it is back, never twice — on SQLite and
//! PostgreSQL.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use services::billing::usage::{Record, Source};

use crate::common::{self, Backend, TestApp, GOOD_PASSWORD};

const SECRET: &str = "whsec_test_handoo_polar";
const FAST_RUNNER: [(&str, &str); 2] = [("HANDOO_JOB_POLL_MS", "20"), ("HANDOO_JOB_CONCURRENCY", "4")];

struct Scene {
    app: TestApp,
    polar: mock_vendors::MockVendors,
    owner: common::Client,
    org: String,
}

async fn scene(backend: Backend) -> Option<Scene> {
    let polar = mock_vendors::MockVendors::start().await;
    let base = polar.base_url("polar");
    // The same stand-in is the LiveKit project (a dial needs one).
    let livekit = polar.base_url("livekit");
    let mut env = vec![
        ("LIVEKIT_URL", livekit.as_str()),
        ("LIVEKIT_API_KEY", crate::calls::LK_KEY),
        ("LIVEKIT_API_SECRET", mock_vendors::livekit::API_SECRET),
        ("POLAR_API_URL", base.as_str()),
        ("POLAR_ACCESS_TOKEN", "polar_oat_test"),
        ("POLAR_WEBHOOK_SECRET", SECRET),
    ];
    env.extend_from_slice(&FAST_RUNNER);
    let app = TestApp::spawn_with(backend, &env).await?;
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = owner.create_org("Acme").await;
    let s = Scene { app, polar, owner, org };
    s.control("webhook", json!({"url": format!("{}/webhooks/polar", s.app.base), "secret": SECRET})).await;
    Some(s)
}

impl Scene {
    async fn control(&self, what: &str, body: Value) -> Value {
        let res = reqwest::Client::new()
            .post(format!("http://{}/__control/polar/{what}", self.polar.addr))
            .json(&body)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap_or(Value::Null)
    }

    async fn billing(&self) -> Value {
        let (s, v) = self.owner.rest(Method::GET, &format!("/orgs/{}/billing", self.org), None).await;
        assert_eq!(s, 200, "{v}");
        v
    }

    /// Buys `plan` the way a browser does: checkout, the Pay button.
    async fn buy(&self, plan: &str) -> Value {
        let (s, r) = self
            .owner
            .rest(
                Method::POST,
                &format!("/orgs/{}/billing/checkout", self.org),
                Some(json!({"plan_id": plan})),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        let url = r["url"].as_str().unwrap().to_string();
        let no_redirect =
            reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let paid = no_redirect.post(format!("{url}/confirm")).send().await.unwrap();
        assert_eq!(paid.status(), 303);
        let back = paid.headers()["location"].to_str().unwrap().to_string();
        assert!(back.starts_with("http://127.0.0.1") && back.contains("/app/billing?checkout="), "{back}");
        self.until_status("active").await
    }

    async fn until_status(&self, status: &str) -> Value {
        for _ in 0..200 {
            let v = self.billing().await;
            if v["subscription"]["status"] == status {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the subscription never got to {status}: {}", self.billing().await);
    }

    /// The stand-in's subscription of this organisation.
    fn subscription(&self) -> Value {
        let p = self.polar.state.polar.lock().unwrap();
        p.subscriptions.values().find(|s| s["customer"]["external_id"] == self.org.as_str()).cloned().unwrap()
    }

    async fn audit(&self, action: &str) -> usize {
        let log = self.owner.call("audit_log", &[("org_id", &self.org)]).await.unwrap();
        log.as_array().unwrap().iter().filter(|e| e["action"] == action).count()
    }
}

on_both_backends!(
    a_plan_bought_through_checkout_is_the_organisations_once_polar_says_so,
    |backend: Backend| async move {
        let Some(s) = scene(backend).await else { return };
        // Before: Polar's plans, cheapest first; the free one in force, its limits.
        let v = s.billing().await;
        let names: Vec<&str> =
            v["plans"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Starter", "Pro", "Business"], "{v}");
        assert_eq!((v["enabled"].as_bool(), v["plan"]["name"].as_str()), (Some(true), Some("Starter")));
        assert!(v["subscription"].is_null());
        assert_eq!(v["limits"]["call_minutes"], 30);
        assert_eq!(v["plans"][1]["price"], json!({"amount_minor": 4900, "currency": "usd"}));

        // Only an Owner buys; a Member does not even see it; the free plan and
        // an unknown one are refused by field.
        let org = s.org.clone();
        let (admin, _) = s.owner.invite_new_user(&s.app, &org, "Ada", "ada@example.com", "admin").await;
        let (member, _) = s.owner.invite_new_user(&s.app, &org, "Mo", "mo@example.com", "member").await;
        let path = format!("/orgs/{org}/billing/checkout");
        let (code, _) =
            admin.rest(Method::POST, &path, Some(json!({"plan_id": mock_vendors::polar::PRO_PRODUCT}))).await;
        assert_eq!(code, 403);
        let (code, _) = member.rest(Method::GET, &format!("/orgs/{org}/billing"), None).await;
        assert_eq!(code, 403);
        let (code, _) = admin.rest(Method::GET, &format!("/orgs/{org}/billing"), None).await;
        assert_eq!(code, 200);
        let (code, e) = s.owner.rest(Method::POST, &path, Some(json!({"plan_id": "nope"}))).await;
        assert_eq!((code, e["field"].as_str()), (404, Some("plan_id")), "{e}");
        let (code, e) = s
            .owner
            .rest(Method::POST, &path, Some(json!({"plan_id": mock_vendors::polar::FREE_PRODUCT})))
            .await;
        assert_eq!((code, e["field"].as_str()), (422, Some("plan_id")), "{e}");
        // The portal needs a customer, which only a checkout makes.
        let (code, _) = s.owner.rest(Method::POST, &format!("/orgs/{org}/billing/portal"), None).await;
        assert_eq!(code, 404);

        let v = s.buy(mock_vendors::polar::PRO_PRODUCT).await;
        assert_eq!(
            (v["plan"]["name"].as_str(), v["limits"]["call_minutes"].as_i64()),
            (Some("Pro"), Some(1000)),
            "{v}"
        );
        assert_eq!(v["subscription"]["price"]["amount_minor"], 4900);
        // The checkout named the organisation as Polar's customer, with our return URLs.
        let sent = s.polar.state.requests_for("polar");
        let checkout = sent.iter().find(|r| r.path == "/v1/checkouts/").expect("a checkout request");
        assert_eq!(checkout.body["external_customer_id"], org.as_str());
        assert!(checkout.body["success_url"]
            .as_str()
            .unwrap()
            .ends_with("/app/billing?checkout={CHECKOUT_ID}"));
        assert_eq!(checkout.headers["authorization"], "Bearer polar_oat_test");
        assert_eq!(s.audit("billing.subscription_active").await, 1);
        let (code, p) = s.owner.rest(Method::POST, &format!("/orgs/{org}/billing/portal"), None).await;
        assert_eq!(code, 200, "{p}");
        assert!(p["url"].as_str().unwrap().contains("customer_session_token=polar_cst_"), "{p}");

        // Cancelled at the period's end: still Pro until then, and says so.
        let sub = s.subscription();
        let id = sub["id"].as_str().unwrap().to_string();
        s.control(&format!("subscriptions/{id}"), json!({"cancel_at_period_end": true})).await;
        let v = s.until_status("active").await;
        for _ in 0..100 {
            if s.billing().await["subscription"]["cancel_at_period_end"] == true {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(s.billing().await["subscription"]["cancel_at_period_end"], true, "{v}");
        // Revoked: back on the free plan.
        s.control(&format!("subscriptions/{id}"), json!({"revoke": true})).await;
        for _ in 0..100 {
            if s.billing().await["plan"]["name"] == "Starter" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let v = s.billing().await;
        assert_eq!((v["plan"]["name"].as_str(), v["subscription"].is_null()), (Some("Starter"), true), "{v}");
        assert_eq!(v["estimate"], json!({"amount_minor": 0, "currency": "usd"}), "{v}");

        // Business charges each call minute on top: the estimate is its price
        // and two cents for each started minute used (90 s: two).
        assert_eq!(
            v["plans"][2]["unit_prices"],
            json!([{"metric": "call_minutes", "unit_amount": "2", "currency": "usd", "cap_minor": 15000}])
        );
        s.buy(mock_vendors::polar::BUSINESS_PRODUCT).await;
        let env = &s.app.state.server_ctx.providers.billing;
        let call = Record {
            org_id: org.parse().unwrap(),
            source: Source::Call(uuid::Uuid::now_v7()),
            agent_id: None,
            agent_kind: Some("voice"),
            api_key_id: None,
            model: None,
            usage: domain::billing::Usage { call_seconds: 90, ..Default::default() },
            at: chrono::Utc::now(),
        };
        assert!(services::billing::usage::record(&s.app.state.db, env, call).await.unwrap());
        let v = s.billing().await;
        assert_eq!(v["estimate"], json!({"amount_minor": 19904, "currency": "usd"}), "{v}");

        // Another organisation sees its own billing only.
        let other = s.app.client().await;
        other.sign_up("Eve", "eve@example.com", GOOD_PASSWORD).await.unwrap();
        let org_b = other.create_org("Other").await;
        let (code, b) = other.rest(Method::GET, &format!("/orgs/{org_b}/billing"), None).await;
        assert_eq!((code, b["plan"]["name"].as_str()), (200, Some("Starter")));
        let (code, _) = other.rest(Method::GET, &format!("/orgs/{org}/billing"), None).await;
        assert_eq!(code, 404);
    }
);

on_both_backends!(
    webhooks_are_verified_applied_once_and_never_undone_by_an_older_one,
    |backend: Backend| async move {
        let Some(s) = scene(backend).await else { return };
        s.buy(mock_vendors::polar::PRO_PRODUCT).await;
        let sub = s.subscription();
        let send = |data: Value, extra: Value| {
            let mut body = json!({"type": "subscription.updated", "data": data});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        let at = |secs: &str| {
            let mut d = sub.clone();
            d["modified_at"] = json!(format!("2030-01-01T00:00:{secs}Z"));
            d
        };
        let past_due = |d: Value| {
            let mut d = d;
            d["status"] = json!("past_due");
            d
        };
        // Signed with another secret, or five minutes and more away: refused, nothing applied.
        let r = s.control("send", send(past_due(at("10")), json!({"secret": "whsec_wrong"}))).await;
        assert_eq!(r["status"], 401, "{r}");
        let stale = chrono::Utc::now().timestamp() - 301;
        let r = s.control("send", send(past_due(at("10")), json!({"timestamp": stale}))).await;
        assert_eq!(r["status"], 401, "{r}");
        assert_eq!(s.billing().await["subscription"]["status"], "active");
        // Unsigned, straight to us: refused.
        let res = reqwest::Client::new()
            .post(format!("{}/webhooks/polar", s.app.base))
            .json(&send(past_due(at("10")), json!({})))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);

        // A newer update applies; delivered twice under one id, it counts once.
        let r = s.control("send", send(past_due(at("20")), json!({"id": "msg_replayed"}))).await;
        assert_eq!(r["status"], 204, "{r}");
        let r = s.control("send", send(past_due(at("20")), json!({"id": "msg_replayed"}))).await;
        assert_eq!(r["status"], 204, "{r}");
        assert_eq!(s.billing().await["subscription"]["status"], "past_due");
        assert_eq!(s.audit("billing.subscription_past_due").await, 1);
        // An older one arriving late (active, modified before) changes nothing.
        let r = s.control("send", send(at("15"), json!({}))).await;
        assert_eq!(r["status"], 204, "{r}");
        assert_eq!(s.billing().await["subscription"]["status"], "past_due");
        // A newer one does.
        let r = s.control("send", send(at("25"), json!({}))).await;
        assert_eq!(r["status"], 204, "{r}");
        assert_eq!(s.billing().await["subscription"]["status"], "active");
    }
);

on_both_backends!(a_dial_over_the_plans_limit_is_refused_naming_it, |backend: Backend| async move {
    let Some(s) = scene(backend).await else { return };
    let org: uuid::Uuid = s.org.parse().unwrap();
    let env = &s.app.state.server_ctx.providers.billing;
    // 30 minutes used this month: the free plan's 30 are gone.
    let record = Record {
        org_id: org,
        source: Source::Call(uuid::Uuid::now_v7()),
        agent_id: None,
        agent_kind: Some("voice"),
        api_key_id: None,
        model: None,
        usage: domain::billing::Usage {
            call_seconds: 30 * 60,
            llm_input_tokens: 1_000,
            ..Default::default()
        },
        at: chrono::Utc::now(),
    };
    assert!(services::billing::usage::record(&s.app.state.db, env, record.clone()).await.unwrap());
    // The same call recorded again counts once.
    assert!(!services::billing::usage::record(&s.app.state.db, env, record).await.unwrap());
    let v = s.billing().await;
    assert_eq!(v["used"]["call_seconds"], 1800, "{v}");
    let agent = crate::calls::ready_to_call(&s.owner, &s.org).await;
    let (code, e) = s
        .owner
        .rest(
            Method::POST,
            &format!("/orgs/{}/calls", s.org),
            Some(json!({"to_number": "+33612345678", "agent_id": agent})),
        )
        .await;
    assert_eq!((code, e["code"].as_str()), (402, Some("quota_exceeded")), "{e}");
    assert_eq!(e["detail"], "call_minutes: 30 of 30");
    assert!(e["message"].as_str().unwrap().contains("call_minutes: 30 of 30"), "{e}");
    // The usage page has it on its day, under no agent.
    let (code, u) = s.owner.rest(Method::GET, &format!("/orgs/{}/usage", s.org), None).await;
    assert_eq!(code, 200, "{u}");
    assert_eq!(u["total"]["call_seconds"], 1800);
    assert_eq!(u["by_agent"][0]["events"], 1);
    let res = s
        .owner
        .http
        .get(format!("{}/api/v1/orgs/{}/usage/export.csv", s.app.base, s.org))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csv = res.text().await.unwrap();
    assert!(csv.starts_with("day,call_seconds,") && csv.contains(",1800,1000,0,0,0"), "{csv}");
});

on_both_backends!(usage_reported_while_polar_is_down_is_kept_and_sent_once, |backend: Backend| async move {
    let Some(s) = scene(backend).await else { return };
    let org: uuid::Uuid = s.org.parse().unwrap();
    let db = &s.app.state.db;
    let env = &s.app.state.server_ctx.providers.billing;
    s.control("down", json!({"down": true})).await;
    for i in 0..3 {
        let r = Record {
            org_id: org,
            source: Source::PlaygroundTurn(uuid::Uuid::now_v7()),
            agent_id: None,
            agent_kind: Some("chat"),
            api_key_id: None,
            model: Some("openai/gpt-4.1-mini".into()),
            usage: domain::billing::Usage {
                llm_input_tokens: 100 + i,
                llm_output_tokens: 10,
                ..Default::default()
            },
            at: chrono::Utc::now(),
        };
        services::billing::usage::record(db, env, r).await.unwrap();
    }
    let err = services::billing::usage::report_pending(db, env, u64::MAX).await.unwrap_err();
    assert_eq!(err.code, domain::ErrorCode::ProviderUnavailable, "{err}");
    s.control("down", json!({"down": false})).await;
    assert_eq!(services::billing::usage::report_pending(db, env, u64::MAX).await.unwrap(), (3, 0));
    assert_eq!(services::billing::usage::report_pending(db, env, u64::MAX).await.unwrap(), (0, 0));
    // As if the marks were lost in a crash after Polar took them: sent
    // again, Polar counts them as duplicates.
    use sea_orm::EntityTrait;
    entity::usage_records::Entity::update_many()
        .col_expr(
            entity::usage_records::Column::ReportedAt,
            sea_orm::sea_query::Expr::value(Option::<chrono::DateTime<chrono::Utc>>::None),
        )
        .exec(db)
        .await
        .unwrap();
    assert_eq!(services::billing::usage::report_pending(db, env, u64::MAX).await.unwrap(), (0, 3));
    let events = s.control_get("events").await;
    let events = events["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "each usage row once at Polar");
    assert_eq!(events[0]["name"], "handoo.usage");
    assert_eq!(events[0]["external_customer_id"], s.org.as_str());
    assert_eq!(events[0]["metadata"]["llm_input_tokens"], 100);
});

impl Scene {
    async fn control_get(&self, what: &str) -> Value {
        reqwest::get(format!("http://{}/__control/polar/{what}", self.polar.addr))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

// Each playground turn is metered (its own tokens, under its agent, in the
// turn's transaction); once the plan's tokens are spent, the next turn is
// refused before the model is asked, naming the limit.
on_both_backends!(playground_turns_are_metered_and_stop_at_the_token_limit, |backend: Backend| async move {
    let Some(s) = scene(backend).await else { return };
    use crate::agents::{create_agent, of_type, settings, use_mock};
    use_mock(&s.owner, &s.org, &s.polar, "sk-test-1234567890abcd").await;
    let agent = create_agent(&s.owner, &s.org, None, settings("Max")).await.unwrap();
    let agent_id = agent["id"].as_str().unwrap().to_string();
    let conv =
        s.owner.call("start_conversation", &[("org_id", &s.org), ("agent_id", &agent_id)]).await.unwrap();
    let conv_id = conv["id"].as_str().unwrap().to_string();
    let path = format!("/orgs/{}/conversations/{conv_id}/messages", s.org);
    for text in ["Hello there", "How much is it?"] {
        let (status, events) = s.owner.rest_events(&path, json!({"text": text})).await;
        assert_eq!((status, events.last().unwrap()["type"].as_str()), (200, Some("done")), "{events:?}");
        assert_eq!(of_type(&events, "usage").len(), 1);
    }
    let saved =
        s.owner.call("get_conversation", &[("org_id", &s.org), ("conversation_id", &conv_id)]).await.unwrap();
    let (code, u) = s.owner.rest(Method::GET, &format!("/orgs/{}/usage", s.org), None).await;
    assert_eq!(code, 200, "{u}");
    assert_eq!(
        (&u["total"]["llm_input_tokens"], &u["total"]["llm_output_tokens"]),
        (&saved["input_tokens"], &saved["output_tokens"]),
        "{u}"
    );
    assert_eq!((&u["by_agent"][0]["id"], &u["by_agent"][0]["events"]), (&json!(agent_id), &json!(2)), "{u}");

    // The free plan's 200,000 tokens spent: the next turn is refused, nothing saved.
    let env = &s.app.state.server_ctx.providers.billing;
    let spent = Record {
        org_id: s.org.parse().unwrap(),
        source: Source::PlaygroundTurn(uuid::Uuid::now_v7()),
        agent_id: None,
        agent_kind: Some("chat"),
        api_key_id: None,
        model: None,
        usage: domain::billing::Usage { llm_input_tokens: 200_000, ..Default::default() },
        at: chrono::Utc::now(),
    };
    assert!(services::billing::usage::record(&s.app.state.db, env, spent).await.unwrap());
    let (status, body) = s.owner.rest_events(&path, json!({"text": "Still there?"})).await;
    assert_eq!((status, body[0]["code"].as_str()), (402, Some("quota_exceeded")), "{body:?}");
    assert!(body[0]["detail"].as_str().unwrap().starts_with("llm_tokens: "), "{body:?}");
    let after =
        s.owner.call("get_conversation", &[("org_id", &s.org), ("conversation_id", &conv_id)]).await.unwrap();
    assert_eq!(after["turns"], saved["turns"]);
});
