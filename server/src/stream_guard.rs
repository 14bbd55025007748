//! Streams that end when access ends.
//!
//! A request is authorised once, when it arrives; a server-sent event stream
//! or a WebSocket then stays open for as long as the client likes. A
//! [`StreamGuard`] keeps asking the question again while it is open, the same
//! way the request was answered: the caller's credential still stands (the
//! session is still in the store, unexpired, signed in as the same user) and
//! [`services::require_org`] still grants the permission the stream was
//! opened with. It asks every `HANDOO_STREAM_RECHECK_MS` (2 s by default),
//! and at once when this process ends a session or changes a membership
//! ([`services::authz::access_changed`]); other nodes sharing the database
//! notice at their next periodic check.
//!
//! When the answer is no, [`StreamGuard::revoked`] completes: an event stream
//! sends `event: revoked` and closes ([`StreamGuard::sse`]); a socket sends a
//! close frame 1008 (policy violation), reason [`REVOKED_REASON`].
//!
//! API keys will plug in as another [`Credential`]: one more arm in
//! [`Access::credential_holds`] and a call to `access_changed` on revocation.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use domain::{ErrorCode, Permission};
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use services::OrgCtx;
use tokio::sync::watch;
use tower_sessions::session_store::SessionStore;
use uuid::Uuid;

use crate::rest::Caller;
use crate::sessions::DbSessionStore;
use crate::state::AppState;

/// The reason in the close frame of a socket whose access ended.
pub const REVOKED_REASON: &str = "access revoked";

/// Cross-site WebSocket hijacking guard: when the browser names an origin,
/// it must be this server's.
pub(crate) fn same_origin(headers: &axum::http::HeaderMap) -> bool {
    let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) else { return true };
    let Some(host) = headers.get("host").and_then(|v| v.to_str().ok()) else { return false };
    origin.split_once("://").map(|(_, rest)| rest) == Some(host)
}

/// What a browser's WebSocket into an organisation is checked for before
/// anything is read for it: it comes from this server's pages, and its
/// caller holds `permission` there. (Once open, a [`StreamGuard`] started
/// with the same permission keeps asking.)
pub(crate) fn admit_socket(
    headers: &axum::http::HeaderMap,
    ctx: &OrgCtx,
    permission: Permission,
) -> Result<(), crate::rest::AppError> {
    if !same_origin(headers) {
        return Err(crate::rest::AppError::new(ErrorCode::Forbidden));
    }
    ctx.require(permission)?;
    Ok(())
}

/// Checks in a row that got no answer (the database unreachable) before a
/// stream is ended anyway: closed on failure, but not on one hiccup.
const MAX_UNANSWERED: u32 = 3;

/// Why a stream's access ended, as the code a fresh request would now get:
/// `unauthenticated` (session ended), `not_found` (no longer a member),
/// `forbidden` (the role no longer allows it), `internal` (could not tell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revoked(pub ErrorCode);

/// Watches one open stream's access; dropping it stops the watching.
pub struct StreamGuard {
    revoked: watch::Receiver<Option<Revoked>>,
    checker: tokio::task::AbortHandle,
}

impl StreamGuard {
    /// Starts watching `caller`'s access to `ctx`'s organisation with
    /// `permission` — the permission the stream was authorised with, as
    /// `ctx` was just built.
    pub fn start(state: &AppState, caller: Caller, ctx: &OrgCtx, permission: Permission) -> StreamGuard {
        let access = Access {
            db: state.db.clone(),
            sessions: state.sessions.clone(),
            caller,
            org_id: ctx.org_id(),
            permission,
        };
        let every = state.config.stream_recheck;
        let (tx, rx) = watch::channel(None);
        let checker = tokio::spawn(async move {
            let why = access.watch(every).await;
            tx.send_replace(Some(why));
        })
        .abort_handle();
        StreamGuard { revoked: rx, checker }
    }

    /// Completes when access has ended (at once if it already has). Cheap
    /// and cancel-safe: call it afresh in every `select!`.
    pub async fn revoked(&self) -> Revoked {
        let mut rx = self.revoked.clone();
        loop {
            let now = *rx.borrow_and_update();
            if let Some(why) = now {
                return why;
            }
            if rx.changed().await.is_err() {
                // The checker is gone without an answer (it panicked): closed.
                let last = *rx.borrow();
                return last.unwrap_or(Revoked(ErrorCode::Internal));
            }
        }
    }

