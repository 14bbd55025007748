//! Handoo's voice agent.
//!
//! [`worker`] speaks LiveKit's agent protocol: it registers under an agent
//! name, answers the server's availability questions, takes the jobs it is
//! assigned (one per call), reports their status, reconnects when the socket
//! drops without abandoning the calls it is running, and drains on shutdown.
//! What a job does — join the room and hold the conversation — is the
//! [`worker::JobRunner`] it is given.

pub mod audio;
pub mod call;
pub mod conversation;
pub mod livekit;
pub mod media;
pub mod metrics;
pub mod sentences;
pub mod simulate;
mod speaker;
pub mod transcriber;
pub mod vad;
pub mod voicemail;
pub mod worker;

pub use worker::{AssignedJob, JobRunner, Worker, WorkerEvent, WorkerOptions};
