//! Prospects through the HTTP boundary (REST and server functions), on
//! SQLite and PostgreSQL: CRUD with phone/email/time-zone rules, search,
//! filters, sorting and pagination, the activity timeline, notes, consent,
//! bulk actions with undo, CSV import (dry run, job, idempotence, hostile
//! files), streaming export, the do-not-call list and `may-call`, and
//! cross-tenant denial.

use crate::common;

use std::time::Duration;

use common::{Backend, Client, TestApp, GOOD_PASSWORD};
use reqwest::Method;
use serde_json::{json, Value};

async fn user(app: &TestApp, name: &str, email: &str) -> Client {
    let c = app.client().await;
    c.sign_up(name, email, GOOD_PASSWORD).await.expect("sign up");
    c
}

async fn invite_member(
    app: &TestApp,
    owner: &Client,
    org: &str,
    name: &str,
    email: &str,
) -> (Client, String) {
    owner.invite_new_user(app, org, name, email, "member").await
}

async fn set_region(c: &Client, org: &str, region: &str) {
    let (s, v) = c
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/compliance"),
            Some(json!({"window_start_minute": 480, "window_end_minute": 1260, "default_region": region})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
}

async fn create(c: &Client, org: &str, body: Value) -> (u16, Value) {
    c.rest(Method::POST, &format!("/orgs/{org}/prospects"), Some(body)).await
}

async fn list(c: &Client, org: &str, query: &str) -> Value {
    let (s, v) = c.rest(Method::GET, &format!("/orgs/{org}/prospects?{query}"), None).await;
    assert_eq!(s, 200, "{query}: {v}");
    v
}

fn names(page: &Value) -> Vec<String> {
    page["rows"].as_array().unwrap().iter().map(|r| r["last_name"].as_str().unwrap().to_string()).collect()
}

// Phone and email sorts read the prospects with a value through an index,
// then those without: page boundaries inside and across the two parts, both
// directions, pages past the end.
on_both_backends!(missing_values_sort_last_on_every_page_either_way, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let mut ids = Vec::new();
    for i in 0..11 {
        // Emails on every other prospect, in an order unlike creation's.
        let email = (i % 2 == 0).then(|| format!("p{}@example.com", (i * 7) % 11));
        let body = json!({"last_name": format!("N{i}"), "phone": format!("+3361000{i:04}"),
                          "email": email.clone().unwrap_or_default()});
        let (s, v) = create(&owner, &org, body).await;
        assert_eq!(s, 201, "{v}");
        ids.push((v["id"].as_str().unwrap().to_string(), email));
    }
    let rows = |v: &Value| -> Vec<(String, Option<String>)> {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), r["email"].as_str().map(str::to_string)))
            .collect()
    };
    for desc in [false, true] {
        let mut valued: Vec<_> = ids.iter().filter(|(_, e)| e.is_some()).cloned().collect();
        valued.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        let mut missing: Vec<_> = ids.iter().filter(|(_, e)| e.is_none()).cloned().collect();
        missing.sort();
        if desc {
            valued.reverse();
            missing.reverse();
        }
        let expected: Vec<_> = valued.into_iter().chain(missing).collect();
        for per_page in [1, 2, 4, 6, 11, 50] {
            let mut seen = Vec::new();
            for page in 1..=(11 / per_page + 2) {
                let v =
                    list(&owner, &org, &format!("sort=email&desc={desc}&per_page={per_page}&page={page}"))
                        .await;
                assert_eq!(v["total"], 11);
                seen.extend(rows(&v));
            }
            assert_eq!(seen, expected, "desc={desc} per_page={per_page}");
        }
    }
    // The do-not-call filter (a partial index on PostgreSQL and SQLite alike).
    let (s, v) = owner
        .rest(
            Method::PATCH,
            &format!("/orgs/{org}/prospects/{}", ids[3].0),
            Some(json!({"do_not_call": true})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let v = list(&owner, &org, "dnc=true&sort=email").await;
    assert_eq!((v["total"].as_u64(), rows(&v)), (Some(1), vec![ids[3].clone()]));
    assert_eq!(list(&owner, &org, "dnc=false").await["total"], 10);
    assert_eq!(list(&owner, &org, "dnc=true&search=n4").await["total"], 0);
    // With a filter that leaves only prospects without an email.
    let v = list(&owner, &org, "sort=email&desc=true&search=n3&per_page=50").await;
    assert_eq!((v["total"].as_u64(), rows(&v).len()), (Some(1), 1), "{v}");
    assert_eq!(rows(&v)[0].1, None);
});

on_both_backends!(crud_search_filter_sort_paginate, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    set_region(&owner, &org, "FR").await;

    // Phone normalised with the org's default region; time zone inferred.
    let (s, p) = create(
        &owner,
        &org,
        json!({"first_name": "Élodie", "last_name": "Durand", "company": "Garage Dupont", "phone": "06 12 34 56 78",
               "email": "Elodie@Garage-Dupont.fr", "tags": ["VIP", "paris"]}),
    )
    .await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["phone"], "+33612345678");
    assert_eq!(p["email"], "elodie@garage-dupont.fr");
    assert_eq!(p["timezone"], "Europe/Paris");
    assert_eq!(p["tags"], json!(["paris", "vip"]));
    assert_eq!(p["status"], "new");
    let elodie = p["id"].as_str().unwrap().to_string();
    // A US number written internationally gets its own zone.
    let (s, us) = create(&owner, &org, json!({"last_name": "Smith", "phone": "+1 415 555 2671"})).await;
    assert_eq!(s, 201, "{us}");
    assert_eq!(us["timezone"], "America/Los_Angeles");

    // Bad input: typed errors naming the field, nothing written.
    let (s, e) = create(&owner, &org, json!({"last_name": "X", "phone": "12"})).await;
    assert_eq!((s, e["code"].as_str(), e["field"].as_str()), (422, Some("invalid_phone"), Some("phone")));
    let (s, e) = create(&owner, &org, json!({"last_name": "X", "email": "not-an-email"})).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("invalid_email")));
    let (s, e) = create(&owner, &org, json!({"last_name": "X", "phone": "+33 6 12 34 56 78"})).await;
    assert_eq!(
        (s, e["code"].as_str(), e["field"].as_str()),
        (409, Some("duplicate_prospect"), Some("phone"))
    );
    assert_eq!(e["detail"], elodie.as_str());
    let (s, e) = create(
        &owner,
        &org,
        json!({"last_name": "X", "phone": "+33 6 99 99 99 99", "timezone": "Mars/Base"}),
    )
    .await;
    assert_eq!((s, e["code"].as_str()), (422, Some("invalid_timezone")));
    let (s, e) =
        create(&owner, &org, json!({"last_name": "X", "phone": "+33699999999", "custom": {"nope": 1}})).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("invalid_field_name")));
    let (s, e) = create(&owner, &org, json!({"first_name": "", "phone": "+33699999999"})).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("name_required")));
    let (s, _) = owner.rest(Method::POST, &format!("/orgs/{org}/prospects"), Some(json!("garbage"))).await;
    assert_eq!(s, 422);

    // A typed custom field, then 30 more prospects.
    let (s, f) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/custom-fields"),
            Some(json!({"key": "industry", "label": "Industry", "type": "enum", "options": ["Retail", "Auto"]})),
        )
        .await;
    assert_eq!(s, 201, "{f}");
    for i in 0..30 {
        let status = ["new", "contacted", "interested"][i % 3];
        let industry = if i % 2 == 0 { "retail" } else { "AUTO" };
        let (s, v) = create(
            &owner,
            &org,
            json!({"first_name": format!("P{i}"), "last_name": format!("Name{i:02}"), "company": format!("Co {}", i % 5),
                   "phone": format!("+3361000{i:04}"), "status": status, "tags": if i < 4 { vec!["hot"] } else { vec![] },
                   "custom": {"industry": industry}}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["custom"]["industry"], if i % 2 == 0 { "Retail" } else { "Auto" });
    }

    // Search: accent- and case-insensitive, phone fragments in any format, email parts.
    assert_eq!(names(&list(&owner, &org, "search=elodie").await), vec!["Durand"]);
    assert_eq!(names(&list(&owner, &org, "search=DUPONT").await), vec!["Durand"]);
    assert_eq!(names(&list(&owner, &org, "search=06%2012%2034").await), vec!["Durand"]);
    assert_eq!(names(&list(&owner, &org, "search=%2B33612").await), vec!["Durand"]);
    assert_eq!(names(&list(&owner, &org, "search=garage-dupont.fr").await), vec!["Durand"]);
    assert_eq!(list(&owner, &org, "search=name1").await["total"], 10);
    assert_eq!(list(&owner, &org, "search=p11%20name11").await["total"], 1);
    assert_eq!(list(&owner, &org, "search=p11%20name12").await["total"], 0, "every word must match");
    assert_eq!(list(&owner, &org, "search=100%25").await["total"], 0, "% is literal");
    assert_eq!(list(&owner, &org, "search=zzz").await["total"], 0);
    // The search index's query syntax is never the user's: quotes, stars,
    // operators and column filters are plain characters.
    for q in ["%22dupont", "dupont%22%20OR%20%22a", "dup*", "name1%20NEAR", "search_text%3Adupont", "(dup)"] {
        assert_eq!(list(&owner, &org, &format!("search={q}")).await["total"], 0, "{q}");
    }
    assert_eq!(list(&owner, &org, "search=name1%20AND").await["total"], 0, "AND is a word to find");

    // Filters.
    assert_eq!(list(&owner, &org, "status=interested").await["total"], 10);
    assert_eq!(list(&owner, &org, "status=interested,contacted").await["total"], 20);
    assert_eq!(list(&owner, &org, "tag=hot").await["total"], 4);
    assert_eq!(list(&owner, &org, "tag=HOT&status=new").await["total"], 2);
    assert_eq!(list(&owner, &org, "custom=industry:auto").await["total"], 15);
    assert_eq!(list(&owner, &org, "owner=none").await["total"], 32);
    let (s, e) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects?status=bogus"), None).await;
    assert_eq!((s, e["field"].as_str()), (422, Some("status")));
    let (s, e) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects?custom=industry:space"), None).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("invalid_value")));

    // Sorting and pagination: stable, complete, no overlap.
    let mut seen = Vec::new();
    for page in 1..=4 {
        let v = list(&owner, &org, &format!("search=name&sort=last_name&per_page=10&page={page}")).await;
        assert_eq!(v["total"], 30);
        seen.extend(names(&v));
    }
    let expected: Vec<String> = (0..30).map(|i| format!("Name{i:02}")).collect();
    assert_eq!(seen, expected);
    let v = list(&owner, &org, "sort=last_name&desc=true&per_page=1").await;
    assert_eq!(names(&v), vec!["Smith"]);
    assert_eq!(list(&owner, &org, "per_page=100000").await["per_page"], 200, "page size is capped");
    // Status sorts in pipeline order, not alphabetically ("contacted" < "interested" < "new").
    let by_status: Vec<String> = list(&owner, &org, "sort=status&per_page=200").await["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_string())
        .collect();
    let mut pipeline = by_status.clone();
    pipeline.sort_by_key(|s| ["new", "contacted", "interested"].iter().position(|x| x == s));
    assert_eq!(by_status, pipeline);
    assert_eq!(by_status.first().map(String::as_str), Some("new"));
    let v = list(&owner, &org, "sort=email&desc=true&per_page=1").await;
    assert_eq!(v["rows"][0]["email"], "elodie@garage-dupont.fr");
    let v = list(&owner, &org, "sort=phone&per_page=1").await;
    assert_eq!(v["rows"][0]["phone"], "+14155552671");

    // The UI's server function answers the same query.
    let page = owner
        .call_json(
            "list_prospects",
            json!({"org_id": org, "query": {"filter": {"search": "elodie"}, "sort": "created_at", "descending": true, "page": 1, "per_page": 10}}),
        )
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
});

