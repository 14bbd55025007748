//! The SDR copilot through the HTTP boundary, on SQLite and PostgreSQL:
//! scripts (seeded defaults, versions, stale-save detection, hostile content),
//! AI script generation against the mock LLM (success, malformed answer,
//! timeout), the knowledge base's approval workflow and visibility, the
//! technique library and ratings, pre-call briefs, live sessions (phase
//! engine, objection cards, the live event stream, outcomes changing the
//! prospect, double ends), the queue, and cross-tenant denial.

use crate::common;

use std::time::Duration;

use common::{Backend, Client, TestApp, GOOD_PASSWORD};
use mock_vendors::MockVendors;
use reqwest::Method;
use serde_json::{json, Value};

async fn user(app: &TestApp, name: &str, email: &str) -> Client {
    let c = app.client().await;
    c.sign_up(name, email, GOOD_PASSWORD).await.expect("sign up");
    c
}

async fn invite(app: &TestApp, owner: &Client, org: &str, name: &str, email: &str, role: &str) -> Client {
    owner.invite_new_user(app, org, name, email, role).await.0
}

async fn prospect(c: &Client, org: &str, body: Value) -> String {
    let (s, p) = c.rest(Method::POST, &format!("/orgs/{org}/prospects"), Some(body)).await;
    assert_eq!(s, 201, "{p}");
    p["id"].as_str().unwrap().to_string()
}

fn code(v: &Value) -> &str {
    v["code"].as_str().unwrap_or_default()
}

fn script_body(name: &str, version: Option<i64>, opening: &str) -> Value {
    json!({
        "name": name, "language": "en", "expected_version": version,
        "content": {
            "phases": [
                {"phase": "opening", "text": opening, "tips": ["Smile"], "triggers": [{"type": "phrase", "pattern": "go ahead"}]},
                {"phase": "closing", "text": "Tuesday or Thursday?", "triggers": []}
            ],
            "handlers": [{"objection": "too_expensive", "response": "Compared with what?", "examples": []}]
        }
    })
}

