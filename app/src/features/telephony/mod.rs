//! Settings → Telephony: the organisation's LiveKit project (or the
//! server's), the connection test, the default trunk and caller number, and
//! SIP trunks (outbound to dial out, inbound with the agent that answers),
//! and where call recordings go.

pub mod api;
pub mod pages;
pub mod recordings;