on_both_backends!(edits_timeline_notes_consent_and_may_call, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let (member, member_id) = invite_member(&app, &owner, &org, "Max", "max@example.com").await;
    let (_, p) = create(
        &owner,
        &org,
        json!({"first_name": "Jean", "last_name": "Martin", "phone": "+33 6 11 22 33 44"}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    let path = format!("/orgs/{org}/prospects/{id}");

    // Patch several fields; each change lands in the timeline.
    let (s, v) = member
        .rest(
            Method::PATCH,
            &path,
            Some(json!({"status": "interested", "tags": ["b", "A"], "company": "Martin SA", "owner_id": member_id})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!((v["status"].as_str(), v["tags"].clone()), (Some("interested"), json!(["a", "b"])));
    assert_eq!(v["owner_name"], "Max");
    let (s, e) = member
        .rest(Method::PATCH, &path, Some(json!({"owner_id": "00000000-0000-0000-0000-000000000001"})))
        .await;
    assert_eq!((s, e["field"].as_str()), (404, Some("owner_id")), "owners must be members");
    let (s, e) = member.rest(Method::PATCH, &path, Some(json!({"phone": "", "email": ""}))).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (422, Some("required_value")),
        "a prospect keeps a way to be reached"
    );
    let (_, v) = member.rest(Method::PATCH, &path, Some(json!({"owner_id": null}))).await;
    assert_eq!(v["owner_id"], Value::Null);
    let (_, acts) = member.rest(Method::GET, &format!("{path}/activity"), None).await;
    let kinds: Vec<&str> = acts.as_array().unwrap().iter().map(|a| a["kind"].as_str().unwrap()).collect();
    for k in ["status_changed", "tags_changed", "field_changed", "owner_changed", "created"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert_eq!(kinds.last(), Some(&"created"));
    let status_change = acts.as_array().unwrap().iter().find(|a| a["kind"] == "status_changed").unwrap();
    assert_eq!(status_change["data"], json!({"from": "new", "to": "interested"}));
    assert_eq!(status_change["actor_name"], "Max");
    // A patch that changes nothing records nothing.
    member.rest(Method::PATCH, &path, Some(json!({"status": "interested"}))).await;
    let (_, again) = member.rest(Method::GET, &format!("{path}/activity"), None).await;
    assert_eq!(again.as_array().unwrap().len(), acts.as_array().unwrap().len());

    // Notes: timestamped, with author, newest first; empty ones refused.
    let (s, _) = member.rest(Method::POST, &format!("{path}/notes"), Some(json!({"body": "  "}))).await;
    assert_eq!(s, 422);
    member.rest(Method::POST, &format!("{path}/notes"), Some(json!({"body": "First call: busy"}))).await;
    let (s, n) =
        owner.rest(Method::POST, &format!("{path}/notes"), Some(json!({"body": "Call back Tuesday"}))).await;
    assert_eq!(s, 201, "{n}");
    let (_, notes) = member.rest(Method::GET, &format!("{path}/notes"), None).await;
    let notes = notes.as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(
        (notes[0]["body"].as_str(), notes[0]["author_name"].as_str()),
        (Some("Call back Tuesday"), Some("Olivia"))
    );

    // Consent: recorded with who and when, never in the future.
    let (s, c) = member
        .rest(
            Method::POST,
            &format!("{path}/consents"),
            Some(json!({"source": "Website form", "method": "web_form"})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    assert_eq!((c["captured_by_name"].as_str(), c["granted"].as_bool()), (Some("Max"), Some(true)));
    let (s, e) = member
        .rest(
            Method::POST,
            &format!("{path}/consents"),
            Some(json!({"source": "x", "method": "verbal", "captured_at": "2999-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!((s, e["field"].as_str()), (422, Some("captured_at")));
    let (s, e) = member
        .rest(Method::POST, &format!("{path}/consents"), Some(json!({"source": "x", "method": "telepathy"})))
        .await;
    assert_eq!(s, 422, "{e}");
    let (_, cs) = member.rest(Method::GET, &format!("{path}/consents"), None).await;
    assert_eq!(cs.as_array().unwrap().len(), 1);

    // may-call: Paris local time decides; DNC list and flags refuse.
    let may = |at: &'static str| {
        let member = &member;
        let path = path.clone();
        async move { member.rest(Method::GET, &format!("{path}/may-call?at={at}"), None).await.1 }
    };
    assert_eq!(may("2026-01-15T09:00:00Z").await["allowed"], true);
    let late = may("2026-01-15T20:30:00Z").await;
    assert_eq!(
        (late["allowed"].as_bool(), late["refusal"]["reason"].as_str()),
        (Some(false), Some("outside_window"))
    );
    assert_eq!(late["refusal"]["local_time"], "21:30");
    // Admin narrows the window; members cannot.
    let (s, _) = member
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/compliance"),
            Some(json!({"window_start_minute": 600, "window_end_minute": 720})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, e) = owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/compliance"),
            Some(json!({"window_start_minute": 720, "window_end_minute": 600})),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (422, Some("out_of_range")));
    owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/compliance"),
            Some(json!({"window_start_minute": 600, "window_end_minute": 720})),
        )
        .await;
    assert_eq!(may("2026-01-15T08:30:00Z").await["allowed"], false);
    assert_eq!(may("2026-01-15T09:30:00Z").await["allowed"], true);
    let (s, _) = member
        .rest(
            Method::POST,
            &format!("/orgs/{org}/dnc"),
            Some(json!({"phone": "0033 6 11 22 33 44", "reason": "asked"})),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(may("2026-01-15T09:30:00Z").await["refusal"]["reason"], "on_dnc_list");
    let (_, detail) = member.rest(Method::GET, &path, None).await;
    assert!(detail["call_block"].is_string(), "the detail page shows why calls are refused");
    // Only admins take a number off the list.
    let (s, _) = member.rest(Method::DELETE, &format!("/orgs/{org}/dnc/%2B33611223344"), None).await;
    assert_eq!(s, 403);
    let (s, _) = owner.rest(Method::DELETE, &format!("/orgs/{org}/dnc/%2B33611223344"), None).await;
    assert_eq!(s, 204);
    member.rest(Method::PATCH, &path, Some(json!({"opted_out": true}))).await;
    assert_eq!(may("2026-01-15T09:30:00Z").await["refusal"]["reason"], "opted_out");

    // DNC list import: numbers per line, header and junk reported, idempotent.
    let file = "phone\n+33 6 00 00 00 01\n06 00 00 00 02\nnot a number\n+33600000001\n";
    let (s, r) =
        owner.rest_raw(&format!("/orgs/{org}/dnc/import?reason=list"), "text/csv", file.into()).await;
    assert_eq!(s, 200, "{r}");
    // Without a default region a national number cannot be placed.
    assert_eq!((r["invalid"].as_u64(), r["invalid_lines"].clone()), (Some(2), json!([3, 4])));
    assert_eq!(r["added"], 1);
    let (_, r) = owner.rest_raw(&format!("/orgs/{org}/dnc/import"), "text/csv", file.into()).await;
    assert_eq!((r["added"].as_u64(), r["already_listed"].as_u64()), (Some(0), Some(1)));
});

on_both_backends!(bulk_actions_and_undo, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let me = owner.session().await["user"]["id"].as_str().unwrap().to_string();
    let mut ids = Vec::new();
    for i in 0..12 {
        let (_, p) = create(
            &owner,
            &org,
            json!({"last_name": format!("B{i:02}"), "phone": format!("+3361100{i:04}")}),
        )
        .await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    let bulk = |body: Value| {
        let owner = &owner;
        let org = org.clone();
        async move { owner.rest(Method::POST, &format!("/orgs/{org}/prospects/bulk"), Some(body)).await }
    };
    // On explicit ids.
    let (s, r) = bulk(json!({"selection": {"kind": "ids", "ids": &ids[..3]}, "action": "set_status", "status": "contacted"})).await;
    assert_eq!((s, r["affected"].as_u64()), (200, Some(3)), "{r}");
    assert_eq!(list(&owner, &org, "status=contacted").await["total"], 3);
    let (_, acts) =
        owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{}/activity", ids[0]), None).await;
    assert_eq!(acts[0]["kind"], "status_changed");
    // On everything a filter matches (more than one page).
    let (_, r) = bulk(json!({"selection": {"kind": "filter", "filter": {"search": "b0"}}, "action": "add_tag", "tag": "Q4"})).await;
    assert_eq!(r["affected"], 10);
    assert_eq!(list(&owner, &org, "tag=q4").await["total"], 10);
    let (_, r) = bulk(json!({"selection": {"kind": "filter", "filter": {"tag": "q4", "status": ["contacted"]}}, "action": "remove_tag", "tag": "q4"})).await;
    assert_eq!(r["affected"], 3);
    let (_, r) = bulk(
        json!({"selection": {"kind": "filter", "filter": {}}, "action": "assign_owner", "owner_id": me}),
    )
    .await;
    assert_eq!(r["affected"], 12);
    assert_eq!(list(&owner, &org, &format!("owner={me}")).await["total"], 12);
    let (s, _) = bulk(json!({"selection": {"kind": "ids", "ids": []}, "action": "explode"})).await;
    assert_eq!(s, 422);

    // Delete is soft and undoable.
    let (_, r) =
        bulk(json!({"selection": {"kind": "filter", "filter": {"search": "b1"}}, "action": "delete"})).await;
    assert_eq!(r["affected"], 2);
    let token = r["undo_token"].as_str().unwrap().to_string();
    assert_eq!(list(&owner, &org, "").await["total"], 10);
    let (s, _) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{}", ids[10]), None).await;
    assert_eq!(s, 404, "deleted prospects are gone from every view");
    let (s, v) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospects/bulk/undo"), Some(json!({"token": token})))
        .await;
    assert_eq!((s, v["restored"].as_u64()), (200, Some(2)));
    assert_eq!(list(&owner, &org, "").await["total"], 12);
    let (s, e) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospects/bulk/undo"), Some(json!({"token": token})))
        .await;
    assert_eq!((s, e["code"].as_str()), (410, Some("undo_expired")), "an undo works once");

    // After the window the rows are purged for good and cannot come back.
    let (_, r) = owner.rest(Method::DELETE, &format!("/orgs/{org}/prospects/{}", ids[0]), None).await;
    let token = r["undo_token"].as_str().unwrap().to_string();
    end_undo_window(&app).await;
    let (s, _) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospects/bulk/undo"), Some(json!({"token": token})))
        .await;
    assert_eq!(s, 410);
    assert_eq!(services::prospects::bulk::purge_deleted(&app.state.db).await.unwrap(), 1);
    let (s, _) = owner.rest(Method::DELETE, &format!("/orgs/{org}/prospects/{}", ids[0]), None).await;
    assert_eq!(s, 404);
});

/// Time passes: every soft delete's undo window is over.
async fn end_undo_window(app: &TestApp) {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    entity::prospects::Entity::update_many()
        .col_expr(
            entity::prospects::Column::DeletedAt,
            sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::seconds(60)),
        )
        .filter(entity::prospects::Column::DeletedAt.is_not_null())
        .exec(&app.state.db)
        .await
        .unwrap();
}

on_both_backends!(
    the_import_size_limit_is_configurable_and_a_refused_upload_leaves_nothing,
    |backend: Backend| async move {
        let Some(app) = TestApp::spawn_with(
            backend,
            &[("HANDOO_IMPORT_MAX_BYTES", "4096"), ("HANDOO_IMPORT_MAX_ROWS", "3")],
        )
        .await
        else {
            return;
        };
        let owner = user(&app, "Olivia", "olivia@example.com").await;
        let org = owner.create_org("Acme").await;
        let path = format!("/orgs/{org}/prospect-imports?file_name=big.csv");
        // Streamed without a length (chunked): refused as the bytes pass the limit.
        let mut big = b"name,phone\n".to_vec();
        for i in 0..400 {
            big.extend_from_slice(format!("Person {i},+336500{i:05}\n").as_bytes());
        }
        let body = reqwest::Body::wrap_stream(futures::stream::iter(
            big.chunks(1000).map(|c| Ok::<_, std::io::Error>(c.to_vec())).collect::<Vec<_>>(),
        ));
        let res = owner
            .http
            .post(format!("{}/api/v1{path}", app.base))
            .header("x-csrf-token", &owner.csrf)
            .header("content-type", "text/csv")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 413);
        let e: Value = res.json().await.unwrap();
        assert_eq!((e["code"].as_str(), e["detail"].as_str()), (Some("csv_too_large"), Some("4 KB")));
        // Too many rows, within the size.
        let (s, e) = owner
            .rest_raw(
                &path,
                "text/csv",
                b"name,phone\nA,+33650000001\nB,+33650000002\nC,+33650000003\nD,+33650000004\n".to_vec(),
            )
            .await;
        assert_eq!(
            (s, e["code"].as_str(), e["detail"].as_str()),
            (422, Some("csv_too_many_rows"), Some("3"))
        );
        // Neither left an import (nor its stored chunks) behind.
        let (s, imports) = owner.rest(Method::GET, &format!("/orgs/{org}/prospect-imports"), None).await;
        assert_eq!((s, imports.as_array().unwrap().len()), (200, 0), "{imports}");
        use sea_orm::{EntityTrait, PaginatorTrait};
        assert_eq!(entity::prospect_import_chunks::Entity::find().count(&app.state.db).await.unwrap(), 0);
        // Within both limits, accepted.
        let (s, p) = owner.rest_raw(&path, "text/csv", b"name,phone\nA,+33650000001\n".to_vec()).await;
        assert_eq!((s, p["total_rows"].as_u64()), (201, Some(1)));
    }
);

/// Sends only the headers of a 600 MB upload: the server must refuse it from
/// its declared length without reading (or waiting for) the body.
async fn oversized_upload(app: &TestApp, c: &Client, org: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let cookies = c.http_cookie_header(&app.base);
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST /api/v1/orgs/{org}/prospect-imports?file_name=huge.csv HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: text/csv\r\nContent-Length: 600000000\r\nx-csrf-token: {}\r\nCookie: {cookies}\r\n\
         Connection: close\r\n\r\n",
        c.csrf
    );
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut buf))
        .await
        .expect("answered")
        .unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let status: u16 = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    // The body may be chunked: take the JSON object inside.
    let json = body.find('{').and_then(|a| body.rfind('}').map(|b| &body[a..=b])).unwrap_or("null");
    (status, serde_json::from_str(json).unwrap_or(Value::Null))
}

// An import's progress as server-sent events: its state when the watcher
// connects, each change, its final state, then the end of the stream.
on_both_backends!(import_progress_streams_to_its_final_state, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    const ROWS: u64 = 3000;
    let mut csv = String::from("name,phone\n");
    for i in 0..ROWS {
        csv.push_str(&format!("P{i},+3361{i:07}\n"));
    }
    let (s, preview) = owner
        .rest_raw(&format!("/orgs/{org}/prospect-imports?file_name=p.csv"), "text/csv", csv.into_bytes())
        .await;
    assert_eq!(s, 201, "{preview}");
    let id = preview["id"].as_str().unwrap().to_string();
    let url = format!("{}/api/v1/orgs/{org}/prospect-imports/{id}/events", owner.base);
    let mut events = common::Events::new(owner.http.get(&url).send().await.unwrap());
    assert_eq!(events.next().await["state"], "pending");
    let options = json!({"mapping": preview["suggested"], "default_region": "FR"});
    let (s, job) =
        owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options)).await;
    assert_eq!(s, 202, "{job}");
    let done = loop {
        let j = events.next().await;
        if j["state"] != "running" {
            break j;
        }
        assert!(j["processed_rows"].as_u64().unwrap() <= ROWS, "{j}");
    };
    assert_eq!((done["state"].as_str(), done["created"].as_u64()), (Some("succeeded"), Some(ROWS)), "{done}");
    events.ends().await;
    // A finished import answers its final state and closes at once.
    let mut again = common::Events::new(owner.http.get(&url).send().await.unwrap());
    assert_eq!(again.next().await, done);
    again.ends().await;
    // Another organisation's member cannot follow it.
    let other = user(&app, "Mallory", "mallory@example.com").await;
    assert_eq!(other.http.get(&url).send().await.unwrap().status(), 404);
});

