//! Stable error codes that cross every boundary (server functions, REST, UI).
//!
//! The UI translates a code into the user's language (`errors.<code>` in the
//! locale files); the REST API returns the snake_case code verbatim. Codes are
//! part of the public contract: add new ones, never rename.

use serde::{Deserialize, Serialize};

/// Serialized as its snake_case wire name ([`ErrorCode::as_str`]). Serde
/// is implemented by hand: the derived field visitors (a string match and a
/// byte-string match over ~90 names) were ~20 KB of the browser bundle, and
/// `as_str` / `parse` already are the one table of names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// Input failed validation; the accompanying `field` names the culprit.
    Validation,
    InvalidEmail,
    WeakPassword,
    PasswordTooLong,
    NameRequired,
    NameTooLong,
    EmailTaken,
    InvalidCredentials,
    Unauthenticated,
    Forbidden,
    NotFound,
    RateLimited,
    CsrfMissing,
    CsrfInvalid,
    InviteNotFound,
    InviteExpired,
    InviteUsed,
    InviteRevoked,
    InviteEmailMismatch,
    AlreadyMember,
    AlreadyInvited,
    LastOwner,
    DevLoginDisabled,
    OauthFailed,
    OauthEmailUnverified,
    Conflict,
    TemplateUnknownVariable,
    TemplateUnclosed,
    InvalidFieldName,
    DuplicateFieldName,
    /// A fallback voice that is the agent's own voice, or listed twice.
    DuplicateVoice,
    EnumOptionsRequired,
    TooManyFields,
    InvalidValue,
    RequiredValue,
    InvalidLanguage,
    InvalidPhone,
    UnknownProvider,
    UnknownModel,
    OutOfRange,
    TextTooLong,
    ToolInvalidArguments,
    AgentInactive,
    ConversationEnded,
    ProviderNotConfigured,
    ProviderAuth,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
    ProviderBadRequest,
    ProviderMalformed,
    ProviderModelNotFound,
    SecretKeyMissing,
    InvalidTimezone,
    DuplicateProspect,
    CsvEmpty,
    CsvTooLarge,
    /// A request body over the size the endpoint accepts.
    RequestTooLarge,
    CsvTooManyRows,
    CsvMalformed,
    MappingInvalid,
    ImportNotReady,
    UndoExpired,
    ImportInterrupted,
    TriggerTooBroad,
    TriggerInvalid,
    UnknownPhase,
    /// A script in another language than the agent that would read it
    /// (detail: `<script>/<agent>`, e.g. `fr/en`).
    ScriptLanguageMismatch,
    /// An archived script chosen for new calls.
    ScriptArchived,
    /// The plan's limit for the period is reached (detail: `<limit>: <used> of <allowed>`).
    QuotaExceeded,
    StaleVersion,
    InvalidTransition,
    CallNotAllowed,
    /// A tenant-supplied provider URL points somewhere the egress policy
    /// refuses (loopback, private, link-local… addresses).
    ProviderAddressRefused,
    /// No LiveKit project: neither the organisation's nor the server's.
    TelephonyNotConfigured,
    /// Calls are to be recorded but no bucket is set whole.
    RecordingStorageNotConfigured,
    /// This server has no voice pipeline (its VAD model is not installed).
    VoiceAgentUnavailable,
    /// The callee's side refused the transfer (the SIP REFER); the call goes on.
    TransferRefused,
    /// The organisation holds too many (or too large) uploads not yet imported.
    UploadQuota,
    /// An `Authorization: Bearer` key that is unknown, malformed or revoked.
    ApiKeyInvalid,
    /// The action belongs to a person (saved views, ratings, invitations…);
    /// an API key or a background job cannot take it.
    PersonRequired,
    Internal,
}