on_both_backends!(scripts_are_seeded_versioned_and_guarded, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let member = invite(&app, &owner, &org, "Mia", "mia@example.com", "member").await;

    // Every organisation starts with the default script in English and French.
    let (s, list) = member.rest(Method::GET, &format!("/orgs/{org}/scripts"), None).await;
    assert_eq!(s, 200, "{list}");
    let langs: Vec<_> = list.as_array().unwrap().iter().map(|s| s["language"].as_str().unwrap()).collect();
    assert_eq!(langs.len(), 2, "{list}");
    assert!(langs.contains(&"en") && langs.contains(&"fr"));
    // Listing again (or concurrently) seeds nothing more.
    let scripts_path = format!("/orgs/{org}/scripts");
    let (a, b) = tokio::join!(
        owner.rest(Method::GET, &scripts_path, None),
        member.rest(Method::GET, &scripts_path, None)
    );
    assert_eq!((a.1.as_array().unwrap().len(), b.1.as_array().unwrap().len()), (2, 2));
    let fr = list.as_array().unwrap().iter().find(|s| s["language"] == "fr").unwrap();
    let (_, fr) =
        member.rest(Method::GET, &format!("/orgs/{org}/scripts/{}", fr["id"].as_str().unwrap()), None).await;
    assert_eq!(fr["content"]["phases"].as_array().unwrap().len(), 5);
    assert!(fr["content"]["phases"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Bonjour {{prospect.first_name}}"));

    // Members use scripts; only admins and owners write them.
    let (s, e) = member
        .rest(Method::POST, &format!("/orgs/{org}/scripts"), Some(script_body("Mine", None, "Hi")))
        .await;
    assert_eq!((s, code(&e)), (403, "forbidden"));
    let (s, created) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/scripts"),
            Some(script_body("Renewals", None, "Hi {{prospect.first_name}}")),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    assert_eq!((created["version"].as_i64(), created["source"].as_str()), (Some(1), Some("manual")));
    let id = created["id"].as_str().unwrap().to_string();

    // Hostile content: a trigger that matches everything, an unknown phase,
    // an unknown variable, phases out of order, a huge text.
    let mut broad = script_body("X", Some(1), "Hi");
    broad["content"]["phases"][0]["triggers"] = json!([{"type": "phrase", "pattern": "the"}]);
    let (s, e) = owner.rest(Method::PUT, &format!("/orgs/{org}/scripts/{id}"), Some(broad)).await;
    assert_eq!((s, code(&e), e["field"].as_str()), (422, "trigger_too_broad", Some("phases[0].triggers[0]")));
    let mut unknown = script_body("X", Some(1), "Hi");
    unknown["content"]["phases"][0]["phase"] = json!("haggling");
    let (s, e) = owner.rest(Method::PUT, &format!("/orgs/{org}/scripts/{id}"), Some(unknown)).await;
    assert_eq!((s, code(&e)), (422, "validation"), "{e}");
    let (s, e) = owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/scripts/{id}"),
            Some(script_body("X", Some(1), "Hi {{prospect.shoe_size}}")),
        )
        .await;
    assert_eq!((s, code(&e)), (422, "template_unknown_variable"));
    let mut order = script_body("X", Some(1), "Hi");
    order["content"]["phases"] =
        json!([{"phase": "closing", "text": "a"}, {"phase": "opening", "text": "b"}]);
    let (s, e) = owner.rest(Method::PUT, &format!("/orgs/{org}/scripts/{id}"), Some(order)).await;
    assert_eq!((s, code(&e)), (422, "invalid_value"));
    let (s, e) = owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/scripts/{id}"),
            Some(script_body("X", Some(1), &"x".repeat(5_000))),
        )
        .await;
    assert_eq!((s, code(&e)), (422, "text_too_long"));
    // An edit must say which version it edited.
    let (s, e) = owner
        .rest(Method::PUT, &format!("/orgs/{org}/scripts/{id}"), Some(script_body("X", None, "Hi")))
        .await;
    assert_eq!((s, code(&e)), (422, "required_value"));

    // Two editors load version 1; the first save wins, the second is told, not overwritten.
    let (s, v2) = owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/scripts/{id}"),
            Some(script_body("Renewals", Some(1), "Hello A")),
        )
        .await;
    assert_eq!((s, v2["version"].as_i64()), (200, Some(2)), "{v2}");
    let (s, e) = owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/scripts/{id}"),
            Some(script_body("Renewals", Some(1), "Hello B")),
        )
        .await;
    assert_eq!((s, code(&e), e["detail"].as_str()), (409, "stale_version", Some("2")));
    let (_, now) = owner.rest(Method::GET, &format!("/orgs/{org}/scripts/{id}"), None).await;
    assert_eq!(now["content"]["phases"][0]["text"], "Hello A");
    // Truly concurrent saves of the same version: exactly one lands.
    let script_path = format!("/orgs/{org}/scripts/{id}");
    let (a, b) = tokio::join!(
        owner.rest(Method::PUT, &script_path, Some(script_body("Renewals", Some(2), "C"))),
        owner.rest(Method::PUT, &script_path, Some(script_body("Renewals", Some(2), "D")))
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{a:?} {b:?}");
    let (_, versions) = member.rest(Method::GET, &format!("/orgs/{org}/scripts/{id}/versions"), None).await;
    let numbers: Vec<_> =
        versions.as_array().unwrap().iter().map(|v| v["version"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [3, 2, 1]);
    assert_eq!(versions[0]["edited_by"], "Olivia");

    // Defaults cannot be archived; others can, and leave the list.
    let default_id = list[0]["id"].as_str().unwrap();
    let (s, _) = owner.rest(Method::DELETE, &format!("/orgs/{org}/scripts/{default_id}"), None).await;
    assert_eq!(s, 422);
    let (s, _) = owner.rest(Method::DELETE, &format!("/orgs/{org}/scripts/{id}"), None).await;
    assert_eq!(s, 204);
    let (_, list) = owner.rest(Method::GET, &format!("/orgs/{org}/scripts"), None).await;
    assert_eq!(list.as_array().unwrap().len(), 2);

    // Another organisation sees none of it.
    let stranger = user(&app, "Sam", "sam@example.com").await;
    let other = stranger.create_org("Other").await;
    let (s, _) = stranger.rest(Method::GET, &format!("/orgs/{org}/scripts/{id}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = stranger.rest(Method::GET, &format!("/orgs/{other}/scripts/{id}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = stranger
        .rest(
            Method::PUT,
            &format!("/orgs/{other}/scripts/{default_id}"),
            Some(script_body("Steal", Some(1), "x")),
        )
        .await;
    assert_eq!(s, 404);
});

on_both_backends!(ai_script_generation_and_briefs, |backend: Backend| async move {
    let mock = MockVendors::start().await;
    let base = mock.base_url("openai");
    let Some(app) =
        TestApp::spawn_with(backend, &[("OPENAI_BASE_URL", &base), ("HANDOO_LLM_TIMEOUT_SECS", "1.5")]).await
    else {
        return;
    };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let p = prospect(&owner, &org, json!({"first_name": "Paul", "last_name": "Roux", "company": "Roux Transports", "title": "Fleet manager", "phone": "+33612345678"})).await;

    // No LLM configured: generation says so; the brief comes from rules, labelled.
    let gen =
        json!({"name": "Fleet renewal", "language": "en", "product": "Fleet leasing with 24h replacement"});
    let (s, e) = owner.rest(Method::POST, &format!("/orgs/{org}/scripts/generate"), Some(gen.clone())).await;
    assert_eq!((s, code(&e)), (422, "provider_not_configured"));
    let (s, b) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/brief?language=fr"), None).await;
    assert_eq!((s, b["source"].as_str()), (200, Some("rules")), "{b}");
    assert!(b["opening_angle"].as_str().unwrap().starts_with("Premier appel"), "{b}");
    assert!(b["likely_objections"].as_array().unwrap().contains(&json!("not_decision_maker")));

    // With the organisation's LLM: a stored script carrying its provenance.
    let set_key = |key: &'static str| {
        let (owner, org) = (&owner, org.clone());
        async move {
            owner
                .call(
                    "save_provider_settings",
                    &[
                        ("org_id", &org),
                        ("provider", "openai"),
                        ("api_key", key),
                        ("base_url", ""),
                        ("clear_key", "false"),
                    ],
                )
                .await
                .expect("save key")
        }
    };
    set_key("sk-test").await;
    let techniques =
        owner.rest(Method::GET, &format!("/orgs/{org}/techniques?language=en&phase=closing"), None).await.1;
    let close = techniques[0]["id"].clone();
    let mut req = gen.clone();
    req["technique_ids"] = json!([close]);
    req["prospect_id"] = json!(p);
    let (s, script) = owner.rest(Method::POST, &format!("/orgs/{org}/scripts/generate"), Some(req)).await;
    assert_eq!(s, 201, "{script}");
    assert_eq!(script["source"], "ai");
    assert_eq!(script["ai"]["model"], "gpt-4.1");
    assert_eq!(script["ai"]["context"]["product"], "Fleet leasing with 24h replacement");
    assert_eq!(script["ai"]["context"]["prospect"]["company"], "Roux Transports");
    assert_eq!(script["ai"]["context"]["techniques"][0]["phase"], "closing");
    assert!(script["ai"]["generation_ms"].as_i64().unwrap() >= 0);
    assert!(script["content"]["phases"][2]["text"].as_str().unwrap().contains("Fleet leasing"));
    // The brief now comes from the model, and is cached until the prospect changes.
    let (_, b) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/brief"), None).await;
    assert_eq!((b["source"].as_str(), b["model"].as_str()), (Some("llm"), Some("gpt-4.1")), "{b}");
    let calls = mock.state.requests_for("openai").len();
    let (_, again) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/brief"), None).await;
    assert_eq!(again["generated_at"], b["generated_at"]);
    assert_eq!(mock.state.requests_for("openai").len(), calls, "served from the cache");
    owner.rest(Method::PATCH, &format!("/orgs/{org}/prospects/{p}"), Some(json!({"title": "CEO"}))).await;
    let (_, fresh) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/brief"), None).await;
    assert_ne!(fresh["generated_at"], b["generated_at"]);

    // Bad requests and a model that fails: clear errors, nothing stored.
    let (s, e) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/scripts/generate"),
            Some(json!({"name": "X", "language": "en", "product": " "})),
        )
        .await;
    assert_eq!((s, code(&e)), (422, "required_value"));
    let (s, e) = owner
        .rest(Method::POST, &format!("/orgs/{org}/scripts/generate"), Some(json!({"name": "X", "language": "en", "product": "p", "technique_ids": [uuid::Uuid::now_v7()]})))
        .await;
    assert_eq!((s, code(&e)), (404, "not_found"));
    let before =
        owner.rest(Method::GET, &format!("/orgs/{org}/scripts"), None).await.1.as_array().unwrap().len();
    set_key("stall").await;
    let (s, e) = owner.rest(Method::POST, &format!("/orgs/{org}/scripts/generate"), Some(gen.clone())).await;
    assert_eq!((s, code(&e)), (504, "provider_timeout"), "{e}");
    set_key("truncated").await;
    let (s, e) = owner.rest(Method::POST, &format!("/orgs/{org}/scripts/generate"), Some(gen.clone())).await;
    assert!(s >= 500, "{s} {e}");
    let after =
        owner.rest(Method::GET, &format!("/orgs/{org}/scripts"), None).await.1.as_array().unwrap().len();
    assert_eq!(before, after, "a failed generation stores nothing");
    // A failing model still gives the rep a brief (rules, not cached).
    let (s, b) =
        owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/brief?refresh=true"), None).await;
    assert_eq!((s, b["source"].as_str()), (200, Some("rules")));
});

