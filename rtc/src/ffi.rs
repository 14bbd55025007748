//! Loading `liblivekit_ffi.so`, requests, handles and the event callback.
//!
//! The library has one process-wide callback with no user pointer, so events
//! go to one static dispatcher that hands each to the subscribers whose filter
//! accepts it. Audio frames are copied out and their buffers released inside
//! the callback: a slow or vanished consumer can never leak native buffers.

use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use prost::Message;
use tokio::sync::mpsc;

use crate::audio::AudioFrame;
use crate::proto;
use crate::Error;

type RequestFn = unsafe extern "C" fn(*const u8, usize, *mut *const u8, *mut usize) -> u64;
type DropHandleFn = unsafe extern "C" fn(u64) -> bool;
type Callback = extern "C" fn(*const u8, usize);
type InitializeFn = unsafe extern "C" fn(Callback, bool, *const c_char, *const c_char);

/// The loaded library. There is at most one per process (the library keeps
/// global state), reached through [`FfiClient::load`] or [`FfiClient::get`].
pub struct FfiClient {
    path: String,
    request: RequestFn,
    drop_handle: DropHandleFn,
    next_async_id: AtomicU64,
    // Kept last and never dropped: the library stays mapped for the process.
    _lib: libloading::Library,
}

static CLIENT: Mutex<Option<&'static FfiClient>> = Mutex::new(None);

/// What the dispatcher delivers.
// Not boxed: an event is moved once into a channel, and audio frames (the
// small variant) are the hot path; an extra allocation per room event buys
// nothing measurable.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Event {
    /// Any event but audio frames and logs, as the library sent it.
    Ffi(proto::FfiEvent),
    /// A frame of a stream opened with [`crate::AudioStream`], already copied.
    AudioFrame { stream_handle: u64, frame: AudioFrame },
}

type Filter = Box<dyn Fn(&Event) -> bool + Send>;
static SUBSCRIBERS: Mutex<Vec<(Filter, mpsc::UnboundedSender<Event>)>> = Mutex::new(Vec::new());

impl FfiClient {
    /// Loads and initialises the library at `path` (once per process; a second
    /// call with the same path returns the same client).
    pub fn load(path: &str) -> Result<&'static FfiClient, Error> {
        let mut slot = CLIENT.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = *slot {
            return if client.path == path {
                Ok(client)
            } else {
                Err(Error::AlreadyLoaded(client.path.clone()))
            };
        }
        let load_err = |e: libloading::Error| Error::Load { path: path.to_string(), reason: e.to_string() };
        // SAFETY: loading runs the library's initialisers; liblivekit_ffi has
        // none with preconditions (the Python SDK loads it the same way).
        let lib = unsafe { libloading::Library::new(path) }.map_err(load_err)?;
        // SAFETY: the signatures are those of the library's C header
        // (livekit_ffi.h) and of the Python SDK's ctypes declarations.
        let (request, drop_handle, initialize) = unsafe {
            (
                *lib.get::<RequestFn>(b"livekit_ffi_request\0").map_err(load_err)?,
                *lib.get::<DropHandleFn>(b"livekit_ffi_drop_handle\0").map_err(load_err)?,
                *lib.get::<InitializeFn>(b"livekit_ffi_initialize\0").map_err(load_err)?,
            )
        };
        let client: &'static FfiClient = Box::leak(Box::new(FfiClient {
            path: path.to_string(),
            request,
            drop_handle,
            next_async_id: AtomicU64::new(1),
            _lib: lib,
        }));
        *slot = Some(client);
        drop(slot);
        // One of the SDK names the server knows (it warns about others).
        let sdk = CString::new("rust").expect("no NUL");
        let version = CString::new(env!("CARGO_PKG_VERSION")).expect("no NUL");
        // SAFETY: `on_event` matches the callback type and never unwinds; the
        // strings outlive the call (the library copies them).
        unsafe { initialize(on_event, true, sdk.as_ptr(), version.as_ptr()) };
        Ok(client)
    }

    /// The client loaded earlier in this process, if any.
    pub fn get() -> Option<&'static FfiClient> {
        *CLIENT.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the library was loaded from.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// A fresh id for a request whose answer comes later as an event: we pick
    /// it (`request_async_id`) so we can listen for it before asking.
    pub fn next_async_id(&self) -> u64 {
        // High bit set: never collides with ids the library picks itself.
        self.next_async_id.fetch_add(1, Ordering::Relaxed) | (1 << 62)
    }

    /// One synchronous request/response round.
    pub fn request(
        &self,
        message: proto::ffi_request::Message,
    ) -> Result<proto::ffi_response::Message, Error> {
        let bytes = proto::FfiRequest { message: Some(message) }.encode_to_vec();
        let mut res_ptr: *const u8 = std::ptr::null();
        let mut res_len: usize = 0;
        // SAFETY: the buffer is valid for its length during the call; the
        // library writes a pointer to its own response buffer, owned by the
        // returned handle until we drop it below.
        let handle = unsafe { (self.request)(bytes.as_ptr(), bytes.len(), &mut res_ptr, &mut res_len) };
        if handle == 0 || res_ptr.is_null() {
            return Err(Error::InvalidHandle);
        }
        // SAFETY: see above; copied out before the handle is released.
        let decoded = proto::FfiResponse::decode(unsafe { std::slice::from_raw_parts(res_ptr, res_len) });
        self.release(handle);
        decoded?.message.ok_or_else(|| Error::Unexpected("empty response".into()))
    }

    /// Events accepted by `filter`, in the order the library sent them.
    pub fn subscribe(
        &self,
        filter: impl Fn(&Event) -> bool + Send + 'static,
    ) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        SUBSCRIBERS.lock().unwrap_or_else(|p| p.into_inner()).push((Box::new(filter), tx));
        rx
    }

    fn release(&self, handle: u64) {
        // SAFETY: dropping a handle the library gave us, once.
        unsafe { (self.drop_handle)(handle) };
    }
}

