//! The REST API's OpenAPI 3.1 document, served at `/api/v1/openapi.json`
//! and browsable at `/api/v1/docs`.
//!
//! Schemas come from the wire types themselves (`utoipa::ToSchema`,
//! derived in `domain` behind its `openapi` feature, so the wasm bundle
//! carries none of it). Operations come from one table below, one line per
//! route: a test compares it with the routers' own route list (`ROUTES`),
//! so a route cannot be added without being documented, nor documented
//! without existing. (utoipa's per-handler `#[utoipa::path]` would repeat
//! each handler's signature in an attribute; the table says the same in a
//! quarter of the lines and is checked the same way.)

use std::collections::BTreeMap;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref,
    RefOr, Required, ResponseBuilder, ServerBuilder,
};
use utoipa::{IntoParams, ToSchema};

/// Schemas collected while the document is built, by name.
#[derive(Default)]
pub struct Schemas {
    by_name: BTreeMap<String, RefOr<Schema>>,
    /// Two different types under one name (utoipa names a schema by its
    /// type's last path segment): a test keeps this empty.
    collisions: Vec<String>,
}

impl Schemas {
    /// A reference to `T`, registering it and every schema it refers to.
    fn reference<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let mut all = Vec::new();
        T::schemas(&mut all);
        let name = T::name().to_string();
        all.push((name.clone(), T::schema()));
        for (name, schema) in all {
            self.add(name, schema);
        }
        Ref::from_schema_name(name).into()
    }

    fn add(&mut self, name: String, schema: RefOr<Schema>) {
        match self.by_name.get(&name) {
            Some(known) if *known != schema => self.collisions.push(name),
            Some(_) => {}
            None => {
                self.by_name.insert(name, schema);
            }
        }
    }
}

/// How a body (request or response) is described.
pub type SchemaFn = fn(&mut Schemas) -> RefOr<Schema>;

fn one<T: ToSchema>(s: &mut Schemas) -> RefOr<Schema> {
    s.reference::<T>()
}

fn list<T: ToSchema>(s: &mut Schemas) -> RefOr<Schema> {
    ArrayBuilder::new().items(s.reference::<T>()).into()
}

fn nullable<T: ToSchema>(s: &mut Schemas) -> RefOr<Schema> {
    utoipa::openapi::schema::OneOfBuilder::new()
        .item(s.reference::<T>())
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// The request body.
#[derive(Clone, Copy)]
pub enum In {
    None,
    Json(SchemaFn),
    /// JSON that may be left out entirely.
    OptionalJson(SchemaFn),
    /// A CSV file as the raw body.
    Csv,
}

/// The successful answer.
#[derive(Clone, Copy)]
pub enum Out {
    Json(u16, SchemaFn),
    /// No body (`204`).
    Empty,
    /// A CSV file.
    Csv,
    /// `text/event-stream`, one JSON object per event.
    Events(SchemaFn),
    /// A WebSocket upgrade.
    Upgrade,
    /// Audio bytes (`200`, or `206` for a `Range`).
    Audio,
}

pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub id: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub query: Option<fn() -> Vec<utoipa::openapi::path::Parameter>>,
    pub body: In,
    pub out: Out,
    /// Calls an AI provider: its failures are answered as 424/502/504.
    pub upstream: bool,
}

fn params<T: IntoParams>() -> Vec<utoipa::openapi::path::Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

macro_rules! ops {
    ($($method:ident $path:literal $id:ident [$tag:literal] $summary:literal
        $(query($q:ty))? $(body($b:expr))? => $out:expr $(, $upstream:ident)? ;)*) => {
        pub fn operations() -> Vec<Op> {
            vec![$(Op {
                method: stringify!($method),
                path: $path,
                id: stringify!($id),
                tag: $tag,
                summary: $summary,
                query: ops!(@q $($q)?),
                body: ops!(@b $($b)?),
                out: $out,
                upstream: ops!(@u $($upstream)?),
            }),*]
        }
    };
    (@q) => { None };
    (@q $q:ty) => { Some(params::<$q>) };
    (@b) => { In::None };
    (@b $b:expr) => { $b };
    (@u) => { false };
    (@u $u:ident) => { true };
}

use crate::agents_api as ag;
use crate::copilot_api as cp;
use crate::prospects_api as pr;
use crate::rest as me;
use domain::copilot::views as cv;
use domain::prospect as p;
use domain::prospect_import as pi;
use domain::views as v;