fn knowledge(title: &str) -> Value {
    json!({"kind": "objection_handler", "title": title, "body": "Compare with total cost of ownership.",
           "tags": ["Price"], "fields": {"objection": "too_expensive", "example_phrases": "What is it compared with?"}})
}

on_both_backends!(knowledge_approval_workflow_and_visibility, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let mia = invite(&app, &owner, &org, "Mia", "mia@example.com", "member").await;
    let max = invite(&app, &owner, &org, "Max", "max@example.com", "member").await;
    let ada = invite(&app, &owner, &org, "Ada", "ada@example.com", "admin").await;
    let path = format!("/orgs/{org}/knowledge");

    // Bad input is refused with the field named.
    let (s, e) =
        mia.rest(Method::POST, &path, Some(json!({"kind": "best_seller", "title": "x", "body": "y"}))).await;
    assert_eq!((s, code(&e), e["field"].as_str()), (422, "required_value", Some("fields.model")));
    let (s, e) =
        mia.rest(Method::POST, &path, Some(json!({"kind": "gossip", "title": "x", "body": "y"}))).await;
    assert_eq!((s, code(&e)), (422, "validation"));
    let mut bad = knowledge("x");
    bad["fields"]["objection"] = json!("too_cheap");
    let (s, e) = mia.rest(Method::POST, &path, Some(bad)).await;
    assert_eq!((s, code(&e)), (422, "invalid_value"));

    // A member's draft is theirs alone until approved.
    let (s, item) = mia.rest(Method::POST, &path, Some(knowledge("Price objection: TCO"))).await;
    assert_eq!(
        (s, item["status"].as_str(), item["version"].as_i64()),
        (201, Some("draft"), Some(1)),
        "{item}"
    );
    assert_eq!(item["tags"], json!(["price"]));
    let id = item["id"].as_str().unwrap().to_string();
    assert_eq!(max.rest(Method::GET, &format!("{path}/{id}"), None).await.0, 404);
    assert!(max.rest(Method::GET, &path, None).await.1.as_array().unwrap().is_empty());
    // Only the author (or a reviewer) submits; members never approve.
    let review = |action: Value| (format!("{path}/{id}/review"), action);
    let (p, a) = review(json!({"action": "submit"}));
    assert_eq!(max.rest(Method::POST, &p, Some(a.clone())).await.0, 404);
    let (s, item) = mia.rest(Method::POST, &p, Some(a.clone())).await;
    assert_eq!((s, item["status"].as_str()), (200, Some("pending_review")));
    let (s, e) = mia.rest(Method::POST, &p, Some(a)).await;
    assert_eq!((s, code(&e)), (409, "invalid_transition"));
    let (p, a) = review(json!({"action": "approve", "expected_version": 1}));
    let (s, e) = mia.rest(Method::POST, &p, Some(a)).await;
    assert_eq!((s, code(&e)), (403, "forbidden"));
    // A rejection needs a comment; then the author reworks and resubmits.
    let (s, e) = ada
        .rest(Method::POST, &p, Some(json!({"action": "reject", "comment": " ", "expected_version": 1})))
        .await;
    assert_eq!((s, code(&e), e["field"].as_str()), (422, "required_value", Some("comment")));
    let (s, item) = ada
        .rest(
            Method::POST,
            &p,
            Some(json!({"action": "reject", "comment": "Add a source", "expected_version": 1})),
        )
        .await;
    assert_eq!(
        (s, item["status"].as_str(), item["review_comment"].as_str()),
        (200, Some("rejected"), Some("Add a source"))
    );
    assert_eq!(item["reviewer_name"], "Ada");
    let (_, reworked) = mia
        .rest(
            Method::PUT,
            &format!("{path}/{id}"),
            Some(knowledge("Price objection: TCO (source: 2025 study)")),
        )
        .await;
    assert_eq!((reworked["status"].as_str(), reworked["version"].as_i64()), (Some("draft"), Some(2)));
    mia.rest(Method::POST, &p, Some(json!({"action": "submit"}))).await;
    let (s, item) =
        ada.rest(Method::POST, &p, Some(json!({"action": "approve", "expected_version": 2}))).await;
    assert_eq!((s, item["status"].as_str()), (200, Some("approved")), "{item}");

    // Approved: everyone sees it, searches find it, usage is counted.
    let (_, found) =
        max.rest(Method::GET, &format!("{path}?q=tco%20study&objection=too_expensive"), None).await;
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let (_, none) = max.rest(Method::GET, &format!("{path}?q=warranty"), None).await;
    assert!(none.as_array().unwrap().is_empty());
    // A NUL character (which no PostgreSQL text takes) is refused at the door
    // (found by schemathesis: it was a 500 on PostgreSQL).
    let (s, e) = max.rest(Method::GET, &format!("{path}?q=tco%00study"), None).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("validation")), "{e}");
    let (_, by_tag) = max.rest(Method::GET, &format!("{path}?tag=PRICE"), None).await;
    assert_eq!(by_tag.as_array().unwrap().len(), 1);
    for kind in ["shown", "copied", "helpful", "helpful"] {
        assert_eq!(
            max.rest(Method::POST, &format!("{path}/{id}/usage"), Some(json!({"kind": kind}))).await.0,
            204
        );
    }
    let (s, _) = max.rest(Method::POST, &format!("{path}/{id}/usage"), Some(json!({"kind": "loved"}))).await;
    assert_eq!(s, 422);
    let (_, most) = max.rest(Method::GET, &format!("{path}/most-used"), None).await;
    assert_eq!(
        (most[0]["id"].as_str(), most[0]["helpful"].as_i64(), most[0]["copied"].as_i64()),
        (Some(id.as_str()), Some(2), Some(1))
    );
    // A member's edit of an approved item takes it off the shelf until re-approved.
    let (_, edited) = mia.rest(Method::PUT, &format!("{path}/{id}"), Some(knowledge("TCO, shorter"))).await;
    assert_eq!((edited["status"].as_str(), edited["version"].as_i64()), (Some("pending_review"), Some(3)));
    assert_eq!(max.rest(Method::GET, &format!("{path}/{id}"), None).await.0, 404);
    // Someone else's item cannot be edited or deleted by a member.
    let (_, other) = max.rest(Method::POST, &path, Some(knowledge("Max's"))).await;
    let other_id = other["id"].as_str().unwrap();
    assert_eq!(mia.rest(Method::DELETE, &format!("{path}/{other_id}"), None).await.0, 404);
    assert_eq!(ada.rest(Method::DELETE, &format!("{path}/{other_id}"), None).await.0, 204);

    // Another organisation can neither read nor review.
    let stranger = user(&app, "Sam", "sam@example.com").await;
    let their = stranger.create_org("Other").await;
    assert_eq!(stranger.rest(Method::GET, &format!("{path}/{id}"), None).await.0, 404);
    let (s, _) = stranger
        .rest(
            Method::POST,
            &format!("/orgs/{their}/knowledge/{id}/review"),
            Some(json!({"action": "approve"})),
        )
        .await;
    assert_eq!(s, 404);
    assert!(stranger
        .rest(Method::GET, &format!("/orgs/{their}/knowledge"), None)
        .await
        .1
        .as_array()
        .unwrap()
        .is_empty());
});

