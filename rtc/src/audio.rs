//! Reading a remote audio track as PCM.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::ffi::{Event, FfiClient, OwnedHandle};
use crate::proto::{self, audio_stream_event, ffi_event, ffi_request, ffi_response};
use crate::Error;

/// Interleaved 16-bit samples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AudioFrame {
    pub data: Vec<i16>,
    pub sample_rate: u32,
    pub num_channels: u32,
    pub samples_per_channel: u32,
}

impl AudioFrame {
    /// Copies a frame out of a buffer the library owns.
    pub(crate) fn copy_from(info: &proto::AudioFrameBufferInfo) -> AudioFrame {
        let samples = info.num_channels as usize * info.samples_per_channel as usize;
        let ptr = info.data_ptr as usize as *const i16;
        let data = if ptr.is_null() || samples == 0 {
            Vec::new()
        } else {
            // SAFETY: the library hands us `num_channels * samples_per_channel`
            // i16 samples at `data_ptr`, valid until its handle is dropped,
            // which the caller does only after this copy.
            unsafe { std::slice::from_raw_parts(ptr, samples) }.to_vec()
        };
        AudioFrame {
            data,
            sample_rate: info.sample_rate,
            num_channels: info.num_channels,
            samples_per_channel: info.samples_per_channel,
        }
    }

    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        if self.sample_rate == 0 {
            0.0
        } else {
            self.samples_per_channel as f64 / self.sample_rate as f64
        }
    }
}

/// The frames of one remote audio track, resampled by the library to the
/// rate and channel count asked for.
pub struct AudioStream {
    handle: OwnedHandle,
    // The track must outlive its stream.
    _track: OwnedHandle,
    events: mpsc::UnboundedReceiver<Event>,
}

impl AudioStream {
    /// Opens a stream on a subscribed track (from `TrackSubscribed`); the
    /// stream owns the track from then on and releases it with itself.
    pub fn open(
        client: &'static FfiClient,
        track: proto::OwnedTrack,
        sample_rate: u32,
        num_channels: u32,
    ) -> Result<AudioStream, Error> {
        let track_handle = OwnedHandle::new(&track.handle);
        let stream_handle = Arc::new(AtomicU64::new(0));
        let filter_handle = stream_handle.clone();
        let matches = move |h: u64| {
            let mine = filter_handle.load(Ordering::Acquire);
            mine == 0 || h == mine
        };
        let events = client.subscribe(move |e| match e {
            Event::AudioFrame { stream_handle, .. } => matches(*stream_handle),
            Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::AudioStreamEvent(ev)) }) => {
                matches(ev.stream_handle)
            }
            _ => false,
        });
        let response =
            client.request(ffi_request::Message::NewAudioStream(proto::NewAudioStreamRequest {
                track_handle: track_handle.id(),
                r#type: proto::AudioStreamType::AudioStreamNative as i32,
                sample_rate: Some(sample_rate),
                num_channels: Some(num_channels),
                ..Default::default()
            }))?;
        let ffi_response::Message::NewAudioStream(response) = response else {
            return Err(Error::Unexpected(format!("{response:?}")));
        };
        let handle = OwnedHandle::new(&response.stream.handle);
        stream_handle.store(handle.id(), Ordering::Release);
        Ok(AudioStream { handle, _track: track_handle, events })
    }

    /// The next frame; `None` at the end of the track.
    pub async fn next(&mut self) -> Option<AudioFrame> {
        loop {
            match self.events.recv().await? {
                Event::AudioFrame { stream_handle, frame } if stream_handle == self.handle.id() => {
                    return Some(frame)
                }
                Event::Ffi(proto::FfiEvent { message: Some(ffi_event::Message::AudioStreamEvent(ev)) })
                    if ev.stream_handle == self.handle.id()
                        && matches!(ev.message, Some(audio_stream_event::Message::Eos(_))) =>
                {
                    return None
                }
                _ => {}
            }
        }
    }
}
