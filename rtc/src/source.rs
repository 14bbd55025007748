//! Publishing audio: a local audio source the library encodes and sends as
//! a microphone track of the local participant.

use crate::ffi::{Event, FfiClient, OwnedHandle};
use crate::proto::{self, ffi_event, ffi_request, ffi_response};
use crate::room::Room;
use crate::Error;

/// Where published audio comes from: 16-bit PCM frames pushed in real time.
/// The library keeps up to `queue_size_ms` of it; [`AudioSource::capture`]
/// waits while that queue is full, which paces a producer to real time.
pub struct AudioSource {
    client: &'static FfiClient,
    handle: OwnedHandle,
    sample_rate: u32,
    num_channels: u32,
}

impl AudioSource {
    pub fn new(
        client: &'static FfiClient,
        sample_rate: u32,
        num_channels: u32,
        queue_size_ms: u32,
    ) -> Result<AudioSource, Error> {
        let response =
            client.request(ffi_request::Message::NewAudioSource(proto::NewAudioSourceRequest {
                r#type: proto::AudioSourceType::AudioSourceNative as i32,
                sample_rate: Some(sample_rate),
                num_channels: Some(num_channels),
                queue_size_ms: Some(queue_size_ms),
                ..Default::default()
            }))?;
        let ffi_response::Message::NewAudioSource(response) = response else {
            return Err(Error::Unexpected(format!("{response:?}")));
        };
        Ok(AudioSource {
            client,
            handle: OwnedHandle::new(&response.source.handle),
            sample_rate,
            num_channels,
        })
    }

    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Queues one frame (interleaved samples, `num_channels` per instant)
    /// and waits until the library has taken it.
    pub async fn capture(&self, samples: &[i16]) -> Result<(), Error> {
        if samples.is_empty() {
            return Ok(());
        }
        let async_id = self.client.next_async_id();
        let mut done = self.client.subscribe(move |e| {
            matches!(e, Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::CaptureAudioFrame(cb)) }) if cb.async_id == async_id)
        });
        // The library reads the samples through this pointer; the slice
        // outlives the callback we wait for below.
        let buffer = proto::AudioFrameBufferInfo {
            data_ptr: samples.as_ptr() as u64,
            num_channels: self.num_channels,
            sample_rate: self.sample_rate,
            samples_per_channel: (samples.len() / self.num_channels.max(1) as usize) as u32,
        };
        self.client.request(ffi_request::Message::CaptureAudioFrame(proto::CaptureAudioFrameRequest {
            source_handle: self.handle.id(),
            buffer,
            request_async_id: Some(async_id),
        }))?;
        match done.recv().await.ok_or(Error::Closed)? {
            Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::CaptureAudioFrame(cb)) }) => {
                match cb.error.filter(|e| !e.is_empty()) {
                    Some(e) => Err(Error::Unexpected(format!("capture: {e}"))),
                    None => Ok(()),
                }
            }
            other => Err(Error::Unexpected(format!("{other:?}"))),
        }
    }

    /// Drops what the library still holds to send (the agent was interrupted).
    pub fn clear(&self) -> Result<(), Error> {
        self.client.request(ffi_request::Message::ClearAudioBuffer(proto::ClearAudioBufferRequest {
            source_handle: self.handle.id(),
        }))?;
        Ok(())
    }
}

/// A published track; unpublished when the room goes.
pub struct Publication {
    pub sid: String,
    _track: OwnedHandle,
    _publication: OwnedHandle,
}

impl Room {
    /// Publishes `source` as this participant's microphone track.
    pub async fn publish_audio(&self, source: &AudioSource, name: &str) -> Result<Publication, Error> {
        let client = self.client();
        let response =
            client.request(ffi_request::Message::CreateAudioTrack(proto::CreateAudioTrackRequest {
                name: name.to_string(),
                source_handle: source.handle.id(),
            }))?;
        let ffi_response::Message::CreateAudioTrack(response) = response else {
            return Err(Error::Unexpected(format!("{response:?}")));
        };
        let track = OwnedHandle::new(&response.track.handle);
        let async_id = client.next_async_id();
        let mut done = client.subscribe(move |e| {
            matches!(e, Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::PublishTrack(cb)) }) if cb.async_id == async_id)
        });
        client.request(ffi_request::Message::PublishTrack(proto::PublishTrackRequest {
            local_participant_handle: self.local_participant_handle(),
            track_handle: track.id(),
            options: proto::TrackPublishOptions {
                source: Some(proto::TrackSource::SourceMicrophone as i32),
                dtx: Some(false),
                red: Some(true),
                ..Default::default()
            },
            request_async_id: Some(async_id),
        }))?;
        match done.recv().await.ok_or(Error::Closed)? {
            Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::PublishTrack(cb)) }) => {
                match cb.message {
                    Some(proto::publish_track_callback::Message::Publication(p)) => Ok(Publication {
                        sid: p.info.sid.clone(),
                        _publication: OwnedHandle::new(&p.handle),
                        _track: track,
                    }),
                    Some(proto::publish_track_callback::Message::Error(e)) => {
                        Err(Error::Unexpected(format!("publish: {e}")))
                    }
                    None => Err(Error::Unexpected("publish: no result".into())),
                }
            }
            other => Err(Error::Unexpected(format!("{other:?}"))),
        }
    }
}
