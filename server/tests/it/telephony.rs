//! Telephony settings and SIP trunks, through the REST API, against the
//! LiveKit stand-in in `mock-vendors` (its Twirp API, grants checked per
//! method): the secret stays sealed and write-only, the connection test is
//! stored, a tenant's LiveKit URL passes the egress policy, the server's
//! own project serves organisations without one, trunks are created and
//! deleted in LiveKit, and another organisation sees none of it.

use crate::common;

use common::{Backend, TestApp, GOOD_PASSWORD};
use domain::agent::{AgentKind, AgentSettings};
use entity::telephony_settings;
use mock_vendors::livekit::API_SECRET;
use mock_vendors::MockVendors;
use reqwest::Method;
use sea_orm::EntityTrait;
use serde_json::json;

on_both_backends!(
    an_organisation_s_livekit_project_is_sealed_tested_and_kept_to_itself,
    |backend: Backend| async move {
        let mock = MockVendors::start().await;
        let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_EGRESS_ALLOW", "127.0.0.1/32")]).await else {
            return;
        };
        let owner = app.client().await;
        owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
        let org = owner.create_org("Acme").await;
        let path = format!("/orgs/{org}/telephony");

        let (s, v) = owner.rest(Method::GET, &path, None).await;
        assert_eq!((s, &v["server_default"], &v["livekit_url"]), (200, &json!(false), &json!(null)), "{v}");
        let (s, v) = owner.rest(Method::POST, &format!("{path}/test"), None).await;
        assert_eq!((s, v["code"].as_str()), (422, Some("telephony_not_configured")), "{v}");

        // Incomplete projects are refused, field by field.
        let (s, v) =
            owner.rest(Method::PUT, &path, Some(json!({"livekit_url": mock.base_url("livekit")}))).await;
        assert_eq!((s, v["field"].as_str()), (422, Some("livekit_api_key")), "{v}");
        let (s, v) = owner
            .rest(
                Method::PUT,
                &path,
                Some(json!({"livekit_url": "gopher://x", "livekit_api_key": "k", "livekit_api_secret": "s"})),
            )
            .await;
        assert_eq!((s, v["field"].as_str()), (422, Some("livekit_url")), "{v}");

        let ws_url = mock.base_url("livekit").replace("http://", "ws://");
        let (s, v) = owner
        .rest(
            Method::PUT,
            &path,
            Some(json!({"livekit_url": ws_url, "livekit_api_key": "APIacme", "livekit_api_secret": API_SECRET})),
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["livekit_url"], format!("{}/", mock.base_url("livekit")), "ws:// reads as http://");
        assert_eq!(v["livekit_secret_hint"].as_str().map(|h| h.ends_with("cdef")), Some(true), "{v}");
        assert!(!v.to_string().contains(API_SECRET), "the secret is never returned");
        let stored = telephony_settings::Entity::find().all(&app.state.db).await.unwrap();
        assert!(!format!("{stored:?}").contains(API_SECRET), "nor stored in the clear");

        let (s, v) = owner.rest(Method::POST, &format!("{path}/test"), None).await;
        assert_eq!((s, &v["ok"]), (200, &json!(true)), "{v}");
        assert!(v["latency_ms"].as_i64().is_some(), "{v}");
        let asked = mock.state.requests_for("livekit");
        assert_eq!(asked.last().map(|r| r.path.as_str()), Some("/twirp/livekit.RoomService/ListRooms"));
        let jwt = asked.last().unwrap().headers["authorization"]
            .to_str()
            .unwrap()
            .trim_start_matches("Bearer ")
            .to_string();
        let claims = livekit_api::access_token::TokenVerifier::with_api_key("APIacme", API_SECRET)
            .verify(&jwt)
            .unwrap();
        assert!(
            claims.video.room_list && !claims.video.room_admin && !claims.video.room_create,
            "only what it needs"
        );
        let (_, v) = owner.rest(Method::GET, &path, None).await;
        assert_eq!(v["last_test"]["ok"], true, "the result is kept: {v}");

        // Another secret: LiveKit refuses it, and the stored result says so
        // without echoing what LiveKit answered.
        let (s, _) =
            owner.rest(Method::PUT, &path, Some(json!({"livekit_api_secret": "not-the-secret"}))).await;
        assert_eq!(s, 200);
        let (_, v) = owner.rest(Method::GET, &path, None).await;
        assert_eq!(v["last_test"], json!(null), "a changed project has not been tested");
        let (s, v) = owner.rest(Method::POST, &format!("{path}/test"), None).await;
        assert_eq!((s, &v["ok"], v["code"].as_str()), (200, &json!(false), Some("provider_auth")), "{v}");
        // LiveKit down.
        owner
            .rest(
                Method::PUT,
                &path,
                Some(json!({"livekit_api_key": "lk-down", "livekit_api_secret": API_SECRET})),
            )
            .await;
        let (_, v) = owner.rest(Method::POST, &format!("{path}/test"), None).await;
        assert_eq!(v["code"].as_str(), Some("provider_unavailable"), "{v}");

        // A member uses telephony but does not configure it.
        let (member, _) = owner.invite_new_user(&app, &org, "Mia", "mia@example.com", "member").await;
        let (s, _) = member.rest(Method::GET, &path, None).await;
        assert_eq!(s, 403);
        let (s, _) = member.rest(Method::GET, &format!("{path}/trunks"), None).await;
        assert_eq!(s, 200);
        // Another organisation's owner learns nothing, not even that it exists.
        let other = app.client().await;
        other.sign_up("Otto", "otto@example.com", GOOD_PASSWORD).await.expect("sign up");
        other.create_org("Rival").await;
        for (m, p) in [
            (Method::GET, path.clone()),
            (Method::POST, format!("{path}/test")),
            (Method::GET, format!("{path}/trunks")),
        ] {
            let (s, _) = other.rest(m, &p, None).await;
            assert_eq!(s, 404, "{p}");
        }
    }
);