ops! {
    GET "/health" health ["Operations"] "Liveness of the API and its database" => Out::Json(200, one::<me::Health>);
    GET "/me" me ["Organisations"] "The signed-in user (session only)" => Out::Json(200, one::<me::Me>);
    GET "/orgs" list_orgs ["Organisations"] "Organisations the user belongs to (session only)" => Out::Json(200, list::<services::orgs::OrgSummary>);
    GET "/orgs/{org}" get_org ["Organisations"] "One organisation" => Out::Json(200, one::<services::orgs::OrgSummary>);
    PATCH "/orgs/{org}" rename_org ["Organisations"] "Rename the organisation" body(In::Json(one::<me::RenameBody>)) => Out::Json(200, one::<services::orgs::OrgSummary>);
    GET "/orgs/{org}/members" list_members ["Organisations"] "Members and their roles" => Out::Json(200, list::<services::orgs::Member>);
    PATCH "/orgs/{org}/members/{user}" change_role ["Organisations"] "Change a member's role" body(In::Json(one::<me::RoleBody>)) => Out::Json(200, one::<services::orgs::Member>);
    DELETE "/orgs/{org}/members/{user}" remove_member ["Organisations"] "Remove a member" => Out::Empty;
    GET "/orgs/{org}/audit" audit ["Organisations"] "The audit log, newest first" => Out::Json(200, list::<services::audit::AuditEntry>);

    GET "/orgs/{org}/prospects" list_prospects ["Prospects"] "Search, filter, sort and page prospects" query(pr::FilterParams) => Out::Json(200, one::<p::ProspectPage>);
    POST "/orgs/{org}/prospects" create_prospect ["Prospects"] "Create a prospect" body(In::Json(one::<p::ProspectInput>)) => Out::Json(201, one::<p::Prospect>);
    GET "/orgs/{org}/prospects/export.csv" export_prospects ["Prospects"] "Export the filtered prospects as CSV" query(pr::FilterParams) => Out::Csv;
    POST "/orgs/{org}/prospects/bulk" bulk_prospects ["Prospects"] "Act on many prospects (by ids or by filter)" body(In::Json(one::<pr::BulkBody>)) => Out::Json(200, one::<p::BulkResult>);
    POST "/orgs/{org}/prospects/bulk/undo" undo_bulk ["Prospects"] "Undo a bulk delete" body(In::Json(one::<pr::UndoBody>)) => Out::Json(200, one::<pr::Restored>);
    GET "/orgs/{org}/prospects/{id}" get_prospect ["Prospects"] "One prospect" => Out::Json(200, one::<p::Prospect>);
    PATCH "/orgs/{org}/prospects/{id}" update_prospect ["Prospects"] "Change some fields (optimistic: send the version you read)" body(In::Json(one::<p::ProspectPatch>)) => Out::Json(200, one::<p::Prospect>);
    DELETE "/orgs/{org}/prospects/{id}" delete_prospect ["Prospects"] "Delete a prospect (undoable)" => Out::Json(200, one::<p::BulkResult>);
    GET "/orgs/{org}/prospects/{id}/notes" list_notes ["Prospects"] "Notes on a prospect" => Out::Json(200, list::<p::Note>);
    POST "/orgs/{org}/prospects/{id}/notes" add_note ["Prospects"] "Add a note" body(In::Json(one::<pr::NoteBody>)) => Out::Json(201, one::<p::Note>);
    GET "/orgs/{org}/prospects/{id}/activity" prospect_activity ["Prospects"] "The prospect's timeline" => Out::Json(200, list::<p::Activity>);
    GET "/orgs/{org}/prospects/{id}/consents" list_consents ["Compliance"] "Consent records" => Out::Json(200, list::<p::Consent>);
    POST "/orgs/{org}/prospects/{id}/consents" add_consent ["Compliance"] "Record consent given or withdrawn" body(In::Json(one::<p::ConsentInput>)) => Out::Json(201, one::<p::Consent>);
    GET "/orgs/{org}/prospects/{id}/may-call" may_call ["Compliance"] "Whether the prospect may be called now (or at `at`), and why not" query(pr::AtParam) => Out::Json(200, one::<pr::MayCall>);
    GET "/orgs/{org}/prospect-tags" tag_counts ["Prospects"] "Tags in use, with counts" => Out::Json(200, list::<pr::TagCount>);
    GET "/orgs/{org}/custom-fields" list_fields ["Prospects"] "Custom field definitions" => Out::Json(200, list::<p::CustomField>);
    POST "/orgs/{org}/custom-fields" create_field ["Prospects"] "Define a custom field" body(In::Json(one::<p::CustomFieldDef>)) => Out::Json(201, one::<p::CustomField>);
    DELETE "/orgs/{org}/custom-fields/{id}" delete_field ["Prospects"] "Delete a custom field definition" => Out::Empty;
    GET "/orgs/{org}/prospect-imports" list_imports ["Imports"] "Recent imports" => Out::Json(200, list::<pi::ImportJob>);
    POST "/orgs/{org}/prospect-imports" upload_import ["Imports"] "Upload a CSV file: its encoding, delimiter, columns and a suggested mapping" query(pr::UploadParams) body(In::Csv) => Out::Json(201, one::<pi::ImportPreview>);
    GET "/orgs/{org}/prospect-imports/{id}" get_import ["Imports"] "An import's state and progress" => Out::Json(200, one::<pi::ImportJob>);
    GET "/orgs/{org}/prospect-imports/{id}/events" import_events ["Imports"] "The import's state now, each change, then its final state (the stream ends there)" => Out::Events(one::<pi::ImportJob>);
    POST "/orgs/{org}/prospect-imports/{id}/dry-run" dry_run_import ["Imports"] "What an import would do, row by row, without writing" body(In::Json(one::<pi::ImportOptions>)) => Out::Json(200, one::<pi::DryRunReport>);
    GET "/orgs/{org}/prospect-imports/{id}/problems.csv" import_problems ["Imports"] "Every problem row of the last dry run, with its cells, as CSV" => Out::Csv;
    POST "/orgs/{org}/prospect-imports/{id}/start" start_import ["Imports"] "Start the import (once; it runs in the background)" body(In::Json(one::<pi::ImportOptions>)) => Out::Json(202, one::<pi::ImportJob>);
    GET "/orgs/{org}/dnc" list_dnc ["Compliance"] "The do-not-call list" query(pr::DncParams) => Out::Json(200, one::<pr::DncList>);
    POST "/orgs/{org}/dnc" add_dnc ["Compliance"] "Add a number to the do-not-call list" body(In::Json(one::<pr::DncBody>)) => Out::Json(201, one::<p::DncEntry>);
    POST "/orgs/{org}/dnc/import" import_dnc ["Compliance"] "Add every number of a CSV file to the do-not-call list" query(pr::ReasonParam) body(In::Csv) => Out::Json(200, one::<p::DncImportResult>);
    DELETE "/orgs/{org}/dnc/{phone}" remove_dnc ["Compliance"] "Remove a number from the do-not-call list" => Out::Empty;
    GET "/orgs/{org}/compliance" get_compliance ["Compliance"] "Calling hours, default region and consent rules" => Out::Json(200, one::<p::ComplianceSettings>);
    PUT "/orgs/{org}/compliance" set_compliance ["Compliance"] "Replace the compliance settings" body(In::Json(one::<p::ComplianceSettings>)) => Out::Json(200, one::<p::ComplianceSettings>);
    GET "/orgs/{org}/calls" list_calls ["Calls"] "Calls, filtered (status, outcome, agent, prospect, direction, date range), sorted and paged on the server" query(domain::call_views::CallParams) => Out::Json(200, one::<services::calls::CallPage>);
    GET "/orgs/{org}/calls/export.csv" export_calls ["Calls"] "Every call matching the list's filters, oldest first, as CSV (streamed)" query(domain::call_views::CallParams) => Out::Csv;
    GET "/orgs/{org}/calls/events" calls_events ["Calls"] "Each change to the organisation's calls, as it happens (from any node)" => Out::Events(one::<services::calls::CallUpdate>);
    POST "/orgs/{org}/calls" place_call ["Calls"] "Place a call with a voice agent (send `Idempotency-Key` to make retries safe: the same key and body return the same call, another body 409)" body(In::Json(one::<services::calls::PlaceCall>)) => Out::Json(201, one::<services::calls::Call>);
    GET "/orgs/{org}/calls/{id}" get_call ["Calls"] "A call, its timeline and the prospect's other calls" => Out::Json(200, one::<services::calls::CallDetail>);
    GET "/orgs/{org}/calls/{id}/events" call_events ["Calls"] "Each change to this call, as it happens" => Out::Events(one::<services::calls::CallUpdate>);
    POST "/orgs/{org}/calls/{id}/outcome" set_call_outcome ["Calls"] "How the call ended (once; the prospect's status, timeline, notes and callback follow)" body(In::Json(one::<domain::copilot::outcome::OutcomeReport>)) => Out::Json(200, one::<services::calls::CallDetail>);
    GET "/orgs/{org}/prospects/{id}/calls" prospect_calls ["Calls"] "The prospect's calls: AI agents' phone calls and reps' copilot calls, newest first" => Out::Json(200, list::<services::calls::ProspectCall>);
    POST "/orgs/{org}/calls/{id}/turns" add_call_turns ["Calls"] "What was said on the call, turn by turn (the voice worker, as the call goes; numbered per call — a turn sent again is stored once)" body(In::Json(one::<domain::call_views::AddTurns>)) => Out::Json(200, one::<domain::call_views::TurnsAdded>);
    PATCH "/orgs/{org}/calls/{id}/data" collect_call_data ["Calls"] "Values the agent collected, checked against its data schema and merged into the call's (null removes one); the call's values after" body(In::Json(one::<domain::call_views::CollectData>)) => Out::Json(200, one::<domain::call_views::CollectData>);
    POST "/orgs/{org}/calls/{id}/hang-up" hang_up ["Calls"] "Hang up (a call already ended stays as it was)" => Out::Json(200, one::<services::calls::CallDetail>), upstream;
    GET "/orgs/{org}/calls/{id}/recording" call_recording ["Calls"] "A short-lived address to play the call's recording (members of the call's organisation; each access is audited)" => Out::Json(200, one::<services::calls::recording::RecordingLink>);
    GET "/orgs/{org}/calls/{id}/recording/audio" call_recording_audio ["Calls"] "The recording itself (Ogg audio), relayed from the bucket; `Range` is honoured (for an audio player)" => Out::Audio;
    POST "/orgs/{org}/calls/{id}/listen" listen_call ["Calls"] "Listen to a live call: LiveKit's client address and a hidden, subscribe-only token for its room (Admins and Owners; audited)" => Out::Json(200, one::<domain::call_views::RoomAccess>);
    POST "/orgs/{org}/calls/{id}/supervise" supervise_call ["Calls"] "Join a live call as a manager: `listen` (hidden, subscribe-only), `whisper` (a microphone only the rep may receive) or `barge` (in the conversation). Admins and Owners; audited, on the call's timeline and shown to the rep" body(In::Json(one::<domain::call_views::SuperviseRequest>)) => Out::Json(200, one::<domain::call_views::Supervision>), upstream;
    GET "/orgs/{org}/calls/live" live_calls ["Calls"] "The calls in progress: rep or agent, prospect, times, and the copilot's phase and last objection (Admins and Owners)" => Out::Json(200, list::<domain::call_views::LiveCall>);
    POST "/orgs/{org}/calls/rep" rep_call ["Calls"] "The signed-in rep calls a prospect from the copilot (a person, not an API key): the call with the same checks as any, the copilot session that follows it, and the rep's token for its room (a microphone and DTMF)" body(In::Json(one::<domain::call_views::RepCallRequest>)) => Out::Json(201, one::<domain::call_views::RepCall>), upstream;
    GET "/orgs/{org}/calls/rep/current" rep_current_call ["Calls"] "The signed-in rep's call in progress with a fresh token, or null" => Out::Json(200, one::<Option<domain::call_views::RepCall>>);
    POST "/orgs/{org}/calls/{id}/hold" hold_call ["Calls"] "Hold (or resume) the rep's own call: the prospect stops hearing the rep and the rep the prospect, enforced by the server" body(In::Json(one::<domain::call_views::HoldRequest>)) => Out::Empty, upstream;
    POST "/orgs/{org}/calls/{id}/transfer" transfer_call ["Calls"] "Cold-transfer the callee to the agent's transfer number (only that number)" => Out::Json(200, one::<services::calls::CallDetail>), upstream;
    GET "/orgs/{org}/campaigns" list_campaigns ["Campaigns"] "The organisation's campaigns with their counts, newest first (archived ones only when asked for by status)" query(crate::campaigns_api::ListParams) => Out::Json(200, list::<domain::campaign::views::Campaign>);
    POST "/orgs/{org}/campaigns" create_campaign ["Campaigns"] "Create a campaign (a draft): agent, line, schedule, calling windows per weekday and whose time zone they read, concurrency, retries per result (Admins and Owners)" body(In::Json(one::<domain::campaign::CampaignSettings>)) => Out::Json(201, one::<domain::campaign::views::Campaign>);
    GET "/orgs/{org}/campaigns/{id}" get_campaign ["Campaigns"] "A campaign, why it is paused if it is, when the dialer next looks at it, and its counts" => Out::Json(200, one::<domain::campaign::views::Campaign>);
    PUT "/orgs/{org}/campaigns/{id}" edit_campaign ["Campaigns"] "Change a campaign not yet over, at the version read (another version: 409 stale_version)" body(In::Json(one::<domain::campaign::views::CampaignEdit>)) => Out::Json(200, one::<domain::campaign::views::Campaign>);
    POST "/orgs/{org}/campaigns/{id}/start" start_campaign ["Campaigns"] "Start dialling a draft (its agent active, its line set up, someone to call; otherwise 4xx saying which)" => Out::Json(200, one::<domain::campaign::views::Campaign>);
    POST "/orgs/{org}/campaigns/{id}/pause" pause_campaign ["Campaigns"] "Pause: no new dial (calls under way go on)" => Out::Json(200, one::<domain::campaign::views::Campaign>);
    POST "/orgs/{org}/campaigns/{id}/resume" resume_campaign ["Campaigns"] "Resume a paused campaign (also one the dialer paused)" => Out::Json(200, one::<domain::campaign::views::Campaign>);
    POST "/orgs/{org}/campaigns/{id}/complete" complete_campaign ["Campaigns"] "End a campaign before everyone's turn is over" => Out::Json(200, one::<domain::campaign::views::Campaign>);
    POST "/orgs/{org}/campaigns/{id}/archive" archive_campaign ["Campaigns"] "Put away a completed campaign, or a draft never run" => Out::Json(200, one::<domain::campaign::views::Campaign>);
    GET "/orgs/{org}/campaigns/{id}/prospects" list_campaign_prospects ["Campaigns"] "The campaign's prospects and where each stands (state, attempts, next attempt, last result)" query(services::campaigns::members::MemberQuery) => Out::Json(200, one::<domain::campaign::views::CampaignProspectPage>);
    POST "/orgs/{org}/campaigns/{id}/prospects" add_campaign_prospects ["Campaigns"] "Add prospects by ids, filter, saved view or CSV import, with per-prospect variables; those in another live campaign, on the do-not-call list, opted out or without a number are reported, not added" body(In::Json(one::<domain::campaign::views::AddProspects>)) => Out::Json(200, one::<domain::campaign::views::AddReport>);
    GET "/orgs/{org}/campaigns/{id}/events" campaign_events ["Campaigns"] "The campaign now, then again as it and its calls change" => Out::Events(one::<domain::campaign::views::CampaignUpdate>);
    GET "/orgs/{org}/calls/{id}/analysis" get_call_analysis ["Calls"] "The call's post-call analysis (summary, key points, sentiment, suggested outcome, extracted data, per-phase scores with quoted evidence) and its state: pending, done, failed, no_model, no_transcript" => Out::Json(200, one::<domain::analysis::AnalysisView>);
    PUT "/orgs/{org}/calls/{id}/analysis" edit_call_analysis ["Calls"] "Correct the analysis (Admins and Owners; audited with what it replaced)" body(In::Json(one::<domain::analysis::AnalysisEdit>)) => Out::Json(200, one::<domain::analysis::AnalysisView>);
    GET "/orgs/{org}/analytics" analytics ["Analytics"] "The managers' dashboard over whole UTC days (default the last 30): totals and the previous period's, calls per day, the outcome funnel, agent and rep leaderboards (AI and copilot calls), per-phase score averages, voice latency per agent (Admins and Owners)" query(domain::analytics::AnalyticsQuery) => Out::Json(200, one::<domain::analytics::Dashboard>);
    GET "/orgs/{org}/analytics/export.csv" export_analytics ["Analytics"] "One of the dashboard's tables as CSV" query(crate::analytics_api::ExportParams) => Out::Csv;
    GET "/orgs/{org}/billing" billing ["Billing"] "The plans, the plan in force (its subscription, status and period) and this period's usage against its limits (Admins and Owners)" => Out::Json(200, one::<domain::billing::views::BillingOverview>), upstream;
    POST "/orgs/{org}/billing/checkout" start_checkout ["Billing"] "Start Polar's checkout for a plan: the URL to send the browser to (Owners)" body(In::Json(one::<domain::billing::views::CheckoutRequest>)) => Out::Json(200, one::<domain::billing::views::Redirect>), upstream;
    POST "/orgs/{org}/billing/portal" billing_portal ["Billing"] "Polar's customer portal (invoices, payment method, cancelling): the URL to send the browser to (Owners)" => Out::Json(200, one::<domain::billing::views::Redirect>), upstream;
    GET "/orgs/{org}/usage" usage ["Billing"] "Usage per UTC day, per agent and per API key over a range (default the last 31 days), and the current period against the plan (Admins and Owners)" query(domain::billing::views::UsageQuery) => Out::Json(200, one::<domain::billing::views::UsageReport>), upstream;
    GET "/orgs/{org}/usage/export.csv" export_usage ["Billing"] "The range's days as CSV (call seconds, model tokens in and out, speech seconds, voice characters)" query(domain::billing::views::UsageQuery) => Out::Csv, upstream;
    GET "/orgs/{org}/telephony" get_telephony ["Telephony"] "The LiveKit project, default trunk and caller number, last connection test (the secret is never returned)" => Out::Json(200, one::<services::telephony::settings::TelephonySettings>);
    PUT "/orgs/{org}/telephony" save_telephony ["Telephony"] "Change the telephony settings (absent fields stay, empty strings clear)" body(In::Json(one::<services::telephony::settings::TelephonyChange>)) => Out::Json(200, one::<services::telephony::settings::TelephonySettings>);
    POST "/orgs/{org}/telephony/test" test_telephony ["Telephony"] "List the project's rooms: whether LiveKit answers, and how fast (stored)" => Out::Json(200, one::<services::telephony::settings::ConnectionTest>), upstream;
    GET "/orgs/{org}/telephony/recordings" get_recordings ["Telephony"] "Whether calls are recorded by default, and the S3-compatible bucket recordings go to (the secret key is never returned)" => Out::Json(200, one::<services::telephony::recording_settings::RecordingSettings>);
    PUT "/orgs/{org}/telephony/recordings" save_recordings ["Telephony"] "Change the recording settings (absent fields stay, empty strings clear; the bucket is set whole)" body(In::Json(one::<services::telephony::recording_settings::RecordingChange>)) => Out::Json(200, one::<services::telephony::recording_settings::RecordingSettings>);
    POST "/orgs/{org}/telephony/recordings/test" test_recordings ["Telephony"] "Write and delete a small object in the bucket with the stored keys (the result is stored)" => Out::Json(200, one::<services::telephony::recording_settings::ConnectionTest>);
    GET "/orgs/{org}/telephony/trunks" list_trunks ["Telephony"] "SIP trunks (passwords never returned)" => Out::Json(200, list::<services::telephony::trunks::Trunk>);
    POST "/orgs/{org}/telephony/trunks" create_trunk ["Telephony"] "Create a SIP trunk in LiveKit: outbound (address, numbers, credentials) or inbound (numbers, the agent that answers)" body(In::Json(one::<services::telephony::trunks::NewTrunk>)) => Out::Json(201, one::<services::telephony::trunks::Trunk>), upstream;
    DELETE "/orgs/{org}/telephony/trunks/{id}" delete_trunk ["Telephony"] "Delete a SIP trunk (in LiveKit too)" => Out::Empty, upstream;
    GET "/orgs/{org}/saved-views" list_views ["Prospects"] "Saved prospect list views" => Out::Json(200, list::<p::SavedView>);
    POST "/orgs/{org}/saved-views" save_view ["Prospects"] "Save a list view" body(In::Json(one::<p::SavedViewInput>)) => Out::Json(200, one::<p::SavedView>);
    DELETE "/orgs/{org}/saved-views/{id}" delete_view ["Prospects"] "Delete a saved view" => Out::Empty;

    GET "/catalogue/providers" catalogue ["AI agents"] "The AI providers Handoo speaks to, and their models and voices" => Out::Json(200, list::<domain::catalogue::Provider>);
    GET "/orgs/{org}/agents" list_agents ["AI agents"] "AI agents" query(ag::ListQuery) => Out::Json(200, list::<v::AgentSummary>);
    POST "/orgs/{org}/agents" create_agent ["AI agents"] "Create an AI agent" body(In::Json(one::<ag::CreateBody>)) => Out::Json(201, one::<v::Agent>);
    GET "/orgs/{org}/agents/{id}" get_agent ["AI agents"] "One AI agent" => Out::Json(200, one::<v::Agent>);
    PUT "/orgs/{org}/agents/{id}" update_agent ["AI agents"] "Replace an agent's settings (send the version you read)" body(In::Json(one::<ag::UpdateBody>)) => Out::Json(200, one::<v::Agent>);
    DELETE "/orgs/{org}/agents/{id}" delete_agent ["AI agents"] "Delete an agent" => Out::Empty;
    POST "/orgs/{org}/agents/{id}/active" set_agent_active ["AI agents"] "Activate or deactivate an agent" body(In::Json(one::<ag::ActiveBody>)) => Out::Empty;
    POST "/orgs/{org}/agents/{id}/duplicate" duplicate_agent ["AI agents"] "Copy an agent" => Out::Json(201, one::<v::Agent>);
    GET "/orgs/{org}/agents/{id}/conversations" list_conversations ["Playground"] "Test conversations with an agent" => Out::Json(200, list::<v::ConversationSummary>);
    POST "/orgs/{org}/agents/{id}/conversations" start_conversation ["Playground"] "Start a test conversation (optionally with prospect data)" body(In::OptionalJson(one::<ag::StartBody>)) => Out::Json(201, one::<v::Conversation>);
    GET "/orgs/{org}/agents/{id}/test-call" agent_test_call ["Playground"] "A test call with a voice agent: the microphone as 16 kHz PCM in, its voice as 24 kHz PCM and live events out (WebSocket)" => Out::Upgrade;
    GET "/orgs/{org}/agent-folders" list_folders ["AI agents"] "Agent folders" => Out::Json(200, list::<v::Folder>);
    POST "/orgs/{org}/agent-folders" create_folder ["AI agents"] "Create a folder" body(In::Json(one::<ag::NameBody>)) => Out::Json(201, one::<v::Folder>);
    GET "/orgs/{org}/providers" list_providers ["AI agents"] "The organisation's provider credentials (never the secrets)" => Out::Json(200, list::<v::CredentialView>);
    GET "/orgs/{org}/conversations/{id}" get_conversation ["Playground"] "One test conversation" => Out::Json(200, one::<v::Conversation>);
    POST "/orgs/{org}/conversations/{id}/messages" send_message ["Playground"] "Send a message; the agent's turn streams back as events" body(In::Json(one::<ag::MessageBody>)) => Out::Events(one::<domain::playground::PlaygroundEvent>), upstream;

    GET "/orgs/{org}/scripts" list_scripts ["Copilot"] "Call scripts" => Out::Json(200, list::<cv::ScriptSummary>);
    POST "/orgs/{org}/scripts" create_script ["Copilot"] "Create a call script" body(In::Json(one::<cv::ScriptInput>)) => Out::Json(201, one::<cv::ScriptDetail>);
    POST "/orgs/{org}/scripts/generate" generate_script ["Copilot"] "Draft a script with the organisation's AI provider" body(In::Json(one::<services::copilot::ai::GenerateRequest>)) => Out::Json(201, one::<cv::ScriptDetail>), upstream;
    GET "/orgs/{org}/scripts/{id}" get_script ["Copilot"] "One script" => Out::Json(200, one::<cv::ScriptDetail>);
    PUT "/orgs/{org}/scripts/{id}" update_script ["Copilot"] "Save a new version of a script" body(In::Json(one::<cv::ScriptInput>)) => Out::Json(200, one::<cv::ScriptDetail>);
    DELETE "/orgs/{org}/scripts/{id}" archive_script ["Copilot"] "Archive a script" => Out::Empty;
    GET "/orgs/{org}/scripts/{id}/versions" script_versions ["Copilot"] "A script's versions" => Out::Json(200, list::<cv::ScriptVersionInfo>);
    GET "/orgs/{org}/knowledge" list_knowledge ["Knowledge"] "Knowledge base entries" query(cv::KnowledgeQuery) => Out::Json(200, list::<cv::KnowledgeItem>);
    POST "/orgs/{org}/knowledge" create_knowledge ["Knowledge"] "Propose a knowledge entry" body(In::Json(one::<domain::copilot::knowledge::KnowledgeDraft>)) => Out::Json(201, one::<cv::KnowledgeItem>);
    GET "/orgs/{org}/knowledge/most-used" most_used_knowledge ["Knowledge"] "The entries reps open most" => Out::Json(200, list::<cv::KnowledgeItem>);
    GET "/orgs/{org}/knowledge/related" related_knowledge ["Knowledge"] "Entries related to a text" query(cp::RelatedQuery) => Out::Json(200, list::<cv::KnowledgeItem>);
    GET "/orgs/{org}/knowledge/{id}" get_knowledge ["Knowledge"] "One entry" => Out::Json(200, one::<cv::KnowledgeItem>);
    PUT "/orgs/{org}/knowledge/{id}" update_knowledge ["Knowledge"] "Edit an entry" body(In::Json(one::<domain::copilot::knowledge::KnowledgeDraft>)) => Out::Json(200, one::<cv::KnowledgeItem>);
    DELETE "/orgs/{org}/knowledge/{id}" delete_knowledge ["Knowledge"] "Delete an entry" => Out::Empty;
    POST "/orgs/{org}/knowledge/{id}/review" review_knowledge ["Knowledge"] "Approve, reject or archive an entry" body(In::Json(one::<domain::copilot::knowledge::ReviewAction>)) => Out::Json(200, one::<cv::KnowledgeItem>);
    POST "/orgs/{org}/knowledge/{id}/usage" knowledge_usage ["Knowledge"] "Record that an entry was used in a call" body(In::Json(one::<cp::UsageBody>)) => Out::Empty;
    GET "/orgs/{org}/techniques" list_techniques ["Copilot"] "The sales-technique library" query(cp::TechniqueQuery) => Out::Json(200, list::<cv::Technique>);
    POST "/orgs/{org}/techniques/{id}/rating" rate_technique ["Copilot"] "Rate a technique" body(In::Json(one::<cp::RatingBody>)) => Out::Json(200, one::<cv::Technique>);
    GET "/orgs/{org}/copilot/queue" copilot_queue ["Copilot"] "Who to call next" => Out::Json(200, list::<cv::QueueEntry>);
    GET "/orgs/{org}/prospects/{id}/brief" prospect_brief ["Copilot"] "The pre-call brief" query(cp::BriefQuery) => Out::Json(200, one::<cv::Brief>);
    POST "/orgs/{org}/copilot/sessions" start_session ["Copilot"] "Start a copilot call session" body(In::Json(one::<cp::StartBody>)) => Out::Json(201, one::<cv::SessionView>);
    GET "/orgs/{org}/copilot/sessions/{id}" get_session ["Copilot"] "A session's state" => Out::Json(200, one::<cv::SessionView>);
    GET "/orgs/{org}/copilot/sessions/{id}/analysis" get_session_analysis ["Copilot"] "The ended session's post-call analysis, as for a call (state, summary, sentiment, per-phase scores with quoted evidence)" => Out::Json(200, one::<domain::analysis::AnalysisView>);
    PUT "/orgs/{org}/copilot/sessions/{id}/analysis" edit_session_analysis ["Copilot"] "Correct the session's analysis (Admins and Owners; audited with what it replaced)" body(In::Json(one::<domain::analysis::AnalysisEdit>)) => Out::Json(200, one::<domain::analysis::AnalysisView>);
    POST "/orgs/{org}/copilot/sessions/{id}/transcript" post_transcript ["Copilot"] "Add transcript lines; returns the events they raised" body(In::Json(one::<cp::TranscriptBody>)) => Out::Json(200, list::<cv::CopilotEvent>);
    POST "/orgs/{org}/copilot/sessions/{id}/navigate" navigate ["Copilot"] "Move through the script" body(In::Json(one::<services::copilot::sessions::Nav>)) => Out::Json(200, nullable::<cv::CopilotEvent>);
    POST "/orgs/{org}/copilot/sessions/{id}/end" end_session ["Copilot"] "End the call with its outcome" body(In::Json(one::<domain::copilot::outcome::OutcomeReport>)) => Out::Json(200, one::<cv::SessionView>);
    POST "/orgs/{org}/copilot/sessions/{id}/opt-out" honour_opt_out ["Copilot"] "Honour an opt-out card: the prospect is opted out and their number listed as do-not-call, with the utterance kept as evidence (idempotent)" body(In::Json(one::<cv::OptOutRequest>)) => Out::Json(200, one::<cv::OptOutRecorded>);
    GET "/orgs/{org}/copilot/sessions/{id}/events" session_events ["Copilot"] "The session's live events" => Out::Events(one::<cv::CopilotEvent>);
    GET "/orgs/{org}/copilot/sessions/{id}/audio" session_audio ["Copilot"] "The call's audio, for live transcription (WebSocket)" => Out::Upgrade;
}

