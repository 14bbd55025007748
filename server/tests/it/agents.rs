//! Agents, folders, provider keys and the chat playground through the HTTP
//! boundary (server functions and REST), on SQLite and PostgreSQL, with the
//! LLM played by `mock-vendors` speaking OpenAI's and Anthropic's wire formats.

use crate::common;

use common::{Backend, Client, TestApp, GOOD_PASSWORD};
use mock_vendors::MockVendors;
use reqwest::Method;
use serde_json::{json, Value};

pub(crate) async fn user(app: &TestApp, name: &str, email: &str) -> Client {
    let c = app.client().await;
    c.sign_up(name, email, GOOD_PASSWORD).await.expect("sign up");
    c
}

pub(crate) fn settings(name: &str) -> Value {
    json!({
        "name": name,
        "description": "Books test drives",
        "kind": "chat",
        "system_prompt": "You call {{prospect.first_name}} from {{prospect.company}} for {{agent.name}}.",
        "first_message": "Hello {{prospect.first_name}}, this is {{agent.name}}.",
        "language": "en",
        "llm": {"provider": "openai", "model": "gpt-4.1-mini", "temperature": 0.3, "max_tokens": 300},
        "stt": null,
        "tts": null,
        "interruption": "medium",
        "max_call_seconds": 600,
        "voicemail": {"action": "hang_up"},
        "transfer_number": null,
        "tools": ["addNote", "updateData", "endCall"],
        "data_schema": {"fields": [
            {"name": "budget", "type": "number", "description": "Monthly budget", "required": true},
            {"name": "model", "type": "enum", "options": ["Clio", "Megane"], "description": "", "required": false}
        ]}
    })
}

pub(crate) async fn create_agent(
    c: &Client,
    org: &str,
    folder: Option<&str>,
    s: Value,
) -> Result<Value, String> {
    c.call_json("create_agent", json!({"org_id": org, "folder_id": folder, "settings": s})).await
}

async fn list(c: &Client, org: &str, filter: Value) -> Vec<Value> {
    let v = c.call_json("list_agents", json!({"org_id": org, "filter": filter})).await.expect("list");
    v.as_array().unwrap().clone()
}

fn names(list: &[Value]) -> Vec<String> {
    list.iter().map(|a| a["name"].as_str().unwrap().to_string()).collect()
}

