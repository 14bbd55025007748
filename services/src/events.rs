//! The event bus: organisation-scoped live events (a copilot session's
//! transcript and cards, later call status, campaign stats) from whoever
//! produces them to whoever watches, on any node.
//!
//! Two carriers behind one type. In-process (the embedded default, one
//! node): a broadcast channel. PostgreSQL (many nodes): the same channel for
//! this node's own subscribers, plus `NOTIFY handoo_events` for the others;
//! each node `LISTEN`s and re-broadcasts what other nodes published. A
//! notification carries at most 8000 bytes, so a larger payload is stored
//! in `event_payloads` and the notification carries its id (payload by
//! reference). Delivery is at most once, like the broadcast it feeds: a
//! watcher that falls behind or reconnects re-reads the state it shows
//! (every stream that matters starts from a snapshot).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use futures::Stream;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::{ServiceError, ServiceResult};

/// The PostgreSQL channel every node listens on.
pub const CHANNEL: &str = "handoo_events";
/// Notifications above this travel by reference (PostgreSQL's limit is 8000 bytes).
const INLINE_MAX: usize = 7000;
/// Events buffered per subscriber before it counts as lagging.
const CAPACITY: usize = 1024;

/// One event as subscribers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub org_id: Uuid,
    /// What it is about, e.g. `copilot.session.<id>`.
    pub topic: String,
    pub payload: serde_json::Value,
    /// Milliseconds since the epoch when it was published (for lag).
    pub published_at_ms: i64,
}

/// `items` up to and including the first final one (a finished import,
/// an ended session); the stream ends there.
pub fn through_final<T: Send + 'static>(
    items: impl Stream<Item = T> + Send + 'static,
    is_final: impl Fn(&T) -> bool + Send + 'static,
) -> impl Stream<Item = T> + Send + 'static {
    use futures::StreamExt;
    // `None` once a final item went out.
    futures::stream::unfold(Some((Box::pin(items), is_final)), |state| async move {
        let (mut items, is_final) = state?;
        let item = items.next().await?;
        let next = (!is_final(&item)).then_some((items, is_final));
        Some((item, next))
    })
}

/// An event made, not yet delivered (see [`EventBus::event`]).
pub struct Pending(Arc<Event>);

/// What travels in a notification.
#[derive(Serialize, Deserialize)]
struct Wire {
    /// The publishing node: it delivered the event locally already.
    n: Uuid,
    o: Uuid,
    t: String,
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<serde_json::Value>,
    /// Id in `event_payloads` when the payload was too large to inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<Uuid>,
}

/// Figures for `/metrics`.
#[derive(Debug, Default)]
pub struct BusStats {
    pub published: AtomicU64,
    pub received_remote: AtomicU64,
    /// Milliseconds between publication on another node and delivery here,
    /// for the last remote event.
    pub last_remote_lag_ms: AtomicI64,
    pub dropped_lagging: AtomicU64,
}

#[derive(Clone)]
pub struct EventBus {
    inner: Arc<Inner>,
}

struct Inner {
    node: Uuid,
    local: broadcast::Sender<Arc<Event>>,
    /// Set when events also go to other nodes through PostgreSQL.
    pg: Option<DatabaseConnection>,
    stats: BusStats,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus::in_process()
    }
}

impl EventBus {
    /// One node: events stay in this process.
    pub fn in_process() -> EventBus {
        EventBus {
            inner: Arc::new(Inner {
                node: Uuid::now_v7(),
                local: broadcast::channel(CAPACITY).0,
                pg: None,
                stats: BusStats::default(),
            }),
        }
    }