impl ErrorCode {
    /// The snake_case wire name, identical to the serde representation.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Validation => "validation",
            InvalidEmail => "invalid_email",
            WeakPassword => "weak_password",
            PasswordTooLong => "password_too_long",
            NameRequired => "name_required",
            NameTooLong => "name_too_long",
            EmailTaken => "email_taken",
            InvalidCredentials => "invalid_credentials",
            Unauthenticated => "unauthenticated",
            Forbidden => "forbidden",
            NotFound => "not_found",
            RateLimited => "rate_limited",
            CsrfMissing => "csrf_missing",
            CsrfInvalid => "csrf_invalid",
            InviteNotFound => "invite_not_found",
            InviteExpired => "invite_expired",
            InviteUsed => "invite_used",
            InviteRevoked => "invite_revoked",
            InviteEmailMismatch => "invite_email_mismatch",
            AlreadyMember => "already_member",
            AlreadyInvited => "already_invited",
            LastOwner => "last_owner",
            DevLoginDisabled => "dev_login_disabled",
            OauthFailed => "oauth_failed",
            OauthEmailUnverified => "oauth_email_unverified",
            Conflict => "conflict",
            TemplateUnknownVariable => "template_unknown_variable",
            TemplateUnclosed => "template_unclosed",
            InvalidFieldName => "invalid_field_name",
            DuplicateFieldName => "duplicate_field_name",
            DuplicateVoice => "duplicate_voice",
            EnumOptionsRequired => "enum_options_required",
            TooManyFields => "too_many_fields",
            InvalidValue => "invalid_value",
            RequiredValue => "required_value",
            InvalidLanguage => "invalid_language",
            InvalidPhone => "invalid_phone",
            UnknownProvider => "unknown_provider",
            UnknownModel => "unknown_model",
            OutOfRange => "out_of_range",
            TextTooLong => "text_too_long",
            ToolInvalidArguments => "tool_invalid_arguments",
            AgentInactive => "agent_inactive",
            ConversationEnded => "conversation_ended",
            ProviderNotConfigured => "provider_not_configured",
            ProviderAuth => "provider_auth",
            ProviderRateLimited => "provider_rate_limited",
            ProviderTimeout => "provider_timeout",
            ProviderUnavailable => "provider_unavailable",
            ProviderBadRequest => "provider_bad_request",
            ProviderMalformed => "provider_malformed",
            ProviderModelNotFound => "provider_model_not_found",
            SecretKeyMissing => "secret_key_missing",
            InvalidTimezone => "invalid_timezone",
            DuplicateProspect => "duplicate_prospect",
            CsvEmpty => "csv_empty",
            CsvTooLarge => "csv_too_large",
            RequestTooLarge => "request_too_large",
            CsvTooManyRows => "csv_too_many_rows",
            CsvMalformed => "csv_malformed",
            MappingInvalid => "mapping_invalid",
            ImportNotReady => "import_not_ready",
            UndoExpired => "undo_expired",
            ImportInterrupted => "import_interrupted",
            TriggerTooBroad => "trigger_too_broad",
            TriggerInvalid => "trigger_invalid",
            UnknownPhase => "unknown_phase",
            ScriptLanguageMismatch => "script_language_mismatch",
            ScriptArchived => "script_archived",
            QuotaExceeded => "quota_exceeded",
            StaleVersion => "stale_version",
            InvalidTransition => "invalid_transition",
            CallNotAllowed => "call_not_allowed",
            ProviderAddressRefused => "provider_address_refused",
            TelephonyNotConfigured => "telephony_not_configured",
            RecordingStorageNotConfigured => "recording_storage_not_configured",
            VoiceAgentUnavailable => "voice_agent_unavailable",
            TransferRefused => "transfer_refused",
            UploadQuota => "upload_quota",
            ApiKeyInvalid => "api_key_invalid",
            PersonRequired => "person_required",
            Internal => "internal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// Errors caused by an upstream provider or missing server setup, not by the request.
    pub fn is_upstream(self) -> bool {
        matches!(
            self,
            ErrorCode::ProviderTimeout
                | ErrorCode::ProviderUnavailable
                | ErrorCode::ProviderMalformed
                | ErrorCode::SecretKeyMissing
                | ErrorCode::VoiceAgentUnavailable
        )
    }

