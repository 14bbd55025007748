//! The chat playground: talk to an agent with streamed replies, inline tool
//! calls, the collected-data panel and notes; saved conversations per agent.

pub mod api;
pub mod pages;
pub mod sse;
#[cfg(feature = "hydrate")]
pub mod stream;