async fn wait_for_job(c: &Client, org: &str, id: &str) -> Value {
    for _ in 0..300 {
        let (s, j) = c.rest(Method::GET, &format!("/orgs/{org}/prospect-imports/{id}"), None).await;
        assert_eq!(s, 200, "{j}");
        if j["state"] == "succeeded" || j["state"] == "failed" {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("import did not finish");
}

fn windows_1252(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            'é' => 0xE9,
            'É' => 0xC9,
            'è' => 0xE8,
            'ç' => 0xE7,
            c if (c as u32) < 0x80 => c as u8,
            c => panic!("not in the test table: {c}"),
        })
        .collect()
}

on_both_backends!(csv_import_dry_run_job_and_hostile_files, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let (_, existing) = create(
        &owner,
        &org,
        json!({"last_name": "Existing", "phone": "+33 6 50 00 00 09", "company": "Old Co"}),
    )
    .await;
    let upload = |name: &str, body: Vec<u8>| {
        let owner = &owner;
        let path = format!("/orgs/{org}/prospect-imports?file_name={name}");
        async move { owner.rest_raw(&path, "text/csv", body).await }
    };

    // A French spreadsheet: semicolons, Windows-1252, a quoted newline, bad rows.
    let csv = "Prénom;Nom;Société;Téléphone;Email;Secteur;Notes\r\n\
               Amélie;Roux;Café du Port;06 50 00 00 01;amelie@port.fr;Retail;\"Premier contact\r\nau salon\"\r\n\
               Bruno;Petit;Boulangerie;06 50 00 00 02;;Food;\r\n\
               Chloé;Faure;;12;chloe@x.fr;;\r\n\
               Denis;Moreau;Garage;06 50 00 00 03;pas-un-email;;\r\n\
               Émile;Roux;Café du Port;06 50 00 00 01;;;\r\n\
               Ragged;Row\r\n\
               Fanny;Leroy;Existing Co;06 50 00 00 09;;;\r\n\
               ;;;;;;\r\n";
    let (s, preview) = upload("salon.csv", windows_1252(csv)).await;
    assert_eq!(s, 201, "{preview}");
    assert_eq!(
        (preview["encoding"].as_str(), preview["delimiter"].as_str()),
        (Some("windows1252"), Some(";"))
    );
    assert_eq!(preview["total_rows"], 7, "blank rows are not rows");
    assert_eq!(preview["headers"][2], "Société");
    let suggested: Vec<Value> = preview["suggested"].as_array().unwrap().clone();
    assert_eq!(
        suggested,
        vec![
            json!({"to": "first_name"}),
            json!({"to": "last_name"}),
            json!({"to": "company"}),
            json!({"to": "phone"}),
            json!({"to": "email"}),
            json!({"to": "ignore"}),
            json!({"to": "note"})
        ]
    );
    let id = preview["id"].as_str().unwrap().to_string();
    if backend == Backend::Postgres {
        // Stored files are compressed with LZ4 (m0014), not pglz.
        use sea_orm::ConnectionTrait;
        let db = sea_orm::Database::connect(&app.db.url).await.unwrap();
        let row = db
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT attcompression::text AS c FROM pg_attribute \
                 WHERE attrelid = 'prospect_import_chunks'::regclass AND attname = 'data'",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<String>("", "c").unwrap(), "l");
    }
    let mut mapping = suggested.clone();
    mapping[5] = json!({"to": "custom", "key": "secteur"});
    let options = json!({
        "mapping": mapping,
        "new_fields": [{"key": "secteur", "label": "Secteur", "type": "string"}],
        "duplicates": "skip",
        "default_region": "FR",
        "tags": ["salon-2026"]
    });

    // Invalid mappings are refused before anything runs.
    let (s, e) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospect-imports/{id}/dry-run"),
            Some(json!({"mapping": [{"to": "phone"}]})),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (422, Some("mapping_invalid")));
    let mut no_contact = options.clone();
    no_contact["mapping"][3] = json!({"to": "ignore"});
    no_contact["mapping"][4] = json!({"to": "ignore"});
    let (s, e) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/dry-run"), Some(no_contact))
        .await;
    assert_eq!((s, e["code"].as_str()), (422, Some("mapping_invalid")));

    let (s, report) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/dry-run"), Some(options.clone()))
        .await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(report["total_rows"], 7);
    assert_eq!(report["to_create"], 2, "{report}");
    assert_eq!(report["invalid"], 3);
    assert_eq!(report["duplicates_in_file"], 1);
    assert_eq!(report["duplicates_existing"], 1);
    let issue = |row: u64| -> String {
        report["rows"].as_array().unwrap().iter().find(|r| r["row"] == row).unwrap()["issues"][0]["kind"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(issue(3), "invalid_phone");
    assert_eq!(issue(4), "invalid_email");
    assert_eq!(issue(5), "duplicate_in_file");
    assert_eq!(issue(6), "ragged");
    assert_eq!(issue(7), "duplicate_existing");
    // Row 2 starts on line 4: row 1 spans two lines.
    assert_eq!(report["rows"].as_array().unwrap().iter().find(|r| r["row"] == 3).unwrap()["line"], 5);
    assert_eq!(list(&owner, &org, "").await["total"], 1, "a dry run writes nothing");
    // Every problem row, downloadable: its number, line, issues and cells.
    assert_eq!(report["problem_rows"], 5, "{report}");
    let (s, ct, problems) = owner.get_text(&format!("/orgs/{org}/prospect-imports/{id}/problems.csv")).await;
    assert_eq!((s, ct.as_str()), (200, "text/csv; charset=utf-8"));
    let mut rdr = csv::Reader::from_reader(problems.as_bytes());
    assert_eq!(
        &rdr.headers().unwrap().iter().take(5).collect::<Vec<_>>(),
        &["row", "line", "issues", "Prénom", "Nom"]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.iter().map(|r| r[0].to_string()).collect::<Vec<_>>(), ["3", "4", "5", "6", "7"]);
    assert_eq!(&rows[0][2], "invalid_phone");
    assert_eq!(&rows[4][2], "duplicate_existing");
    assert_eq!(&rows[4][3], "Fanny", "the row's own cells follow");
    let stranger = user(&app, "Mallory", "mallory@example.com").await;
    let evil = stranger.create_org("Evil").await;
    let (s, _, _) = stranger.get_text(&format!("/orgs/{evil}/prospect-imports/{id}/problems.csv")).await;
    assert_eq!(s, 404, "another organisation's problems are not found");

    // The job: started once, runs in the background, polled to completion.
    let (s, job) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options.clone()))
        .await;
    assert_eq!(s, 202, "{job}");
    let (s, e) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options.clone()))
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("import_not_ready")), "a second start is refused");
    let job = wait_for_job(&owner, &org, &id).await;
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(
        (job["created"].as_u64(), job["updated"].as_u64(), job["skipped"].as_u64()),
        (Some(2), Some(0), Some(5))
    );
    assert_eq!(list(&owner, &org, "").await["total"], 3);
    let amelie = &list(&owner, &org, "search=amelie").await["rows"][0];
    assert_eq!(
        (amelie["company"].as_str(), amelie["phone"].as_str()),
        (Some("Café du Port"), Some("+33650000001"))
    );
    assert_eq!(amelie["tags"], json!(["salon-2026"]));
    let aid = amelie["id"].as_str().unwrap();
    let (_, full) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{aid}"), None).await;
    assert_eq!(full["custom"]["secteur"], "Retail");
    let (_, notes) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{aid}/notes"), None).await;
    assert_eq!(notes[0]["body"], "Premier contact\nau salon");
    let (_, acts) = owner.rest(Method::GET, &format!("/orgs/{org}/prospects/{aid}/activity"), None).await;
    assert_eq!(
        (acts[0]["kind"].as_str(), acts[0]["data"]["file"].as_str()),
        (Some("imported"), Some("salon.csv"))
    );
    assert_eq!(
        list(&owner, &org, "custom=secteur:food").await["total"],
        1,
        "the field created on the fly filters"
    );

    // Importing the same file again never duplicates; with `update` it merges.
    let (_, again) = upload("salon.csv", windows_1252(csv)).await;
    let id2 = again["id"].as_str().unwrap().to_string();
    assert_eq!(
        again["suggested"][5],
        json!({"to": "custom", "key": "secteur"}),
        "existing custom fields are suggested"
    );
    let mut update = options.clone();
    update["duplicates"] = json!("update");
    update["new_fields"] = json!([]);
    let (_, r) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id2}/dry-run"), Some(update.clone()))
        .await;
    assert_eq!((r["to_create"].as_u64(), r["to_update"].as_u64()), (Some(0), Some(3)), "{r}");
    owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id2}/start"), Some(update)).await;
    let job = wait_for_job(&owner, &org, &id2).await;
    assert_eq!((job["created"].as_u64(), job["updated"].as_u64()), (Some(0), Some(3)), "{job}");
    assert_eq!(list(&owner, &org, "").await["total"], 3);
    let (_, merged) = owner
        .rest(Method::GET, &format!("/orgs/{org}/prospects/{}", existing["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(
        (merged["first_name"].as_str(), merged["company"].as_str()),
        (Some("Fanny"), Some("Existing Co"))
    );

    // A number column refuses text in the dry run; as text it imports.
    let (_, third) = upload("more.csv", b"phone,name,extra\n+33650000050,Zoe Blanc,x\n".to_vec()).await;
    let id3 = third["id"].as_str().unwrap().to_string();
    let opts3 = json!({"mapping": [{"to": "phone"}, {"to": "full_name"}, {"to": "custom", "key": "extra"}],
                       "new_fields": [{"key": "extra", "label": "Extra", "type": "number"}]});
    let (s, r) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id3}/dry-run"), Some(opts3.clone()))
        .await;
    assert_eq!((s, r["invalid"].as_u64()), (200, Some(1)), "'x' is not a number: {r}");
    let ok3 = json!({"mapping": [{"to": "phone"}, {"to": "full_name"}, {"to": "custom", "key": "extra"}],
                     "new_fields": [{"key": "extra", "label": "Extra", "type": "string"}]});
    let (s, _) =
        owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id3}/start"), Some(ok3)).await;
    assert_eq!(s, 202);
    let job = wait_for_job(&owner, &org, &id3).await;
    assert_eq!(job["created"], 1);
    assert_eq!(list(&owner, &org, "search=zoe").await["rows"][0]["first_name"], "Zoe");

    // A job whose runner died on its last attempt: its transaction never
    // committed, the job runner gives it up and the import says so; starting
    // it again imports each row once.
    let (_, fourth) = upload("restart.csv", b"name,phone\nYann Restart,+33650000088\n".to_vec()).await;
    let id4 = fourth["id"].as_str().unwrap().to_string();
    {
        use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
        let db = &app.state.db;
        let import_id: uuid::Uuid = id4.parse().unwrap();
        entity::prospect_imports::Entity::update_many()
            .col_expr(entity::prospect_imports::Column::State, sea_orm::sea_query::Expr::value("running"))
            .filter(entity::prospect_imports::Column::Id.eq(import_id))
            .exec(db)
            .await
            .unwrap();
        let clock = services::clock::system();
        let mut job = services::jobs::NewJob::new(
            services::prospects::import::IMPORT_JOB,
            Some(org.parse().unwrap()),
            json!({"import_id": import_id, "options": {"mapping": []}, "started_by": {}}),
        );
        job.max_attempts = 1;
        let job_id = services::jobs::enqueue(db, &clock, job).await.unwrap();
        let backend = db.get_database_backend();
        let sql = if backend == sea_orm::DbBackend::Postgres {
            "UPDATE jobs SET state = 'running', lease_owner = 'dead', attempts = 1, lease_expires_at = $1 WHERE id = $2"
        } else {
            "UPDATE jobs SET state = 'running', lease_owner = 'dead', attempts = 1, lease_expires_at = ?1 WHERE id = ?2"
        };
        let expired = chrono::Utc::now() - chrono::Duration::seconds(1);
        db.execute(sea_orm::Statement::from_sql_and_values(backend, sql, [expired.into(), job_id.into()]))
            .await
            .unwrap();
    }
    let mut j = Value::Null;
    for _ in 0..100 {
        j = owner.rest(Method::GET, &format!("/orgs/{org}/prospect-imports/{id4}"), None).await.1;
        if j["state"] != "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        (j["state"].as_str(), j["error"].as_str()),
        (Some("failed"), Some("import_interrupted")),
        "{j}"
    );
    let opts4 = json!({"mapping": [{"to": "full_name"}, {"to": "phone"}]});
    let (s, _) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id4}/start"), Some(opts4.clone()))
        .await;
    assert_eq!(s, 202);
    assert_eq!(wait_for_job(&owner, &org, &id4).await["created"], 1);
    let (s, _) =
        owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id4}/start"), Some(opts4)).await;
    assert_eq!(s, 409, "a finished import cannot run twice");
    assert_eq!(list(&owner, &org, "search=restart").await["total"], 1);

    // Hostile files.
    let (s, e) = upload("empty.csv", vec![]).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("csv_empty")));
    let (s, e) = upload("header.csv", b"name,phone\n".to_vec()).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("csv_empty")));
    let (s, e) = upload("image.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()).await;
    assert_eq!((s, e["code"].as_str()), (422, Some("csv_malformed")));
    let (s, e) = oversized_upload(&app, &owner, &org).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (413, Some("csv_too_large")),
        "refused from its Content-Length, unread"
    );
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("name,phone\nAnna,+33650000077\n".encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect();
    let (s, p) = upload("utf16.csv", utf16).await;
    assert_eq!((s, p["encoding"].as_str(), p["total_rows"].as_u64()), (201, Some("utf16le"), Some(1)));
    // A member of another organisation cannot see or run this import.
    let stranger = user(&app, "Eve", "eve@example.com").await;
    let other = stranger.create_org("Evil").await;
    let (s, _) = stranger.rest(Method::GET, &format!("/orgs/{other}/prospect-imports/{id}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = stranger
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/dry-run"), Some(options))
        .await;
    assert_eq!(s, 404);
});

on_both_backends!(export_streams_the_filter_with_consent, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let (member, _) = invite_member(&app, &owner, &org, "Max", "max@example.com").await;
    let mut file = String::from("first_name,last_name,phone,status,seats\n");
    for i in 0..2500 {
        let status = if i % 2 == 0 { "interested" } else { "new" };
        file.push_str(&format!("P,L{i},+336200{i:05},{status},{i}\n"));
    }
    let (s, preview) = owner
        .rest_raw(&format!("/orgs/{org}/prospect-imports?file_name=base.csv"), "text/csv", file.into())
        .await;
    assert_eq!(s, 201, "{preview}");
    let id = preview["id"].as_str().unwrap().to_string();
    let options = json!({"mapping": [{"to": "first_name"}, {"to": "last_name"}, {"to": "phone"}, {"to": "status"}, {"to": "custom", "key": "seats"}],
                         "new_fields": [{"key": "seats", "label": "Seats", "type": "number"}]});
    owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options)).await;
    assert_eq!(wait_for_job(&owner, &org, &id).await["created"], 2500);
    let (_, p) = create(&owner, &org, json!({"first_name": "=HYPERLINK(\"http://x\")", "last_name": "Evil", "email": "evil@x.fr", "status": "interested"})).await;
    let evil = p["id"].as_str().unwrap_or_else(|| panic!("create failed: {p}"));
    owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospects/{evil}/consents"),
            Some(json!({"source": "Trade show", "method": "written"})),
        )
        .await;

    let (s, ct, body) = owner.get_text(&format!("/orgs/{org}/prospects/export.csv?status=interested")).await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    let mut rdr = csv::Reader::from_reader(body.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    for h in [
        "phone",
        "consent_source",
        "consent_method",
        "consent_captured_at",
        "consent_captured_by",
        "custom.seats",
    ] {
        assert!(headers.iter().any(|x| x == h), "{h} in {headers:?}");
    }
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 1251, "every matching row, across several chunks");
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let evil_row = rows.iter().find(|r| &r[col("last_name")] == "Evil").unwrap();
    assert_eq!(&evil_row[col("first_name")], "'=HYPERLINK(\"http://x\")", "formulas are neutralised");
    assert_eq!(
        (&evil_row[col("consent_source")], &evil_row[col("consent_method")]),
        ("Trade show", "written")
    );
    assert_eq!(&evil_row[col("consent_captured_by")], "olivia@example.com");
    let l10 = rows.iter().find(|r| &r[col("last_name")] == "L10").unwrap();
    assert_eq!((&l10[col("phone")], &l10[col("custom.seats")]), ("+33620000010", "10"));
    let mut ids: Vec<&str> = rows.iter().map(|r| r.get(0).unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1251, "no row twice at chunk boundaries");

    // Exports are an admin's decision; members get a clear refusal.
    let (s, _, body) = member.get_text(&format!("/orgs/{org}/prospects/export.csv")).await;
    assert_eq!(s, 403, "{body}");
});