    /// Many nodes on one PostgreSQL: starts listening (one connection of
    /// `db`'s pool, held for the bus's life) before returning, so nothing
    /// published after this returns is missed.
    pub async fn postgres(db: DatabaseConnection) -> ServiceResult<EventBus> {
        let mut listener =
            sea_orm::sqlx::postgres::PgListener::connect_with(db.get_postgres_connection_pool())
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "event bus: cannot connect its listener");
                    ServiceError::internal()
                })?;
        listener.listen(CHANNEL).await.map_err(|e| {
            tracing::error!(error = %e, "event bus: LISTEN failed");
            ServiceError::internal()
        })?;
        let bus = EventBus {
            inner: Arc::new(Inner {
                node: Uuid::now_v7(),
                local: broadcast::channel(CAPACITY).0,
                pg: Some(db.clone()),
                stats: BusStats::default(),
            }),
        };
        let weak = Arc::downgrade(&bus.inner);
        tokio::spawn(async move {
            loop {
                // `recv` reconnects by itself after a lost connection (what
                // was published meanwhile is not replayed: see the module docs).
                let note = match listener.recv().await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "event bus: listener error; retrying");
                        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                        continue;
                    }
                };
                let Some(inner) = weak.upgrade() else { return };
                inner.receive(note.payload()).await;
            }
        });
        Ok(bus)
    }

    /// The bus this database calls for: PostgreSQL's when there is one.
    pub async fn for_database(db: &DatabaseConnection) -> ServiceResult<EventBus> {
        match db.get_database_backend() {
            DbBackend::Postgres => EventBus::postgres(db.clone()).await,
            _ => Ok(EventBus::in_process()),
        }
    }

    /// Publishes `payload` under `topic` to every subscriber of `org_id` on
    /// every node. Local subscribers have it when this returns; other nodes
    /// when PostgreSQL has delivered the notification.
    pub async fn publish(&self, org_id: Uuid, topic: &str, payload: &impl Serialize) -> ServiceResult<()> {
        let event = self.event(org_id, topic, payload)?;
        let _ = self.inner.local.send(event.0.clone());
        if let Some(db) = &self.inner.pg {
            self.inner.notify(db, &event.0).await?;
        }
        Ok(())
    }

    /// An event to publish with a transaction's changes: [`notify_within`]
    /// the transaction, then [`deliver`] once it has committed.
    ///
    /// [`notify_within`]: EventBus::notify_within
    /// [`deliver`]: EventBus::deliver
    pub fn event(&self, org_id: Uuid, topic: &str, payload: &impl Serialize) -> ServiceResult<Pending> {
        let payload = serde_json::to_value(payload).map_err(|_| ServiceError::internal())?;
        self.inner.stats.published.fetch_add(1, Ordering::Relaxed);
        Ok(Pending(Arc::new(Event {
            org_id,
            topic: topic.to_string(),
            payload,
            published_at_ms: chrono::Utc::now().timestamp_millis(),
        })))
    }

    /// Tells the other nodes about `event` inside `txn`: PostgreSQL sends a
    /// notification made in a transaction when it commits, and never if it
    /// rolls back — no node hears of a change that did not happen, and it
    /// costs the transaction's own connection rather than another one.
    pub async fn notify_within<C: ConnectionTrait>(&self, txn: &C, event: &Pending) -> ServiceResult<()> {
        if self.inner.pg.is_some() {
            self.inner.notify(txn, &event.0).await?;
        }
        Ok(())
    }

    /// Hands `event` to this node's subscribers (after the commit).
    pub fn deliver(&self, event: Pending) {
        let _ = self.inner.local.send(event.0);
    }

    /// Events of `org_id` whose topic is `topic`, from now on. A subscriber
    /// too slow to keep up skips what it missed (counted in the stats).
    pub fn subscribe(&self, org_id: Uuid, topic: &str) -> impl Stream<Item = Arc<Event>> + Send + 'static {
        let rx = self.inner.local.subscribe();
        let topic = topic.to_string();
        let inner = self.inner.clone();
        futures::stream::unfold(rx, move |mut rx| {
            let topic = topic.clone();
            let inner = inner.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok(ev) if ev.org_id == org_id && ev.topic == topic => return Some((ev, rx)),
                        Ok(_) => continue,
                        Err(broadcast::error::RecvError::Lagged(n)) => {
                            inner.stats.dropped_lagging.fetch_add(n, Ordering::Relaxed);
                            continue;
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        })
    }

    pub fn stats(&self) -> &BusStats {
        &self.inner.stats
    }

    /// `in_process` or `postgres`.
    pub fn carrier(&self) -> &'static str {
        if self.inner.pg.is_some() {
            "postgres"
        } else {
            "in_process"
        }
    }
}