on_both_backends!(agent_crud_folders_and_filters, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;

    let folder = owner.call("create_agent_folder", &[("org_id", &org), ("name", "Outbound")]).await.unwrap();
    let folder_id = folder["id"].as_str().unwrap().to_string();
    assert_eq!(
        owner.call("create_agent_folder", &[("org_id", &org), ("name", " outbound ")]).await,
        Err("conflict".into()),
        "folder names are unique per organisation, case-insensitively"
    );

    let max = create_agent(&owner, &org, Some(&folder_id), settings("Max")).await.unwrap();
    assert_eq!(max["version"], 1);
    assert_eq!(max["active"], true);
    assert_eq!(max["settings"]["data_schema"]["fields"][0]["name"], "budget");
    let mut voice = settings("Vera");
    voice["kind"] = json!("voice");
    voice["stt"] = json!({"provider": "deepgram", "model": "nova-3"});
    voice["tts"] =
        json!({"provider": "cartesia", "model": "sonic-2", "voice": "694f9389-aac1-45b6-b726-9d9369183238"});
    voice["language"] = json!("fr-fr");
    let vera = create_agent(&owner, &org, None, voice).await.unwrap();
    assert_eq!(vera["settings"]["language"], "fr-FR");

    // Filters: search (case-insensitive, LIKE wildcards literal), type, folder, state.
    assert_eq!(names(&list(&owner, &org, json!({"search": ""})).await), vec!["Max", "Vera"]);
    assert_eq!(names(&list(&owner, &org, json!({"search": "VER"})).await), vec!["Vera"]);
    assert!(list(&owner, &org, json!({"search": "%"})).await.is_empty());
    assert_eq!(names(&list(&owner, &org, json!({"kind": "voice"})).await), vec!["Vera"]);
    assert_eq!(
        names(&list(&owner, &org, json!({"folder": {"in": "folder", "id": folder_id}})).await),
        vec!["Max"]
    );
    assert_eq!(names(&list(&owner, &org, json!({"folder": {"in": "root"}})).await), vec!["Vera"]);

    // Deactivate, filter on state.
    let vera_id = vera["id"].as_str().unwrap().to_string();
    owner
        .call("set_agent_active", &[("org_id", &org), ("agent_id", &vera_id), ("active", "false")])
        .await
        .unwrap();
    assert_eq!(names(&list(&owner, &org, json!({"active": true})).await), vec!["Max"]);
    assert_eq!(names(&list(&owner, &org, json!({"active": false})).await), vec!["Vera"]);

    // Optimistic update: the right version saves, a stale one is a conflict.
    let max_id = max["id"].as_str().unwrap().to_string();
    let mut s = settings("Max Power");
    s["llm"]["temperature"] = json!(1.1);
    let updated = owner
        .call_json(
            "update_agent",
            json!({"org_id": org, "agent_id": max_id, "version": 1, "settings": s.clone()}),
        )
        .await
        .unwrap();
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["settings"]["name"], "Max Power");
    let stale = owner
        .call_json("update_agent", json!({"org_id": org, "agent_id": max_id, "version": 1, "settings": s}))
        .await;
    assert_eq!(stale, Err("conflict".into()));

    // Duplicate: same folder, "(copy)", inactive.
    let copy = owner.call("duplicate_agent", &[("org_id", &org), ("agent_id", &max_id)]).await.unwrap();
    assert_eq!(copy["settings"]["name"], "Max Power (copy)");
    assert_eq!(copy["active"], false);
    assert_eq!(copy["folder_id"].as_str(), Some(folder_id.as_str()));

    // Move, then delete the folder: its agents move to the root.
    owner
        .call_json("move_agent", json!({"org_id": org, "agent_id": vera_id, "folder_id": folder_id}))
        .await
        .unwrap();
    let folders = owner.call("list_agent_folders", &[("org_id", &org)]).await.unwrap();
    assert_eq!(folders[0]["agent_count"], 3);
    let moved =
        owner.call("delete_agent_folder", &[("org_id", &org), ("folder_id", &folder_id)]).await.unwrap();
    assert_eq!(moved, 3);
    assert_eq!(list(&owner, &org, json!({"folder": {"in": "root"}})).await.len(), 3);

    owner.call("delete_agent", &[("org_id", &org), ("agent_id", &vera_id)]).await.unwrap();
    assert_eq!(
        owner.call("get_agent", &[("org_id", &org), ("agent_id", &vera_id)]).await,
        Err("not_found".into())
    );
});

on_both_backends!(invalid_settings_are_refused_with_the_field, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let call = |s: Value| {
        let (o, org) = (&owner, org.clone());
        async move { o.call_json("create_agent", json!({"org_id": org, "folder_id": null, "settings": s})).await }
    };
    let raw = |s: Value| {
        let (o, org) = (&owner, org.clone());
        async move {
            let res = o
                .http
                .post(format!("{}/api/create_agent", o.base))
                .header("x-csrf-token", &o.csrf)
                .json(&json!({"org_id": org, "folder_id": null, "settings": s}))
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }
    };
    let mut s = settings("Max");
    s["system_prompt"] = json!("Hi {{prospect.nickname}}");
    let (status, body) = raw(s).await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "template_unknown_variable");
    assert_eq!(body["field"], "system_prompt");
    assert_eq!(body["detail"], "{{prospect.nickname}}");

    let mut s = settings("Max");
    s["llm"]["model"] = json!("gpt-2");
    assert_eq!(call(s).await, Err("unknown_model".into()));
    let mut s = settings("Max");
    s["data_schema"]["fields"][1]["options"] = json!([]);
    assert_eq!(call(s).await, Err("enum_options_required".into()));
    let mut s = settings("Max");
    s["data_schema"]["fields"][0]["type"] = json!("money");
    assert_eq!(call(s).await, Err("validation".into()), "an unknown field type does not decode");
    let mut s = settings("Max");
    s["kind"] = json!("voice");
    assert_eq!(call(s).await, Err("unknown_provider".into()), "voice agents need speech settings");
    // A folder of another organisation (or none at all) is not found, and nothing is saved.
    let other = owner.create_org("Other").await;
    let foreign = owner.call("create_agent_folder", &[("org_id", &other), ("name", "F")]).await.unwrap();
    assert_eq!(
        create_agent(&owner, &org, foreign["id"].as_str(), settings("Max")).await,
        Err("not_found".into())
    );
    assert!(list(&owner, &org, json!({})).await.is_empty(), "nothing half-saved");
});

