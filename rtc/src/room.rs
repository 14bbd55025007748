//! Joining a room and following its events.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::ffi::{Event, FfiClient, OwnedHandle};
use crate::proto::{self, ffi_event, ffi_request, ffi_response, room_event};
use crate::Error;

/// How to join.
#[derive(Debug, Clone)]
pub struct RoomOptions {
    /// Subscribe to every track published in the room (on by default).
    pub auto_subscribe: bool,
    /// Give up connecting after this long.
    pub connect_timeout_ms: u64,
}

impl Default for RoomOptions {
    fn default() -> Self {
        RoomOptions { auto_subscribe: true, connect_timeout_ms: 15_000 }
    }
}

/// A connected room. Dropping it releases the library's room (which leaves).
pub struct Room {
    client: &'static FfiClient,
    handle: OwnedHandle,
    info: proto::RoomInfo,
    local_identity: String,
    local_participant: u64,
    remote: Vec<proto::connect_callback::ParticipantWithTracks>,
    events: mpsc::UnboundedReceiver<Event>,
    early: VecDeque<room_event::Message>,
    _handles: Vec<OwnedHandle>,
}

impl Room {
    /// Connects to `url` (ws:// or wss://) with an access token.
    pub async fn connect(
        client: &'static FfiClient,
        url: &str,
        token: &str,
        options: RoomOptions,
    ) -> Result<Room, Error> {
        let async_id = client.next_async_id();
        // Listen before asking: the callback and the room's first events can
        // arrive before `request` returns. Until the room's handle is known,
        // every room event is taken; afterwards only this room's.
        let room_handle = Arc::new(AtomicU64::new(0));
        let filter_handle = room_handle.clone();
        let mut events = client.subscribe(move |e| match e {
            Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::Connect(cb)) }) => {
                cb.async_id == async_id
            }
            Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::RoomEvent(ev)) }) => {
                let mine = filter_handle.load(Ordering::Acquire);
                mine == 0 || ev.room_handle == mine
            }
            _ => false,
        });
        let request = proto::ConnectRequest {
            url: url.to_string(),
            token: token.to_string(),
            options: proto::RoomOptions {
                auto_subscribe: Some(options.auto_subscribe),
                adaptive_stream: Some(false),
                dynacast: Some(false),
                connect_timeout_ms: Some(options.connect_timeout_ms),
                ..Default::default()
            },
            request_async_id: Some(async_id),
        };
        match client.request(ffi_request::Message::Connect(request))? {
            ffi_response::Message::Connect(_) => {}
            other => return Err(Error::Unexpected(format!("{other:?}"))),
        }
        let mut pending = Vec::new();
        let result = loop {
            match events.recv().await.ok_or(Error::Closed)? {
                Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::Connect(cb)) }) => {
                    match cb.message {
                        Some(proto::connect_callback::Message::Result(result)) => break result,
                        Some(proto::connect_callback::Message::Error(e)) => return Err(Error::Connect(e)),
                        None => return Err(Error::Connect("no result".into())),
                    }
                }
                Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::RoomEvent(ev)) }) => {
                    pending.push(ev)
                }
                _ => {}
            }
        };
        let room = result.room;
        let handle = OwnedHandle::new(&room.handle);
        room_handle.store(handle.id(), Ordering::Release);
        let early = pending
            .into_iter()
            .filter(|ev| ev.room_handle == handle.id())
            .filter_map(|ev| ev.message)
            .collect();
        // The library holds the room's events back until we say we listen
        // (and gives up on the room if we never do).
        match client.request(ffi_request::Message::ReadyForRoomEvent(proto::ReadyForRoomEventRequest {
            room_handle: handle.id(),
        }))? {
            ffi_response::Message::ReadyForRoomEvent(_) => {}
            other => return Err(Error::Unexpected(format!("{other:?}"))),
        }
        // The library hands us the participants and publications present at
        // connect time; they are ours to release, with the room.
        let mut handles = vec![OwnedHandle::new(&result.local_participant.handle)];
        for p in &result.participants {
            handles.push(OwnedHandle::new(&p.participant.handle));
            handles.extend(p.publications.iter().map(|publication| OwnedHandle::new(&publication.handle)));
        }
        Ok(Room {
            client,
            handle,
            info: room.info,
            local_participant: result.local_participant.handle.id,
            local_identity: result.local_participant.info.identity,
            remote: result.participants,
            events,
            early,
            _handles: handles,
        })
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    pub fn local_identity(&self) -> &str {
        &self.local_identity
    }

    /// The library's handle of our own participant (kept with the room).
    pub(crate) fn local_participant_handle(&self) -> u64 {
        self.local_participant
    }

    /// The participants that were already in the room when we joined.
    pub fn initial_participants(&self) -> &[proto::connect_callback::ParticipantWithTracks] {
        &self.remote
    }

    pub fn client(&self) -> &'static FfiClient {
        self.client
    }

    /// The room's next event; `None` once the library stops sending any.
    ///
    /// Events that hand over an object (a subscribed track, a participant)
    /// carry its `FfiOwnedHandle`: wrap the ones you keep in [`OwnedHandle`]
    /// (an [`AudioStream`](crate::AudioStream) takes its track's), and drop an
    /// `OwnedHandle` of the others to give them back.
    pub async fn next_event(&mut self) -> Option<room_event::Message> {
        if let Some(ev) = self.early.pop_front() {
            return Some(ev);
        }
        loop {
            match self.events.recv().await? {
                Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::RoomEvent(ev)) })
                    if ev.room_handle == self.handle.id() =>
                {
                    if let Some(m) = ev.message {
                        return Some(m);
                    }
                }
                _ => {}
            }
        }
    }

    /// Leaves the room and waits until the library confirms.
    pub async fn disconnect(self) -> Result<(), Error> {
        let async_id = self.client.next_async_id();
        let mut done = self.client.subscribe(move |e| {
            matches!(e, Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::Disconnect(cb)) }) if cb.async_id == async_id)
        });
        self.client.request(ffi_request::Message::Disconnect(proto::DisconnectRequest {
            room_handle: self.handle.id(),
            request_async_id: Some(async_id),
            reason: Some(proto::DisconnectReason::ClientInitiated as i32),
        }))?;
        done.recv().await.ok_or(Error::Closed)?;
        Ok(())
    }
}