on_both_backends!(knowledge_review_applies_to_the_version_the_reviewer_read, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let mia = invite(&app, &owner, &org, "Mia", "mia@example.com", "member").await;
    let max = invite(&app, &owner, &org, "Max", "max@example.com", "member").await;
    let ada = invite(&app, &owner, &org, "Ada", "ada@example.com", "admin").await;
    let path = format!("/orgs/{org}/knowledge");
    let (_, item) = mia.rest(Method::POST, &path, Some(knowledge("Price objection: TCO"))).await;
    let id = item["id"].as_str().unwrap().to_string();
    let item_path = format!("{path}/{id}");
    let review_path = format!("{path}/{id}/review");
    let approve = |v: i64| Some(json!({"action": "approve", "expected_version": v}));
    let (s, pending) = mia.rest(Method::POST, &review_path, Some(json!({"action": "submit"}))).await;
    assert_eq!(
        (s, pending["status"].as_str(), pending["version"].as_i64()),
        (200, Some("pending_review"), Some(1))
    );

    // Ada opens it at version 1; meanwhile Mia rewrites it.
    let (_, seen) = ada.rest(Method::GET, &item_path, None).await;
    assert_eq!(seen["version"].as_i64(), Some(1));
    let mut rewrite = knowledge("Price objection: it is free, promise");
    rewrite["body"] = json!("Tell them it costs nothing.");
    let (s, edited) = mia.rest(Method::PUT, &item_path, Some(rewrite)).await;
    assert_eq!(
        (s, edited["status"].as_str(), edited["version"].as_i64()),
        (200, Some("pending_review"), Some(2))
    );

    // Approving or rejecting what Ada read is refused, naming the current version…
    let (s, e) = ada.rest(Method::POST, &review_path, approve(1)).await;
    assert_eq!(
        (s, code(&e), e["field"].as_str(), e["detail"].as_str()),
        (409, "stale_version", Some("expected_version"), Some("2"))
    );
    let (s, e) = ada
        .rest(
            Method::POST,
            &review_path,
            Some(json!({"action": "reject", "comment": "No", "expected_version": 1})),
        )
        .await;
    assert_eq!((s, code(&e)), (409, "stale_version"));
    // …and a decision that names no version at all is refused too.
    let (s, e) = ada.rest(Method::POST, &review_path, Some(json!({"action": "approve"}))).await;
    assert_eq!((s, code(&e), e["field"].as_str()), (422, "required_value", Some("expected_version")));
    // Nothing changed: still pending, with Mia's text, never reviewed, invisible to reps.
    let (_, now) = ada.rest(Method::GET, &item_path, None).await;
    assert_eq!(
        (now["status"].as_str(), now["version"].as_i64(), now["title"].as_str(), now["body"].as_str()),
        (
            Some("pending_review"),
            Some(2),
            Some("Price objection: it is free, promise"),
            Some("Tell them it costs nothing.")
        )
    );
    assert_eq!((now["reviewer_name"].clone(), now["review_comment"].clone()), (Value::Null, Value::Null));
    assert_eq!(max.rest(Method::GET, &item_path, None).await.0, 404);

    // Approving the version on screen works.
    let (s, approved) = ada.rest(Method::POST, &review_path, approve(2)).await;
    assert_eq!(
        (s, approved["status"].as_str(), approved["version"].as_i64()),
        (200, Some("approved"), Some(2))
    );
    assert_eq!(max.rest(Method::GET, &item_path, None).await.1["body"], "Tell them it costs nothing.");

    // Editing the approved item sends it back to review at a new version:
    // reps stop seeing it, and the old approval cannot be replayed.
    let (_, reedited) =
        mia.rest(Method::PUT, &item_path, Some(knowledge("Price objection: TCO, again"))).await;
    assert_eq!(
        (reedited["status"].as_str(), reedited["version"].as_i64()),
        (Some("pending_review"), Some(3))
    );
    assert_eq!(max.rest(Method::GET, &item_path, None).await.0, 404);
    let (s, e) = ada.rest(Method::POST, &review_path, approve(2)).await;
    assert_eq!((s, code(&e), e["detail"].as_str()), (409, "stale_version", Some("3")));
    let (s, approved) = owner.rest(Method::POST, &review_path, approve(3)).await;
    assert_eq!(
        (s, approved["status"].as_str(), approved["reviewer_name"].as_str()),
        (200, Some("approved"), Some("Olivia"))
    );
    assert_eq!(max.rest(Method::GET, &item_path, None).await.1["title"], "Price objection: TCO, again");

    // A reviewer's own edit is their review of the new text: it stays on the
    // shelf, at a new version, under their name.
    let (_, fixed) =
        ada.rest(Method::PUT, &item_path, Some(knowledge("Price objection: TCO (typo fixed)"))).await;
    assert_eq!(
        (fixed["status"].as_str(), fixed["version"].as_i64(), fixed["reviewer_name"].as_str()),
        (Some("approved"), Some(4), Some("Ada"))
    );
    // A review of an item that is no longer pending stays a state error.
    let (s, e) = ada.rest(Method::POST, &review_path, approve(4)).await;
    assert_eq!((s, code(&e)), (409, "invalid_transition"));
});