on_both_backends!(members_use_agents_but_cannot_manage_them, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let agent = create_agent(&owner, &org, None, settings("Max")).await.unwrap();
    let agent_id = agent["id"].as_str().unwrap().to_string();
    let out = owner
        .call("invite_member", &[("org_id", &org), ("email", "mo@example.com"), ("role", "member")])
        .await
        .unwrap();
    let token = out["link"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    let member = user(&app, "Mo", "mo@example.com").await;
    member.call("accept_invite", &[("token", &token)]).await.unwrap();

    assert_eq!(names(&list(&member, &org, json!({})).await), vec!["Max"]);
    assert_eq!(create_agent(&member, &org, None, settings("Mine")).await, Err("forbidden".into()));
    assert_eq!(
        member.call("delete_agent", &[("org_id", &org), ("agent_id", &agent_id)]).await,
        Err("forbidden".into())
    );
    assert_eq!(
        member.call("create_agent_folder", &[("org_id", &org), ("name", "X")]).await,
        Err("forbidden".into())
    );
    let (status, _) = member.rest(Method::DELETE, &format!("/orgs/{org}/agents/{agent_id}"), None).await;
    assert_eq!(status, 403);
    assert_eq!(
        member
            .call(
                "save_provider_settings",
                &[
                    ("org_id", &org),
                    ("provider", "openai"),
                    ("api_key", "sk-x"),
                    ("base_url", ""),
                    ("clear_key", "false")
                ]
            )
            .await,
        Err("forbidden".into())
    );
    // …but may chat with agents in the playground.
    assert!(member.call("start_conversation", &[("org_id", &org), ("agent_id", &agent_id)]).await.is_ok());
});

on_both_backends!(other_tenants_cannot_see_or_touch_agents, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let alice = user(&app, "Alice", "alice@example.com").await;
    let org_a = alice.create_org("A").await;
    let agent = create_agent(&alice, &org_a, None, settings("Secret")).await.unwrap();
    let agent_id = agent["id"].as_str().unwrap().to_string();
    let conv =
        alice.call("start_conversation", &[("org_id", &org_a), ("agent_id", &agent_id)]).await.unwrap();
    let conv_id = conv["id"].as_str().unwrap().to_string();

    let bob = user(&app, "Bob", "bob@example.com").await;
    let org_b = bob.create_org("B").await;
    // Through org A: not a member.
    assert_eq!(
        bob.call("get_agent", &[("org_id", &org_a), ("agent_id", &agent_id)]).await,
        Err("not_found".into())
    );
    assert_eq!(list_err(&bob, &org_a).await, "not_found");
    // Through his own org B, guessing A's ids.
    assert_eq!(
        bob.call("get_agent", &[("org_id", &org_b), ("agent_id", &agent_id)]).await,
        Err("not_found".into())
    );
    assert_eq!(
        bob.call_json(
            "update_agent",
            json!({"org_id": org_b, "agent_id": agent_id, "version": 1, "settings": settings("Pwned")})
        )
        .await,
        Err("not_found".into())
    );
    assert_eq!(
        bob.call("delete_agent", &[("org_id", &org_b), ("agent_id", &agent_id)]).await,
        Err("not_found".into())
    );
    assert_eq!(
        bob.call("set_agent_active", &[("org_id", &org_b), ("agent_id", &agent_id), ("active", "false")])
            .await,
        Err("not_found".into())
    );
    assert_eq!(
        bob.call("duplicate_agent", &[("org_id", &org_b), ("agent_id", &agent_id)]).await,
        Err("not_found".into())
    );
    assert_eq!(
        bob.call("start_conversation", &[("org_id", &org_b), ("agent_id", &agent_id)]).await,
        Err("not_found".into())
    );
    assert_eq!(
        bob.call("get_conversation", &[("org_id", &org_b), ("conversation_id", &conv_id)]).await,
        Err("not_found".into())
    );
    let (status, _) = bob.rest(Method::GET, &format!("/orgs/{org_b}/agents/{agent_id}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = bob
        .rest_events(&format!("/orgs/{org_b}/conversations/{conv_id}/messages"), json!({"text": "hi"}))
        .await;
    assert_eq!(status, 404);
    // Alice's agent is untouched.
    let a = alice.call("get_agent", &[("org_id", &org_a), ("agent_id", &agent_id)]).await.unwrap();
    assert_eq!(
        (a["settings"]["name"].as_str(), a["active"].as_bool(), a["version"].as_i64()),
        (Some("Secret"), Some(true), Some(1))
    );
});

async fn list_err(c: &Client, org: &str) -> String {
    c.call_json("list_agents", json!({"org_id": org, "filter": {}})).await.unwrap_err()
}

/// Points the org's OpenAI settings at the mock with `key`.
pub(crate) async fn use_mock(c: &Client, org: &str, mock: &MockVendors, key: &str) -> Value {
    let base = mock.base_url("openai");
    c.call(
        "save_provider_settings",
        &[
            ("org_id", org),
            ("provider", "openai"),
            ("api_key", key),
            ("base_url", &base),
            ("clear_key", "false"),
        ],
    )
    .await
    .expect("save provider settings")
}

pub(crate) fn of_type<'a>(events: &'a [Value], t: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == t).collect()
}