    /// HTTP status a REST client sees for this code.
    pub fn http_status(self) -> u16 {
        use ErrorCode::*;
        match self {
            Validation | InvalidEmail | WeakPassword | PasswordTooLong | NameRequired | NameTooLong => 422,
            EmailTaken | AlreadyMember | AlreadyInvited | Conflict | LastOwner => 409,
            InvalidCredentials | Unauthenticated | ApiKeyInvalid => 401,
            Forbidden | PersonRequired | CsrfMissing | CsrfInvalid | DevLoginDisabled
            | InviteEmailMismatch => 403,
            NotFound | InviteNotFound => 404,
            InviteExpired | InviteUsed | InviteRevoked => 410,
            RateLimited => 429,
            OauthFailed | OauthEmailUnverified => 400,
            TemplateUnknownVariable
            | TemplateUnclosed
            | InvalidFieldName
            | DuplicateFieldName
            | DuplicateVoice
            | EnumOptionsRequired
            | TooManyFields
            | InvalidValue
            | RequiredValue
            | InvalidLanguage
            | InvalidPhone
            | UnknownProvider
            | UnknownModel
            | OutOfRange
            | TextTooLong
            | ToolInvalidArguments
            | ProviderNotConfigured
            | ProviderBadRequest
            | ProviderModelNotFound
            | ProviderAddressRefused
            | TelephonyNotConfigured
            | RecordingStorageNotConfigured => 422,
            AgentInactive | ConversationEnded | TransferRefused => 409,
            ProviderAuth => 424,
            ProviderRateLimited => 429,
            ProviderTimeout => 504,
            ProviderUnavailable | ProviderMalformed => 502,
            SecretKeyMissing | VoiceAgentUnavailable => 503,
            InvalidTimezone | CsvEmpty | CsvTooManyRows | CsvMalformed | MappingInvalid => 422,
            DuplicateProspect | ImportNotReady | ImportInterrupted => 409,
            CsvTooLarge => 413,
            RequestTooLarge => 413,
            UndoExpired => 410,
            TriggerTooBroad | TriggerInvalid | UnknownPhase | ScriptLanguageMismatch | ScriptArchived => 422,
            StaleVersion | InvalidTransition | CallNotAllowed | UploadQuota => 409,
            QuotaExceeded => 402,
            Internal => 500,
        }
    }
}

/// A string of the known codes (the wire name, [`ErrorCode::as_str`]).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for ErrorCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(ALL.iter().map(|c| c.as_str())))
            .description(Some("A stable error code; new codes may be added, none is renamed."))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for ErrorCode {}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = ErrorCode;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an error code")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ErrorCode, E> {
                ErrorCode::parse(v).ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

// `parse` (and so deserialization) knows exactly the codes in `ALL`: it
// must list every variant. `Internal` is the last variant, so this length
// check plus `all_lists_every_variant_in_order` below keep the two in step.
const _: () = assert!(ALL.len() == ErrorCode::Internal as usize + 1);