on_both_backends!(other_organisations_cannot_read_or_change_prospects, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let alice = user(&app, "Alice", "alice@example.com").await;
    let org_a = alice.create_org("A").await;
    let (_, p) = create(&alice, &org_a, json!({"last_name": "Secret", "phone": "+33 6 70 00 00 01"})).await;
    let pid = p["id"].as_str().unwrap().to_string();
    let (_, f) = alice
        .rest(
            Method::POST,
            &format!("/orgs/{org_a}/custom-fields"),
            Some(json!({"key": "k", "label": "K", "type": "string"})),
        )
        .await;
    let fid = f["id"].as_str().unwrap().to_string();
    let bob = user(&app, "Bob", "bob@example.com").await;
    let org_b = bob.create_org("B").await;

    // Through A's organisation: not a member, so nothing exists.
    for (m, path) in [
        (Method::GET, format!("/orgs/{org_a}/prospects")),
        (Method::GET, format!("/orgs/{org_a}/prospects/{pid}")),
        (Method::PATCH, format!("/orgs/{org_a}/prospects/{pid}")),
        (Method::DELETE, format!("/orgs/{org_a}/prospects/{pid}")),
        (Method::GET, format!("/orgs/{org_a}/prospects/{pid}/notes")),
        (Method::GET, format!("/orgs/{org_a}/prospects/{pid}/may-call")),
        (Method::GET, format!("/orgs/{org_a}/dnc")),
        (Method::GET, format!("/orgs/{org_a}/prospects/export.csv")),
    ] {
        let body = (m == Method::PATCH).then(|| json!({"status": "contacted"}));
        let (s, _) = bob.rest(m.clone(), &path, body).await;
        assert_eq!(s, 404, "{m} {path}");
    }
    // Through B's own organisation with A's ids: still nothing.
    let (s, _) = bob.rest(Method::GET, &format!("/orgs/{org_b}/prospects/{pid}"), None).await;
    assert_eq!(s, 404);
    let (s, _) = bob
        .rest(Method::PATCH, &format!("/orgs/{org_b}/prospects/{pid}"), Some(json!({"last_name": "Pwned"})))
        .await;
    assert_eq!(s, 404);
    let (s, _) = bob
        .rest(Method::POST, &format!("/orgs/{org_b}/prospects/{pid}/notes"), Some(json!({"body": "hi"})))
        .await;
    assert_eq!(s, 404);
    let (s, _) = bob.rest(Method::DELETE, &format!("/orgs/{org_b}/custom-fields/{fid}"), None).await;
    assert_eq!(s, 404);
    let (s, r) = bob
        .rest(
            Method::POST,
            &format!("/orgs/{org_b}/prospects/bulk"),
            Some(json!({"selection": {"kind": "ids", "ids": [pid]}, "action": "delete"})),
        )
        .await;
    assert_eq!((s, r["affected"].as_u64()), (200, Some(0)));
    let (s, r) = bob
        .rest(Method::POST, &format!("/orgs/{org_b}/prospects/bulk"), Some(json!({"selection": {"kind": "filter", "filter": {}}, "action": "set_status", "status": "not_interested"})))
        .await;
    assert_eq!((s, r["affected"].as_u64()), (200, Some(0)));
    assert_eq!(
        bob.call("get_prospect", &[("org_id", &org_a), ("prospect_id", &pid)]).await,
        Err("not_found".into())
    );
    // Same phone in another organisation is not a duplicate there.
    let (s, _) = create(&bob, &org_b, json!({"last_name": "Other", "phone": "+33 6 70 00 00 01"})).await;
    assert_eq!(s, 201);
    // A's data is untouched.
    let (_, mine) = alice.rest(Method::GET, &format!("/orgs/{org_a}/prospects/{pid}"), None).await;
    assert_eq!((mine["last_name"].as_str(), mine["status"].as_str()), (Some("Secret"), Some("new")));
    assert_eq!(list(&bob, &org_b, "").await["total"], 1);
});