// A prospect who asks not to be called again is not argued with: the agent
// apologises and says goodbye in its own language, the opt-out is noted with
// the prospect's words, and the conversation ends — without asking the model
// (the mock would have answered "You said: …"), whatever the prompt says.
on_both_backends!(an_opt_out_ends_the_agents_conversation_politely, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mock = MockVendors::start().await;
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    use_mock(&owner, &org, &mock, "sk-test-1234567890abcd").await;
    for (language, said, goodbye, note) in [
        ("en", "No thanks, and please stop calling me.", "I'm sorry to have disturbed you", "Opt-out"),
        (
            "fr",
            "Retirez-moi de votre fichier, je ne veux plus être appelé.",
            "excusez-moi pour le dérangement",
            "Opposition",
        ),
    ] {
        let mut s = settings("Max");
        s["language"] = json!(language);
        let agent = create_agent(&owner, &org, None, s).await.unwrap();
        let agent_id = agent["id"].as_str().unwrap().to_string();
        let conv =
            owner.call("start_conversation", &[("org_id", &org), ("agent_id", &agent_id)]).await.unwrap();
        let path = format!("/orgs/{org}/conversations/{}/messages", conv["id"].as_str().unwrap());
        // An ordinary message goes to the model.
        let (_, events) = owner.rest_events(&path, json!({"text": "Hello there"})).await;
        assert_eq!(
            of_type(&events, "token").iter().map(|e| e["text"].as_str().unwrap()).collect::<String>(),
            "You said: Hello there"
        );
        let (status, events) = owner.rest_events(&path, json!({"text": said})).await;
        assert_eq!(status, 200, "{events:?}");
        let reply: String = of_type(&events, "token").iter().map(|e| e["text"].as_str().unwrap()).collect();
        assert!(reply.contains(goodbye), "{language}: {reply}");
        let noted = of_type(&events, "note_added")[0]["note"]["text"].as_str().unwrap().to_string();
        assert!(noted.starts_with(note) && noted.contains(said), "{noted}");
        assert_eq!(of_type(&events, "ended")[0]["reason"], "opt_out");
        let (status, body) = owner.rest_events(&path, json!({"text": "hello?"})).await;
        assert_eq!((status, body[0]["code"].as_str()), (409, Some("conversation_ended")));
    }
});

