//! Against LiveKit's real prebuilt library (LIVEKIT_FFI_LIB, set by
//! scripts/venv from the pinned wheel). Skipped when it is not set, unless
//! CI=true. The media tests against a real server are in conformance/livekit.

use rtc::{Error, FfiClient, Room, RoomOptions};

fn library() -> Option<&'static FfiClient> {
    match std::env::var("LIVEKIT_FFI_LIB") {
        Ok(path) if !path.is_empty() => Some(FfiClient::load(&path).expect("load liblivekit_ffi.so")),
        _ if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") => {
            panic!("LIVEKIT_FFI_LIB is not set and CI=true (scripts/venv sets it)")
        }
        _ => {
            eprintln!("skipping: LIVEKIT_FFI_LIB is not set");
            None
        }
    }
}

#[test]
fn loading_twice_gives_the_same_client_and_another_path_is_refused() {
    let Some(client) = library() else { return };
    let again = FfiClient::load(client.path()).unwrap();
    assert!(std::ptr::eq(client, again));
    assert!(matches!(FfiClient::load("/elsewhere/liblivekit_ffi.so"), Err(Error::AlreadyLoaded(_))));
}

#[tokio::test]
async fn connecting_to_a_closed_port_fails_with_the_library_s_reason() {
    let Some(client) = library() else { return };
    let options = RoomOptions { connect_timeout_ms: 3_000, ..Default::default() };
    let result = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        Room::connect(client, "ws://127.0.0.1:9", "not-a-token", options),
    )
    .await
    .expect("the library answers within its own timeout");
    match result {
        Err(Error::Connect(reason)) => assert!(!reason.is_empty()),
        Err(other) => panic!("expected a connect error, got {other}"),
        Ok(room) => panic!("connected to a closed port: {}", room.name()),
    }
}
