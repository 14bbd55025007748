//! What a call's audio travels through, whatever carries it: LiveKit (the
//! caller's track in, the agent's track out, through `liblivekit_ffi.so`) or a
//! WebSocket from the browser's test call. Either way the conversation sees
//! a [`MediaSession`]: caller audio in, agent audio and events out.

use tokio::sync::mpsc;

/// Audio moves in 20 ms frames.
pub const FRAME_MS: u64 = 20;

/// From the caller's side.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    /// Mono 16-bit PCM at the session's `input_rate`, any length.
    Audio(Vec<i16>),
    /// The caller hung up (or the room ended).
    Hangup,
}

/// To the caller's side.
#[derive(Debug, Clone, PartialEq)]
pub enum Outbound {
    /// One frame of agent speech at `output_rate`, sent in real time.
    Audio(Vec<i16>),
    /// Drop whatever agent audio is still buffered on the way out (barge-in).
    Clear,
    /// Something for a screen (the test call's transcript and collected data;
    /// a data message in a LiveKit room).
    Event(serde_json::Value),
    /// End the call from the agent's side.
    HangUp,
}

/// A call's media as the conversation uses it.
pub struct MediaSession {
    pub input_rate: u32,
    pub output_rate: u32,
    pub inbound: mpsc::Receiver<Inbound>,
    pub outbound: mpsc::Sender<Outbound>,
}

/// The other end of a [`pair`]: what a transport (or a test playing the
/// caller) holds.
pub struct FarEnd {
    pub input_rate: u32,
    pub output_rate: u32,
    pub to_agent: mpsc::Sender<Inbound>,
    pub from_agent: mpsc::Receiver<Outbound>,
}

/// A session and its far end, joined by channels. The inbound side holds
/// about two seconds of audio before a sender waits.
pub fn pair(input_rate: u32, output_rate: u32) -> (MediaSession, FarEnd) {
    let (to_agent, inbound) = mpsc::channel(100);
    let (outbound, from_agent) = mpsc::channel(512);
    (
        MediaSession { input_rate, output_rate, inbound, outbound },
        FarEnd { input_rate, output_rate, to_agent, from_agent },
    )
}