on_both_backends!(knowledge_related_to_what_was_just_said, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let path = format!("/orgs/{org}/knowledge");
    let add = |title: &'static str, body: &'static str, tags: Value, approve: bool| {
        let (owner, path) = (&owner, &path);
        async move {
            let mut item = knowledge(title);
            item["body"] = json!(body);
            item["tags"] = tags;
            let (s, item) = owner.rest(Method::POST, path, Some(item)).await;
            assert_eq!(s, 201, "{item}");
            let id = item["id"].as_str().unwrap().to_string();
            if approve {
                let version = item["version"].as_i64();
                for action in
                    [json!({"action": "submit"}), json!({"action": "approve", "expected_version": version})]
                {
                    let (s, v) = owner.rest(Method::POST, &format!("{path}/{id}/review"), Some(action)).await;
                    assert_eq!(s, 200, "{v}");
                }
            }
            id
        }
    };
    let warranty = add(
        "Battery warranty on electric vans",
        "Eight years or 160,000 km on the battery.",
        json!(["EV"]),
        true,
    )
    .await;
    let discount =
        add("Fleet discount", "From ten vehicles, 8% off the list price.", json!(["pricing"]), true).await;
    add("Battery warranty draft", "Not reviewed yet: never shown to reps.", json!(["EV"]), false).await;
    let related = |text: &str| format!("{path}/related?text={}", text.replace(' ', "%20"));

    let (s, found) = owner
        .rest(Method::GET, &related("How long is the battery warranty on your electric vans"), None)
        .await;
    assert_eq!(s, 200, "{found}");
    let ids: Vec<_> = found.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    assert_eq!(ids.first(), Some(&warranty.as_str()), "{found}");
    assert!(
        found.as_array().unwrap().iter().all(|i| i["status"] == "approved"),
        "drafts never show: {found}"
    );
    let (_, found) = owner.rest(Method::GET, &related("what discount for twelve vehicles"), None).await;
    assert_eq!(found[0]["id"].as_str(), Some(discount.as_str()), "{found}");
    // Small talk finds nothing rather than padding the panel.
    let (s, found) = owner.rest(Method::GET, &related("yes sure go ahead"), None).await;
    assert_eq!((s, found), (200, json!([])));
    let (s, e) = owner.rest(Method::GET, &related(&"word ".repeat(500)), None).await;
    assert_eq!((s, code(&e)), (422, "text_too_long"));
    // Another organisation sees none of it.
    let stranger = user(&app, "Sam", "sam@example.com").await;
    let their = stranger.create_org("Other").await;
    assert_eq!(stranger.rest(Method::GET, &related("battery warranty"), None).await.0, 404);
    let (s, found) = stranger
        .rest(Method::GET, &format!("/orgs/{their}/knowledge/related?text=battery%20warranty"), None)
        .await;
    assert_eq!((s, found), (200, json!([])));
});

on_both_backends!(technique_library_and_ratings, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let mia = invite(&app, &owner, &org, "Mia", "mia@example.com", "member").await;
    let (s, en) = mia.rest(Method::GET, &format!("/orgs/{org}/techniques?language=en"), None).await;
    assert_eq!(s, 200);
    let phases: std::collections::BTreeSet<_> =
        en.as_array().unwrap().iter().map(|t| t["phase"].as_str().unwrap()).collect();
    assert_eq!(phases.len(), 5, "every phase has techniques: {phases:?}");
    let (_, fr) =
        mia.rest(Method::GET, &format!("/orgs/{org}/techniques?language=fr&phase=discovery"), None).await;
    assert!(fr.as_array().unwrap().iter().any(|t| t["name"] == "Questions SPIN"), "{fr}");
    let (s, e) = mia.rest(Method::GET, &format!("/orgs/{org}/techniques?phase=haggling"), None).await;
    assert_eq!((s, code(&e)), (422, "unknown_phase"));
    let (s, _) = mia.rest(Method::GET, &format!("/orgs/{org}/techniques?language=de"), None).await;
    assert_eq!(s, 422);

    let id = en[0]["id"].as_str().unwrap();
    let path = format!("/orgs/{org}/techniques/{id}/rating");
    let rate = |r: i64| Some(json!({"rating": r}));
    assert_eq!(mia.rest(Method::POST, &path, rate(6)).await.0, 422);
    assert_eq!(mia.rest(Method::POST, &path, rate(0)).await.0, 422);
    mia.rest(Method::POST, &path, rate(5)).await;
    let (s, t) = mia.rest(Method::POST, &path, rate(2)).await;
    assert_eq!(
        (s, t["ratings"].as_i64(), t["my_rating"].as_i64()),
        (200, Some(1), Some(2)),
        "a second rating replaces the first"
    );
    let (_, t) = owner.rest(Method::POST, &path, rate(4)).await;
    assert_eq!((t["ratings"].as_i64(), t["rating"].as_f64()), (Some(2), Some(3.0)));

    let stranger = user(&app, "Sam", "sam@example.com").await;
    let their = stranger.create_org("Other").await;
    let (s, _) = stranger
        .rest(Method::POST, &format!("/orgs/{their}/techniques/{id}/rating"), Some(json!({"rating": 1})))
        .await;
    assert_eq!(s, 404);
});

/// Reads `n` events from a session's live stream (with a deadline).
async fn read_events(mut res: reqwest::Response, n: usize) -> Vec<Value> {
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while out.len() < n {
        let chunk = tokio::time::timeout_at(deadline, res.chunk()).await.expect("events in time");
        let Ok(Some(bytes)) = chunk else { break };
        buf.push_str(&String::from_utf8_lossy(&bytes));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let data: Vec<&str> =
                frame.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
            if !data.is_empty() {
                out.push(serde_json::from_str(&data.join("\n")).unwrap());
            }
        }
    }
    out
}