on_both_backends!(playground_streams_tools_and_saves_the_conversation, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mock = MockVendors::start().await;
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let agent = create_agent(&owner, &org, None, settings("Max")).await.unwrap();
    let agent_id = agent["id"].as_str().unwrap().to_string();

    // No key anywhere: refused before anything runs or is saved.
    let conv = owner.call("start_conversation", &[("org_id", &org), ("agent_id", &agent_id)]).await.unwrap();
    let conv_id = conv["id"].as_str().unwrap().to_string();
    assert_eq!(
        conv["turns"][0]["text"], "Hello Alex, this is Max.",
        "first message rendered for the sample prospect"
    );
    let path = format!("/orgs/{org}/conversations/{conv_id}/messages");
    let (status, body) = owner.rest_events(&path, json!({"text": "hi"})).await;
    assert_eq!((status, body[0]["code"].as_str()), (422, Some("provider_not_configured")));

    let saved = use_mock(&owner, &org, &mock, "sk-test-1234567890abcd").await;
    assert_eq!(saved["key_hint"], "…abcd");
    assert_eq!(saved["source"], "organization");

    // Plain text streams in several tokens.
    let (status, events) = owner.rest_events(&path, json!({"text": "Hello there"})).await;
    assert_eq!(status, 200, "{events:?}");
    let tokens: Vec<&str> = of_type(&events, "token").iter().map(|e| e["text"].as_str().unwrap()).collect();
    assert!(tokens.len() > 1, "{tokens:?}");
    assert_eq!(tokens.concat(), "You said: Hello there");
    assert_eq!(events.last().unwrap()["type"], "done");

    // updateData: the call, its result, the data update, then the model's follow-up.
    let (_, events) = owner.rest_events(&path, json!({"text": "My budget is 450"})).await;
    let call = of_type(&events, "tool_call")[0];
    assert_eq!(call["name"], "updateData");
    assert_eq!(of_type(&events, "tool_result")[0]["ok"], true);
    assert_eq!(of_type(&events, "data_updated")[0]["value"], 450, "normalised to a number");
    assert_eq!(
        of_type(&events, "token").iter().map(|e| e["text"].as_str().unwrap()).collect::<String>(),
        "Got it."
    );

    // An invalid value goes back to the model as an error; nothing is stored.
    let (_, events) = owner.rest_events(&path, json!({"text": "model is Zoe"})).await;
    let result = of_type(&events, "tool_result")[0];
    assert_eq!(result["ok"], false);
    assert!(result["content"].as_str().unwrap().contains("one of: Clio, Megane"), "{result}");
    assert!(of_type(&events, "data_updated").is_empty());

    let (_, events) = owner.rest_events(&path, json!({"text": "note: call back on Friday"})).await;
    assert_eq!(of_type(&events, "note_added")[0]["note"]["text"], "call back on Friday");

    // Saved: transcript with timestamps, data, notes, usage.
    let saved =
        owner.call("get_conversation", &[("org_id", &org), ("conversation_id", &conv_id)]).await.unwrap();
    assert_eq!(saved["collected_data"], json!({"budget": 450}));
    assert_eq!(saved["notes"][0]["text"], "call back on Friday");
    assert!(saved["input_tokens"].as_u64().unwrap() > 0 && saved["output_tokens"].as_u64().unwrap() > 0);
    let kinds: Vec<&str> =
        saved["turns"].as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(&kinds[..6], &["assistant", "user", "assistant", "user", "tool_call", "tool_result"]);
    assert!(saved["turns"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["at"].as_str().is_some_and(|a| a.ends_with('Z'))));

    // endCall ends the conversation; further messages are refused.
    let (_, events) = owner.rest_events(&path, json!({"text": "bye"})).await;
    assert_eq!(of_type(&events, "ended")[0]["reason"], "prospect said goodbye");
    let (status, body) = owner.rest_events(&path, json!({"text": "hello?"})).await;
    assert_eq!((status, body[0]["code"].as_str()), (409, Some("conversation_ended")));

    let history =
        owner.call("list_conversations", &[("org_id", &org), ("agent_id", &agent_id)]).await.unwrap();
    assert_eq!(history[0]["status"], "ended");
    assert_eq!(history[0]["id"].as_str(), Some(conv_id.as_str()));

    // The key is sealed at rest: the stored row never holds it.
    use sea_orm::{Database, EntityTrait};
    let db = Database::connect(&app.db.url).await.unwrap();
    let rows = entity::provider_credentials::Entity::find().all(&db).await.unwrap();
    let sealed = rows[0].key_ciphertext.clone().unwrap();
    assert!(sealed.starts_with("v1:") && !sealed.contains("sk-test"), "{sealed}");
});