/// The error answer, shared by every route (and the server functions).
fn error_schema(s: &mut Schemas) -> RefOr<Schema> {
    let code = s.reference::<domain::ErrorCode>();
    s.add(
        "Error".into(),
        ObjectBuilder::new()
            .property("code", code)
            .required("code")
            .property(
                "field",
                ObjectBuilder::new().schema_type(Type::String).description(Some("The input at fault")),
            )
            .property(
                "detail",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some("A value the message quotes (a limit, a name)")),
            )
            .into(),
    );
    Ref::from_schema_name("Error").into()
}

const ERRORS: &[(u16, &str)] = &[
    (400, "The request is malformed"),
    (401, "Not signed in, or the API key is not valid"),
    (403, "The role or the key's permissions do not allow this"),
    (404, "No such resource in this organisation (or not a member of it)"),
    (409, "Conflicts with the current state (a stale version, a duplicate)"),
    (410, "Too late (an undo window has closed)"),
    (413, "The body is too large"),
    (422, "A value is not valid; `field` names it"),
    (429, "Too many requests; retry after `Retry-After` seconds"),
];

const UPSTREAM_ERRORS: &[(u16, &str)] = &[
    (424, "The AI provider refused the organisation's credentials"),
    (502, "The AI provider answered badly or not at all"),
    (503, "This server is not configured for it"),
    (504, "The AI provider did not answer in time"),
];