/// A handle the library gave us; released when dropped.
#[derive(Debug)]
pub struct OwnedHandle(u64);

impl OwnedHandle {
    pub fn new(owned: &proto::FfiOwnedHandle) -> Self {
        OwnedHandle(owned.id)
    }
    pub fn id(&self) -> u64 {
        self.0
    }
}

impl Drop for OwnedHandle {
    fn drop(&mut self) {
        if self.0 != 0 {
            if let Some(client) = FfiClient::get() {
                client.release(self.0);
            }
        }
    }
}

extern "C" fn on_event(data: *const u8, len: usize) {
    // Unwinding across the C boundary would abort the process: contain it.
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the library passes a buffer valid for `len` bytes during the call.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) };
        match proto::FfiEvent::decode(bytes) {
            Ok(event) => dispatch(event),
            Err(e) => tracing::error!(target: "livekit_ffi", "undecodable FFI event: {e}"),
        }
    }));
}

fn dispatch(event: proto::FfiEvent) {
    use proto::ffi_event::Message as M;
    let event = match event.message {
        Some(M::Logs(batch)) => {
            for r in batch.records {
                log_record(&r);
            }
            return;
        }
        Some(M::Panic(p)) => {
            tracing::error!(target: "livekit_ffi", "panic inside liblivekit_ffi: {}", p.message);
            Event::Ffi(proto::FfiEvent { message: Some(M::Panic(p)) })
        }
        Some(M::AudioStreamEvent(ev)) => match ev.message {
            Some(proto::audio_stream_event::Message::FrameReceived(received)) => {
                let buffer = received.frame;
                let handle = OwnedHandle::new(&buffer.handle);
                let frame = AudioFrame::copy_from(&buffer.info);
                drop(handle);
                Event::AudioFrame { stream_handle: ev.stream_handle, frame }
            }
            other => Event::Ffi(proto::FfiEvent {
                message: Some(M::AudioStreamEvent(proto::AudioStreamEvent {
                    stream_handle: ev.stream_handle,
                    message: other,
                })),
            }),
        },
        other => Event::Ffi(proto::FfiEvent { message: other }),
    };
    let mut subscribers = SUBSCRIBERS.lock().unwrap_or_else(|p| p.into_inner());
    subscribers.retain(|(_, tx)| !tx.is_closed());
    let mut targets = subscribers.iter().filter(|(filter, _)| filter(&event)).map(|(_, tx)| tx).peekable();
    while let Some(tx) = targets.next() {
        if targets.peek().is_some() {
            let _ = tx.send(event.clone());
        } else {
            let _ = tx.send(event);
            break;
        }
    }
}

