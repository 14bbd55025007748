//! API keys through the HTTP boundary: creation and grants, what a key may
//! reach (its organisation, its permissions, nothing else), revocation on
//! the next request and on open streams, CSRF exemption without letting a
//! cookie ride along, per-key rate limits and batched usage counters, and
//! the actor recorded on what a key does.

use crate::common;

use common::{Backend, Client, TestApp, GOOD_PASSWORD};
use entity::{api_keys, prospect_notes};
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::{json, Value};

/// An owner with an organisation.
async fn owner(app: &TestApp, name: &str, email: &str, org: &str) -> (Client, String) {
    let c = app.client().await;
    c.sign_up(name, email, GOOD_PASSWORD).await.expect("sign up");
    let org = c.create_org(org).await;
    (c, org)
}

/// Creates a key through the server function: (secret, key id).
async fn key(c: &Client, org: &str, name: &str, permissions: &[&str]) -> Result<(String, String), String> {
    let body = json!({"org_id": org, "name": name, "permissions": permissions});
    let out = c.call_json("create_api_key", body).await?;
    Ok((out["secret"].as_str().unwrap().to_string(), out["key"]["id"].as_str().unwrap().to_string()))
}

/// A request from an integration: no cookies, no CSRF token, the key only.
async fn with_key(app: &TestApp, key: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let (s, v, _) = with_key_raw(app, key, method, path, body).await;
    (s, v)
}