on_both_backends!(live_session_from_first_words_to_outcome, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let rep = invite(&app, &owner, &org, "Remy", "remy@example.com", "member").await;
    let p = prospect(&owner, &org, json!({"first_name": "Paul", "last_name": "Roux", "company": "Roux Transports", "phone": "+33612345678"})).await;
    let dnc = prospect(
        &owner,
        &org,
        json!({"first_name": "Dina", "last_name": "Nope", "phone": "+33699999999", "do_not_call": true}),
    )
    .await;

    // The rep's queue: open prospects, new first.
    let (_, queue) = rep.rest(Method::GET, &format!("/orgs/{org}/copilot/queue"), None).await;
    let ids: Vec<_> = queue.as_array().unwrap().iter().map(|q| q["prospect_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [p.as_str()], "do-not-call prospects never queue: {queue}");
    assert_eq!(queue[0]["reason"], "new");

    // A real call to a do-not-call prospect is refused; practice is allowed.
    let start = |prospect: &str, mode: &str| json!({"prospect_id": prospect, "mode": mode, "language": "en"});
    let (s, e) =
        rep.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(start(&dnc, "call"))).await;
    assert_eq!((s, code(&e)), (409, "call_not_allowed"));
    let (s, practice) =
        rep.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(start(&dnc, "practice"))).await;
    assert_eq!(s, 201, "{practice}");

    // Calling hours around the clock, so the real call below is allowed whenever the test runs.
    let (s, v) = owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/compliance"),
            Some(json!({"window_start_minute": 0, "window_end_minute": 1440, "default_region": "FR"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, session) =
        rep.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(start(&p, "call"))).await;
    assert_eq!(s, 201, "{session}");
    let sid = session["id"].as_str().unwrap().to_string();
    assert_eq!((session["phase"].as_str(), session["progress"].as_i64()), (Some("opening"), Some(0)));
    let opening = session["script"]["phases"][0]["text"].as_str().unwrap();
    assert!(
        opening.starts_with("Hi Paul, this is Remy."),
        "variables filled for this prospect and rep: {opening}"
    );

    // Watch the live stream while the transcript comes in.
    let events = rep
        .http
        .get(format!("{}/api/v1/orgs/{org}/copilot/sessions/{sid}/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let watcher = tokio::spawn(read_events(events, 6));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let say = |speaker: &'static str, text: &'static str, is_final: bool| {
        let path = format!("/orgs/{org}/copilot/sessions/{sid}/transcript");
        let rep = &rep;
        async move {
            rep.rest(
                Method::POST,
                &path,
                Some(json!({"speaker": speaker, "text": text, "is_final": is_final})),
            )
            .await
        }
    };
    let (s, out) = say("prospect", "Yes, I have a minute, go ahead", true).await;
    assert_eq!(s, 200, "{out}");
    let phase = out.as_array().unwrap().iter().find(|e| e["type"] == "phase").expect("advanced");
    assert_eq!(
        (phase["advance"]["from"].as_str(), phase["advance"]["to"].as_str()),
        (Some("opening"), Some("discovery"))
    );
    // An objection in a partial result raises the card at once, with the script's handler.
    let (_, out) = say("prospect", "honestly that's too expensive", false).await;
    let card = out.as_array().unwrap().iter().find(|e| e["type"] == "objection").expect("card");
    assert_eq!(card["detection"]["kind"], "too_expensive");
    assert!(card["handler"]["response"].as_str().unwrap().contains("Compared with what"), "{card}");
    // …and its final does not raise it twice.
    let (_, out) = say("prospect", "Honestly that's too expensive.", true).await;
    assert!(!out.as_array().unwrap().iter().any(|e| e["type"] == "objection"));
    // French works in the same session.
    let (_, out) = say("prospect", "Envoyez-moi un mail", true).await;
    assert!(out.as_array().unwrap().iter().any(|e| e["detection"]["kind"] == "send_email"), "{out}");

    let seen = watcher.await.unwrap();
    let types: Vec<_> = seen.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["transcript", "phase", "transcript", "objection", "transcript", "transcript"],
        "{seen:?}"
    );

    // Empty and huge utterances; manual navigation; unknown phases.
    let (s, out) = say("prospect", "   ", true).await;
    assert_eq!((s, out), (200, json!([])));
    let huge = "blah ".repeat(2_000);
    let (s, e) = rep
        .rest(
            Method::POST,
            &format!("/orgs/{org}/copilot/sessions/{sid}/transcript"),
            Some(json!({"text": huge})),
        )
        .await;
    assert_eq!((s, code(&e)), (422, "text_too_long"));
    let nav = format!("/orgs/{org}/copilot/sessions/{sid}/navigate");
    let (_, ev) = rep.rest(Method::POST, &nav, Some(json!({"to": "next"}))).await;
    assert_eq!(ev["advance"]["to"], "presentation");
    let (s, e) = rep.rest(Method::POST, &nav, Some(json!({"to": "phase", "phase": "haggling"}))).await;
    assert_eq!((s, code(&e)), (422, "validation"));
    let (_, ev) = rep.rest(Method::POST, &nav, Some(json!({"to": "phase", "phase": "closing"}))).await;
    assert_eq!((ev["advance"]["to"].as_str(), ev["progress"].as_i64()), (Some("closing"), Some(100)));

    // Reopening the session replays what happened.
    let (_, view) = rep.rest(Method::GET, &format!("/orgs/{org}/copilot/sessions/{sid}"), None).await;
    assert_eq!(view["phase"], "closing");
    let replay = view["events"].as_array().unwrap();
    assert!(
        replay.iter().all(|e| e["type"] != "transcript" || e["is_final"] == true),
        "partials are not stored"
    );
    assert_eq!(replay.iter().filter(|e| e["type"] == "objection").count(), 2);

    // Another member's session is not theirs; another org's even less.
    let other_rep = invite(&app, &owner, &org, "Nina", "nina@example.com", "member").await;
    assert_eq!(
        other_rep.rest(Method::GET, &format!("/orgs/{org}/copilot/sessions/{sid}"), None).await.0,
        404
    );
    let stranger = user(&app, "Sam", "sam@example.com").await;
    let their = stranger.create_org("Other").await;
    for path in
        [format!("/orgs/{org}/copilot/sessions/{sid}"), format!("/orgs/{their}/copilot/sessions/{sid}")]
    {
        assert_eq!(stranger.rest(Method::GET, &path, None).await.0, 404);
    }
    let (s, _) = stranger
        .rest(
            Method::POST,
            &format!("/orgs/{their}/copilot/sessions/{sid}/transcript"),
            Some(json!({"text": "too expensive"})),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(
        stranger
            .rest(Method::POST, &format!("/orgs/{their}/copilot/sessions"), Some(start(&p, "practice")))
            .await
            .0,
        404
    );

    // Ending: a callback needs a future date; the outcome moves the prospect.
    let end = format!("/orgs/{org}/copilot/sessions/{sid}/end");
    let (s, e) = rep.rest(Method::POST, &end, Some(json!({"outcome": "callback_scheduled"}))).await;
    assert_eq!((s, code(&e), e["field"].as_str()), (422, "required_value", Some("callback_at")));
    let (s, _) = rep.rest(Method::POST, &end, Some(json!({"outcome": "no_idea"}))).await;
    assert_eq!(s, 422);
    let when = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    let (s, ended) = rep
        .rest(Method::POST, &end, Some(json!({"outcome": "callback_scheduled", "callback_at": when, "notes": "Call back after the board meeting"})))
        .await;
    assert_eq!((s, ended["outcome"].as_str()), (200, Some("callback_scheduled")), "{ended}");
    // Twice (a double click, a retry): refused, nothing changes.
    let (s, e) = rep.rest(Method::POST, &end, Some(json!({"outcome": "not_interested"}))).await;
    assert_eq!((s, code(&e)), (409, "conversation_ended"));
    let (s, _) = say("prospect", "one more thing", true).await;
    assert_eq!(s, 409);

    let (_, pr) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}"), None).await;
    let (_, calls) = rep.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/calls"), None).await;
    assert_eq!(calls[0]["outcome"], "callback_scheduled");
    assert_eq!((calls[0]["by"].as_str(), calls[0]["kind"].as_str()), (Some("Remy"), Some("copilot")));
    assert_eq!(pr["status"], "callback_scheduled", "{pr}");
    let (_, queue) = rep.rest(Method::GET, &format!("/orgs/{org}/copilot/queue"), None).await;
    assert_eq!(
        (queue[0]["reason"].as_str(), queue[0]["callback_at"].is_string()),
        (Some("callback"), true),
        "{queue}"
    );
    let (_, notes) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/notes"), None).await;
    assert_eq!(notes[0]["body"], "Call back after the board meeting");
    let (_, activity) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/activity"), None).await;
    assert!(activity.as_array().unwrap().iter().any(|a| a["kind"] == "call_logged"), "{activity}");

    // Practice mode (the rep's microphone as the source) logs on the prospect too.
    let psid = practice["id"].as_str().unwrap();
    let (s, _) = rep
        .rest(
            Method::POST,
            &format!("/orgs/{org}/copilot/sessions/{psid}/end"),
            Some(json!({"outcome": "not_interested"})),
        )
        .await;
    assert_eq!(s, 200);
    let (_, d) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{dnc}"), None).await;
    assert_eq!(d["status"], "not_interested");
});