on_both_backends!(broad_searches_cap_the_count_and_the_index_follows_edits, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    // 2,400 prospects (more than SQLite's index narrows to), all at an "Acme"
    // company; "Rare" only on every 800th.
    let mut csv = String::from("first_name,last_name,company,phone,title\n");
    for i in 0..2400 {
        let last = if i % 800 == 7 { format!("Rare{i}") } else { format!("Common{i}") };
        csv.push_str(&format!("P{i},{last},Acme {i},06 12 {i:06},Buyer\n"));
    }
    let (s, preview) = owner
        .rest_raw(&format!("/orgs/{org}/prospect-imports?file_name=big.csv"), "text/csv", csv.into_bytes())
        .await;
    assert_eq!(s, 201, "{preview}");
    let id = preview["id"].as_str().unwrap().to_string();
    let options = json!({"mapping": preview["suggested"], "duplicates": "skip", "default_region": "FR"});
    let (s, job) =
        owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options)).await;
    assert_eq!(s, 202, "{job}");
    let job = wait_for_job(&owner, &org, &id).await;
    assert_eq!((job["state"].as_str(), job["created"].as_u64()), (Some("succeeded"), Some(2400)), "{job}");

    // The export reads them in chunks of 1,000; rows imported together share
    // their creation time, so chunk boundaries fall inside ties: every row
    // exactly once.
    let (s, _, body) = owner.get_text(&format!("/orgs/{org}/prospects/export.csv")).await;
    assert_eq!(s, 200);
    let ids: std::collections::HashSet<&str> =
        body.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!((body.lines().count() - 1, ids.len()), (2400, 2400));

    // No search: the exact count.
    let all = list(&owner, &org, "per_page=50").await;
    assert_eq!((all["total"].as_u64(), all["total_capped"].as_bool()), (Some(2400), Some(false)));
    // A search matching everything is counted whole in an organisation this
    // small (see large_organisations_count_row_by_row_matches_to_a_lower_cap).
    let broad = list(&owner, &org, "search=acme&per_page=50&page=3").await;
    assert_eq!((broad["total"].as_u64(), broad["total_capped"].as_bool()), (Some(2400), Some(false)));
    assert_eq!(broad["rows"].as_array().unwrap().len(), 50);
    // Broad terms under three characters (no trigram) too: every "Common…"
    // last name, not the three "Rare…".
    assert_eq!(list(&owner, &org, "search=co").await["total"], 2400 - 3);
    // A selective search is exact.
    let rare = list(&owner, &org, "search=rare").await;
    assert_eq!((rare["total"].as_u64(), rare["total_capped"].as_bool()), (Some(3), Some(false)));
    assert_eq!(list(&owner, &org, "search=rare%20acme").await["total"], 3, "every word must match");
    assert_eq!(list(&owner, &org, "search=rare%20zebra").await["total"], 0);

    // Edits and deletions reach the search index at once.
    let first = rare["rows"][0]["id"].as_str().unwrap().to_string();
    let (s, v) = owner
        .rest(
            Method::PATCH,
            &format!("/orgs/{org}/prospects/{first}"),
            Some(json!({"last_name": "Zygomorph"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(list(&owner, &org, "search=rare").await["total"], 2);
    assert_eq!(names(&list(&owner, &org, "search=zygomorph").await), vec!["Zygomorph"]);
    let (s, v) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospects/bulk"),
            Some(json!({"selection": {"kind": "ids", "ids": [first]}, "action": "delete"})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(list(&owner, &org, "search=zygomorph").await["total"], 0, "deleted rows are not found");

    // Another organisation's rows never count, however the index answers.
    let other = user(&app, "Mallory", "mallory@example.com").await;
    let other_org = other.create_org("Other").await;
    let v = list(&other, &other_org, "search=rare").await;
    assert_eq!((v["total"].as_u64(), v["rows"].as_array().unwrap().len()), (Some(0), 0));
});

on_both_backends!(call_restrictions_survive_edits_deletes_and_reimports, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let (member, _) = invite_member(&app, &owner, &org, "Max", "max@example.com").await;
    let prospect = |c: &Client, last: &'static str, phone: &'static str| {
        let (c, org) = (c.clone(), org.clone());
        async move {
            let (s, p) = create(&c, &org, json!({"last_name": last, "phone": phone})).await;
            assert_eq!(s, 201, "{p}");
            format!("/orgs/{org}/prospects/{}", p["id"].as_str().unwrap())
        }
    };
    let dnc_reason = |phone: &'static str| {
        let (owner, org) = (owner.clone(), org.clone());
        async move {
            let (_, l) = owner.rest(Method::GET, &format!("/orgs/{org}/dnc?search={phone}"), None).await;
            l["entries"].as_array().unwrap().first().map(|e| e["reason"].as_str().unwrap().to_string())
        }
    };

    // A member may restrict calls but not lift a restriction; an admin may.
    let jean = prospect(&member, "Jean", "+33 6 11 22 33 01").await;
    let (s, v) = member.rest(Method::PATCH, &jean, Some(json!({"do_not_call": true}))).await;
    assert_eq!((s, v["do_not_call"].as_bool()), (200, Some(true)), "{v}");
    let (s, e) = member.rest(Method::PATCH, &jean, Some(json!({"do_not_call": false, "company": "X"}))).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")));
    let (_, v) = member.rest(Method::GET, &jean, None).await;
    assert_eq!(
        (v["do_not_call"].as_bool(), v["company"].as_str()),
        (Some(true), Some("")),
        "nothing changed"
    );
    let (s, v) = owner.rest(Method::PATCH, &jean, Some(json!({"do_not_call": false}))).await;
    assert_eq!((s, v["do_not_call"].as_bool()), (200, Some(false)));

    // An opt-out is about the number: it goes on the organisation's list.
    let (s, _) = member.rest(Method::PATCH, &jean, Some(json!({"opted_out": true}))).await;
    assert_eq!(s, 200);
    assert_eq!(dnc_reason("33611223301").await.as_deref(), Some("system:opt_out"));
    let (s, _) = member.rest(Method::PATCH, &jean, Some(json!({"opted_out": false}))).await;
    assert_eq!(s, 403);

    // Withdrawing consent opts out: calls stop at once, the number is listed.
    let anna = prospect(&member, "Anna", "+33 6 11 22 33 02").await;
    let (s, c) = member
        .rest(
            Method::POST,
            &format!("{anna}/consents"),
            Some(json!({"source": "Phone call", "method": "verbal", "granted": false})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let (_, v) = member.rest(Method::GET, &anna, None).await;
    assert_eq!(v["opted_out"], true);
    let (_, may) = member.rest(Method::GET, &format!("{anna}/may-call?at=2026-01-15T10:00:00Z"), None).await;
    assert_eq!(may["allowed"], false);
    assert_eq!(dnc_reason("33611223302").await.as_deref(), Some("system:opt_out"));
    let (_, acts) = member.rest(Method::GET, &format!("{anna}/activity"), None).await;
    assert!(acts.as_array().unwrap().iter().any(|a| a["data"]["field"] == "opted_out"), "{acts}");

    // Deleting prospects is for admins; a member's attempt changes nothing.
    let bob = prospect(&member, "Bob", "+33 6 11 22 33 03").await;
    owner.rest(Method::PATCH, &bob, Some(json!({"do_not_call": true}))).await;
    let bulk_delete = json!({"selection": {"kind": "filter", "filter": {}}, "action": "delete"});
    let (s, e) =
        member.rest(Method::POST, &format!("/orgs/{org}/prospects/bulk"), Some(bulk_delete.clone())).await;
    assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")));
    let (s, _) = member.rest(Method::DELETE, &bob, None).await;
    assert_eq!(s, 403);
    assert_eq!(list(&owner, &org, "").await["total"], 3, "nothing deleted");
    // The owner deletes Bob (do-not-call) for good: his number stays barred,
    // so a re-import cannot make it callable again.
    let (s, _) = owner.rest(Method::DELETE, &bob, None).await;
    assert_eq!(s, 200);
    end_undo_window(&app).await;
    assert_eq!(services::prospects::bulk::purge_deleted(&app.state.db).await.unwrap(), 1);
    assert_eq!(dnc_reason("33611223303").await.as_deref(), Some("system:deleted_do_not_call"));
    let bob_again = prospect(&owner, "Bob", "+33 6 11 22 33 03").await;
    let (_, may) =
        owner.rest(Method::GET, &format!("{bob_again}/may-call?at=2026-01-15T10:00:00Z"), None).await;
    assert_eq!(may["refusal"]["reason"], "on_dnc_list");

    // Creating custom fields during an import is an admin's decision too.
    let (_, preview) = member
        .rest_raw(
            &format!("/orgs/{org}/prospect-imports?file_name=m.csv"),
            "text/csv",
            b"name,phone,segment\nZed Member,+33650000061,Retail\n".to_vec(),
        )
        .await;
    let id = preview["id"].as_str().unwrap();
    let with_field = json!({"mapping": [{"to": "full_name"}, {"to": "phone"}, {"to": "custom", "key": "segment"}],
                            "new_fields": [{"key": "segment", "label": "Segment", "type": "string"}]});
    let (s, e) = member
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(with_field))
        .await;
    assert_eq!((s, e["code"].as_str()), (403, Some("forbidden")));
    let (_, fields) = owner.rest(Method::GET, &format!("/orgs/{org}/custom-fields"), None).await;
    assert_eq!(fields.as_array().unwrap().len(), 0, "no field was created");
    let plain = json!({"mapping": [{"to": "full_name"}, {"to": "phone"}, {"to": "ignore"}]});
    let (s, _) =
        member.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(plain)).await;
    assert_eq!(s, 202, "without new fields a member imports");
    assert_eq!(wait_for_job(&member, &org, id).await["created"], 1);
});

on_both_backends!(time_zones_pages_numbers_and_trailing_delimiters, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;

    // A number that does not say where it rings gets no zone, and calls wait
    // for one to be set rather than be checked against a guess.
    let (s, p) = create(&owner, &org, json!({"last_name": "Mobile", "phone": "+61 412 345 678"})).await;
    assert_eq!((s, p["timezone"].as_str()), (201, Some("")), "{p}");
    let path = format!("/orgs/{org}/prospects/{}", p["id"].as_str().unwrap());
    let (_, may) = owner.rest(Method::GET, &format!("{path}/may-call?at=2026-01-15T01:00:00Z"), None).await;
    assert_eq!(may["refusal"]["reason"], "unknown_timezone");
    // A Paris number moved to such a number loses Paris's zone.
    let (_, p) = create(&owner, &org, json!({"last_name": "Moved", "phone": "+33 6 11 22 33 10"})).await;
    let moved = format!("/orgs/{org}/prospects/{}", p["id"].as_str().unwrap());
    assert_eq!(p["timezone"], "Europe/Paris");
    let (_, v) = owner.rest(Method::PATCH, &moved, Some(json!({"phone": "+61 412 345 679"}))).await;
    assert_eq!(v["timezone"], "", "{v}");
    // A zone set by hand survives an import that only updates the name.
    owner.rest(Method::PATCH, &moved, Some(json!({"timezone": "Australia/Perth"}))).await;
    let (_, preview) = owner
        .rest_raw(
            &format!("/orgs/{org}/prospect-imports?file_name=u.csv"),
            "text/csv",
            // Trailing delimiters, as spreadsheets write them, are not ragged rows.
            b"name;phone\nMia Moved;+61 412 345 679;\nNew Person;+33 6 11 22 33 11;;\n".to_vec(),
        )
        .await;
    let id = preview["id"].as_str().unwrap();
    let opts = json!({"mapping": [{"to": "full_name"}, {"to": "phone"}], "duplicates": "update"});
    let (s, r) = owner
        .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/dry-run"), Some(opts.clone()))
        .await;
    assert_eq!((s, r["invalid"].as_u64(), r["to_update"].as_u64()), (200, Some(0), Some(1)), "{r}");
    owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(opts)).await;
    assert_eq!(wait_for_job(&owner, &org, id).await["state"], "succeeded");
    let (_, v) = owner.rest(Method::GET, &moved, None).await;
    assert_eq!((v["first_name"].as_str(), v["timezone"].as_str()), (Some("Mia"), Some("Australia/Perth")));

    // A hostile page number is served (empty), not an overflow.
    let v = list(&owner, &org, "page=18446744073709551615&per_page=200").await;
    assert_eq!(v["rows"], json!([]));

    // "1,200" is 1200 in English and 1.2 in French: refused, not guessed.
    owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/custom-fields"),
            Some(json!({"key": "seats", "label": "Seats", "type": "number"})),
        )
        .await;
    let (s, e) = owner.rest(Method::PATCH, &moved, Some(json!({"custom": {"seats": "1,200"}}))).await;
    assert_eq!(
        (s, e["code"].as_str(), e["field"].as_str()),
        (422, Some("invalid_value"), Some("custom.seats"))
    );
    let (_, v) = owner.rest(Method::PATCH, &moved, Some(json!({"custom": {"seats": "1 200"}}))).await;
    assert_eq!(v["custom"]["seats"], 1200);

    // An uploaded file nobody imports is dropped after a day.
    let (_, preview) = owner
        .rest_raw(
            &format!("/orgs/{org}/prospect-imports?file_name=old.csv"),
            "text/csv",
            b"name,phone
Old File,+33650000099
"
            .to_vec(),
        )
        .await;
    let old = preview["id"].as_str().unwrap();
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        entity::prospect_imports::Entity::update_many()
            .col_expr(
                entity::prospect_imports::Column::CreatedAt,
                sea_orm::sea_query::Expr::value(chrono::Utc::now() - chrono::Duration::hours(25)),
            )
            .filter(entity::prospect_imports::Column::Id.eq(old.parse::<uuid::Uuid>().unwrap()))
            .exec(&app.state.db)
            .await
            .unwrap();
    }
    assert_eq!(services::prospects::import::forget_stale_uploads(&app.state.db).await.unwrap(), 1);
    let (s, e) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospect-imports/{old}/start"),
            Some(json!({"mapping": [{"to": "full_name"}, {"to": "phone"}]})),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("import_not_ready")));
});