fn string_param(name: &str, format: Option<&str>, description: &str) -> utoipa::openapi::path::Parameter {
    let mut schema = ObjectBuilder::new().schema_type(Type::String);
    if let Some(f) = format {
        schema = schema.format(Some(SchemaFormat::Custom(f.into())));
    }
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

fn path_params(path: &str) -> Vec<utoipa::openapi::path::Parameter> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| match name {
            "org" => string_param(name, Some("uuid"), "The organisation"),
            "user" => string_param(name, Some("uuid"), "The member's user id"),
            "phone" => string_param(name, None, "The number, E.164 (URL-encoded `+`)"),
            _ => string_param(name, Some("uuid"), "The resource's id"),
        })
        .collect()
}

fn method(m: &str) -> HttpMethod {
    match m {
        "GET" => HttpMethod::Get,
        "POST" => HttpMethod::Post,
        "PUT" => HttpMethod::Put,
        "PATCH" => HttpMethod::Patch,
        _ => HttpMethod::Delete,
    }
}

/// The whole document. Built once per process (see [`serve`]).
pub fn document() -> OpenApi {
    build().0
}

/// The document, and the schema names that two types claimed.
fn build() -> (OpenApi, Vec<String>) {
    let mut schemas = Schemas::default();
    let error = error_schema(&mut schemas);
    let mut paths = PathsBuilder::new();
    let mut tags: Vec<&str> = Vec::new();
    for op in operations() {
        if !tags.contains(&op.tag) {
            tags.push(op.tag);
        }
        let mut b = OperationBuilder::new()
            .operation_id(Some(op.id))
            .summary(Some(op.summary))
            .tag(op.tag)
            .parameters(Some(path_params(op.path)));
        if let Some(q) = op.query {
            b = b.parameters(Some(q()));
        }
        b = match op.body {
            In::None => b,
            In::Json(f) | In::OptionalJson(f) => b.request_body(Some(
                RequestBodyBuilder::new()
                    .content("application/json", ContentBuilder::new().schema(Some(f(&mut schemas))).build())
                    .required(Some(if matches!(op.body, In::Json(_)) {
                        Required::True
                    } else {
                        Required::False
                    }))
                    .build(),
            )),
            In::Csv => b.request_body(Some(
                RequestBodyBuilder::new()
                    .content(
                        "text/csv",
                        ContentBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    )
                    .required(Some(Required::True))
                    .build(),
            )),
        };
        b = match op.out {
            Out::Json(status, f) => b.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description(if status == 201 { "Created" } else { "OK" })
                    .content("application/json", ContentBuilder::new().schema(Some(f(&mut schemas))).build()),
            ),
            Out::Empty => b.response("204", ResponseBuilder::new().description("Done")),
            Out::Audio => b.response(
                "200",
                ResponseBuilder::new().description("The audio file").content(
                    "audio/ogg",
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String).format(Some(
                            utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Binary),
                        ))))
                        .build(),
                ),
            ),
            Out::Csv => b.response(
                "200",
                ResponseBuilder::new().description("A CSV file (UTF-8)").content(
                    "text/csv",
                    ContentBuilder::new()
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                        .build(),
                ),
            ),
            Out::Events(f) => {
                // One schema per event (`event`, `id`, `data`), as OpenAPI
                // 3.2's `itemSchema` and schemathesis read a stream; `data`
                // is the payload, JSON in a string.
                let name = match f(&mut schemas) {
                    RefOr::Ref(r) => r.ref_location.rsplit('/').next().unwrap_or_default().to_string(),
                    RefOr::T(_) => "object".to_string(),
                };
                let text = || ObjectBuilder::new().schema_type(Type::String);
                let event = ObjectBuilder::new()
                    .property("event", text())
                    .property("id", text())
                    .property(
                        "data",
                        text()
                            .content_media_type("application/json")
                            .description(Some(format!("One `{name}`, as JSON"))),
                    )
                    .required("data");
                b.response(
                    "200",
                    ResponseBuilder::new()
                        .description(format!("Server-sent events; each one's `data` is one JSON `{name}`"))
                        .content("text/event-stream", ContentBuilder::new().schema(Some(event)).build()),
                )
            }
            Out::Upgrade => b.response("101", ResponseBuilder::new().description("Switching to WebSocket")),
        };
        let errors = ERRORS.iter().chain(if op.upstream { UPSTREAM_ERRORS } else { &[] });
        for (status, what) in errors {
            b = b.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description(*what)
                    .content("application/json", ContentBuilder::new().schema(Some(error.clone())).build()),
            );
        }
        if op.path == "/health" {
            b = b.response(
                "503",
                ResponseBuilder::new().description("The database is unreachable").content(
                    "application/json",
                    ContentBuilder::new().schema(Some(one::<me::Health>(&mut schemas))).build(),
                ),
            );
        }
        paths = paths.path(op.path, PathItem::new(method(op.method), b.build()));
    }
    let mut components = ComponentsBuilder::new().security_scheme(
        "api_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key of the organisation (`hdo_…`), from Settings → API keys. A signed-in \
                     browser session works too (cookie + `x-csrf-token`).",
                ))
                .build(),
        ),
    );
    for (name, schema) in schemas.by_name {
        components = components.schema(name, schema);
    }
    let doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Handoo API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Every `/orgs/{org}/…` route works with a session of a member of `{org}` or an API key \
                     of that organisation whose permissions allow it; anything else is answered 404, as if \
                     the organisation did not exist. Errors are `{code, field?, detail?}` with a stable `code`.",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url("/api/v1").build()]))
        .paths(paths.build())
        .components(Some(components.build()))
        .security(Some([SecurityRequirement::new("api_key", Vec::<String>::new())]))
        .tags(Some(tags.into_iter().map(|t| TagBuilder::new().name(t).build())))
        .build();
    (doc, schemas.collisions)
}