/// Every code, for exhaustive tests (e.g. "each code has a translation").
pub const ALL: &[ErrorCode] = &[
    ErrorCode::Validation,
    ErrorCode::InvalidEmail,
    ErrorCode::WeakPassword,
    ErrorCode::PasswordTooLong,
    ErrorCode::NameRequired,
    ErrorCode::NameTooLong,
    ErrorCode::EmailTaken,
    ErrorCode::InvalidCredentials,
    ErrorCode::Unauthenticated,
    ErrorCode::Forbidden,
    ErrorCode::NotFound,
    ErrorCode::RateLimited,
    ErrorCode::CsrfMissing,
    ErrorCode::CsrfInvalid,
    ErrorCode::InviteNotFound,
    ErrorCode::InviteExpired,
    ErrorCode::InviteUsed,
    ErrorCode::InviteRevoked,
    ErrorCode::InviteEmailMismatch,
    ErrorCode::AlreadyMember,
    ErrorCode::AlreadyInvited,
    ErrorCode::LastOwner,
    ErrorCode::DevLoginDisabled,
    ErrorCode::OauthFailed,
    ErrorCode::OauthEmailUnverified,
    ErrorCode::Conflict,
    ErrorCode::TemplateUnknownVariable,
    ErrorCode::TemplateUnclosed,
    ErrorCode::InvalidFieldName,
    ErrorCode::DuplicateFieldName,
    ErrorCode::DuplicateVoice,
    ErrorCode::EnumOptionsRequired,
    ErrorCode::TooManyFields,
    ErrorCode::InvalidValue,
    ErrorCode::RequiredValue,
    ErrorCode::InvalidLanguage,
    ErrorCode::InvalidPhone,
    ErrorCode::UnknownProvider,
    ErrorCode::UnknownModel,
    ErrorCode::OutOfRange,
    ErrorCode::TextTooLong,
    ErrorCode::ToolInvalidArguments,
    ErrorCode::AgentInactive,
    ErrorCode::ConversationEnded,
    ErrorCode::ProviderNotConfigured,
    ErrorCode::ProviderAuth,
    ErrorCode::ProviderRateLimited,
    ErrorCode::ProviderTimeout,
    ErrorCode::ProviderUnavailable,
    ErrorCode::ProviderBadRequest,
    ErrorCode::ProviderMalformed,
    ErrorCode::ProviderModelNotFound,
    ErrorCode::SecretKeyMissing,
    ErrorCode::InvalidTimezone,
    ErrorCode::DuplicateProspect,
    ErrorCode::CsvEmpty,
    ErrorCode::CsvTooLarge,
    ErrorCode::RequestTooLarge,
    ErrorCode::CsvTooManyRows,
    ErrorCode::CsvMalformed,
    ErrorCode::MappingInvalid,
    ErrorCode::ImportNotReady,
    ErrorCode::UndoExpired,
    ErrorCode::ImportInterrupted,
    ErrorCode::TriggerTooBroad,
    ErrorCode::TriggerInvalid,
    ErrorCode::UnknownPhase,
    ErrorCode::ScriptLanguageMismatch,
    ErrorCode::ScriptArchived,
    ErrorCode::QuotaExceeded,
    ErrorCode::StaleVersion,
    ErrorCode::InvalidTransition,
    ErrorCode::CallNotAllowed,
    ErrorCode::ProviderAddressRefused,
    ErrorCode::TelephonyNotConfigured,
    ErrorCode::RecordingStorageNotConfigured,
    ErrorCode::VoiceAgentUnavailable,
    ErrorCode::TransferRefused,
    ErrorCode::UploadQuota,
    ErrorCode::ApiKeyInvalid,
    ErrorCode::PersonRequired,
    ErrorCode::Internal,
];

/// A rule violation found by pure validation: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[error("{field}: {}", code.as_str())]
pub struct FieldError {
    pub field: String,
    pub code: ErrorCode,
    /// A value the message quotes (the unknown variable, the allowed range),
    /// never free prose: the UI translates the code and inserts this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: ErrorCode) -> Self {
        Self { field: field.into(), code, detail: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_parse() {
        for code in ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(*code));
            assert_eq!(serde_json::from_str::<ErrorCode>(&json).unwrap(), *code);
        }
        assert_eq!(ErrorCode::parse("nope"), None);
        assert!(serde_json::from_str::<ErrorCode>("\"nope\"").is_err());
        assert!(serde_json::from_str::<ErrorCode>("3").is_err());
        // Inside a struct, as `AppError` carries it (owned and borrowed input).
        #[derive(Deserialize)]
        struct Wrapped {
            code: ErrorCode,
        }
        let w: Wrapped = serde_json::from_slice(br#"{"code":"csrf_invalid"}"#).unwrap();
        assert_eq!(w.code, ErrorCode::CsrfInvalid);
        let w: Wrapped = serde_json::from_value(serde_json::json!({"code": "not_found"})).unwrap();
        assert_eq!(w.code, ErrorCode::NotFound);
    }

    #[test]
    fn all_lists_every_variant_in_order() {
        for (i, code) in ALL.iter().enumerate() {
            assert_eq!(*code as usize, i, "{code:?} is out of place in ALL");
        }
    }

    #[test]
    fn client_errors_are_4xx_and_internal_is_500() {
        for code in ALL {
            let s = code.http_status();
            if *code == ErrorCode::Internal {
                assert_eq!(s, 500);
            } else if code.is_upstream() {
                // The fault is a provider's (or the server's own setup), not the caller's.
                assert!((502..=504).contains(&s), "{code:?} -> {s}");
            } else {
                assert!((400..500).contains(&s), "{code:?} -> {s}");
            }
        }
    }
}