on_both_backends!(playground_failures_save_nothing, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mock = MockVendors::start().await;
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let agent = create_agent(&owner, &org, None, settings("Max")).await.unwrap();
    let agent_id = agent["id"].as_str().unwrap().to_string();
    let conv = owner.call("start_conversation", &[("org_id", &org), ("agent_id", &agent_id)]).await.unwrap();
    let conv_id = conv["id"].as_str().unwrap().to_string();
    let path = format!("/orgs/{org}/conversations/{conv_id}/messages");
    let turns = || async {
        owner.call("get_conversation", &[("org_id", &org), ("conversation_id", &conv_id)]).await.unwrap()
            ["turns"]
            .as_array()
            .unwrap()
            .len()
    };

    for (key, code) in [
        ("bad-key", "provider_auth"),
        ("rate-limited-long", "provider_rate_limited"),
        ("down", "provider_unavailable"),
        ("midstream-error", "provider_unavailable"),
    ] {
        use_mock(&owner, &org, &mock, key).await;
        let (status, events) = owner.rest_events(&path, json!({"text": "one two three"})).await;
        assert_eq!(status, 200);
        let err = events.last().unwrap();
        assert_eq!(
            (err["type"].as_str(), err["code"].as_str()),
            (Some("error"), Some(code)),
            "{key}: {events:?}"
        );
        assert_eq!(turns().await, 1, "{key}: the failed turn was not saved");
    }
    use_mock(&owner, &org, &mock, "sk-ok").await;
    let (status, body) = owner.rest_events(&path, json!({"text": "   "})).await;
    assert_eq!(
        (status, body[0]["code"].as_str(), body[0]["field"].as_str()),
        (422, Some("required_value"), Some("message"))
    );
    let (status, body) = owner.rest_events(&path, json!({"text": "x".repeat(4001)})).await;
    assert_eq!((status, body[0]["code"].as_str()), (422, Some("text_too_long")));
    let (status, body) = owner.rest_events(&path, json!({"nope": 1})).await;
    assert_eq!((status, body[0]["code"].as_str()), (422, Some("validation")));

    // An inactive agent cannot be talked to.
    owner
        .call("set_agent_active", &[("org_id", &org), ("agent_id", &agent_id), ("active", "false")])
        .await
        .unwrap();
    let (status, body) = owner.rest_events(&path, json!({"text": "hi"})).await;
    assert_eq!((status, body[0]["code"].as_str()), (409, Some("agent_inactive")));
    assert_eq!(
        owner.call("start_conversation", &[("org_id", &org), ("agent_id", &agent_id)]).await,
        Err("agent_inactive".into())
    );
    assert_eq!(turns().await, 1);
});