impl Inner {
    async fn notify<C: ConnectionTrait>(&self, db: &C, event: &Event) -> ServiceResult<()> {
        let mut wire = Wire {
            n: self.node,
            o: event.org_id,
            t: event.topic.clone(),
            at: event.published_at_ms,
            p: Some(event.payload.clone()),
            r: None,
        };
        let mut text = serde_json::to_string(&wire).map_err(|_| ServiceError::internal())?;
        if text.len() > INLINE_MAX {
            let id = Uuid::now_v7();
            db.execute(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "INSERT INTO event_payloads (id, payload, created_at) VALUES ($1, $2, now())",
                [id.into(), event.payload.clone().into()],
            ))
            .await?;
            wire.p = None;
            wire.r = Some(id);
            text = serde_json::to_string(&wire).map_err(|_| ServiceError::internal())?;
            // Readers fetch within milliseconds; an hour is generous.
            if id.as_bytes()[15] == 0 {
                let _ = db
                    .execute_unprepared(
                        "DELETE FROM event_payloads WHERE created_at < now() - interval '1 hour'",
                    )
                    .await;
            }
        }
        db.execute(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, $2)",
            [CHANNEL.into(), text.into()],
        ))
        .await?;
        Ok(())
    }

    async fn receive(&self, text: &str) {
        let Ok(wire) = serde_json::from_str::<Wire>(text) else {
            tracing::warn!("event bus: undecodable notification ignored");
            return;
        };
        if wire.n == self.node {
            return;
        }
        let payload = match (wire.p, wire.r, &self.pg) {
            (Some(p), _, _) => p,
            (None, Some(id), Some(db)) => match fetch(db, id).await {
                Some(p) => p,
                None => {
                    tracing::warn!(%id, "event bus: payload by reference not found");
                    return;
                }
            },
            _ => return,
        };
        let now = chrono::Utc::now().timestamp_millis();
        self.stats.received_remote.fetch_add(1, Ordering::Relaxed);
        self.stats.last_remote_lag_ms.store(now - wire.at, Ordering::Relaxed);
        let _ = self.local.send(Arc::new(Event {
            org_id: wire.o,
            topic: wire.t,
            payload,
            published_at_ms: wire.at,
        }));
    }
}

async fn fetch(db: &DatabaseConnection, id: Uuid) -> Option<serde_json::Value> {
    let row = db
        .query_one(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT payload FROM event_payloads WHERE id = $1",
            [id.into()],
        ))
        .await
        .ok()??;
    row.try_get::<serde_json::Value>("", "payload").ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn subscribers_get_their_organisation_and_topic_only() {
        let bus = EventBus::in_process();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut sub = Box::pin(bus.subscribe(a, "copilot.session.1"));
        bus.publish(b, "copilot.session.1", &"other org").await.unwrap();
        bus.publish(a, "copilot.session.2", &"other topic").await.unwrap();
        bus.publish(a, "copilot.session.1", &serde_json::json!({"n": 1})).await.unwrap();
        let ev = sub.next().await.unwrap();
        assert_eq!((ev.org_id, ev.payload.clone()), (a, serde_json::json!({"n": 1})));
        assert_eq!(bus.stats().published.load(Ordering::Relaxed), 3);
        assert_eq!(bus.carrier(), "in_process");
    }

    #[test]
    fn large_payloads_would_travel_by_reference() {
        let big = serde_json::json!({"text": "x".repeat(INLINE_MAX)});
        let wire = Wire { n: Uuid::nil(), o: Uuid::nil(), t: "t".into(), at: 0, p: Some(big), r: None };
        assert!(serde_json::to_string(&wire).unwrap().len() > INLINE_MAX);
        let by_ref =
            Wire { n: Uuid::nil(), o: Uuid::nil(), t: "t".into(), at: 0, p: None, r: Some(Uuid::nil()) };
        assert!(serde_json::to_string(&by_ref).unwrap().len() < 200);
    }
}
