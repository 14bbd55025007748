//! The agent editor (create and edit): identity, prompt and first message
//! with highlighted template variables and a live preview, LLM and voice
//! settings, tools, and the data schema. The same `AgentSettings::validate`
//! the server runs checks the form before it is sent.

use std::collections::BTreeMap;

use domain::agent::{
    AgentKind, AgentSettings, Interruption, LlmChoice, RecordingChoice, SttChoice, TtsChoice, TurnTaking,
    Voicemail,
};
use domain::catalogue::{self, Capability};
use domain::template::{self, HighlightKind, RenderContext, Var};
use domain::tools::ToolName;
use domain::views::{Agent, Folder};
use domain::{ErrorCode, Permission};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use uuid::Uuid;

use super::api::{CreateAgent, UpdateAgent};
use super::schema_editor::{rows_to_schema, FieldRow, SchemaEditor};
use super::voice_picker::{FallbackRow, FallbackVoices, VoiceFields, VoicePicker};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{banner_error, field_error};
use crate::ui::{use_toasts, Button, Card, FormError, Input, Select, Skeleton, TextArea, ToastKind};
use crate::AppError;

/// Form fields that show their own errors; everything else goes to the banner.
const FIELDS: &[&str] = &[
    "name",
    "description",
    "language",
    "system_prompt",
    "first_message",
    "llm.provider",
    "llm.model",
    "llm.temperature",
    "llm.max_tokens",
    "stt.provider",
    "stt.model",
    "tts.provider",
    "tts.model",
    "tts.voice",
    "fallback_voices.0.provider",
    "fallback_voices.0.model",
    "fallback_voices.0.voice",
    "fallback_voices.1.provider",
    "fallback_voices.1.model",
    "fallback_voices.1.voice",
    "max_call_seconds",
    "turn_taking.end_of_turn_ms",
    "turn_taking.stt_final_wait_ms",
    "turn_taking.silence_reprompt_seconds",
    "turn_taking.silence_hang_up_seconds",
    "voicemail",
    "transfer_number",
    "recording_disclosure",
];