on_both_backends!(provider_keys_are_masked_tested_and_removable, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mock = MockVendors::start().await;
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let list = owner.call("list_provider_settings", &[("org_id", &org)]).await.unwrap();
    let openai = list.as_array().unwrap().iter().find(|p| p["provider"] == "openai").unwrap();
    assert_eq!(openai["source"], "none");

    use_mock(&owner, &org, &mock, "sk-live-abcdefghijklmnop").await;
    let text = owner.call("list_provider_settings", &[("org_id", &org)]).await.unwrap().to_string();
    assert!(!text.contains("sk-live"), "the key is never sent back: {text}");
    let ok = owner.call("test_provider", &[("org_id", &org), ("provider", "openai")]).await.unwrap();
    assert_eq!(ok["ok"], true);

    use_mock(&owner, &org, &mock, "bad-key").await;
    let bad = owner.call("test_provider", &[("org_id", &org), ("provider", "openai")]).await.unwrap();
    assert_eq!((bad["ok"].as_bool(), bad["error"].as_str()), (Some(false), Some("provider_auth")));
    let list = owner.call("list_provider_settings", &[("org_id", &org)]).await.unwrap();
    let openai = list.as_array().unwrap().iter().find(|p| p["provider"] == "openai").unwrap();
    assert_eq!(openai["last_test_ok"], false);

    // Saving without a key keeps the stored one; bad input is refused.
    let kept = owner
        .call(
            "save_provider_settings",
            &[
                ("org_id", &org),
                ("provider", "openai"),
                ("api_key", ""),
                ("base_url", &mock.base_url("openai")),
                ("clear_key", "false"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(kept["source"], "organization");
    assert_eq!(
        owner
            .call(
                "save_provider_settings",
                &[
                    ("org_id", &org),
                    ("provider", "openai"),
                    ("api_key", "k"),
                    ("base_url", "file:///etc/passwd"),
                    ("clear_key", "false")
                ]
            )
            .await,
        Err("validation".into())
    );
    assert_eq!(
        owner
            .call(
                "save_provider_settings",
                &[
                    ("org_id", &org),
                    ("provider", "skynet"),
                    ("api_key", "k"),
                    ("base_url", ""),
                    ("clear_key", "false")
                ]
            )
            .await,
        Err("unknown_provider".into())
    );
    owner.call("remove_provider_settings", &[("org_id", &org), ("provider", "openai")]).await.unwrap();
    let list = owner.call("list_provider_settings", &[("org_id", &org)]).await.unwrap();
    assert_eq!(
        list.as_array().unwrap().iter().find(|p| p["provider"] == "openai").unwrap()["source"],
        "none"
    );
});

on_both_backends!(server_default_keys_from_env_are_used, |backend: Backend| async move {
    let mock = MockVendors::start().await;
    let base = mock.base_url("anthropic");
    let Some(app) = TestApp::spawn_with(
        backend,
        &[("ANTHROPIC_API_KEY", "sk-ant-server"), ("ANTHROPIC_BASE_URL", &base)],
    )
    .await
    else {
        return;
    };
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    let mut s = settings("Claudia");
    s["llm"] =
        json!({"provider": "anthropic", "model": "claude-haiku-4-5", "temperature": 1.5, "max_tokens": 200});
    let agent = create_agent(&owner, &org, None, s).await.unwrap();
    let conv = owner
        .call("start_conversation", &[("org_id", &org), ("agent_id", agent["id"].as_str().unwrap())])
        .await
        .unwrap();
    let path = format!("/orgs/{org}/conversations/{}/messages", conv["id"].as_str().unwrap());
    let (status, events) = owner.rest_events(&path, json!({"text": "My budget is 300"})).await;
    assert_eq!(status, 200);
    assert_eq!(of_type(&events, "data_updated")[0]["value"], 300, "{events:?}");
    let sent = &mock.state.requests_for("anthropic")[0];
    assert_eq!(sent.headers["x-api-key"], "sk-ant-server");
    assert_eq!(sent.body["temperature"], 1.0, "clamped to Anthropic's range");
    let list = owner.call("list_provider_settings", &[("org_id", &org)]).await.unwrap();
    assert_eq!(
        list.as_array().unwrap().iter().find(|p| p["provider"] == "anthropic").unwrap()["source"],
        "server"
    );
});

on_both_backends!(speech_providers_voices_and_tests, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let mock = MockVendors::start().await;
    let owner = user(&app, "Olivia", "olivia@example.com").await;
    let org = owner.create_org("Acme").await;
    // No key: the shipped voice list.
    let shipped = owner.call("list_voices", &[("org_id", &org), ("provider", "elevenlabs")]).await.unwrap();
    assert_eq!(shipped[0]["name"], "Rachel");
    assert_eq!(
        owner.call("list_voices", &[("org_id", &org), ("provider", "deepgram")]).await,
        Err("unknown_provider".into())
    );
    // With a key: the vendor's live list.
    for (provider, key) in
        [("elevenlabs", "sk-el"), ("deepgram", "sk-dg"), ("assemblyai", "sk-aai"), ("cartesia", "sk-ca")]
    {
        let base = mock.base_url(provider);
        owner
            .call(
                "save_provider_settings",
                &[
                    ("org_id", &org),
                    ("provider", provider),
                    ("api_key", key),
                    ("base_url", &base),
                    ("clear_key", "false"),
                ],
            )
            .await
            .unwrap();
        let tested = owner.call("test_provider", &[("org_id", &org), ("provider", provider)]).await.unwrap();
        assert_eq!(tested["ok"], true, "{provider}: {tested}");
    }
    let live = owner.call("list_voices", &[("org_id", &org), ("provider", "elevenlabs")]).await.unwrap();
    assert!(live.as_array().unwrap().iter().any(|v| v["name"] == "Camille"), "{live}");
    let cartesia = owner.call("list_voices", &[("org_id", &org), ("provider", "cartesia")]).await.unwrap();
    assert!(cartesia.as_array().unwrap().iter().any(|v| v["name"] == "Hélène"), "{cartesia}");
    // A refused key is reported by the test, and the voice list falls back.
    owner
        .call(
            "save_provider_settings",
            &[
                ("org_id", &org),
                ("provider", "deepgram"),
                ("api_key", "bad-key"),
                ("base_url", &mock.base_url("deepgram")),
                ("clear_key", "false"),
            ],
        )
        .await
        .unwrap();
    let bad = owner.call("test_provider", &[("org_id", &org), ("provider", "deepgram")]).await.unwrap();
    assert_eq!((bad["ok"].as_bool(), bad["error"].as_str()), (Some(false), Some("provider_auth")));
});