on_both_backends!(concurrent_imports_of_one_file_never_duplicate, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let mut csv = String::from("name,phone\n");
    for i in 0..300 {
        csv.push_str(&format!("Person {i},+3365001{i:04}\n"));
    }
    let mut ids = Vec::new();
    for n in 0..3 {
        let (_, p) = owner
            .rest_raw(
                &format!("/orgs/{org}/prospect-imports?file_name=same-{n}.csv"),
                "text/csv",
                csv.clone().into_bytes(),
            )
            .await;
        ids.push(p["id"].as_str().unwrap().to_string());
    }
    // Three people start the same list at once.
    let opts = json!({"mapping": [{"to": "full_name"}, {"to": "phone"}], "duplicates": "skip"});
    let starts = ids.iter().map(|id| {
        let (owner, org, opts) = (owner.clone(), org.clone(), opts.clone());
        let id = id.clone();
        async move {
            owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(opts)).await
        }
    });
    for (s, v) in futures::future::join_all(starts).await {
        assert_eq!(s, 202, "{v}");
    }
    let mut created = 0;
    for id in &ids {
        let j = wait_for_job(&owner, &org, id).await;
        assert_eq!(j["state"], "succeeded", "{j}");
        created += j["created"].as_u64().unwrap();
    }
    assert_eq!(created, 300, "each row created once in all");
    assert_eq!(list(&owner, &org, "").await["total"], 300);
});

