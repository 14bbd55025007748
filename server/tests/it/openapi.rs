//! The OpenAPI document against the server it describes: `schemathesis`
//! (PyPI, pinned in conformance/requirements.txt) generates requests for
//! every operation from the document, sends them with an API key of a real
//! organisation, and checks that no answer is a 5xx, has a status the
//! document does not list, or a body or content type that violates it.

use std::process::Command;

use serde_json::{json, Value};

use crate::common;

use common::{Backend, TestApp, GOOD_PASSWORD};

/// The venv scripts/venv builds (scripts/test sources it first).
fn schemathesis() -> Option<std::path::PathBuf> {
    let venv = std::env::var_os("HANDOO_VENV")?;
    let bin = std::path::Path::new(&venv).join("bin/schemathesis");
    bin.exists().then_some(bin)
}

on_both_backends!(the_api_conforms_to_its_openapi_document, |backend: Backend| async move {
    let Some(bin) = schemathesis() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "schemathesis is missing: source scripts/venv (HANDOO_VENV) before the tests"
        );
        eprintln!("SKIPPED: schemathesis not installed (source scripts/venv)");
        return;
    };
    let Some(app) = TestApp::spawn_with(backend, &[("HANDOO_API_KEY_RATE_PER_MINUTE", "100000")]).await
    else {
        return;
    };
    let c = app.client().await;
    c.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.unwrap();
    let org = c.create_org("Acme").await;
    let grantable: Vec<&str> =
        domain::Permission::ALL.iter().filter(|p| p.grantable_to_keys()).map(|p| p.as_str()).collect();
    let created = c
        .call_json("create_api_key", json!({"org_id": org, "name": "schemathesis", "permissions": grantable}))
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    // Something to find, so reads of the organisation's data return rows.
    let (s, _) = c
        .rest(
            reqwest::Method::POST,
            &format!("/orgs/{org}/prospects"),
            Some(json!({"first_name": "Ada", "last_name": "Lovelace", "phone": "+33612345678"})),
        )
        .await;
    assert_eq!(s, 201);

    let dir = std::env::temp_dir().join(format!("handoo-schemathesis-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    // Every `{org}` is the key's organisation: otherwise every generated
    // request would stop at the 404 of an unknown organisation.
    let config = dir.join("schemathesis.toml");
    std::fs::write(&config, format!("[parameters]\n\"path.org\" = \"{org}\"\n")).unwrap();
    let out = Command::new(bin)
        .current_dir(&dir)
        .args(["--config-file", config.to_str().unwrap(), "run"])
        .arg(format!("{}/api/v1/openapi.json", app.base))
        .args(["--url", &format!("{}/api/v1", app.base)])
        .args(["-H", &format!("Authorization: Bearer {secret}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "25"])
        // One worker: CPython 3.11's `compile()` is not thread-safe, and
        // hypothesis compiles lambdas' sources while it draws (two workers
        // failed the coverage phase with "AST constructor recursion depth
        // mismatch").
        .args(["--workers", "1"])
        // A WebSocket cannot be spoken by an HTTP fuzzer; their handshakes
        // are tested in copilot.rs and voice_agent.rs.
        .args(["--exclude-operation-id", "session_audio"])
        .args(["--exclude-operation-id", "agent_test_call"])
        // Follows an import until its final state: on the fixture's pending
        // import it stays open by design, and every generated request would
        // wait out the timeout (tested in `prospects::import_progress_…`).
        .args(["--exclude-operation-id", "import_events"])
        // The same for a call's changes and the organisation's: a stream that
        // stays open as long as the watcher does (tested in `calls::an_open_call_page_…`).
        .args(["--exclude-operation-id", "calls_events"])
        .args(["--exclude-operation-id", "call_events"])
        .args(["--request-timeout", "20", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .expect("run schemathesis");
    let report =
        format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "schemathesis found problems:\n{report}");
    // It did test the operations (a document it could not read tests nothing).
    let doc: Value =
        reqwest::get(format!("{}/api/v1/openapi.json", app.base)).await.unwrap().json().await.unwrap();
    assert!(doc["paths"].as_object().unwrap().len() > 50);
    assert!(report.contains("passed") || report.contains("Passed"), "{report}");
});
