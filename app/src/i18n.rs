// The generated code is a `mod i18n` inside this `i18n` module, by leptos_i18n design.
#![allow(clippy::module_inception)]

//! The generated translation module (see `build.rs`) plus helpers that bridge
//! it to `domain` types.

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub use i18n::*;

use domain::ErrorCode;
use leptos::prelude::*;
use leptos_i18n::I18nContext;

/// The cookie that keeps the visitor's language: the server renders in it
/// (see [`ssr_locale_source`]); signing in sets it to the account's
/// language, and the language switcher to the one picked. We keep it
/// ourselves rather than through leptos_i18n's `cookie` feature, whose
/// cookie handling (leptos-use's `use_cookie` with the `cookie` and `time`
/// crates) was ~60 KB of the browser bundle for one `document.cookie` write.
pub const LOCALE_COOKIE: &str = "i18n_pref_locale";

/// The cookie value that keeps `locale` for a year (`Set-Cookie` on the
/// server, `document.cookie` in the browser).
pub fn locale_cookie(locale: &str) -> String {
    format!("{LOCALE_COOKIE}={locale}; Path=/; Max-Age=31536000; SameSite=Lax")
}

/// The visitor's language, from their request: the language cookie when it
/// names a language we have, otherwise the best match for the browser's
/// `Accept-Language` (q-weights honoured). The page is rendered in it, and a
/// new account (password, invitation or Google) is created in it, so what a
/// visitor reads before signing up is what they read after.
#[cfg(feature = "ssr")]
pub fn visitor_locale(headers: &http::HeaderMap) -> Option<domain::Locale> {
    crate::ssr::cookie_value(headers, LOCALE_COOKIE).and_then(|v| domain::Locale::parse(&v)).or_else(|| {
        let header = headers.get(http::header::ACCEPT_LANGUAGE)?.to_str().ok()?;
        domain::Locale::negotiate(header)
    })
}

/// Where leptos_i18n takes the page's language from on the server
/// ([`visitor_locale`]; it asks for "the Accept-Language header", and a bare
/// `fr` is a valid one). The browser then hydrates in the `<html lang>` the
/// server chose.
#[cfg(feature = "ssr")]
pub fn ssr_locale_source() -> leptos_i18n::context::UseLocalesOptions {
    leptos_i18n::context::UseLocalesOptions::default().ssr_lang_header_getter(|| {
        let parts = use_context::<http::request::Parts>()?;
        visitor_locale(&parts.headers).map(|l| l.as_str().to_string())
    })
}

/// Keeps the language the visitor picked for their next visits.
pub fn remember_locale(locale: Locale) {
    let _ = locale;
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Ok(doc) = document().dyn_into::<web_sys::HtmlDocument>() {
            let _ = doc.set_cookie(&locale_cookie(to_domain(locale).as_str()));
        }
    }
}

/// Our domain locale ↔ the generated one.
pub fn to_domain(l: Locale) -> domain::Locale {
    match l {
        Locale::fr => domain::Locale::Fr,
        Locale::en => domain::Locale::En,
    }
}

pub fn from_domain(l: domain::Locale) -> Locale {
    match l {
        domain::Locale::Fr => Locale::fr,
        domain::Locale::En => Locale::en,
    }
}

/// The translated message for an error code, in the current locale.
pub fn error_message(i18n: I18nContext<Locale>, code: ErrorCode) -> String {
    error_message_with(i18n, code, "…")
}

/// The translated message for an error, quoting its detail (the unknown
/// variable, the allowed range…) where the message has a place for it.
pub fn describe(i18n: I18nContext<Locale>, err: &crate::AppError) -> String {
    error_message_with(i18n, err.code, err.detail.as_deref().unwrap_or("…"))
}