// Past 20,000 live prospects, a count of matches tested row by row (a
// broad search, a tag, a custom value) stops at 1,000; one an index answers
// still goes to 10,000. The pages stay right either way.
on_both_backends!(
    large_organisations_count_row_by_row_matches_to_a_lower_cap,
    |backend: Backend| async move {
        let Some(app) = TestApp::spawn(backend).await else { return };
        let owner = user(&app, "Olivia", "olivia@example.com").await;
        let org = owner.create_org("Acme").await;
        let mut csv = String::from("first_name,last_name,phone,tags,status\n");
        for i in 0..20_100 {
            let (tag, status) = if i % 2 == 0 { ("even", "new") } else { ("odd", "contacted") };
            csv.push_str(&format!("P,L{i:05},06 2{i:07},{tag},{status}\n"));
        }
        let (s, preview) = owner
            .rest_raw(
                &format!("/orgs/{org}/prospect-imports?file_name=large.csv"),
                "text/csv",
                csv.into_bytes(),
            )
            .await;
        assert_eq!(s, 201, "{preview}");
        let id = preview["id"].as_str().unwrap().to_string();
        let options = json!({"mapping": preview["suggested"], "duplicates": "skip", "default_region": "FR"});
        let (s, job) = owner
            .rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options))
            .await;
        assert_eq!(s, 202, "{job}");
        let job = wait_for_job(&owner, &org, &id).await;
        assert_eq!(
            (job["state"].as_str(), job["created"].as_u64()),
            (Some("succeeded"), Some(20_100)),
            "{job}"
        );

        let total = |v: &Value| (v["total"].as_u64().unwrap(), v["total_capped"].as_bool().unwrap());
        let numbers =
            |v: &Value| -> Vec<usize> { names(v).iter().map(|n| n[1..].parse().unwrap()).collect() };
        assert_eq!(total(&list(&owner, &org, "").await), (10_000, true));
        let new = list(&owner, &org, "status=new&sort=last_name&page=2").await;
        assert_eq!(total(&new), (10_000, true), "a status is answered by its index");
        assert_eq!(numbers(&new), (50..100).map(|k| 2 * k).collect::<Vec<_>>());
        let odd = list(&owner, &org, "tag=odd&sort=last_name&desc=true&page=3").await;
        assert_eq!(total(&odd), (1_000, true));
        assert_eq!(numbers(&odd), (100..150).map(|k| 20_099 - 2 * k).collect::<Vec<_>>());
        let broad = list(&owner, &org, "search=l1&sort=last_name").await;
        assert_eq!(total(&broad), (1_000, true));
        assert_eq!(numbers(&broad), (10_000..10_050).collect::<Vec<_>>());
        // Few matches are counted exactly wherever they come from.
        let few = list(&owner, &org, "search=l1999&tag=even").await;
        assert_eq!(total(&few), (5, false));
    }
);

