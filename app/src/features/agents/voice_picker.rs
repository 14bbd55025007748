//! Choosing a voice: vendor, model and voice id (the vendor's live list when
//! the organisation has a key, else the catalogue's). The agent's own voice
//! and each fallback voice use the same picker.

use domain::agent::{TtsChoice, MAX_FALLBACK_VOICES};
use domain::catalogue::{self, Capability};
use leptos::prelude::*;
use uuid::Uuid;

use super::editor::{models_for, options_for, voice_options};
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::Select;
use crate::AppError;

/// A voice being edited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoiceFields {
    pub provider: RwSignal<String>,
    pub model: RwSignal<String>,
    pub voice: RwSignal<String>,
}

impl VoiceFields {
    pub fn new(c: &TtsChoice) -> Self {
        VoiceFields {
            provider: RwSignal::new(c.provider.clone()),
            model: RwSignal::new(c.model.clone()),
            voice: RwSignal::new(c.voice.clone()),
        }
    }

    pub fn choice(&self) -> TtsChoice {
        TtsChoice {
            provider: self.provider.get_untracked(),
            model: self.model.get_untracked(),
            voice: self.voice.get_untracked(),
        }
    }
}

/// A fallback voice: a key for the list, and its fields.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FallbackRow {
    pub key: u64,
    pub fields: VoiceFields,
}

/// The three selects of one voice. `id` prefixes the elements' ids
/// (`tts` → `tts-provider`…); `field` is where the server's errors point
/// (`tts` → `tts.provider`…).
#[component]
pub fn VoicePicker(
    org_id: Uuid,
    #[prop(into)] id: String,
    #[prop(into)] field: String,
    fields: VoiceFields,
    err: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let VoiceFields { provider, model, voice } = fields;
    // A new vendor: its first model and voice unless the current ones are offered.
    Effect::new(move |_| {
        let p = provider.get();
        if let Some(info) = catalogue::provider(&p) {
            if !info.accepts_model(Capability::Tts, &model.get_untracked()) {
                model.set(info.models(Capability::Tts).first().map(|m| m.to_string()).unwrap_or_default());
            }
            if !info.voices.iter().any(|v| v.id == voice.get_untracked()) {
                voice.set(info.voices.first().map(|v| v.id.to_string()).unwrap_or_default());
            }
        }
    });
    // The vendor's live voice list (the shipped defaults without a key).
    let voices = Resource::new(
        move || provider.get(),
        move |p| async move { crate::features::providers::api::list_voices(org_id, p).await.ok() },
    );
    let error_of = move |part: &'static str| {
        let name = format!("{field}.{part}");
        Signal::derive(move || err.get().filter(|e| e.is_for(&name)).map(|e| describe(i18n, &e)))
    };
    view! {
        <Select id=format!("{id}-provider") name=format!("{id}_provider") value=provider error=error_of("provider")
            label=Signal::derive(move || t_string!(i18n, agents.field_tts_provider).to_string())
            options=Signal::derive(move || options_for(Capability::Tts))/>
        <Select id=format!("{id}-model") name=format!("{id}_model") value=model error=error_of("model")
            label=Signal::derive(move || t_string!(i18n, agents.field_tts_model).to_string())
            options=Signal::derive(move || models_for(&provider.get(), Capability::Tts))/>
        <Select id=format!("{id}-voice") name=format!("{id}_voice") value=voice error=error_of("voice")
            label=Signal::derive(move || t_string!(i18n, agents.field_voice).to_string())
            options=Signal::derive(move || voice_options(&provider.get(), voices.get(), &voice.get()))/>
    }
}

/// The fallback voices, tried in order when the voice before fails during a
/// call: add (up to the limit), pick, remove.
#[component]
pub fn FallbackVoices(
    org_id: Uuid,
    rows: RwSignal<Vec<FallbackRow>>,
    /// The agent's own vendor: a new fallback starts on another one.
    primary_provider: RwSignal<String>,
    err: Signal<Option<AppError>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let next_key = StoredValue::new(rows.get_untracked().iter().map(|r| r.key).max().unwrap_or(0) + 1);
    // A new row's signals belong to this list, not to the click: the add
    // button sits in a <Show> that goes away at the limit, and would take
    // with it anything created under it.
    let owner = StoredValue::new(Owner::current());
    let add = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        let primary = primary_provider.get_untracked();
        let used: Vec<String> =
            rows.get_untracked().iter().map(|r| r.fields.provider.get_untracked()).collect();
        let vendor = catalogue::providers_for(Capability::Tts)
            .find(|p| p.id != primary && !used.iter().any(|u| u == p.id))
            .or_else(|| catalogue::providers_for(Capability::Tts).next());
        let choice = TtsChoice {
            provider: vendor.map(|p| p.id.to_string()).unwrap_or_default(),
            model: vendor
                .and_then(|p| p.models(Capability::Tts).first())
                .map(|m| m.to_string())
                .unwrap_or_default(),
            voice: vendor.and_then(|p| p.voices.first()).map(|v| v.id.to_string()).unwrap_or_default(),
        };
        let fields = match owner.get_value() {
            Some(o) => o.with(|| VoiceFields::new(&choice)),
            None => VoiceFields::new(&choice),
        };
        rows.update(|r| r.push(FallbackRow { key, fields }));
    };
    view! {
        <div class="space-y-3 sm:col-span-2" data-testid="fallback-voices">
            <div>
                <h3 class="text-sm font-medium">{t!(i18n, agents.fallback_voices)}</h3>
                <p class="text-sm text-slate-500">{t!(i18n, agents.fallback_voices_help)}</p>
            </div>
            {move || rows.get().into_iter().enumerate().map(|(i, row)| {
                let key = row.key;
                view! {
                    <div class="rounded-md border border-slate-200 p-3 dark:border-slate-700" data-testid=format!("fallback-voice-{i}")>
                        <div class="mb-2 flex items-center justify-between">
                            <span class="text-sm text-slate-600 dark:text-slate-300">{move || t_string!(i18n, agents.fallback_voice_n, n = i + 1).to_string()}</span>
                            <button type="button" class="rounded px-2 py-1 text-sm text-red-600 hover:bg-red-50 dark:hover:bg-red-950"
                                data-testid=format!("fallback-voice-{i}-remove")
                                aria-label=move || t_string!(i18n, agents.fallback_voice_remove).to_string()
                                on:click=move |_| rows.update(|r| r.retain(|x| x.key != key))>"✕"</button>
                        </div>
                        <div class="grid gap-4 sm:grid-cols-3">
                            <VoicePicker org_id id=format!("fallback-voice-{i}") field=format!("fallback_voices.{i}") fields=row.fields err/>
                        </div>
                    </div>
                }
            }).collect_view()}
            <Show when=move || { rows.with(|r| r.len() < MAX_FALLBACK_VOICES) }>
                <button type="button" data-testid="fallback-voice-add" on:click=add
                    class="rounded-md px-3 py-1.5 text-sm font-medium text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-50 dark:text-indigo-300 dark:ring-indigo-900">
                    {t!(i18n, agents.fallback_voice_add)}
                </button>
            </Show>
        </div>
    }
}