fn error_message_with(i18n: I18nContext<Locale>, code: ErrorCode, detail: &str) -> String {
    use ErrorCode::*;
    match code {
        Validation => t_string!(i18n, errors.validation).to_string(),
        InvalidEmail => t_string!(i18n, errors.invalid_email).to_string(),
        WeakPassword => {
            // The server's estimator says what made it guessable.
            let hint = match detail {
                "keyboard" => t_string!(i18n, password_hints.keyboard).to_string(),
                "repeats" => t_string!(i18n, password_hints.repeats).to_string(),
                "sequence" => t_string!(i18n, password_hints.sequence).to_string(),
                "dates" => t_string!(i18n, password_hints.dates).to_string(),
                "common" => t_string!(i18n, password_hints.common).to_string(),
                "guessable" => t_string!(i18n, password_hints.guessable).to_string(),
                _ => String::new(),
            };
            let base = t_string!(i18n, errors.weak_password).to_string();
            if hint.is_empty() {
                base
            } else {
                format!("{base} {hint}")
            }
        }
        PasswordTooLong => t_string!(i18n, errors.password_too_long).to_string(),
        NameRequired => t_string!(i18n, errors.name_required).to_string(),
        NameTooLong => t_string!(i18n, errors.name_too_long).to_string(),
        EmailTaken => t_string!(i18n, errors.email_taken).to_string(),
        InvalidCredentials => t_string!(i18n, errors.invalid_credentials).to_string(),
        Unauthenticated => t_string!(i18n, errors.unauthenticated).to_string(),
        Forbidden => t_string!(i18n, errors.forbidden).to_string(),
        NotFound => t_string!(i18n, errors.not_found).to_string(),
        RateLimited => t_string!(i18n, errors.rate_limited).to_string(),
        CsrfMissing => t_string!(i18n, errors.csrf_missing).to_string(),
        CsrfInvalid => t_string!(i18n, errors.csrf_invalid).to_string(),
        InviteNotFound => t_string!(i18n, errors.invite_not_found).to_string(),
        InviteExpired => t_string!(i18n, errors.invite_expired).to_string(),
        InviteUsed => t_string!(i18n, errors.invite_used).to_string(),
        InviteRevoked => t_string!(i18n, errors.invite_revoked).to_string(),
        InviteEmailMismatch => t_string!(i18n, errors.invite_email_mismatch).to_string(),
        AlreadyMember => t_string!(i18n, errors.already_member).to_string(),
        AlreadyInvited => t_string!(i18n, errors.already_invited).to_string(),
        LastOwner => t_string!(i18n, errors.last_owner).to_string(),
        DevLoginDisabled => t_string!(i18n, errors.dev_login_disabled).to_string(),
        OauthFailed => t_string!(i18n, errors.oauth_failed).to_string(),
        OauthEmailUnverified => t_string!(i18n, errors.oauth_email_unverified).to_string(),
        Conflict => t_string!(i18n, errors.conflict).to_string(),
        TemplateUnknownVariable => {
            t_string!(i18n, errors.template_unknown_variable, detail = detail).to_string()
        }
        TemplateUnclosed => t_string!(i18n, errors.template_unclosed).to_string(),
        InvalidFieldName => t_string!(i18n, errors.invalid_field_name).to_string(),
        DuplicateFieldName => t_string!(i18n, errors.duplicate_field_name).to_string(),
        DuplicateVoice => t_string!(i18n, errors.duplicate_voice).to_string(),
        EnumOptionsRequired => t_string!(i18n, errors.enum_options_required).to_string(),
        TooManyFields => t_string!(i18n, errors.too_many_fields).to_string(),
        InvalidValue => t_string!(i18n, errors.invalid_value).to_string(),
        RequiredValue => t_string!(i18n, errors.required_value).to_string(),
        InvalidLanguage => t_string!(i18n, errors.invalid_language).to_string(),
        InvalidPhone => t_string!(i18n, errors.invalid_phone).to_string(),
        UnknownProvider => t_string!(i18n, errors.unknown_provider).to_string(),
        UnknownModel => t_string!(i18n, errors.unknown_model).to_string(),
        OutOfRange => t_string!(i18n, errors.out_of_range, detail = detail).to_string(),
        TextTooLong => t_string!(i18n, errors.text_too_long, detail = detail).to_string(),
        ToolInvalidArguments => t_string!(i18n, errors.tool_invalid_arguments).to_string(),
        AgentInactive => t_string!(i18n, errors.agent_inactive).to_string(),
        ConversationEnded => t_string!(i18n, errors.conversation_ended).to_string(),
        ProviderNotConfigured => t_string!(i18n, errors.provider_not_configured).to_string(),
        ProviderAuth => t_string!(i18n, errors.provider_auth).to_string(),
        ProviderRateLimited => t_string!(i18n, errors.provider_rate_limited).to_string(),
        ProviderTimeout => t_string!(i18n, errors.provider_timeout).to_string(),
        ProviderUnavailable => t_string!(i18n, errors.provider_unavailable).to_string(),
        ProviderBadRequest => t_string!(i18n, errors.provider_bad_request).to_string(),
        ProviderMalformed => t_string!(i18n, errors.provider_malformed).to_string(),
        ProviderModelNotFound => t_string!(i18n, errors.provider_model_not_found).to_string(),
        SecretKeyMissing => t_string!(i18n, errors.secret_key_missing).to_string(),
        InvalidTimezone => t_string!(i18n, errors.invalid_timezone, detail = detail).to_string(),
        DuplicateProspect => t_string!(i18n, errors.duplicate_prospect).to_string(),
        CsvEmpty => t_string!(i18n, errors.csv_empty).to_string(),
        CsvTooLarge => t_string!(i18n, errors.csv_too_large, detail = detail).to_string(),
        RequestTooLarge => t_string!(i18n, errors.request_too_large).to_string(),
        CsvTooManyRows => t_string!(i18n, errors.csv_too_many_rows, detail = detail).to_string(),
        CsvMalformed => t_string!(i18n, errors.csv_malformed, detail = detail).to_string(),
        MappingInvalid => t_string!(i18n, errors.mapping_invalid, detail = detail).to_string(),
        ImportNotReady => t_string!(i18n, errors.import_not_ready).to_string(),
        UndoExpired => t_string!(i18n, errors.undo_expired).to_string(),
        ImportInterrupted => t_string!(i18n, errors.import_interrupted).to_string(),
        TriggerTooBroad => t_string!(i18n, errors.trigger_too_broad, detail = detail).to_string(),
        TriggerInvalid => t_string!(i18n, errors.trigger_invalid, detail = detail).to_string(),
        UnknownPhase => t_string!(i18n, errors.unknown_phase, detail = detail).to_string(),
        ScriptLanguageMismatch => {
            let (script, agent) = detail.split_once('/').unwrap_or((detail, "…"));
            let name = |code: &str| match code {
                "en" => t_string!(i18n, errors.lang_en).to_string(),
                "fr" => t_string!(i18n, errors.lang_fr).to_string(),
                other => other.to_string(),
            };
            t_string!(i18n, errors.script_language_mismatch, script = name(script), agent = name(agent))
                .to_string()
        }
        ScriptArchived => t_string!(i18n, errors.script_archived).to_string(),
        QuotaExceeded => t_string!(i18n, errors.quota_exceeded, detail = detail).to_string(),
        StaleVersion => t_string!(i18n, errors.stale_version).to_string(),
        InvalidTransition => t_string!(i18n, errors.invalid_transition).to_string(),
        CallNotAllowed => t_string!(i18n, errors.call_not_allowed, detail = detail).to_string(),
        ProviderAddressRefused => t_string!(i18n, errors.provider_address_refused).to_string(),
        TelephonyNotConfigured => t_string!(i18n, errors.telephony_not_configured).to_string(),
        RecordingStorageNotConfigured => t_string!(i18n, errors.recording_storage_not_configured).to_string(),
        VoiceAgentUnavailable => t_string!(i18n, errors.voice_agent_unavailable).to_string(),
        TransferRefused => t_string!(i18n, errors.transfer_refused, detail = detail).to_string(),
        UploadQuota => t_string!(i18n, errors.upload_quota, detail = detail).to_string(),
        ApiKeyInvalid => t_string!(i18n, errors.api_key_invalid).to_string(),
        PersonRequired => t_string!(i18n, errors.person_required).to_string(),
        Internal => t_string!(i18n, errors.internal).to_string(),
    }
}