#[component]
pub fn AgentEditorPage() -> impl IntoView {
    let i18n = use_i18n();
    let params = use_params_map();
    let query = use_query_map();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let can_manage = org.role.allows(Permission::ManageAgents);
    let agent_id = params.read_untracked().get("id").and_then(|s| s.parse::<Uuid>().ok());
    let folder_param = query.read_untracked().get("folder").and_then(|s| s.parse::<Uuid>().ok());
    let folders = Resource::new(|| (), move |_| super::api::list_folders(org_id));
    let agent = Resource::new(
        move || agent_id,
        move |id| async move {
            match id {
                Some(id) => super::api::get_agent(org_id, id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        <Suspense fallback=|| view! { <Skeleton lines=8/> }>
            {move || match (agent.get(), folders.get()) {
                (Some(Err(e)), _) | (_, Some(Err(e))) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                (Some(Ok(a)), Some(Ok(f))) => view! { <AgentForm org_id initial=a folders=f folder_id=folder_param can_manage/> }.into_any(),
                _ => view! { <Skeleton lines=8/> }.into_any(),
            }}
        </Suspense>
    }
    .into_any()
}

pub(super) fn options_for(cap: Capability) -> Vec<(String, String)> {
    catalogue::providers_for(cap).map(|p| (p.id.to_string(), p.name.to_string())).collect()
}

pub(super) fn models_for(provider: &str, cap: Capability) -> Vec<(String, String)> {
    catalogue::provider(provider)
        .map(|p| p.models(cap).iter().map(|m| (m.to_string(), m.to_string())).collect())
        .unwrap_or_default()
}

#[component]
fn AgentForm(
    org_id: Uuid,
    initial: Option<Agent>,
    folders: Vec<Folder>,
    folder_id: Option<Uuid>,
    can_manage: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    let toasts = use_toasts();
    let navigate = use_navigate();
    let agent_id = initial.as_ref().map(|a| a.id);
    let version = RwSignal::new(initial.as_ref().map(|a| a.version).unwrap_or(0));
    let s = initial
        .as_ref()
        .map(|a| a.settings.clone())
        .unwrap_or_else(|| AgentSettings::new_default(AgentKind::Chat, "en"));

    let name = RwSignal::new(s.name.clone());
    let description = RwSignal::new(s.description.clone());
    let kind = RwSignal::new(s.kind.as_str().to_string());
    let language = RwSignal::new(s.language.clone());
    let folder = RwSignal::new(
        initial.as_ref().and_then(|a| a.folder_id).or(folder_id).map(|f| f.to_string()).unwrap_or_default(),
    );
    let system_prompt = RwSignal::new(s.system_prompt.clone());
    let first_message = RwSignal::new(s.first_message.clone());
    let llm_provider = RwSignal::new(s.llm.provider.clone());
    let llm_model = RwSignal::new(s.llm.model.clone());
    let temperature = RwSignal::new(s.llm.temperature.to_string());
    let max_tokens = RwSignal::new(s.llm.max_tokens.to_string());
    let voice_defaults = AgentSettings::new_default(AgentKind::Voice, "en");
    let stt = s
        .stt
        .clone()
        .or(voice_defaults.stt.clone())
        .unwrap_or(SttChoice { provider: String::new(), model: String::new() });
    let tts = s.tts.clone().or(voice_defaults.tts.clone()).unwrap_or(TtsChoice {
        provider: String::new(),
        model: String::new(),
        voice: String::new(),
    });
    let stt_provider = RwSignal::new(stt.provider);
    let stt_model = RwSignal::new(stt.model);
    let tts = VoiceFields::new(&tts);
    let fallbacks = RwSignal::new(
        s.fallback_voices
            .iter()
            .enumerate()
            .map(|(i, c)| FallbackRow { key: i as u64, fields: VoiceFields::new(c) })
            .collect::<Vec<_>>(),
    );
    let interruption = RwSignal::new(
        match s.interruption {
            Interruption::Low => "low",
            Interruption::Medium => "medium",
            Interruption::High => "high",
        }
        .to_string(),
    );
    let max_call = RwSignal::new(s.max_call_seconds.to_string());
    let end_of_turn = RwSignal::new(s.turn_taking.end_of_turn_ms.to_string());
    let stt_final_wait = RwSignal::new(s.turn_taking.stt_final_wait_ms.to_string());
    let silence_reprompt = RwSignal::new(s.turn_taking.silence_reprompt_seconds.to_string());
    let silence_hang_up = RwSignal::new(s.turn_taking.silence_hang_up_seconds.to_string());
    let (vm_action, vm_text) = match &s.voicemail {
        Voicemail::HangUp => ("hang_up", String::new()),
        Voicemail::LeaveMessage { text } => ("leave_message", text.clone()),
    };
    let voicemail_action = RwSignal::new(vm_action.to_string());
    let voicemail_text = RwSignal::new(vm_text);
    let transfer = RwSignal::new(s.transfer_number.clone().unwrap_or_default());
    let recording = RwSignal::new(s.recording.as_str().to_string());
    let disclosure = RwSignal::new(s.recording_disclosure.clone().unwrap_or_default());
    let tools: Vec<(ToolName, RwSignal<bool>)> =
        ToolName::ALL.into_iter().map(|t| (t, RwSignal::new(s.tools.contains(&t)))).collect();
    let rows = RwSignal::new(
        s.data_schema
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| FieldRow::from_field(i as u64, f))
            .collect::<Vec<_>>(),
    );

    // When the provider changes, pick its first model if the current one is not offered.
    let keep_model = move |provider: RwSignal<String>, model: RwSignal<String>, cap: Capability| {
        Effect::new(move |_| {
            let p = provider.get();
            if let Some(info) = catalogue::provider(&p) {
                if !info.accepts_model(cap, &model.get_untracked()) {
                    model.set(info.models(cap).first().map(|m| m.to_string()).unwrap_or_default());
                }
            }
        });
    };
    keep_model(llm_provider, llm_model, Capability::Llm);
    keep_model(stt_provider, stt_model, Capability::Stt);

    let tools_for_build = tools.clone();
    let build = move || -> Result<AgentSettings, AppError> {
        let number = |field: &str, v: String| {
            v.trim().parse::<f64>().map_err(|_| AppError::field(ErrorCode::OutOfRange, field))
        };
        // A whole number in u32's range; anything else is out of range.
        let whole = |field: &str, v: String| {
            v.trim().parse::<u32>().map_err(|_| AppError::field(ErrorCode::OutOfRange, field))
        };
        let kind_v = AgentKind::parse(&kind.get_untracked()).unwrap_or(AgentKind::Chat);
        let settings = AgentSettings {
            name: name.get_untracked(),
            description: description.get_untracked(),
            kind: kind_v,
            system_prompt: system_prompt.get_untracked(),
            first_message: first_message.get_untracked(),
            language: language.get_untracked(),
            llm: LlmChoice {
                provider: llm_provider.get_untracked(),
                model: llm_model.get_untracked().trim().to_string(),
                temperature: number("llm.temperature", temperature.get_untracked())? as f32,
                max_tokens: number("llm.max_tokens", max_tokens.get_untracked())?.max(0.0) as u32,
            },
            stt: Some(SttChoice { provider: stt_provider.get_untracked(), model: stt_model.get_untracked() }),
            tts: Some(tts.choice()),
            fallback_voices: fallbacks.get_untracked().iter().map(|r| r.fields.choice()).collect(),
            interruption: match interruption.get_untracked().as_str() {
                "low" => Interruption::Low,
                "high" => Interruption::High,
                _ => Interruption::Medium,
            },
            max_call_seconds: number("max_call_seconds", max_call.get_untracked())?.max(0.0) as u32,
            voicemail: if voicemail_action.get_untracked() == "leave_message" {
                Voicemail::LeaveMessage { text: voicemail_text.get_untracked() }
            } else {
                Voicemail::HangUp
            },
            transfer_number: Some(transfer.get_untracked()),
            tools: tools_for_build.iter().filter(|(_, on)| on.get_untracked()).map(|(t, _)| *t).collect(),
            data_schema: rows_to_schema(&rows.get_untracked()),
            recording: RecordingChoice::parse(&recording.get_untracked()).unwrap_or_default(),
            recording_disclosure: Some(disclosure.get_untracked()),
            turn_taking: TurnTaking {
                end_of_turn_ms: whole("turn_taking.end_of_turn_ms", end_of_turn.get_untracked())?,
                stt_final_wait_ms: whole("turn_taking.stt_final_wait_ms", stt_final_wait.get_untracked())?,
                silence_reprompt_seconds: whole(
                    "turn_taking.silence_reprompt_seconds",
                    silence_reprompt.get_untracked(),
                )?,
                silence_hang_up_seconds: whole(
                    "turn_taking.silence_hang_up_seconds",
                    silence_hang_up.get_untracked(),
                )?,
            },
        };
        settings.validate().map_err(AppError::from)
    };

    let create = ServerAction::<CreateAgent>::new();
    let update = ServerAction::<UpdateAgent>::new();
    let local_err = RwSignal::new(None::<AppError>);
    let err = Signal::derive(move || {
        local_err.get().or_else(|| {
            let last = if agent_id.is_some() { update.value().get() } else { create.value().get() };
            last.and_then(|r| r.err())
        })
    });
    Effect::new(move |_| {
        if let Some(Ok(a)) = create.value().get() {
            toasts.push(ToastKind::Success, t_string!(i18n, agents.created).to_string());
            navigate(&format!("/app/agents/{}", a.id), Default::default());
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(a)) = update.value().get() {
            version.set(a.version);
            toasts.push(ToastKind::Success, t_string!(i18n, agents.saved).to_string());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match build() {
            Err(e) => local_err.set(Some(e)),
            Ok(settings) => {
                local_err.set(None);
                let folder_id = folder.get_untracked().parse().ok();
                match agent_id {
                    Some(agent_id) => {
                        update.dispatch(UpdateAgent {
                            org_id,
                            agent_id,
                            version: version.get_untracked(),
                            settings,
                        });
                    }
                    None => {
                        create.dispatch(CreateAgent { org_id, folder_id, settings });
                    }
                }
            }
        }
    };
    let busy = Signal::derive(move || create.pending().get() || update.pending().get());
    let fe = move |f: &'static str| field_error(err, f);
    let label =
        move |f: fn(leptos_i18n::I18nContext<crate::i18n::Locale>) -> String| Signal::derive(move || f(i18n));
    let is_voice = Signal::derive(move || kind.get() == "voice");
    let conflict = Signal::derive(move || {
        err.get().is_some_and(|e| e.code == ErrorCode::Conflict && e.detail.as_deref() == Some("version"))
    });
    let folder_options = {
        let mut o = vec![(String::new(), t_string!(i18n, agents.no_folder).to_string())];
        o.extend(folders.iter().map(|f| (f.id.to_string(), f.name.clone())));
        o
    };

    view! {
        <form class="space-y-6" on:submit=on_submit data-testid="agent-form" novalidate>
            <div class="flex flex-wrap items-center justify-between gap-3">
                <div>
                    <A href="/app/agents" attr:class="text-sm text-indigo-600 hover:underline dark:text-indigo-400">{t!(i18n, agents.back)}</A>
                    <h1 class="text-2xl font-bold" data-testid="agent-title">
                        {move || if agent_id.is_some() { name.get() } else { t_string!(i18n, agents.new_agent).to_string() }}
                    </h1>
                </div>
                <div class="flex gap-2">
                    {agent_id.map(|id| view! {
                        <A href=format!("/app/agents/{id}/playground") attr:data-testid="open-playground"
                            attr:class="rounded-md px-3 py-2 text-sm font-medium text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-50 dark:text-indigo-300 dark:ring-indigo-900">
                            {t!(i18n, agents.open_playground)}
                        </A>
                    })}
                    {can_manage.then(|| view! { <Button submit=true busy=busy attr:data-testid="save-agent">{t!(i18n, common.save)}</Button> })}
                </div>
            </div>
            <FormError message=banner_error(err, FIELDS)/>
            {agent_id.map(|id| view! {
                <Show when=move || kind.get() == "voice">
                    <super::test_call::TestCall org_id agent_id=id/>
                </Show>
            })}
            {move || conflict.get().then(|| view! {
                <p class="text-sm text-amber-700 dark:text-amber-300" role="alert">{t!(i18n, agents.conflict_hint)}</p>
            })}
            <div class="grid gap-6 lg:grid-cols-[1fr_22rem]">
                <div class="space-y-6">
                    <Card title=label(|i| t_string!(i, agents.section_identity).to_string())>
                        <div class="grid gap-4 sm:grid-cols-2">
                            <Input id="agent-name" name="name" value=name error=fe("name") label=label(|i| t_string!(i, agents.field_name).to_string()) required=true/>
                            <Select id="agent-kind" name="kind" value=kind label=label(|i| t_string!(i, agents.field_kind).to_string())
                                options=Signal::derive(move || vec![("chat".into(), t_string!(i18n, agents.kind_chat).to_string()), ("voice".into(), t_string!(i18n, agents.kind_voice).to_string())])/>
                            <Input id="agent-language" name="language" value=language error=fe("language") label=label(|i| t_string!(i, agents.field_language).to_string())
                                hint=label(|i| t_string!(i, agents.language_hint).to_string())/>
                            <Select id="agent-folder" name="folder" value=folder label=label(|i| t_string!(i, agents.field_folder).to_string()) options=Signal::derive(move || folder_options.clone())/>
                            <div class="sm:col-span-2">
                                <TextArea id="agent-description" name="description" value=description rows=2 error=fe("description") label=label(|i| t_string!(i, agents.field_description).to_string())/>
                            </div>
                        </div>
                    </Card>
                    <Card title=label(|i| t_string!(i, agents.section_prompt).to_string())>
                        <div class="space-y-4">
                            <TemplateEditor id="system-prompt" value=system_prompt rows=10 error=fe("system_prompt") label=label(|i| t_string!(i, agents.field_prompt).to_string())/>
                            <TemplateEditor id="first-message" value=first_message rows=3 error=fe("first_message") label=label(|i| t_string!(i, agents.field_first_message).to_string())/>
                        </div>
                    </Card>
                    <Card title=label(|i| t_string!(i, agents.section_llm).to_string())>
                        <div class="grid gap-4 sm:grid-cols-2">
                            <Select id="llm-provider" name="llm_provider" value=llm_provider error=fe("llm.provider") label=label(|i| t_string!(i, agents.field_provider).to_string())
                                options=Signal::derive(move || options_for(Capability::Llm))/>
                            {move || {
                                let free = catalogue::provider(&llm_provider.get()).is_some_and(|p| p.any_model);
                                if free {
                                    view! { <Input id="llm-model" name="llm_model" value=llm_model error=fe("llm.model") label=label(|i| t_string!(i, agents.field_model).to_string())/> }.into_any()
                                } else {
                                    view! { <Select id="llm-model" name="llm_model" value=llm_model error=fe("llm.model") label=label(|i| t_string!(i, agents.field_model).to_string())
                                        options=Signal::derive(move || models_for(&llm_provider.get(), Capability::Llm))/> }.into_any()
                                }
                            }}
                            <Input id="llm-temperature" name="temperature" kind="number" value=temperature error=fe("llm.temperature") label=label(|i| t_string!(i, agents.field_temperature).to_string())/>
                            <Input id="llm-max-tokens" name="max_tokens" kind="number" value=max_tokens error=fe("llm.max_tokens") label=label(|i| t_string!(i, agents.field_max_tokens).to_string())/>
                        </div>
                    </Card>
                    <Show when=move || is_voice.get()>
                        <Card title=label(|i| t_string!(i, agents.section_voice).to_string())>
                            <div class="grid gap-4 sm:grid-cols-2">
                                <Select id="stt-provider" name="stt_provider" value=stt_provider error=fe("stt.provider") label=label(|i| t_string!(i, agents.field_stt_provider).to_string()) options=Signal::derive(move || options_for(Capability::Stt))/>
                                <Select id="stt-model" name="stt_model" value=stt_model error=fe("stt.model") label=label(|i| t_string!(i, agents.field_stt_model).to_string()) options=Signal::derive(move || models_for(&stt_provider.get(), Capability::Stt))/>
                                <VoicePicker org_id id="tts" field="tts" fields=tts err/>
                                <Select id="interruption" name="interruption" value=interruption label=label(|i| t_string!(i, agents.field_interruption).to_string())
                                    options=Signal::derive(move || vec![
                                        ("low".into(), t_string!(i18n, agents.sensitivity_low).to_string()),
                                        ("medium".into(), t_string!(i18n, agents.sensitivity_medium).to_string()),
                                        ("high".into(), t_string!(i18n, agents.sensitivity_high).to_string()),
                                    ])/>
                                <FallbackVoices org_id rows=fallbacks primary_provider=tts.provider err/>
                                <Input id="max-call" name="max_call_seconds" kind="number" value=max_call error=fe("max_call_seconds") label=label(|i| t_string!(i, agents.field_max_call).to_string())/>
                                <Input id="end-of-turn" name="end_of_turn_ms" kind="number" value=end_of_turn error=fe("turn_taking.end_of_turn_ms") label=label(|i| t_string!(i, agents.field_end_of_turn).to_string())/>
                                <Input id="stt-final-wait" name="stt_final_wait_ms" kind="number" value=stt_final_wait error=fe("turn_taking.stt_final_wait_ms") label=label(|i| t_string!(i, agents.field_stt_final_wait).to_string())/>
                                <Input id="silence-reprompt" name="silence_reprompt_seconds" kind="number" value=silence_reprompt error=fe("turn_taking.silence_reprompt_seconds") label=label(|i| t_string!(i, agents.field_silence_reprompt).to_string())/>
                                <Input id="silence-hang-up" name="silence_hang_up_seconds" kind="number" value=silence_hang_up error=fe("turn_taking.silence_hang_up_seconds") label=label(|i| t_string!(i, agents.field_silence_hang_up).to_string())/>
                                <Input id="transfer-number" name="transfer_number" value=transfer error=fe("transfer_number") label=label(|i| t_string!(i, agents.field_transfer).to_string())/>
                                <Select id="voicemail-action" name="voicemail" value=voicemail_action label=label(|i| t_string!(i, agents.field_voicemail).to_string())
                                    options=Signal::derive(move || vec![
                                        ("hang_up".into(), t_string!(i18n, agents.voicemail_hang_up).to_string()),
                                        ("leave_message".into(), t_string!(i18n, agents.voicemail_leave).to_string()),
                                    ])/>
                                <Show when=move || voicemail_action.get() == "leave_message">
                                    <div class="sm:col-span-2">
                                        <TemplateEditor id="voicemail-text" value=voicemail_text rows=3 error=fe("voicemail") label=label(|i| t_string!(i, agents.field_voicemail_text).to_string())/>
                                    </div>
                                </Show>
                                <Select id="recording" name="recording" value=recording label=label(|i| t_string!(i, agents.field_recording).to_string())
                                    options=Signal::derive(move || vec![
                                        ("organisation".into(), t_string!(i18n, agents.recording_organisation).to_string()),
                                        ("always".into(), t_string!(i18n, agents.recording_always).to_string()),
                                        ("never".into(), t_string!(i18n, agents.recording_never).to_string()),
                                    ])/>
                                <div class="sm:col-span-2">
                                    <TemplateEditor id="recording-disclosure" value=disclosure rows=2 error=fe("recording_disclosure") label=label(|i| t_string!(i, agents.field_disclosure).to_string())/>
                                    <p class="mt-1 text-xs text-slate-500">{t!(i18n, agents.disclosure_help)}</p>
                                </div>
                            </div>
                        </Card>
                    </Show>
                    <Card title=label(|i| t_string!(i, agents.section_tools).to_string())>
                        <div class="grid gap-2 sm:grid-cols-2">
                            {tools.into_iter().map(|(tool, on)| view! {
                                <label class="flex items-start gap-2 text-sm">
                                    <input type="checkbox" class="mt-1" data-testid=format!("tool-{}", tool.as_str()) prop:checked=move || on.get() on:change=move |ev| on.set(event_target_checked(&ev))/>
                                    <span><span class="font-mono font-medium">{tool.as_str()}</span><br/>
                                    <span class="text-slate-500">{move || match tool {
                                        ToolName::AddNote => t_string!(i18n, agents.tool_add_note).to_string(),
                                        ToolName::UpdateData => t_string!(i18n, agents.tool_update_data).to_string(),
                                        ToolName::EndCall => t_string!(i18n, agents.tool_end_call).to_string(),
                                        ToolName::TransferCall => t_string!(i18n, agents.tool_transfer).to_string(),
                                    }}</span></span>
                                </label>
                            }).collect_view()}
                        </div>
                    </Card>
                    <Card title=label(|i| t_string!(i, agents.section_schema).to_string())>
                        <p class="mb-3 text-sm text-slate-500">{t!(i18n, agents.schema_help)}</p>
                        <SchemaEditor rows error=err/>
                    </Card>
                </div>
                <aside class="space-y-4 lg:sticky lg:top-4 lg:self-start">
                    <Preview system_prompt first_message agent_name=name language/>
                </aside>
            </div>
        </form>
    }
}

/// Voice choices: the live list when loaded, else the catalogue's; the
/// current voice stays selectable even if the list does not contain it.
pub(super) fn voice_options(
    provider: &str,
    live: Option<Option<Vec<domain::views::VoiceOption>>>,
    current: &str,
) -> Vec<(String, String)> {
    let label = |name: &str, lang: Option<&str>| match lang {
        Some(l) => format!("{name} ({l})"),
        None => name.to_string(),
    };
    let mut out: Vec<(String, String)> = match live.flatten() {
        Some(list) => list.iter().map(|v| (v.id.clone(), label(&v.name, v.language.as_deref()))).collect(),
        None => catalogue::provider(provider)
            .map(|p| p.voices.iter().map(|v| (v.id.to_string(), label(v.name, Some(v.language)))).collect())
            .unwrap_or_default(),
    };
    if !current.is_empty() && !out.iter().any(|(id, _)| id == current) {
        out.insert(0, (current.to_string(), current.to_string()));
    }
    out
}

/// A textarea whose template variables are highlighted in place (a
/// coloured layer under transparent-background text), with buttons that
/// insert a variable at the cursor.
#[component]
pub fn TemplateEditor(
    #[prop(into)] id: String,
    value: RwSignal<String>,
    #[prop(into)] label: Signal<String>,
    #[prop(optional, into)] error: Signal<Option<String>>,
    #[prop(default = 4)] rows: u32,
) -> impl IntoView {
    let i18n = use_i18n();
    let area = NodeRef::<leptos::html::Textarea>::new();
    let backdrop = NodeRef::<leptos::html::Div>::new();
    let shared = "whitespace-pre-wrap break-words px-3 py-2 font-mono text-sm leading-6";
    let insert = move |var: String| {
        let text = format!("{{{{{var}}}}}");
        let mut current = value.get_untracked();
        let at = area.get_untracked().and_then(|el| el.selection_start().ok().flatten()).map(|i| i as usize);
        // selectionStart counts UTF-16 units; map it back to a char boundary.
        let byte = match at {
            None => current.len(),
            Some(units) => {
                let mut seen = 0usize;
                current
                    .char_indices()
                    .find(|(_, c)| {
                        let past = seen >= units;
                        seen += c.len_utf16();
                        past
                    })
                    .map(|(b, _)| b)
                    .unwrap_or(current.len())
            }
        };
        current.insert_str(byte, &text);
        value.set(current);
    };
    let sync_scroll = move |_| {
        if let (Some(a), Some(b)) = (area.get_untracked(), backdrop.get_untracked()) {
            b.set_scroll_top(a.scroll_top());
        }
    };
    let unknown = Signal::derive(move || {
        template::highlight(&value.get())
            .iter()
            .any(|s| matches!(s.kind, HighlightKind::Unknown | HighlightKind::Unclosed))
    });
    let err_id = format!("{id}-error");
    view! {
        <div>
            <label for=id.clone() class="mb-1 block text-sm font-medium text-slate-700 dark:text-slate-200">{move || label.get()}</label>
            <div class="relative rounded-md bg-white shadow-sm ring-1 ring-inset ring-slate-300 focus-within:ring-2 focus-within:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600">
                <div node_ref=backdrop aria-hidden="true" class=format!("pointer-events-none absolute inset-0 overflow-hidden text-transparent {shared}")>
                    {move || template::highlight(&value.get()).into_iter().map(|s| {
                        let class = match s.kind {
                            HighlightKind::Text => "",
                            HighlightKind::Variable => "rounded bg-indigo-100 dark:bg-indigo-900",
                            HighlightKind::Unknown | HighlightKind::Unclosed => "rounded bg-red-200 dark:bg-red-900",
                        };
                        view! { <span class=class>{s.text}</span> }
                    }).collect_view()}
                    // A trailing newline needs a line box to keep both layers aligned.
                    " "
                </div>
                <textarea node_ref=area id=id.clone() rows=rows data-testid=id.clone() spellcheck="false"
                    class=format!("relative block w-full resize-y border-0 bg-transparent text-slate-900 focus:outline-none focus:ring-0 dark:text-slate-100 {shared}")
                    aria-invalid=move || (error.get().is_some() || unknown.get()).to_string()
                    aria-describedby=err_id.clone()
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                    on:scroll=sync_scroll></textarea>
            </div>
            <div class="mt-1 flex flex-wrap items-center gap-1 text-xs">
                <span class="text-slate-500">{t!(i18n, agents.insert_variable)}</span>
                {Var::builtins().into_iter().map(|v| {
                    let name = v.name();
                    let n2 = name.clone();
                    view! {
                        <button type="button" class="rounded bg-slate-100 px-1.5 py-0.5 font-mono hover:bg-indigo-100 dark:bg-slate-800 dark:hover:bg-indigo-900"
                            on:click=move |_| insert(n2.clone())>{name}</button>
                    }
                }).collect_view()}
            </div>
            {move || error.get().map(|e| view! { <p id=err_id.clone() class="mt-1 text-sm text-red-600 dark:text-red-400" role="alert">{e}</p> })}
        </div>
    }
}

/// The prompt and first message rendered for a sample prospect the user can edit.
#[component]
fn Preview(
    system_prompt: RwSignal<String>,
    first_message: RwSignal<String>,
    agent_name: RwSignal<String>,
    language: RwSignal<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    let first = RwSignal::new("Alex".to_string());
    let company = RwSignal::new("Martin Logistics".to_string());
    let ctx = Signal::derive(move || {
        let mut prospect = BTreeMap::new();
        prospect.insert("first_name".to_string(), first.get());
        prospect.insert("last_name".to_string(), "Martin".to_string());
        prospect.insert("company".to_string(), company.get());
        prospect.insert("title".to_string(), "Fleet manager".to_string());
        prospect.insert("phone".to_string(), "+33612345678".to_string());
        prospect.insert("email".to_string(), "alex.martin@example.com".to_string());
        let locale = domain::Locale::parse(&language.get()).unwrap_or(domain::Locale::En);
        RenderContext {
            prospect,
            custom: BTreeMap::new(),
            call: BTreeMap::new(),
            agent_name: agent_name.get(),
            today: locale.format_date(2026, 11, 25),
        }
    });
    let rendered = move |src: RwSignal<String>| {
        move || match template::render(&src.get(), &ctx.get()) {
            Ok(r) => {
                let missing = (!r.missing.is_empty()).then(|| {
                    view! { <p class="mt-1 text-xs text-amber-600">{t!(i18n, agents.preview_missing)} " " {r.missing.join(", ")}</p> }
                });
                view! { <p class="whitespace-pre-wrap text-sm">{r.text}</p>{missing} }.into_any()
            }
            Err(e) => {
                view! { <p class="text-sm text-red-600" role="alert">{format!("⚠ {}", e.detail())}</p> }
                    .into_any()
            }
        }
    };
    view! {
        <Card title=Signal::derive(move || t_string!(i18n, agents.preview).to_string())>
            <div class="space-y-3" data-testid="preview">
                <div class="grid grid-cols-2 gap-2">
                    <Input id="preview-first" name="preview_first" value=first label=Signal::derive(move || t_string!(i18n, agents.preview_first_name).to_string())/>
                    <Input id="preview-company" name="preview_company" value=company label=Signal::derive(move || t_string!(i18n, agents.preview_company).to_string())/>
                </div>
                <div>
                    <h3 class="text-xs font-semibold uppercase text-slate-500">{t!(i18n, agents.field_first_message)}</h3>
                    <div data-testid="preview-first-message">{rendered(first_message)}</div>
                </div>
                <div>
                    <h3 class="text-xs font-semibold uppercase text-slate-500">{t!(i18n, agents.field_prompt)}</h3>
                    <div data-testid="preview-prompt" class="max-h-64 overflow-auto">{rendered(system_prompt)}</div>
                </div>
            </div>
        </Card>
    }
}
