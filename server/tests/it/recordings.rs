//! Call recordings and listening live. Recordings end to end against a local S3-compatible server (PyPI's
//! `moto[server]` from the conformance venv) and the LiveKit mock, whose
//! egress uploads the file with the keys it was given and reports it with a
//! signed `egress_ended` webhook: the settings (whole bucket, sealed secret,
//! no private endpoints), the bucket check, the egress asked for once the
//! callee answers, the file's key and duration stored, playback through a
//! short-lived signed address for members of the call's organisation only,
//! redelivered and misplaced egress reports.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::calls::{calling_with, LK_KEY};
use crate::common;
use common::{Backend, GOOD_PASSWORD};
use livekit_protocol as proto;
use reqwest::Method;
use serde_json::{json, Value};

/// A moto S3 server on a free loopback port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// None (the test is skipped, and says so) without the conformance venv —
    /// except on CI, where its absence fails the test.
    async fn start() -> Option<Moto> {
        let python = common::venv_python("moto")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let moto = Moto { child, url: format!("http://127.0.0.1:{port}") };
        for _ in 0..300 {
            if reqwest::get(format!("{}/moto-api/", moto.url)).await.is_ok() {
                return Some(moto);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("moto did not start on {}", moto.url);
    }

    async fn create_bucket(&self, name: &str) {
        let res = reqwest::Client::new().put(format!("{}/{name}", self.url)).send().await.unwrap();
        assert!(res.status().is_success(), "create bucket: {}", res.status());
    }
}

fn bucket_body(moto: &Moto, bucket: &str) -> Value {
    json!({
        "record_calls": true,
        "endpoint": moto.url,
        "region": "us-east-1",
        "bucket": bucket,
        "path_style": true,
        "access_key": "AKIAHANDOOTEST",
        "secret_key": "handoo-recordings-secret-key-0123",
    })
}

on_both_backends!(
    recordings_go_to_the_organisations_bucket_and_play_for_its_members_only,
    |backend: Backend| async move {
        let Some(moto) = Moto::start().await else { return };
        moto.create_bucket("calls").await;
        // The bucket is on loopback here: the operator allows that one address.
        let Some(c) = calling_with(backend, &[("HANDOO_EGRESS_ALLOW", "127.0.0.1/32")]).await else { return };
        let (org, owner) = (c.org.clone(), &c.owner);
        let settings = format!("/orgs/{org}/telephony/recordings");

        // Nothing set: not recorded, path style by default.
        let (s, v) = owner.rest(Method::GET, &settings, None).await;
        assert_eq!(
            (s, &v["record_calls"], &v["configured"], &v["path_style"]),
            (200, &json!(false), &json!(false), &json!(true))
        );
        // Recording needs a whole bucket; a bucket is whole or absent.
        let (s, v) = owner.rest(Method::PUT, &settings, Some(json!({"record_calls": true}))).await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (422, Some("recording_storage_not_configured"), Some("record_calls")),
            "{v}"
        );
        let (s, v) =
            owner.rest(Method::PUT, &settings, Some(json!({"endpoint": moto.url, "bucket": "calls"}))).await;
        assert_eq!(
            (s, v["code"].as_str(), v["field"].as_str()),
            (422, Some("required_value"), Some("region")),
            "{v}"
        );
        let mut bad = bucket_body(&moto, "Not_A_Bucket");
        let (s, v) = owner.rest(Method::PUT, &settings, Some(bad.clone())).await;
        assert_eq!((s, v["field"].as_str()), (422, Some("bucket")), "{v}");
        // Never into our own network (only 127.0.0.1 is allowed here).
        for endpoint in
            ["http://10.0.0.5:9000", "http://169.254.169.254", "http://[::1]:9000", "http://127.0.0.2:9000"]
        {
            bad = bucket_body(&moto, "calls");
            bad["endpoint"] = json!(endpoint);
            let (s, v) = owner.rest(Method::PUT, &settings, Some(bad)).await;
            assert_eq!(
                (s, v["code"].as_str(), v["field"].as_str()),
                (422, Some("provider_address_refused"), Some("endpoint")),
                "{endpoint}: {v}"
            );
        }

        let (s, v) = owner.rest(Method::PUT, &settings, Some(bucket_body(&moto, "calls"))).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(
            (&v["configured"], &v["record_calls"], v["secret_hint"].as_str()),
            (&json!(true), &json!(true), Some("…0123"))
        );
        assert!(!v.to_string().contains("handoo-recordings-secret-key"), "the secret key is never returned");
        let (s, v) = owner.rest(Method::POST, &format!("{settings}/test"), None).await;
        assert_eq!((s, &v["ok"]), (200, &json!(true)), "the keys may write: {v}");
        // A bucket that does not exist fails the check with a code, and it is kept.
        owner.rest(Method::PUT, &settings, Some(json!({"bucket": "missing-bucket"}))).await;
        let (_, v) = owner.rest(Method::POST, &format!("{settings}/test"), None).await;
        assert_eq!((&v["ok"], v["code"].as_str()), (&json!(false), Some("not_found")), "{v}");
        let (_, v) = owner.rest(Method::GET, &settings, None).await;
        assert_eq!(v["last_test"]["ok"], json!(false));
        owner.rest(Method::PUT, &settings, Some(json!({"bucket": "calls"}))).await;

        // A call: LiveKit's lifecycle webhooks on, the egress asked for at the answer.
        let hook = format!("{}/webhooks/livekit", c.app.base);
        let control = reqwest::Client::new();
        control
            .post(format!("http://{}/__control/livekit/webhook", c.mock.addr))
            .json(&json!({ "url": hook, "lifecycle": true }))
            .send()
            .await
            .unwrap();
        let (s, call) = c.place(json!({"to_number": "+33612345011", "agent_id": c.agent}), None).await;
        assert_eq!(s, 201, "{call}");
        let id = call["id"].as_str().unwrap().to_string();
        let room = c.until(&id, "in_progress").await["call"]["room_name"].as_str().unwrap().to_string();
        let egress = c.requests("StartRoomCompositeEgress");
        assert_eq!(egress.len(), 1, "one egress per call");
        // (recorded as LiveKit's JSON reads it: camelCase)
        let out = &egress[0]["fileOutputs"][0];
        let key = format!("recordings/{org}/{}.ogg", id.replace('-', ""));
        assert_eq!((&egress[0]["roomName"], &egress[0]["audioOnly"]), (&json!(room), &json!(true)));
        assert_eq!(out["filepath"], json!(key));
        assert_eq!(
            (&out["s3"]["bucket"], &out["s3"]["endpoint"], &out["s3"]["forcePathStyle"]),
            (&json!("calls"), &json!(moto.url), &json!(true))
        );
        assert_eq!(out["fileType"], json!("OGG"));
        let dispatch = c.requests("CreateDispatch");
        let meta: Value =
            serde_json::from_str(dispatch.last().unwrap()["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta["recorded"], json!(true), "the worker knows the call is recorded: {meta}");
        let until_recording = |want: &'static str| {
            let c = &c;
            let id = id.clone();
            async move {
                for _ in 0..200 {
                    let v = c.call(&id).await;
                    if v["call"]["recording_status"] == want {
                        return v;
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                panic!("recording never {want}: {}", c.call(&id).await);
            }
        };
        until_recording("recording").await;
        // Not playable while it records.
        let (s, _) = owner.rest(Method::GET, &format!("/orgs/{org}/calls/{id}/recording"), None).await;
        assert_eq!(s, 404);

        // The callee hangs up: the egress uploads and reports the file.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        control
            .post(format!("http://{}/__control/livekit/hangup", c.mock.addr))
            .json(&json!({"room": room}))
            .send()
            .await
            .unwrap();
        let done = until_recording("ready").await;
        let ms = done["call"]["recording_duration_ms"].as_i64().unwrap();
        assert!((1000..=60_000).contains(&ms), "duration from the egress: {ms}");
        let kinds: Vec<&str> =
            done["timeline"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        for k in ["recording_started", "egress_started", "egress_ended"] {
            assert!(kinds.contains(&k), "{k} on the timeline: {kinds:?}");
        }

        // Played through a short-lived signed address.
        let (s, link) = owner.rest(Method::GET, &format!("/orgs/{org}/calls/{id}/recording"), None).await;
        assert_eq!(s, 200, "{link}");
        let url = link["url"].as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/calls/{key}?", moto.url)) && url.contains("X-Amz-Signature="),
            "{url}"
        );
        assert!(url.contains("X-Amz-Expires=300"), "five minutes: {url}");
        let audio = reqwest::get(url).await.unwrap();
        assert_eq!(audio.status(), 200);
        assert_eq!(&audio.bytes().await.unwrap()[..4], b"RIFF", "the file the egress wrote");
        // The page's player: the bytes relayed by the server, seekable.
        let audio_url = format!("{}/api/v1/orgs/{org}/calls/{id}/recording/audio", c.app.base);
        let res = owner.http.get(&audio_url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(
            (
                res.headers()["content-type"].to_str().unwrap(),
                res.headers()["accept-ranges"].to_str().unwrap()
            ),
            ("audio/ogg", "bytes")
        );
        let whole = res.bytes().await.unwrap();
        assert_eq!(&whole[..4], b"RIFF");
        let res = owner.http.get(&audio_url).header("range", "bytes=4-11").send().await.unwrap();
        assert_eq!(res.status(), 206, "a seek");
        assert_eq!(res.headers()["content-range"].to_str().unwrap(), format!("bytes 4-11/{}", whole.len()));
        assert_eq!(&res.bytes().await.unwrap()[..], &whole[4..12]);
        let res = owner.http.get(&audio_url).header("range", "bytes=0-1; rm -rf").send().await.unwrap();
        assert_eq!(res.status(), 422, "a range is a range");
        let (_, audit) = owner.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
        assert!(audit.to_string().contains("call.recording_played"), "each access is audited");

        // A report about another egress of the room is not this call's recording.
        let ended = proto::WebhookEvent {
            event: "egress_ended".into(),
            id: "EV_other_egress".into(),
            egress_info: Some(proto::EgressInfo {
                egress_id: "EG_someone_else".into(),
                room_name: room.clone(),
                status: proto::EgressStatus::EgressFailed as i32,
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(c.webhook(&ended, LK_KEY).await, 200);
        let after = c.call(&id).await;
        assert_eq!(after["call"]["recording_status"], json!("ready"), "another egress changes nothing");

        // Another organisation's owner, and a stranger, cannot reach it.
        let other = c.app.client().await;
        other.sign_up("Mallory", "mallory@example.com", GOOD_PASSWORD).await.unwrap();
        let theirs = other.create_org("Evil").await;
        for path in
            [format!("/orgs/{theirs}/calls/{id}/recording"), format!("/orgs/{org}/calls/{id}/recording")]
        {
            let (s, v) = other.rest(Method::GET, &path, None).await;
            assert!(s == 404 || s == 403, "{path}: {s} {v}");
            assert!(!v.to_string().contains("X-Amz-Signature"), "{v}");
        }
        let res = other
            .http
            .get(format!("{}/api/v1/orgs/{org}/calls/{id}/recording/audio", c.app.base))
            .send()
            .await
            .unwrap();
        assert!(res.status() == 404 || res.status() == 403, "{}", res.status());
    }
);

on_both_backends!(
    egress_reports_are_applied_once_and_only_where_the_call_asked,
    |backend: Backend| async move {
        let Some(moto) = Moto::start().await else { return };
        moto.create_bucket("calls").await;
        let Some(c) = calling_with(backend, &[("HANDOO_EGRESS_ALLOW", "127.0.0.1/32")]).await else { return };
        let org = c.org.clone();
        let (s, v) = c
            .owner
            .rest(
                Method::PUT,
                &format!("/orgs/{org}/telephony/recordings"),
                Some(bucket_body(&moto, "calls")),
            )
            .await;
        assert_eq!(s, 200, "{v}");
        // Lifecycle webhooks off: this test sends LiveKit's reports itself.
        let (_, call) = c.place(json!({"to_number": "+33612345012", "agent_id": c.agent}), None).await;
        let id = call["id"].as_str().unwrap().to_string();
        let v = c.until(&id, "answered").await;
        let room = v["call"]["room_name"].as_str().unwrap().to_string();
        for _ in 0..100 {
            if c.call(&id).await["call"]["recording_status"] == "recording" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let egress_id = c.mock.state.livekit.lock().unwrap().egresses.last().unwrap().egress_id.clone();
        let ended = |ev_id: &str, filename: &str| proto::WebhookEvent {
            event: "egress_ended".into(),
            id: ev_id.into(),
            egress_info: Some(proto::EgressInfo {
                egress_id: egress_id.clone(),
                room_name: room.clone(),
                status: proto::EgressStatus::EgressComplete as i32,
                file_results: vec![proto::FileInfo {
                    filename: filename.into(),
                    duration: 42_000_000_000,
                    size: 1000,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        // Written somewhere else than asked (another organisation's folder): never played from there.
        assert_eq!(
            c.webhook(
                &ended("EV_misplaced", "recordings/00000000-0000-0000-0000-000000000000/x.ogg"),
                LK_KEY
            )
            .await,
            200
        );
        let v = c.call(&id).await;
        assert_eq!(v["call"]["recording_status"], json!("failed"), "{v}");
        let (s, _) = c.owner.rest(Method::GET, &format!("/orgs/{org}/calls/{id}/recording"), None).await;
        assert_eq!(s, 404);
        // The right report, twice: applied once.
        let key = format!("recordings/{org}/{}.ogg", id.replace('-', ""));
        assert_eq!(c.webhook(&ended("EV_done", &key), LK_KEY).await, 200);
        assert_eq!(c.webhook(&ended("EV_done", &key), LK_KEY).await, 200);
        let v = c.call(&id).await;
        assert_eq!(
            (&v["call"]["recording_status"], &v["call"]["recording_duration_ms"]),
            (&json!("ready"), &json!(42_000))
        );
        let n = v["timeline"].as_array().unwrap().iter().filter(|e| e["kind"] == "egress_ended").count();
        assert_eq!(n, 2, "the misplaced report and the right one, the repeat not again");
        // A forged report (wrong key) changes nothing.
        let (body, _) = mock_vendors::livekit::sign_webhook(&ended("EV_forged", &key), LK_KEY);
        assert_eq!(c.raw_webhook(body, "not-a-token").await, 401);
    }
);

on_both_backends!(agents_choose_whether_their_calls_are_recorded, |backend: Backend| async move {
    let Some(moto) = Moto::start().await else { return };
    moto.create_bucket("calls").await;
    let Some(c) = calling_with(backend, &[("HANDOO_EGRESS_ALLOW", "127.0.0.1/32")]).await else { return };
    let org = c.org.clone();
    // The organisation records by default…
    let (s, _) = c
        .owner
        .rest(Method::PUT, &format!("/orgs/{org}/telephony/recordings"), Some(bucket_body(&moto, "calls")))
        .await;
    assert_eq!(s, 200);
    // …this agent never does, and says so first.
    let (_, agent) = c.owner.rest(Method::GET, &format!("/orgs/{org}/agents/{}", c.agent), None).await;
    let mut settings = agent["settings"].clone();
    settings["recording"] = json!("never");
    settings["recording_disclosure"] = json!("  This call with {{agent.name}} is not recorded. ");
    let (s, v) = c
        .owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/agents/{}", c.agent),
            Some(json!({"settings": settings, "version": agent["version"]})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (_, call) = c.place(json!({"to_number": "+33612345013", "agent_id": c.agent}), None).await;
    let id = call["id"].as_str().unwrap().to_string();
    let v = c.until(&id, "answered").await;
    assert!(c.requests("StartRoomCompositeEgress").is_empty(), "not recorded");
    assert_eq!(v["call"]["recording_status"], Value::Null);
    let meta: Value =
        serde_json::from_str(c.requests("CreateDispatch").last().unwrap()["metadata"].as_str().unwrap())
            .unwrap();
    assert_eq!(meta["recorded"], json!(false));
    assert_eq!(
        meta["recording_disclosure"],
        json!("This call with {{agent.name}} is not recorded."),
        "trimmed, for the worker to speak first"
    );

    // "Always" without a bucket: the call goes ahead, the timeline says why it was not recorded.
    settings["recording"] = json!("always");
    let (_, agent) = c.owner.rest(Method::GET, &format!("/orgs/{org}/agents/{}", c.agent), None).await;
    c.owner
        .rest(
            Method::PUT,
            &format!("/orgs/{org}/agents/{}", c.agent),
            Some(json!({"settings": settings, "version": agent["version"]})),
        )
        .await;
    let clear = json!({"record_calls": false, "endpoint": "", "region": "", "bucket": "", "access_key": "", "secret_key": ""});
    let (s, v) = c.owner.rest(Method::PUT, &format!("/orgs/{org}/telephony/recordings"), Some(clear)).await;
    assert_eq!((s, &v["configured"]), (200, &json!(false)), "{v}");
    let (_, call) = c.place(json!({"to_number": "+33612345014", "agent_id": c.agent}), None).await;
    let id = call["id"].as_str().unwrap().to_string();
    c.until(&id, "answered").await;
    let mut v = Value::Null;
    for _ in 0..100 {
        v = c.call(&id).await;
        if v["call"]["recording_status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(v["call"]["recording_status"], json!("failed"), "{v}");
    let entry = v["timeline"].as_array().unwrap().iter().find(|e| e["kind"] == "recording_failed").cloned();
    assert_eq!(entry.map(|e| e["data"]["code"].clone()), Some(json!("recording_storage_not_configured")));
});

on_both_backends!(
    managers_listen_to_live_calls_with_a_hidden_subscribe_only_token,
    |backend: Backend| async move {
        let Some(c) = calling_with(backend, &[]).await else { return };
        let org = c.org.clone();
        let (_, call) = c.place(json!({"to_number": "+33612345015", "agent_id": c.agent}), None).await;
        let id = call["id"].as_str().unwrap().to_string();
        let room = c.until(&id, "answered").await["call"]["room_name"].as_str().unwrap().to_string();
        let listen = format!("/orgs/{org}/calls/{id}/listen");

        let (s, v) = c.owner.rest(Method::POST, &listen, None).await;
        assert_eq!(s, 200, "{v}");
        let lk = c.mock.base_url("livekit");
        assert_eq!(
            v["url"],
            json!(lk.replacen("http://", "ws://", 1).trim_end_matches('/')),
            "clients connect over WebSocket"
        );
        assert_eq!(v["room"], json!(room));
        let claims =
            livekit_api::access_token::TokenVerifier::with_api_key(LK_KEY, mock_vendors::livekit::API_SECRET)
                .verify(v["token"].as_str().unwrap())
                .expect("signed with the project's secret");
        assert_eq!(
            (claims.video.room.as_str(), claims.sub.as_str()),
            (room.as_str(), v["identity"].as_str().unwrap())
        );
        assert!(claims.video.room_join && claims.video.can_subscribe() && claims.video.hidden);
        assert!(!claims.video.can_publish() && !claims.video.can_publish_data() && !claims.video.room_admin);
        let (_, audit) = c.owner.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
        assert!(audit.to_string().contains("call.listened"), "each listen is audited");

        // The owner's pages may connect to that LiveKit server; a signed-out page to nothing else.
        let page = c.owner.http.get(format!("{}/app/calls/{id}", c.app.base)).send().await.unwrap();
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        let origin = lk.trim_end_matches('/').to_string();
        assert!(
            csp.contains(&format!("connect-src 'self' {} {origin};", origin.replacen("http://", "ws://", 1))),
            "{csp}"
        );
        let anonymous = reqwest::get(format!("{}/login", c.app.base)).await.unwrap();
        assert!(anonymous.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("connect-src 'self';"));

        // A member is not a manager; another organisation does not see the call.
        let (member, _) = c.owner.invite_new_user(&c.app, &org, "Max", "max@example.com", "member").await;
        let (s, _) = member.rest(Method::POST, &listen, None).await;
        assert_eq!(s, 403);
        let other = c.app.client().await;
        other.sign_up("Mallory", "mallory@example.com", GOOD_PASSWORD).await.unwrap();
        let theirs = other.create_org("Evil").await;
        let (s, v) = other.rest(Method::POST, &format!("/orgs/{theirs}/calls/{id}/listen"), None).await;
        assert_eq!(s, 404, "{v}");
        assert!(v.get("token").is_none());

        // Once the call is over there is nothing to listen to.
        c.owner.rest(Method::POST, &format!("/orgs/{org}/calls/{id}/hang-up"), None).await;
        let (s, v) = c.owner.rest(Method::POST, &listen, None).await;
        assert_eq!((s, v["code"].as_str()), (409, Some("invalid_transition")), "{v}");
    }
);