pub fn role_label(i18n: I18nContext<Locale>, role: domain::Role) -> String {
    match role {
        domain::Role::Owner => t_string!(i18n, roles.owner).to_string(),
        domain::Role::Admin => t_string!(i18n, roles.admin).to_string(),
        domain::Role::Member => t_string!(i18n, roles.member).to_string(),
    }
}

/// Reactive current domain locale.
pub fn use_locale() -> Signal<domain::Locale> {
    let i18n = use_i18n();
    Signal::derive(move || to_domain(i18n.get_locale()))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn load(lang: &str) -> Value {
        let path = format!("{}/locales/{lang}.json", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn keys(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if let Value::Object(map) = v {
            for (k, v) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                if v.is_object() {
                    keys(v, &p, out);
                } else {
                    out.insert(p);
                }
            }
        }
    }

    #[test]
    fn english_and_french_have_the_same_keys() {
        let (mut en, mut fr) = (BTreeSet::new(), BTreeSet::new());
        keys(&load("en"), "", &mut en);
        keys(&load("fr"), "", &mut fr);
        assert_eq!(en.symmetric_difference(&fr).collect::<Vec<_>>(), Vec::<&String>::new());
    }

    #[test]
    fn every_error_code_is_translated() {
        for lang in ["en", "fr"] {
            let errors = &load(lang)["errors"];
            for code in domain::error::ALL {
                let msg = errors[code.as_str()].as_str().unwrap_or_default();
                assert!(!msg.is_empty(), "{lang}: errors.{} missing", code.as_str());
            }
        }
    }

    #[test]
    fn french_is_actually_french() {
        let (en, fr) = (load("en"), load("fr"));
        assert_ne!(en["nav"]["members"], fr["nav"]["members"]);
        assert_eq!(fr["nav"]["members"], "Membres");
    }
}