async fn with_key_raw(
    app: &TestApp,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}/api/v1{path}", app.base))
        .header("authorization", format!("Bearer {key}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), headers)
}

const WORK: &[&str] = &["view_organization", "use_workspace"];

on_both_backends!(
    a_key_works_for_its_organisation_without_csrf_and_is_shown_once,
    |backend: Backend| async move {
        let Some(app) = TestApp::spawn(backend).await else { return };
        let (olivia, org) = owner(&app, "Olivia", "olivia@example.com", "Acme").await;
        let (secret, key_id) = key(&olivia, &org, "CRM sync", WORK).await.expect("create key");
        assert!(secret.starts_with("hdo_") && secret.len() == 56, "{secret}");

        // Read and write with the key alone.
        let (s, list) = with_key(&app, &secret, Method::GET, &format!("/orgs/{org}/prospects"), None).await;
        assert_eq!(s, 200, "{list}");
        let p = json!({"first_name": "Paul", "last_name": "Roux", "phone": "+33612345678"});
        let (s, created) =
            with_key(&app, &secret, Method::POST, &format!("/orgs/{org}/prospects"), Some(p)).await;
        assert_eq!(s, 201, "{created}");
        let pid = created["id"].as_str().unwrap();
        let note = json!({"body": "Synced from the CRM"});
        let (s, out) =
            with_key(&app, &secret, Method::POST, &format!("/orgs/{org}/prospects/{pid}/notes"), Some(note))
                .await;
        assert_eq!(s, 201, "{out}");

        // The note records the key as its actor, not a person.
        let notes = prospect_notes::Entity::find().all(&app.state.db).await.unwrap();
        let n = notes.iter().find(|n| n.body == "Synced from the CRM").expect("note stored");
        assert_eq!(n.author_id, None);
        assert_eq!(n.actor_api_key_id.map(|u| u.to_string()), Some(key_id.clone()));

        // The list never shows the secret again, only its prefix, and counts use.
        let keys = olivia.call("list_api_keys", &[("org_id", &org)]).await.expect("list");
        let text = keys.to_string();
        assert!(!text.contains(&secret[13..]), "the secret is never listed again");
        let k = &keys.as_array().unwrap()[0];
        assert_eq!(k["prefix"], secret[..12]);
        assert_eq!(k["request_count"], 3, "{k}");
        assert!(k["last_used_at"].is_string(), "{k}");
        assert_eq!(k["daily"][0][1], 3, "{k}");
        assert_eq!(k["permissions"], json!(["view_organization", "use_workspace"]));

        // Creation is audited with the person who did it.
        let (s, audit) = olivia.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
        assert_eq!(s, 200);
        let entry =
            audit.as_array().unwrap().iter().find(|e| e["action"] == "api_key.created").expect("audited");
        assert_eq!(entry["actor_email"], "olivia@example.com");
    }
);

on_both_backends!(a_key_of_another_organisation_is_a_stranger, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let (olivia, org_a) = owner(&app, "Olivia", "olivia@example.com", "Acme").await;
    let (bob, org_b) = owner(&app, "Bob", "bob@example.com", "Bobco").await;
    let (a_key, _) = key(&olivia, &org_a, "A", WORK).await.unwrap();
    let (b_key, _) = key(&bob, &org_b, "B", WORK).await.unwrap();
    let (s, p) = with_key(
        &app,
        &a_key,
        Method::POST,
        &format!("/orgs/{org_a}/prospects"),
        Some(json!({"first_name": "Ann", "phone": "+33612345678"})),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    let pid = p["id"].as_str().unwrap();

    // B's key on A's organisation: exactly what a non-member gets.
    let (s, stranger_body) =
        with_key(&app, &b_key, Method::GET, &format!("/orgs/{org_a}/prospects"), None).await;
    let (s2, non_member_body) = bob.rest(Method::GET, &format!("/orgs/{org_a}/prospects"), None).await;
    assert_eq!((s, s2), (404, 404));
    assert_eq!(stranger_body, non_member_body);
    for (method, path, body) in [
        (Method::GET, format!("/orgs/{org_a}/prospects/{pid}"), None),
        (Method::PATCH, format!("/orgs/{org_a}/prospects/{pid}"), Some(json!({"first_name": "X"}))),
        (Method::DELETE, format!("/orgs/{org_a}/prospects/{pid}"), None),
        (Method::GET, format!("/orgs/{org_a}/audit"), None),
    ] {
        let (s, _) = with_key(&app, &b_key, method, &path, body).await;
        assert_eq!(s, 404, "{path}");
    }
    // Unknown, malformed and look-alike keys.
    let forged = format!("{}{}", &a_key[..13], "A".repeat(43));
    for bad in ["", "hdo_", "nonsense", &forged, &format!("{a_key}x")] {
        let (s, body) = with_key(&app, bad, Method::GET, &format!("/orgs/{org_a}/prospects"), None).await;
        assert_eq!(s, 401, "{bad:?}: {body}");
        assert_eq!(body["code"], "api_key_invalid");
    }
    // Still A's.
    let (s, _) = with_key(&app, &a_key, Method::GET, &format!("/orgs/{org_a}/prospects/{pid}"), None).await;
    assert_eq!(s, 200);
});

on_both_backends!(
    a_key_holds_only_its_grant_and_never_what_stays_with_people,
    |backend: Backend| async move {
        let Some(app) = TestApp::spawn(backend).await else { return };
        let (olivia, org) = owner(&app, "Olivia", "olivia@example.com", "Acme").await;
        let (view_only, _) = key(&olivia, &org, "Viewer", &["view_organization"]).await.unwrap();
        let (s, body) =
            with_key(&app, &view_only, Method::GET, &format!("/orgs/{org}/prospects"), None).await;
        assert_eq!((s, body["code"].as_str()), (403, Some("forbidden")));
        let (s, _) = with_key(&app, &view_only, Method::GET, &format!("/orgs/{org}"), None).await;
        assert_eq!(s, 200, "the organisation itself is visible");

        let (worker, _) = key(&olivia, &org, "Worker", WORK).await.unwrap();
        let agent = uuid::Uuid::now_v7();
        let (s, _) =
            with_key(&app, &worker, Method::DELETE, &format!("/orgs/{org}/agents/{agent}"), None).await;
        assert_eq!(s, 403, "managing agents was not granted");
        let (s, _) = with_key(&app, &worker, Method::GET, &format!("/orgs/{org}/audit"), None).await;
        assert_eq!(s, 403);
        // Person-only actions refuse machines with a code that says so.
        let view = json!({"name": "Mine", "query": {}, "columns": []});
        let (s, body) =
            with_key(&app, &worker, Method::POST, &format!("/orgs/{org}/saved-views"), Some(view)).await;
        assert_eq!((s, body["code"].as_str()), (403, Some("person_required")), "{body}");

        // Grants: never beyond the creator, never what stays with people, never empty or unknown.
        for (perms, code) in [
            (vec!["manage_billing"], "forbidden"),
            (vec!["manage_api_keys"], "forbidden"),
            (vec!["delete_organization"], "forbidden"),
            (vec!["root"], "invalid_value"),
            (vec![], "required_value"),
        ] {
            assert_eq!(key(&olivia, &org, "Bad", &perms).await.unwrap_err(), code, "{perms:?}");
        }
        assert_eq!(key(&olivia, &org, "  ", WORK).await.unwrap_err(), "name_required");
        let (member, _) = olivia.invite_new_user(&app, &org, "Remy", "remy@example.com", "member").await;
        assert_eq!(
            key(&member, &org, "Mine", WORK).await.unwrap_err(),
            "forbidden",
            "members create no keys"
        );
        assert_eq!(member.call("list_api_keys", &[("org_id", &org)]).await.unwrap_err(), "forbidden");
        let (admin, _) = olivia.invite_new_user(&app, &org, "Ada", "ada@example.com", "admin").await;
        assert!(key(&admin, &org, "Admin's", &["manage_agents", "use_workspace"]).await.is_ok());
    }
);

on_both_backends!(revocation_applies_to_the_next_request_and_open_streams, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_STREAM_RECHECK_MS", "200")]).await else {
        return;
    };
    let (olivia, org) = owner(&app, "Olivia", "olivia@example.com", "Acme").await;
    let (secret, key_id) = key(&olivia, &org, "Voice pipeline", WORK).await.unwrap();
    let p = json!({"first_name": "Paul", "phone": "+33612345678"});
    let (_, p) = with_key(&app, &secret, Method::POST, &format!("/orgs/{org}/prospects"), Some(p)).await;
    let start = json!({"prospect_id": p["id"], "mode": "practice", "language": "en"});
    let (s, session) =
        with_key(&app, &secret, Method::POST, &format!("/orgs/{org}/copilot/sessions"), Some(start)).await;
    assert_eq!(s, 201, "{session}");
    let sid = session["id"].as_str().unwrap();
    let events = reqwest::Client::new()
        .get(format!("{}/api/v1/orgs/{org}/copilot/sessions/{sid}/events", app.base))
        .header("authorization", format!("Bearer {secret}"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);

    olivia.call("revoke_api_key", &[("org_id", &org), ("key_id", &key_id)]).await.expect("revoke");
    let (s, body) = with_key(&app, &secret, Method::GET, &format!("/orgs/{org}/prospects"), None).await;
    assert_eq!((s, body["code"].as_str()), (401, Some("api_key_invalid")));
    // The open stream ends with `event: revoked`.
    let text = tokio::time::timeout(std::time::Duration::from_secs(10), events.text())
        .await
        .expect("the stream ends after revocation")
        .unwrap();
    assert!(text.contains("event: revoked"), "{text}");
    // Revoking twice is fine; the list shows it revoked; both are audited once.
    olivia.call("revoke_api_key", &[("org_id", &org), ("key_id", &key_id)]).await.expect("idempotent");
    let keys = olivia.call("list_api_keys", &[("org_id", &org)]).await.unwrap();
    assert!(keys[0]["revoked_at"].is_string());
    let (_, audit) = olivia.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
    let revoked = audit.as_array().unwrap().iter().filter(|e| e["action"] == "api_key.revoked").count();
    assert_eq!(revoked, 1);
});