fn log_record(r: &proto::LogRecord) {
    use proto::LogLevel as L;
    let (target, msg) = (&r.target, &r.message);
    match r.level() {
        L::LogError => tracing::error!(target: "livekit_ffi", "{target}: {msg}"),
        L::LogWarn => tracing::warn!(target: "livekit_ffi", "{target}: {msg}"),
        L::LogInfo => tracing::info!(target: "livekit_ffi", "{target}: {msg}"),
        L::LogDebug => tracing::debug!(target: "livekit_ffi", "{target}: {msg}"),
        L::LogTrace => tracing::trace!(target: "livekit_ffi", "{target}: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{audio_stream_event, ffi_event, room_event};

    fn room_event(handle: u64) -> proto::FfiEvent {
        proto::FfiEvent {
            message: Some(ffi_event::Message::RoomEvent(proto::RoomEvent {
                room_handle: handle,
                message: Some(room_event::Message::Eos(proto::RoomEos {})),
            })),
        }
    }

    fn subscribe(filter: impl Fn(&Event) -> bool + Send + 'static) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        SUBSCRIBERS.lock().unwrap().push((Box::new(filter), tx));
        rx
    }

    fn room_of(e: &Event) -> Option<u64> {
        match e {
            Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::RoomEvent(ev)) }) => {
                Some(ev.room_handle)
            }
            _ => None,
        }
    }

    #[test]
    fn events_go_to_every_subscriber_whose_filter_accepts_them() {
        // Handles far from those other tests use: the dispatcher is process-wide.
        let mut a = subscribe(|e| room_of(e) == Some(9_001));
        let mut both = subscribe(|e| matches!(room_of(e), Some(9_001 | 9_002)));
        dispatch(room_event(9_001));
        dispatch(room_event(9_002));
        assert_eq!(room_of(&a.try_recv().unwrap()), Some(9_001));
        assert!(a.try_recv().is_err());
        assert_eq!(room_of(&both.try_recv().unwrap()), Some(9_001));
        assert_eq!(room_of(&both.try_recv().unwrap()), Some(9_002));
    }

    #[test]
    fn a_dropped_subscriber_is_forgotten() {
        let rx = subscribe(|e| room_of(e) == Some(9_100));
        drop(rx);
        dispatch(room_event(9_100));
        let left =
            SUBSCRIBERS.lock().unwrap().iter().filter(|(f, _)| f(&Event::Ffi(room_event(9_100)))).count();
        assert_eq!(left, 0);
    }

    #[test]
    fn audio_frames_are_copied_out_of_the_library_buffer() {
        let samples: Vec<i16> = vec![1, -2, 300, -400, 5, -6];
        let mut rx = subscribe(|e| matches!(e, Event::AudioFrame { stream_handle: 9_200, .. }));
        dispatch(proto::FfiEvent {
            message: Some(ffi_event::Message::AudioStreamEvent(proto::AudioStreamEvent {
                stream_handle: 9_200,
                message: Some(audio_stream_event::Message::FrameReceived(proto::AudioFrameReceived {
                    frame: proto::OwnedAudioFrameBuffer {
                        handle: proto::FfiOwnedHandle { id: 0 },
                        info: proto::AudioFrameBufferInfo {
                            data_ptr: samples.as_ptr() as u64,
                            num_channels: 2,
                            sample_rate: 48_000,
                            samples_per_channel: 3,
                        },
                    },
                })),
            })),
        });
        let Event::AudioFrame { frame, .. } = rx.try_recv().unwrap() else { panic!("not a frame") };
        assert_eq!(frame.data, samples);
        assert_eq!((frame.num_channels, frame.sample_rate, frame.samples_per_channel), (2, 48_000, 3));
        assert!((frame.duration() - 3.0 / 48_000.0).abs() < 1e-12);
    }

    #[test]
    fn a_library_that_cannot_be_loaded_is_a_typed_error() {
        match FfiClient::load("/nonexistent/liblivekit_ffi.so") {
            Err(Error::Load { path, .. }) => assert_eq!(path, "/nonexistent/liblivekit_ffi.so"),
            other => panic!("{:?}", other.map(|c| c.path().to_string())),
        }
    }
}