fn json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| document().to_pretty_json().unwrap_or_else(|_| "{}".into()))
}

/// `GET /api/v1/openapi.json`
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}

/// `GET /api/v1/docs`: a reference page rendered here from the document
/// (no third-party viewer: it would need a CDN, or a bundle the size of
/// the app, and our page policy allows neither).
pub async fn reference() -> Html<&'static str> {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    Html(PAGE.get_or_init(|| crate::openapi_page::render(&document())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_documented_and_every_documented_route_exists() {
        let mut routed: Vec<(String, String)> =
            crate::rest::all_routes().iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
        let mut documented: Vec<(String, String)> =
            operations().iter().map(|o| (o.method.to_string(), o.path.to_string())).collect();
        routed.sort();
        documented.sort();
        assert_eq!(routed, documented);
        let mut ids: Vec<&str> = operations().iter().map(|o| o.id).collect();
        ids.sort();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n, "operation ids are unique");
    }

    #[test]
    fn no_two_types_share_a_schema_name() {
        assert_eq!(build().1, Vec::<String>::new());
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let doc: serde_json::Value = serde_json::from_str(json()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let text = json();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for r in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = &r[..r.find('"').unwrap()];
            assert!(schemas.contains_key(name), "unresolved reference {name}");
        }
    }
}