/// How long a test waits for the objection model. The first load on a
/// machine embeds every example (then cached beside the model): 177 s for
/// these two tests alone on 2 cores, more under the whole suite's load —
/// the two minutes this used to allow only ever passed with a warm cache.
const MODEL_LOAD: Duration = Duration::from_secs(900);

/// The embedding model file, when installed (scripts/setup.sh); with
/// CI=true its absence fails the run.
fn embedding_model() -> Option<String> {
    match std::env::var("HANDOO_EMBEDDING_MODEL") {
        Ok(p) if std::path::Path::new(&p).is_file() => Some(p),
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("HANDOO_EMBEDDING_MODEL is not an installed model and CI=true (source scripts/setup.sh)")
        }
        _ => {
            eprintln!("semantic objection test skipped: no HANDOO_EMBEDDING_MODEL");
            None
        }
    }
}

on_both_backends!(objections_are_caught_by_meaning_when_no_rule_matches, |backend: Backend| async move {
    let Some(model) = embedding_model() else { return };
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_EMBEDDING_MODEL", &model)]).await else { return };
    assert!(app.state.server_ctx.copilot.semantic().wait_loaded(MODEL_LOAD).await, "model loads");
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let p =
        prospect(&owner, &org, json!({"first_name": "Paul", "last_name": "Roux", "phone": "+33612345678"}))
            .await;
    let (s, session) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/copilot/sessions"),
            Some(json!({"prospect_id": p, "mode": "practice", "language": "en"})),
        )
        .await;
    assert_eq!(s, 201, "{session}");
    let path = format!("/orgs/{org}/copilot/sessions/{}/transcript", session["id"].as_str().unwrap());
    let say = |speaker: &'static str, text: &'static str, is_final: bool| {
        let (owner, path) = (&owner, &path);
        async move {
            let (s, out) = owner
                .rest(
                    Method::POST,
                    path,
                    Some(json!({"speaker": speaker, "text": text, "is_final": is_final})),
                )
                .await;
            assert_eq!(s, 200, "{out}");
            out.as_array().unwrap().iter().filter(|e| e["type"] == "objection").cloned().collect::<Vec<_>>()
        }
    };
    let paraphrase = "Honestly that's a lot more than we budgeted for this kind of thing";
    assert!(say("prospect", paraphrase, false).await.is_empty(), "partials wait for the final line");
    assert!(
        say("prospect", "if it were too expensive I'd tell", false).await.is_empty(),
        "with a classifier, even a rule's words on a partial line raise nothing"
    );
    assert!(say("rep", paraphrase, true).await.is_empty(), "the rep's own words raise nothing");
    let cards = say("prospect", paraphrase, true).await;
    assert_eq!(cards.len(), 1, "{cards:?}");
    let d = &cards[0]["detection"];
    assert_eq!(d["kind"], "too_expensive");
    assert!(d["similarity"].as_u64().is_some_and(|s| (55..=100).contains(&s)), "{d}");
    assert_eq!(d["matched"], paraphrase);
    assert!(
        cards[0]["handler"]["response"].as_str().is_some_and(|r| !r.is_empty()),
        "the script's handler: {cards:?}"
    );
    // Ordinary answers stay quiet, negated and hypothetical objections too
    // (the phrase rules alone would raise a card for these two).
    assert!(say("prospect", "Sounds good, tell me how it works", true).await.is_empty());
    assert!(say("prospect", "if it were too expensive I'd tell you, don't worry", true).await.is_empty());
    assert!(say("prospect", "no need to call me back, we can sort it out now", true).await.is_empty());
    let cards = say("prospect", "I'd have to check with my boss", true).await;
    assert_eq!(cards[0]["detection"]["kind"], "not_decision_maker", "{cards:?}");
    // An opt-out heard by the rules stands alone.
    let cards = say("prospect", "No thanks, and please stop calling me", true).await;
    assert_eq!(cards.iter().map(|c| c["detection"]["kind"].clone()).collect::<Vec<_>>(), ["opt_out"]);
});