on_both_backends!(a_livekit_url_inside_our_network_is_refused, |backend: Backend| async move {
    // The policy as it ships: public addresses only.
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_EGRESS_ALLOW", "")]).await else { return };
    let owner = app.client().await;
    owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
    let org = owner.create_org("Acme").await;
    for url in ["http://127.0.0.1:7880", "https://169.254.169.254", "http://[::1]:7880", "http://10.0.0.8"] {
        let (s, v) = owner
            .rest(
                Method::PUT,
                &format!("/orgs/{org}/telephony"),
                Some(json!({"livekit_url": url, "livekit_api_key": "k", "livekit_api_secret": "s"})),
            )
            .await;
        assert_eq!((s, v["code"].as_str()), (422, Some("provider_address_refused")), "{url}: {v}");
    }
});

on_both_backends!(
    trunks_are_made_in_livekit_and_the_server_project_serves_organisations_without_one,
    |backend: Backend| async move {
        let mock = MockVendors::start().await;
        let url = mock.base_url("livekit");
        let env = [
            ("LIVEKIT_URL", url.as_str()),
            ("LIVEKIT_API_KEY", "APIserver"),
            ("LIVEKIT_API_SECRET", API_SECRET),
            // The operator's project is on loopback here; what a tenant
            // gives is held to the policy as it ships.
            ("HANDOO_EGRESS_ALLOW", ""),
        ];
        let Some(app) = TestApp::spawn_with(backend, &env).await else { return };
        let owner = app.client().await;
        owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("sign up");
        let org = owner.create_org("Acme").await;
        let path = format!("/orgs/{org}/telephony");
        let (_, v) = owner.rest(Method::GET, &path, None).await;
        assert_eq!(v["server_default"], true);
        let (_, v) = owner.rest(Method::POST, &format!("{path}/test"), None).await;
        assert_eq!(v["ok"], true, "the server's project answers: {v}");

        // An outbound trunk: LiveKit gets the credentials, we keep the password sealed.
        let new = json!({"name": "Main", "address": "93.184.216.34:5080", "numbers": ["+33 1 87 65 43 21"],
        "auth_username": "acme", "auth_password": "trunk-pass-123"});
        let (s, trunk) = owner.rest(Method::POST, &format!("{path}/trunks"), Some(new.clone())).await;
        assert_eq!(s, 201, "{trunk}");
        assert_eq!(
            (trunk["numbers"].clone(), trunk["has_password"].clone()),
            (json!(["+33187654321"]), json!(true))
        );
        assert!(!trunk.to_string().contains("trunk-pass-123"));
        {
            let lk = mock.state.livekit.lock().unwrap();
            assert_eq!(lk.outbound_trunks.len(), 1);
            let t = &lk.outbound_trunks[0];
            assert_eq!(
                (t.address.as_str(), t.auth_password.as_str()),
                ("93.184.216.34:5080", "trunk-pass-123")
            );
            assert_eq!(t.sip_trunk_id, trunk["livekit_trunk_id"].as_str().unwrap());
        }
        // Bad input is refused before LiveKit is asked.
        for (bad, field) in [
            (json!({"name": "X", "address": "sip:evil@x", "numbers": ["+33187654321"]}), "address"),
            (json!({"name": "X", "address": "sip.example.com", "numbers": []}), "numbers"),
            (json!({"name": "X", "address": "sip.example.com", "numbers": ["0187654321"]}), "numbers"),
            (json!({"name": "", "address": "sip.example.com", "numbers": ["+33187654321"]}), "name"),
        ] {
            let (s, v) = owner.rest(Method::POST, &format!("{path}/trunks"), Some(bad)).await;
            assert_eq!((s, v["field"].as_str()), (422, Some(field)), "{v}");
        }
        // The server's SIP bridge would dial the address: not into our network.
        let inside = json!({"name": "X", "address": "127.0.0.1:5060", "numbers": ["+33187654321"]});
        let (s, v) = owner.rest(Method::POST, &format!("{path}/trunks"), Some(inside)).await;
        assert_eq!((s, v["code"].as_str()), (422, Some("provider_address_refused")), "{v}");
        assert_eq!(mock.state.livekit.lock().unwrap().outbound_trunks.len(), 1);

        // The default trunk and caller number.
        let id = trunk["id"].as_str().unwrap().to_string();
        let (s, v) = owner
            .rest(
                Method::PUT,
                &path,
                Some(json!({"default_trunk_id": id, "default_caller_number": "+33 1 87 65 43 21"})),
            )
            .await;
        assert_eq!((s, v["default_caller_number"].as_str()), (200, Some("+33187654321")), "{v}");
        let (_, list) = owner.rest(Method::GET, &format!("{path}/trunks"), None).await;
        assert_eq!(list[0]["is_default"], true, "{list}");

        // An inbound trunk takes calls to a voice agent, through a dispatch rule.
        let chat =
            AgentSettings { name: "Chatty".into(), ..AgentSettings::new_default(AgentKind::Chat, "en_us") };
        let voice =
            AgentSettings { name: "Caller".into(), ..AgentSettings::new_default(AgentKind::Voice, "en_us") };
        let (_, chat) =
            owner.rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": chat}))).await;
        let (_, voice) =
            owner.rest(Method::POST, &format!("/orgs/{org}/agents"), Some(json!({"settings": voice}))).await;
        let inbound = |agent: &serde_json::Value| json!({"direction": "inbound", "name": "Hotline", "numbers": ["+33187650000"], "agent_id": agent["id"]});
        let (s, v) = owner.rest(Method::POST, &format!("{path}/trunks"), Some(inbound(&chat))).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (422, Some("agent_id")),
            "a chat agent cannot answer the phone: {v}"
        );
        let (s, hotline) = owner.rest(Method::POST, &format!("{path}/trunks"), Some(inbound(&voice))).await;
        assert_eq!(s, 201, "{hotline}");
        {
            let lk = mock.state.livekit.lock().unwrap();
            let rule = &lk.dispatch_rules[0];
            assert_eq!(rule.trunk_ids, vec![hotline["livekit_trunk_id"].as_str().unwrap().to_string()]);
            let agents = &rule.room_config.as_ref().unwrap().agents;
            assert_eq!(agents[0].agent_name, services::telephony::trunks::AGENT_NAME);
            assert!(agents[0].metadata.contains(voice["id"].as_str().unwrap()));
        }

        // Another organisation cannot touch them.
        let other = app.client().await;
        other.sign_up("Otto", "otto@example.com", GOOD_PASSWORD).await.expect("sign up");
        let rival = other.create_org("Rival").await;
        let (s, _) = other.rest(Method::DELETE, &format!("/orgs/{rival}/telephony/trunks/{id}"), None).await;
        assert_eq!(s, 404, "not theirs");
        let (_, theirs) = other.rest(Method::GET, &format!("/orgs/{rival}/telephony/trunks"), None).await;
        assert_eq!(theirs, json!([]));
        let (s, _) = other
            .rest(Method::PUT, &format!("/orgs/{rival}/telephony"), Some(json!({"default_trunk_id": id})))
            .await;
        assert_eq!(s, 404, "nor borrow them as a default");

        // Deleting: gone in LiveKit, gone here, no longer the default.
        let (s, _) = owner.rest(Method::DELETE, &format!("{path}/trunks/{id}"), None).await;
        assert_eq!(s, 204);
        let hotline_id = hotline["id"].as_str().unwrap();
        let (s, _) = owner.rest(Method::DELETE, &format!("{path}/trunks/{hotline_id}"), None).await;
        assert_eq!(s, 204);
        {
            let lk = mock.state.livekit.lock().unwrap();
            assert!(
                lk.outbound_trunks.is_empty() && lk.inbound_trunks.is_empty() && lk.dispatch_rules.is_empty()
            );
        }
        let (_, v) = owner.rest(Method::GET, &path, None).await;
        assert_eq!(v["default_trunk_id"], json!(null));
        let (_, list) = owner.rest(Method::GET, &format!("{path}/trunks"), None).await;
        assert_eq!(list, json!([]));
        let (_, audit) = owner.rest(Method::GET, &format!("/orgs/{org}/audit"), None).await;
        let actions: Vec<&str> =
            audit.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(
            actions.contains(&"telephony.trunk_created") && actions.contains(&"telephony.trunk_deleted"),
            "{actions:?}"
        );
    }
);
