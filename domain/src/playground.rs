//! The chat playground's wire types: saved transcript turns and the events
//! streamed to the browser while the agent answers. Shared by the server
//! (which produces them) and the hydrated UI (which renders them).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ErrorCode;

pub const MAX_MESSAGE_CHARS: usize = 4000;
/// Model → tools → model rounds allowed for one user message: a model that
/// keeps calling tools is stopped rather than looping (and billing) forever.
pub const MAX_TOOL_ROUNDS: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TurnKind {
    User { text: String },
    Assistant { text: String },
    ToolCall { id: String, name: String, arguments: String },
    ToolResult { id: String, name: String, ok: bool, content: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Turn {
    /// RFC 3339 UTC.
    pub at: String,
    #[serde(flatten)]
    pub kind: TurnKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TurnNote))]
pub struct Note {
    pub at: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Active,
    Ended,
}

impl ConversationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Active => "active",
            ConversationStatus::Ended => "ended",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "ended" => Some(Self::Ended),
            _ => None,
        }
    }
}

/// One server-sent event of an answer in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PlaygroundEvent {
    /// A piece of the assistant's text.
    Token {
        text: String,
    },
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    ToolResult {
        id: String,
        name: String,
        ok: bool,
        content: String,
    },
    DataUpdated {
        field: String,
        value: Value,
    },
    NoteAdded {
        note: Note,
    },
    Ended {
        reason: String,
    },
    Usage {
        input_tokens: u64,
        output_tokens: u64,
    },
    /// The turn is complete and saved.
    Done,
    /// The turn failed; nothing of it was saved.
    Error {
        code: ErrorCode,
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shapes() {
        let t = Turn { at: "2026-11-25T10:00:00Z".into(), kind: TurnKind::User { text: "hi".into() } };
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"at": "2026-11-25T10:00:00Z", "type": "user", "text": "hi"})
        );
        let e = PlaygroundEvent::Error { code: ErrorCode::ProviderRateLimited, message: "slow down".into() };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"type": "error", "code": "provider_rate_limited", "message": "slow down"})
        );
        let back: PlaygroundEvent = serde_json::from_value(json!({"type": "token", "text": "x"})).unwrap();
        assert_eq!(back, PlaygroundEvent::Token { text: "x".into() });
    }
}