// Where the organisation has an LLM, utterances the classifier is unsure of
// are put to it off the live path; a card it confirms appears late, stored
// and labelled with the model's name. Confident cards and plainly quiet
// lines are never sent; without an LLM nothing is.
on_both_backends!(unsure_utterances_get_a_late_second_opinion, |backend: Backend| async move {
    let Some(model) = embedding_model() else { return };
    let mock = MockVendors::start().await;
    let base = mock.base_url("openai");
    let Some(app) =
        TestApp::spawn_with(backend, &[("HANDOO_EMBEDDING_MODEL", &model), ("OPENAI_BASE_URL", &base)]).await
    else {
        return;
    };
    assert!(app.state.server_ctx.copilot.semantic().wait_loaded(MODEL_LOAD).await);
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let p =
        prospect(&owner, &org, json!({"first_name": "Paul", "last_name": "Roux", "phone": "+33612345678"}))
            .await;
    let body = json!({"prospect_id": p, "mode": "practice", "language": "en"});
    let (_, session) = owner.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(body)).await;
    let sid = session["id"].as_str().unwrap().to_string();
    let say = |text: &'static str| {
        let (owner, path) = (&owner, format!("/orgs/{org}/copilot/sessions/{sid}/transcript"));
        async move {
            let body = json!({"speaker": "prospect", "text": text, "is_final": true});
            let (s, out) = owner.rest(Method::POST, &path, Some(body)).await;
            assert_eq!(s, 200, "{out}");
            out.as_array().unwrap().iter().filter(|e| e["type"] == "objection").count()
        }
    };
    let cards = || async {
        let (_, v) = owner.rest(Method::GET, &format!("/orgs/{org}/copilot/sessions/{sid}"), None).await;
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "objection")
            .cloned()
            .collect::<Vec<_>>()
    };
    let asked = || {
        mock.state
            .requests_for("openai")
            .into_iter()
            .filter(|r| r.body.to_string().contains("You label one thing"))
            .map(|r| r.body["messages"][1]["content"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    // The classifier alone is unsure of this one: no card now.
    let unsure = "mm, the numbers are a bit of a stretch for us this quarter";
    assert_eq!(say(unsure).await, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(asked().is_empty() && cards().await.is_empty(), "no LLM configured: nobody is asked");

    owner
        .call(
            "save_provider_settings",
            &[
                ("org_id", &org),
                ("provider", "openai"),
                ("api_key", "sk-test"),
                ("base_url", ""),
                ("clear_key", "false"),
            ],
        )
        .await
        .expect("save key");
    assert_eq!(say("Sounds good, tell me how it works").await, 0);
    assert_eq!(say("I'd have to check with my boss").await, 1, "a confident card");
    assert_eq!(say(unsure).await, 0, "the live path does not wait");
    let mut late = Vec::new();
    for _ in 0..100 {
        late = cards().await.into_iter().filter(|c| !c["detection"]["confirmed_by"].is_null()).collect();
        if !late.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(late.len(), 1, "{late:?}");
    let d = &late[0]["detection"];
    assert_eq!(
        (d["kind"].as_str(), d["confirmed_by"].as_str()),
        (Some("too_expensive"), Some("gpt-4.1")),
        "{d}"
    );
    assert_eq!(d["matched"], unsure);
    assert!(
        late[0]["handler"]["response"].as_str().is_some_and(|r| !r.is_empty()),
        "with the script's handler"
    );
    let asked_about = asked();
    assert_eq!(asked_about.len(), 1, "only the unsure line was sent: {asked_about:?}");
    assert!(asked_about[0].contains("stretch"), "the utterance travels as data: {asked_about:?}");

    // The model may also say there is nothing: then nothing appears.
    assert_eq!(say("hmm we'll see, maybe").await, 0);
    for _ in 0..100 {
        if asked().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(asked().len(), 2);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(cards().await.len(), 2, "the confident card and the one confirmed late");
});

// A prospect who asks not to be called again raises an opt-out card (not a
// rebuttal); one click honours it: the prospect is opted out, the number is
// on the do-not-call list, and what they said is kept in the timeline and
// the audit log. Again is a no-op; other cards and other organisations are
// refused.
on_both_backends!(opt_outs_heard_on_a_call_are_honoured_with_evidence, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let rep = invite(&app, &owner, &org, "Remy", "remy@example.com", "member").await;
    let p =
        prospect(&owner, &org, json!({"first_name": "Paul", "last_name": "Roux", "phone": "+33612345678"}))
            .await;
    let body = json!({"prospect_id": p, "mode": "practice", "language": "fr"});
    let (s, session) = rep.rest(Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(body)).await;
    assert_eq!(s, 201, "{session}");
    let sid = session["id"].as_str().unwrap().to_string();
    let say = |text: &'static str| {
        let path = format!("/orgs/{org}/copilot/sessions/{sid}/transcript");
        let rep = &rep;
        async move {
            let (s, out) = rep
                .rest(
                    Method::POST,
                    &path,
                    Some(json!({"speaker": "prospect", "text": text, "is_final": true})),
                )
                .await;
            assert_eq!(s, 200, "{out}");
            out.as_array()
                .unwrap()
                .iter()
                .filter(|e| e["type"] == "objection")
                .cloned()
                .collect::<Vec<Value>>()
        }
    };
    let cards = say("C'est trop cher pour nous").await;
    let price_seq = cards[0]["seq"].as_i64().unwrap();
    let said = "Non merci, et arrêtez de m'appeler, c'est la troisième fois";
    let cards = say(said).await;
    assert_eq!(cards.len(), 1, "the opt-out alone, no rebuttal for the refusal said with it: {cards:?}");
    assert_eq!(cards[0]["detection"]["kind"], "opt_out");
    let seq = cards[0]["seq"].as_i64().unwrap();

    let path = format!("/orgs/{org}/copilot/sessions/{sid}/opt-out");
    let (s, e) = rep.rest(Method::POST, &path, Some(json!({"seq": price_seq}))).await;
    assert_eq!((s, code(&e)), (422, "invalid_value"), "only an opt-out card: {e}");
    let (s, e) = rep.rest(Method::POST, &path, Some(json!({"seq": 9999}))).await;
    assert_eq!(s, 404, "{e}");
    let stranger = user(&app, "Sam", "sam@example.com").await;
    stranger.create_org("Other").await;
    let (s, _) = stranger.rest(Method::POST, &path, Some(json!({"seq": seq}))).await;
    assert_eq!(s, 404, "another organisation's session does not exist for them");

    let (s, done) = rep.rest(Method::POST, &path, Some(json!({"seq": seq}))).await;
    assert_eq!(s, 200, "{done}");
    assert_eq!(
        (done["phone"].as_str(), done["utterance"].as_str(), done["already_recorded"].as_bool()),
        (Some("+33612345678"), Some(said), Some(false))
    );
    let (_, prospect_now) = rep.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}"), None).await;
    assert_eq!(prospect_now["opted_out"], true, "{prospect_now}");
    let (_, list) = rep.rest(Method::GET, &format!("/orgs/{org}/dnc?search=%2B33612345678"), None).await;
    assert!(list.to_string().contains("+33612345678"), "listed: {list}");
    let (_, acts) = rep.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/activity"), None).await;
    let entries: Vec<&Value> =
        acts.as_array().unwrap().iter().filter(|a| a["kind"] == "opted_out_on_call").collect();
    assert_eq!(entries.len(), 1, "{acts}");
    assert!(
        entries[0].to_string().contains("troisième fois"),
        "the utterance is the evidence: {}",
        entries[0]
    );
    let (s, audit) = owner.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
    assert_eq!(s, 200);
    let entry =
        audit.as_array().unwrap().iter().find(|e| e["action"] == "prospect.opted_out").expect("audited");
    assert!(entry.to_string().contains("troisième fois"), "{entry}");

    // A second click (or a retried request) writes nothing again.
    let (s, again) = rep.rest(Method::POST, &path, Some(json!({"seq": seq}))).await;
    assert_eq!((s, again["already_recorded"].as_bool()), (200, Some(true)));
    let (_, acts) = rep.rest(Method::GET, &format!("/orgs/{org}/prospects/{p}/activity"), None).await;
    assert_eq!(acts.as_array().unwrap().iter().filter(|a| a["kind"] == "opted_out_on_call").count(), 1);
});