    /// `events` until they end or access does; then one `event: revoked`
    /// (its data shaped like an error event: `{"type":"error","code",
    /// "message"}`) and the end of the stream.
    pub fn sse<S>(self, events: S) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static
    where
        S: Stream<Item = Result<Event, Infallible>> + Send + 'static,
    {
        futures::stream::unfold(Some((Box::pin(events), self)), |state| async move {
            let (mut events, guard) = state?;
            let next = tokio::select! {
                biased;
                why = guard.revoked() => Err(why),
                ev = events.next() => Ok(ev),
            };
            match next {
                Err(why) => Some((Ok(revoked_event(why)), None)),
                Ok(Some(ev)) => Some((ev, Some((events, guard)))),
                Ok(None) => None,
            }
        })
    }

    /// The answer of an event-stream route: each item one `data:` line of
    /// JSON, kept alive while idle, ending as [`StreamGuard::sse`] does.
    pub fn json_sse<T: serde::Serialize>(self, items: impl Stream<Item = T> + Send + 'static) -> Response {
        let events = items.map(|item| {
            Ok(Event::default().json_data(&item).unwrap_or_else(|_| Event::default().data("{}")))
        });
        Sse::new(self.sse(events)).keep_alive(KeepAlive::default()).into_response()
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.checker.abort();
    }
}

/// The last event of a stream whose access ended.
pub fn revoked_event(why: Revoked) -> Event {
    let data = serde_json::json!({"type": "error", "code": why.0.as_str(), "message": REVOKED_REASON});
    Event::default().event("revoked").data(data.to_string())
}

/// What one stream's access rests on.
struct Access {
    db: DatabaseConnection,
    sessions: DbSessionStore,
    caller: Caller,
    org_id: Uuid,
    permission: Permission,
}

impl Access {
    /// Re-checks on every tick and every [`services::authz::access_changed`]
    /// until access has ended; says why.
    async fn watch(&self, every: Duration) -> Revoked {
        let mut changes = services::authz::access_changes();
        let mut listening = true;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate, and access was checked just now.
        tick.tick().await;
        let mut unanswered = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                changed = changes.changed(), if listening => listening = changed.is_ok(),
            }
            match self.check().await {
                Ok(()) => unanswered = 0,
                Err(Some(why)) => {
                    tracing::info!(
                        caller = %self.caller,
                        org = %self.org_id,
                        code = why.0.as_str(),
                        "access ended: closing the stream"
                    );
                    return why;
                }
                Err(None) => {
                    unanswered += 1;
                    if unanswered >= MAX_UNANSWERED {
                        tracing::warn!(
                            caller = %self.caller,
                            org = %self.org_id,
                            "access could not be re-checked: closing the stream"
                        );
                        return Revoked(ErrorCode::Internal);
                    }
                }
            }
        }
    }

    /// `Err(Some(_))`: access has ended; `Err(None)`: no answer this time.
    async fn check(&self) -> Result<(), Option<Revoked>> {
        match self.credential_holds().await {
            Ok(true) => {}
            Ok(false) => return Err(Some(Revoked(ErrorCode::Unauthenticated))),
            Err(e) => {
                tracing::warn!(caller = %self.caller, error = %e, "stream credential check failed");
                return Err(None);
            }
        }
        // The same rule as when the stream was opened.
        let user_id = match self.caller {
            Caller::Session { user_id, .. } => user_id,
            // `credential_holds` has re-read the key and its grant.
            Caller::ApiKey { .. } => return Ok(()),
        };
        match services::require_org(&self.db, user_id, self.org_id, self.permission).await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.code, ErrorCode::NotFound | ErrorCode::Forbidden) => {
                Err(Some(Revoked(e.code)))
            }
            Err(e) => {
                tracing::warn!(
                    caller = %self.caller,
                    code = e.code.as_str(),
                    "stream membership check failed"
                );
                Err(None)
            }
        }
    }

    /// The credential the stream was opened with still stands.
    async fn credential_holds(&self) -> Result<bool, String> {
        match self.caller {
            Caller::ApiKey { key_id } => {
                // Not revoked, still this organisation's, still granting it.
                services::api_keys::still_allows(&self.db, key_id, self.org_id, self.permission)
                    .await
                    .map_err(|e| e.to_string())
            }
            Caller::Session { user_id, session_id: id } => {
                // Logout deletes the record; a new sign-in replaces its id;
                // an expired one is not loaded.
                let record = self.sessions.load(&id).await.map_err(|e| e.to_string())?;
                Ok(record.is_some_and(|r| {
                    r.data
                        .get(app::ssr::SESSION_USER)
                        .and_then(|v| serde_json::from_value::<Uuid>(v.clone()).ok())
                        == Some(user_id)
                }))
            }
        }
    }
}