on_both_backends!(csrf_exempts_keys_but_never_lets_a_cookie_ride, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let (olivia, org) = owner(&app, "Olivia", "olivia@example.com", "Acme").await;
    let cookie = olivia.http_cookie_header(&app.base);
    let body = json!({"first_name": "Eve", "phone": "+33612345678"});
    let raw = |auth: Option<&str>, path: &str| {
        let mut req = reqwest::Client::new()
            .post(format!("{}{path}", app.base))
            .header("cookie", cookie.clone())
            .json(&body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req
    };
    let prospects = format!("/api/v1/orgs/{org}/prospects");
    // The session cookie without a CSRF token: refused, as always.
    let res = raw(None, &prospects).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "csrf_missing");
    // The cookie plus any bearer value: the cookie is not used at all.
    let res = raw(Some("Bearer not-a-key"), &prospects).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.json::<Value>().await.unwrap()["code"], "api_key_invalid");
    // A server function is reached only through the session, which such a
    // request no longer carries.
    let res = reqwest::Client::new()
        .post(format!("{}/api/create_org", app.base))
        .header("cookie", cookie.clone())
        .header("authorization", "Bearer whatever")
        .form(&[("name", "Sneaky")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "{}", res.text().await.unwrap());
    // Webhook routes verify signatures, not cookies: no CSRF refusal there.
    let res = raw(None, "/webhooks/nothing-here").send().await.unwrap();
    assert_ne!(res.status(), 403);
    // The organisation has no prospect named Eve.
    let (_, list) = olivia.rest(Method::GET, &format!("/orgs/{org}/prospects"), None).await;
    assert!(!list.to_string().contains("Eve"), "{list}");
});

on_both_backends!(each_key_has_its_own_rate_and_usage_is_written_in_batches, |backend: Backend| async move {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[("HANDOO_API_KEY_RATE_PER_MINUTE", "5"), ("HANDOO_USAGE_FLUSH_MS", "600000")],
    )
    .await
    else {
        return;
    };
    let (olivia, org) = owner(&app, "Olivia", "olivia@example.com", "Acme").await;
    let (a, a_id) = key(&olivia, &org, "A", WORK).await.unwrap();
    let (b, _) = key(&olivia, &org, "B", WORK).await.unwrap();
    let path = format!("/orgs/{org}/prospects");
    for _ in 0..5 {
        assert_eq!(with_key(&app, &a, Method::GET, &path, None).await.0, 200);
    }
    let (s, body, headers) = with_key_raw(&app, &a, Method::GET, &path, None).await;
    assert_eq!((s, body["code"].as_str()), (429, Some("rate_limited")));
    let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(with_key(&app, &b, Method::GET, &path, None).await.0, 200, "another key is unaffected");

    // Five counted requests, none written yet: no write per request.
    let row = api_keys::Entity::find_by_id(a_id.parse::<uuid::Uuid>().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.request_count, row.last_used_at), (0, None));
    // Listing writes what this node counted.
    let keys = olivia.call("list_api_keys", &[("org_id", &org)]).await.unwrap();
    let a_row = keys.as_array().unwrap().iter().find(|k| k["id"] == a_id.as_str()).unwrap();
    assert_eq!(a_row["request_count"], 5, "refused requests are not counted as use");
});