// Tag and custom-field filters past the count's cap and under it, combined
// with a status and a search (which SQLite reads through its search index,
// page and count), and following every kind of write at once.
on_both_backends!(tag_and_custom_filters_follow_every_write_past_the_cap, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    // 10,400 prospects, all tagged "all" (more than the cap), a quarter each
    // "q0".."q3", every 1,000th "rare"; tier gold/silver/bronze in turn.
    let tiers = ["Gold", "Silver", "Bronze"];
    let mut csv = String::from("first_name,last_name,company,phone,tags,tier\n");
    for i in 0..10_400 {
        let rare = if i % 1000 == 0 { ", rare" } else { "" };
        csv.push_str(&format!("P,L{i:05},Acme,06 12 {i:06},\"all, q{}{rare}\",{}\n", i % 4, tiers[i % 3]));
    }
    let (s, preview) = owner
        .rest_raw(&format!("/orgs/{org}/prospect-imports?file_name=tags.csv"), "text/csv", csv.into_bytes())
        .await;
    assert_eq!(s, 201, "{preview}");
    let id = preview["id"].as_str().unwrap().to_string();
    let mut mapping = preview["suggested"].clone();
    mapping[5] = json!({"to": "custom", "key": "tier"});
    let options = json!({
        "mapping": mapping, "duplicates": "skip", "default_region": "FR",
        "new_fields": [{"key": "tier", "label": "Tier", "type": "enum", "options": tiers}],
    });
    let (s, job) =
        owner.rest(Method::POST, &format!("/orgs/{org}/prospect-imports/{id}/start"), Some(options)).await;
    assert_eq!(s, 202, "{job}");
    let job = wait_for_job(&owner, &org, &id).await;
    assert_eq!((job["state"].as_str(), job["created"].as_u64()), (Some("succeeded"), Some(10_400)), "{job}");

    let total = |v: &Value| (v["total"].as_u64().unwrap(), v["total_capped"].as_bool().unwrap());
    let numbers = |v: &Value| -> Vec<usize> { names(v).iter().map(|n| n[1..].parse().unwrap()).collect() };
    // Fewer than the cap: exact counts, pages in sort order, either way.
    let q1 = list(&owner, &org, "tag=Q1&sort=last_name&page=2").await;
    assert_eq!(total(&q1), (2_600, false));
    assert_eq!(numbers(&q1), (50..100).map(|k| 1 + 4 * k).collect::<Vec<_>>());
    let q1 = list(&owner, &org, "tag=q1&sort=last_name&desc=true&page=3&per_page=10").await;
    assert_eq!(numbers(&q1), (20..30).map(|k| 10_397 - 4 * k).collect::<Vec<_>>());
    let rare = list(&owner, &org, "tag=rare&sort=phone").await;
    assert_eq!((total(&rare), numbers(&rare)), ((11, false), (0..11).map(|k| k * 1000).collect()));
    // More than the cap: counted to it, pages still right.
    let all = list(&owner, &org, "tag=all&sort=last_name&page=4").await;
    assert_eq!(total(&all), (10_000, true));
    assert_eq!(numbers(&all), (150..200).collect::<Vec<_>>());
    // Both filters, with a status and a search.
    let v = list(&owner, &org, "tag=q2&custom=tier:gold&sort=last_name").await;
    assert_eq!(total(&v).0, (0..10_400).filter(|i| i % 4 == 2 && i % 3 == 0).count() as u64);
    assert!(numbers(&v).iter().all(|i| i % 12 == 6), "{v}");
    let v = list(&owner, &org, "custom=tier:silver&status=new&search=l0001&sort=last_name").await;
    assert_eq!(numbers(&v), vec![10, 13, 16, 19]);
    let v = list(&owner, &org, "custom=tier:silver&tag=rare&sort=last_name").await;
    assert_eq!(numbers(&v), vec![1000, 4000, 7000, 10_000]);

    // Every kind of write reaches the filters at once.
    let id_of = |v: &Value, n: usize| {
        v["rows"].as_array().unwrap().iter().find(|r| r["last_name"] == format!("L{n:05}")).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first_rare = id_of(&rare, 0);
    let (s, v) = owner
        .rest(
            Method::PATCH,
            &format!("/orgs/{org}/prospects/{first_rare}"),
            Some(json!({"tags": ["solo"], "custom": {"tier": "Bronze"}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(total(&list(&owner, &org, "tag=rare").await), (10, false));
    assert_eq!(numbers(&list(&owner, &org, "tag=solo").await), vec![0]);
    assert_eq!(total(&list(&owner, &org, "tag=q0").await), (2_599, false));
    assert_eq!(numbers(&list(&owner, &org, "custom=tier:bronze&tag=solo").await), vec![0]);
    assert_eq!(total(&list(&owner, &org, "custom=tier:gold&tag=rare").await).0, 3);
    let bulk = |body: Value| {
        let (owner, org) = (owner.clone(), org.clone());
        async move {
            let (s, v) = owner.rest(Method::POST, &format!("/orgs/{org}/prospects/bulk"), Some(body)).await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    bulk(json!({"selection": {"kind": "filter", "filter": {"tag": "rare"}}, "action": "add_tag", "tag": "Call back"}))
        .await;
    assert_eq!(total(&list(&owner, &org, "tag=call%20back").await), (10, false));
    bulk(json!({"selection": {"kind": "filter", "filter": {"tag": "call back"}}, "action": "remove_tag", "tag": "rare"}))
        .await;
    assert_eq!(total(&list(&owner, &org, "tag=rare").await), (0, false));
    let (s, v) = owner
        .rest(
            Method::POST,
            &format!("/orgs/{org}/prospects/bulk"),
            Some(
                json!({"selection": {"kind": "filter", "filter": {"tag": "call back"}}, "action": "delete"}),
            ),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(total(&list(&owner, &org, "tag=call%20back").await), (0, false), "deleted rows are not found");
    assert_eq!(total(&list(&owner, &org, "tag=q0").await), (2_589, false));
    end_undo_window(&app).await;
    assert_eq!(services::prospects::bulk::purge_deleted(&app.state.db).await.unwrap(), 10);
    // Another organisation's rows never count, however the index answers.
    let other = user(&app, "Mallory", "mallory@example.com").await;
    let other_org = other.create_org("Other").await;
    let (s, _) =
        create(&other, &other_org, json!({"last_name": "L00001", "phone": "+33612000001", "tags": ["q1"]}))
            .await;
    assert_eq!(s, 201);
    assert_eq!(total(&list(&other, &other_org, "tag=q1").await), (1, false));
    assert_eq!(total(&list(&owner, &org, "tag=q1").await), (2_600, false));
});

// The list's status filter is written on the pipeline rank so that the
// sort's expression index answers it (m0015 dropped the plain status index).
// The rank must be part of the index's search condition — which only holds
// while the filter spells the indexed expression exactly as m0013 does —
// not a filter on every row of the organisation.
on_both_backends!(the_status_filter_is_answered_by_the_rank_index, |backend: Backend| async move {
    use domain::prospect::ProspectStatus;
    use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryTrait};
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    for (i, (name, status)) in [("A", "new"), ("B", "contacted"), ("C", "interested")].into_iter().enumerate()
    {
        let body = json!({"last_name": name, "status": status, "phone": format!("+3361200000{i}")});
        let (s, v) = create(&owner, &org, body).await;
        assert_eq!(s, 201, "{v}");
    }
    let v = list(&owner, &org, "status=new,interested&sort=last_name").await;
    let names: Vec<&str> =
        v["rows"].as_array().unwrap().iter().map(|r| r["last_name"].as_str().unwrap()).collect();
    assert_eq!(names, ["A", "C"], "{v}");

    let db = &app.state.db;
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        // On a near-empty table PostgreSQL rightly prefers to test the rank
        // row by row; give it an organisation worth narrowing.
        db.execute_unprepared(
            "INSERT INTO prospects SELECT (jsonb_populate_record(p, jsonb_build_object('id', gen_random_uuid()))).* \
             FROM prospects p, generate_series(1, 2000); ANALYZE prospects",
        )
        .await
        .unwrap();
    }
    let query = entity::prospects::Entity::find()
        .filter(entity::prospects::Column::OrgId.eq(org.parse::<uuid::Uuid>().unwrap()))
        .filter(services::prospects::status_in(&[ProspectStatus::Interested, ProspectStatus::New]))
        .build(backend);
    let explain = if backend == DbBackend::Sqlite { "EXPLAIN QUERY PLAN" } else { "EXPLAIN" };
    let stmt = sea_orm::Statement::from_sql_and_values(
        backend,
        format!("{explain} {}", query.sql),
        query.values.unwrap().0,
    );
    let column = if backend == DbBackend::Sqlite { 3 } else { 0 };
    let text = db
        .query_all(stmt)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(column).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let uses = if backend == DbBackend::Sqlite {
        text.contains("USING INDEX ix_prospect_org_status_rank_id (org_id=? AND <expr>=?)")
    } else {
        text.contains("ix_prospect_org_status_rank_id")
            && text.lines().any(|l| l.contains("Index Cond") && l.contains("CASE status"))
    };
    assert!(uses, "{backend:?} plan:\n{text}");
});

// The prospect searches need plans made for their terms (a generic plan for
// `search_text LIKE $1` walked the whole table: see `begin_planned_read`);
// every other statement keeps PostgreSQL's cached plans, which the call
// webhooks' lookups by key depend on (planning was 4× their run time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_are_planned_for_their_terms_and_the_rest_keeps_cached_plans() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let Some(app) = TestApp::spawn(Backend::Postgres).await else { return };
    let db = &app.state.db;
    async fn plan_mode<C: ConnectionTrait>(c: &C) -> String {
        let row = c
            .query_one(sea_orm::Statement::from_string(c.get_database_backend(), "SHOW plan_cache_mode"))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<String>(0).unwrap()
    }
    // Every pooled connection, not only the one that answers first.
    let txns = futures::future::join_all((0..4).map(|_| db.begin())).await;
    for txn in txns {
        let txn = txn.unwrap();
        assert_eq!(plan_mode(&txn).await, "auto");
        txn.commit().await.unwrap();
    }
    let read = services::db::begin_planned_read(db).await.unwrap();
    assert_eq!(plan_mode(&read).await, "force_custom_plan");
    read.commit().await.unwrap();
    // SET LOCAL ended with the transaction: the connection went back to the pool as it was.
    let txns = futures::future::join_all((0..4).map(|_| db.begin())).await;
    for txn in txns {
        let txn = txn.unwrap();
        assert_eq!(plan_mode(&txn).await, "auto");
        txn.commit().await.unwrap();
    }
}
