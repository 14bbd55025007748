//! Calls as the API and the pages show them, and the list's query: filters,
//! sort and page, parsed from the same strings whether they come from a
//! REST query string or a server function, so both refuse the same input
//! with the same field error.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::call::CallStatus;
use crate::copilot::outcome::CallOutcome;
use crate::error::{ErrorCode, FieldError};

/// A call as the API and the pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Call {
    pub id: Uuid,
    /// `outbound` or `inbound`.
    pub direction: String,
    pub status: CallStatus,
    pub prospect_id: Option<Uuid>,
    /// The campaign the call is an attempt of.
    #[serde(default)]
    pub campaign_id: Option<Uuid>,
    /// The prospect's name (or company) when the call has one; filled by
    /// reads, absent from live updates (a page keeps the one it has).
    #[serde(default)]
    pub prospect_name: Option<String>,
    pub agent_id: Option<Uuid>,
    #[serde(default)]
    pub agent_name: Option<String>,
    /// The script the agent was given, at the version it followed.
    #[serde(default)]
    pub script_id: Option<Uuid>,
    #[serde(default)]
    pub script_version: Option<i64>,
    /// Filled by reads, as the names above.
    #[serde(default)]
    pub script_name: Option<String>,
    pub trunk_id: Option<Uuid>,
    pub to_number: String,
    pub from_number: Option<String>,
    /// The final SIP status of a call that was not answered.
    pub sip_status: Option<i32>,
    /// Why it failed, as an error code (never upstream text).
    pub failure_reason: Option<String>,
    pub room_name: String,
    pub outcome: Option<CallOutcome>,
    pub callback_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub notes: String,
    /// Template variables the agent speaks with.
    pub variables: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub ringing_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// From the answer to the end.
    pub talk_ms: Option<i64>,
    /// `recording`, `ready` or `failed`; absent when the call is not recorded.
    #[serde(default)]
    pub recording_status: Option<String>,
    #[serde(default)]
    pub recording_duration_ms: Option<i64>,
    /// The rep talking on it: a call placed from the copilot (none for an
    /// AI agent's call).
    #[serde(default)]
    pub rep_id: Option<Uuid>,
}

impl Call {
    /// Keeps the names `older` had when this (a live update) has none.
    pub fn keep_names(mut self, older: &Call) -> Call {
        if self.prospect_name.is_none() {
            self.prospect_name = older.prospect_name.clone();
        }
        if self.agent_name.is_none() {
            self.agent_name = older.agent_name.clone();
        }
        if self.script_name.is_none() {
            self.script_name = older.script_name.clone();
        }
        self
    }
}

/// One entry of a call's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallTimelineEntry {
    pub at: DateTime<Utc>,
    /// `request` (ours), `webhook` (LiveKit's) or `user`.
    pub source: String,
    pub kind: String,
    pub from_status: String,
    pub to_status: String,
    /// Why the event changed nothing (`already_ended`, `behind`).
    pub ignored: Option<String>,
    pub data: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallDetail {
    pub call: Call,
    pub timeline: Vec<CallTimelineEntry>,
    /// What was said, in order (written by the voice worker as it goes).
    #[serde(default)]
    pub turns: Vec<CallTurn>,
    /// What the agent collected, by field of its data schema.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub collected_data: crate::data_schema::CollectedData,
    /// The prospect's other calls, newest first (at most 20).
    #[serde(default)]
    pub other_calls: Vec<Call>,
    /// The voice agent's report (end reason, usage, per-reply latency) once it has hung up.
    #[serde(default)]
    pub agent_report: Option<crate::agent_report::AgentReport>,
}

/// Who spoke a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TurnSpeaker {
    Agent,
    Prospect,
    /// The person on a rep's call from the copilot.
    Rep,
}

impl TurnSpeaker {
    pub fn as_str(self) -> &'static str {
        match self {
            TurnSpeaker::Agent => "agent",
            TurnSpeaker::Prospect => "prospect",
            TurnSpeaker::Rep => "rep",
        }
    }

    pub fn parse(s: &str) -> Option<TurnSpeaker> {
        match s {
            "agent" => Some(TurnSpeaker::Agent),
            "prospect" => Some(TurnSpeaker::Prospect),
            "rep" => Some(TurnSpeaker::Rep),
            _ => None,
        }
    }
}

/// The longest turn kept, in characters (about ten minutes of speech).
pub const TURN_TEXT_MAX: usize = 10_000;
/// A call's turns are numbered below this; a turn's times within a day.
pub const TURN_SEQ_MAX: u32 = 100_000;
pub const TURN_MS_MAX: u64 = 24 * 3600 * 1000;
/// Turns sent at once.
pub const TURNS_PER_REQUEST: usize = 200;

/// One turn of a call's conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallTurn {
    /// Its place in the call (from 0): a turn sent again with the same
    /// number is stored once.
    pub seq: u32,
    pub speaker: TurnSpeaker,
    /// What was said — for an interrupted agent turn, what was actually spoken.
    pub text: String,
    /// From the start of the call, in milliseconds.
    pub start_ms: u64,
    pub end_ms: u64,
    #[serde(default)]
    pub interrupted: bool,
}

impl CallTurn {
    /// Checks the turn sent at position `i` of a request; its text trimmed.
    pub fn validate(mut self, i: usize) -> Result<CallTurn, FieldError> {
        let at = |f: &str| format!("turns[{i}].{f}");
        if self.seq >= TURN_SEQ_MAX {
            return Err(FieldError::new(at("seq"), ErrorCode::OutOfRange)
                .with_detail(format!("0–{}", TURN_SEQ_MAX - 1)));
        }
        self.text = self.text.trim().to_string();
        // An agent cut off before its first word said nothing, and that is worth keeping.
        if self.text.is_empty() && !self.interrupted {
            return Err(FieldError::new(at("text"), ErrorCode::RequiredValue));
        }
        if self.text.chars().count() > TURN_TEXT_MAX {
            return Err(
                FieldError::new(at("text"), ErrorCode::TextTooLong).with_detail(TURN_TEXT_MAX.to_string())
            );
        }
        if self.start_ms > TURN_MS_MAX {
            return Err(FieldError::new(at("start_ms"), ErrorCode::OutOfRange)
                .with_detail(format!("0–{TURN_MS_MAX}")));
        }
        if self.end_ms < self.start_ms || self.end_ms > TURN_MS_MAX {
            return Err(FieldError::new(at("end_ms"), ErrorCode::OutOfRange)
                .with_detail(format!("{}–{TURN_MS_MAX}", self.start_ms)));
        }
        Ok(self)
    }
}

/// Turns for a call, as the voice worker sends them (a batch, or one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddTurns {
    pub turns: Vec<CallTurn>,
}

/// How many of the turns sent were new (the others were there already).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TurnsAdded {
    pub added: u64,
}

/// Values the agent collected: sent, merged into the call's (a null removes
/// one); answered, the call's values after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CollectData {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: crate::data_schema::CollectedData,
}

/// What watchers of calls get when one changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallUpdate {
    pub call: Call,
}

/// Which calls a list shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallFilter {
    /// Any of these (none: all).
    pub statuses: Vec<CallStatus>,
    pub outcome: Option<CallOutcome>,
    pub agent_id: Option<Uuid>,
    pub prospect_id: Option<Uuid>,
    /// `outbound` or `inbound`.
    pub direction: Option<String>,
    /// Placed at or after.
    pub from: Option<DateTime<Utc>>,
    /// Placed before.
    pub until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallSort {
    #[default]
    CreatedAt,
    Status,
    /// Talk time; calls never answered sort as the shortest.
    Duration,
    ToNumber,
}

impl CallSort {
    pub const ALL: [CallSort; 4] =
        [CallSort::CreatedAt, CallSort::Status, CallSort::Duration, CallSort::ToNumber];

    pub fn as_str(self) -> &'static str {
        match self {
            CallSort::CreatedAt => "created_at",
            CallSort::Status => "status",
            CallSort::Duration => "duration",
            CallSort::ToNumber => "to_number",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

pub const CALLS_PER_PAGE: u64 = 25;
pub const CALLS_PER_PAGE_MAX: u64 = 200;

/// One page of a filtered, sorted list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CallQuery {
    pub filter: CallFilter,
    pub sort: CallSort,
    pub desc: bool,
    /// From 1.
    pub page: u64,
    pub per_page: u64,
}

/// The list's query as strings: a REST query string and the pages' server
/// function both send these. Empty means "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(default)]
pub struct CallParams {
    /// Comma-separated statuses (`ringing,in_progress`).
    pub status: String,
    pub outcome: String,
    pub agent_id: String,
    pub prospect_id: String,
    /// `outbound` or `inbound`.
    pub direction: String,
    /// A date (`2026-12-01`, from its start, UTC) or an RFC 3339 time.
    pub from: String,
    /// A date (up to its end, UTC) or an RFC 3339 time (exclusive).
    pub until: String,
    /// `created_at` (default), `status`, `duration`, `to_number`.
    pub sort: String,
    /// `asc` or `desc` (default `desc`).
    pub order: String,
    pub page: Option<u64>,
    pub per_page: Option<u64>,
}

fn invalid(field: &str) -> FieldError {
    FieldError::new(field, ErrorCode::Validation)
}

fn uuid_param(s: &str, field: &str) -> Result<Option<Uuid>, FieldError> {
    match s.trim() {
        "" => Ok(None),
        s => Uuid::parse_str(s).map(Some).map_err(|_| invalid(field)),
    }
}

/// `2026-12-01` (its first instant, or with `end` the first instant of the
/// next day) or an RFC 3339 time.
fn time_param(s: &str, field: &str, end: bool) -> Result<Option<DateTime<Utc>>, FieldError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let d = if end { d.succ_opt().ok_or_else(|| invalid(field))? } else { d };
        return Ok(Some(Utc.from_utc_datetime(&d.and_time(NaiveTime::MIN))));
    }
    DateTime::parse_from_rfc3339(s).map(|t| Some(t.with_timezone(&Utc))).map_err(|_| invalid(field))
}

impl CallParams {
    pub fn query(&self) -> Result<CallQuery, FieldError> {
        let mut statuses = Vec::new();
        for s in self.status.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let s = CallStatus::parse(s).ok_or_else(|| invalid("status"))?;
            if !statuses.contains(&s) {
                statuses.push(s);
            }
        }
        let outcome = match self.outcome.trim() {
            "" => None,
            o => Some(CallOutcome::parse(o).ok_or_else(|| invalid("outcome"))?),
        };
        let direction = match self.direction.trim() {
            "" => None,
            d @ ("outbound" | "inbound") => Some(d.to_string()),
            _ => return Err(invalid("direction")),
        };
        let from = time_param(&self.from, "from", false)?;
        let until = time_param(&self.until, "until", true)?;
        if let (Some(f), Some(u)) = (from, until) {
            if u <= f {
                return Err(invalid("until"));
            }
        }
        let sort = match self.sort.trim() {
            "" => CallSort::default(),
            s => CallSort::parse(s).ok_or_else(|| invalid("sort"))?,
        };
        let desc = match self.order.trim() {
            "" | "desc" => true,
            "asc" => false,
            _ => return Err(invalid("order")),
        };
        let page = self.page.unwrap_or(1);
        if page == 0 || page > 100_000 {
            return Err(invalid("page"));
        }
        let per_page = self.per_page.unwrap_or(CALLS_PER_PAGE);
        if per_page == 0 || per_page > CALLS_PER_PAGE_MAX {
            return Err(invalid("per_page"));
        }
        Ok(CallQuery {
            filter: CallFilter {
                statuses,
                outcome,
                agent_id: uuid_param(&self.agent_id, "agent_id")?,
                prospect_id: uuid_param(&self.prospect_id, "prospect_id")?,
                direction,
                from,
                until,
            },
            sort,
            desc,
            page,
            per_page,
        })
    }
}

/// Where counting stops: past it the list says "10,000+".
pub const CALL_COUNT_CAP: u64 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallPage {
    pub rows: Vec<Call>,
    pub total: u64,
    /// More matched than [`CALL_COUNT_CAP`]; `total` is the cap.
    pub total_capped: bool,
    pub page: u64,
    pub per_page: u64,
}

/// One call on a prospect's page: a phone call (an AI agent's, through
/// LiveKit) or a rep's copilot call, in one list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProspectCall {
    /// `phone` (a row of the calls list) or `copilot` (a rep's session).
    pub kind: String,
    /// The call's or the session's id.
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// A phone call's state (a copilot call has none).
    pub status: Option<CallStatus>,
    pub outcome: Option<CallOutcome>,
    pub callback_at: Option<DateTime<Utc>>,
    /// The agent's name, or the rep's.
    pub by: Option<String>,
    pub talk_ms: Option<i64>,
    #[serde(default)]
    pub notes: String,
}

/// What a browser needs to join a call's room: the LiveKit server's
/// address for clients, and a token for that room with the grants of the
/// joiner's part (a rep's, a listener's, a whisperer's, a barger's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoomAccess {
    /// `wss://…` (or `ws://` for a project on plain http).
    pub url: String,
    pub token: String,
    pub room: String,
    pub identity: String,
    pub expires_at: DateTime<Utc>,
}

/// A rep's call from the copilot: the prospect, and optionally the script
/// to follow and the line to call from (the organisation's defaults).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepCallRequest {
    pub prospect_id: Uuid,
    #[serde(default)]
    pub script_id: Option<Uuid>,
    #[serde(default)]
    pub trunk_id: Option<Uuid>,
    #[serde(default)]
    pub from_number: Option<String>,
    /// The language of the default script when `script_id` is absent (the
    /// rep's, by default English).
    #[serde(default)]
    pub language: Option<crate::Locale>,
}

/// A rep's call, placed: the call, the copilot session that follows it,
/// and the rep's way into its room (publish a microphone, hear everyone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RepCall {
    pub call: Call,
    pub session_id: Uuid,
    pub access: RoomAccess,
    /// On hold now: a page that joins again holds as it was.
    #[serde(default)]
    pub hold: Option<HoldState>,
}

/// A rep's call on hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldState {
    /// The page plays hold music to the prospect (else they hear nothing).
    pub music: bool,
}

/// The RFC 4733 event code of a phone keypad key (what LiveKit's SIP
/// bridge plays to the phone); none for anything else.
pub fn dtmf_code(key: char) -> Option<u32> {
    match key {
        '0'..='9' => key.to_digit(10),
        '*' => Some(10),
        '#' => Some(11),
        _ => None,
    }
}

/// The keys of a phone keypad, in its order.
pub const KEYPAD: [char; 12] = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '*', '0', '#'];

/// How a manager joins a live call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SuperviseMode {
    /// Hears both sides; nobody hears or sees them.
    Listen,
    /// Speaks to the rep only: the prospect never receives the track.
    Whisper,
    /// Joins the conversation: everyone hears them.
    Barge,
}

impl SuperviseMode {
    pub const ALL: [SuperviseMode; 3] = [SuperviseMode::Listen, SuperviseMode::Whisper, SuperviseMode::Barge];

    pub fn as_str(self) -> &'static str {
        match self {
            SuperviseMode::Listen => "listen",
            SuperviseMode::Whisper => "whisper",
            SuperviseMode::Barge => "barge",
        }
    }

    pub fn parse(s: &str) -> Option<SuperviseMode> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuperviseRequest {
    pub mode: SuperviseMode,
}

/// A manager's way into a live call: the room access for the mode, and the
/// rep's identity in the room (a whisper's track is for them alone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Supervision {
    pub mode: SuperviseMode,
    pub access: RoomAccess,
    /// Set on a rep's call: the only participant a whisper may reach.
    pub rep_identity: Option<String>,
}

/// Hold from the rep's side: the prospect hears silence (or the music the
/// rep's page plays), the rep stops hearing the prospect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HoldRequest {
    pub hold: bool,
    /// The rep's page plays music in place of their microphone: the
    /// prospect keeps receiving the rep's track (the music); without it
    /// the server cuts that track off (silence).
    #[serde(default)]
    pub music: bool,
}

/// One call in progress, as the managers' live board shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LiveCall {
    pub call: Call,
    /// The rep on it (a rep's call), by id and name.
    pub rep_id: Option<Uuid>,
    pub rep_name: Option<String>,
    /// The copilot session following it, with where it stands.
    pub session_id: Option<Uuid>,
    pub phase: Option<crate::copilot::script::Phase>,
    pub last_objection: Option<crate::copilot::objection::ObjectionKind>,
}

#[cfg(test)]
mod tests {

    #[test]
    fn keypad_keys_are_rfc_4733_events() {
        let codes: Vec<u32> = KEYPAD.iter().map(|k| dtmf_code(*k).unwrap()).collect();
        assert_eq!(codes, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 11]);
        for bad in ['a', 'A', ' ', '+', '٣'] {
            assert_eq!(dtmf_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn supervise_modes_read_back() {
        for m in SuperviseMode::ALL {
            assert_eq!(SuperviseMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(SuperviseMode::parse("spy"), None);
    }
    use super::*;

    fn q(f: impl FnOnce(&mut CallParams)) -> Result<CallQuery, FieldError> {
        let mut p = CallParams::default();
        f(&mut p);
        p.query()
    }

    #[test]
    fn defaults_are_newest_first_by_pages_of_25() {
        let d = q(|_| {}).unwrap();
        assert_eq!((d.sort, d.desc, d.page, d.per_page), (CallSort::CreatedAt, true, 1, 25));
        assert_eq!(d.filter, CallFilter::default());
    }

    #[test]
    fn filters_parse_and_dates_cover_whole_days() {
        let d = q(|p| {
            p.status = "ringing, in_progress,ringing".into();
            p.outcome = "meeting_booked".into();
            p.direction = "outbound".into();
            p.from = "2026-12-01".into();
            p.until = "2026-12-01".into();
            p.sort = "duration".into();
            p.order = "asc".into();
            p.per_page = Some(200);
        })
        .unwrap();
        assert_eq!(d.filter.statuses, vec![CallStatus::Ringing, CallStatus::InProgress]);
        assert_eq!(d.filter.outcome, Some(CallOutcome::MeetingBooked));
        assert_eq!(d.filter.from.unwrap().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(d.filter.until.unwrap().to_rfc3339(), "2026-12-02T00:00:00+00:00");
        assert_eq!((d.sort, d.desc), (CallSort::Duration, false));
        let t = q(|p| p.from = "2026-12-01T10:00:00+01:00".into()).unwrap();
        assert_eq!(t.filter.from.unwrap().to_rfc3339(), "2026-12-01T09:00:00+00:00");
    }

    #[test]
    fn bad_input_names_its_field() {
        type Spoil = fn(&mut CallParams);
        let cases: [(&str, Spoil); 11] = [
            ("status", |p| p.status = "ringing,dancing".into()),
            ("outcome", |p| p.outcome = "sold".into()),
            ("direction", |p| p.direction = "sideways".into()),
            ("agent_id", |p| p.agent_id = "42".into()),
            ("prospect_id", |p| p.prospect_id = "'; drop table calls".into()),
            ("from", |p| p.from = "yesterday".into()),
            ("until", |p| p.until = "2026-13-01".into()),
            ("until", |p| {
                p.from = "2026-12-02".into();
                p.until = "2026-11-30".into();
            }),
            ("sort", |p| p.sort = "org_id".into()),
            ("order", |p| p.order = "random".into()),
            ("per_page", |p| p.per_page = Some(10_000)),
        ];
        for (field, f) in cases {
            assert_eq!(q(f).unwrap_err().field, field);
        }
        assert_eq!(q(|p| p.page = Some(0)).unwrap_err().field, "page");
    }

    #[test]
    fn a_live_update_keeps_the_names_the_page_has() {
        let older = Call {
            id: Uuid::nil(),
            direction: "outbound".into(),
            status: CallStatus::Ringing,
            campaign_id: None,
            prospect_id: None,
            prospect_name: Some("Paul Martin".into()),
            agent_id: None,
            agent_name: Some("Ava".into()),
            script_id: Some(Uuid::nil()),
            script_version: Some(2),
            script_name: Some("Fleet pitch".into()),
            trunk_id: None,
            to_number: "+33612345678".into(),
            from_number: None,
            sip_status: None,
            failure_reason: None,
            room_name: "call-x".into(),
            outcome: None,
            callback_at: None,
            notes: String::new(),
            variables: serde_json::Value::Null,
            created_at: Utc::now(),
            ringing_at: None,
            answered_at: None,
            ended_at: None,
            talk_ms: None,
            recording_status: None,
            recording_duration_ms: None,
            rep_id: None,
        };
        let update = Call {
            status: CallStatus::InProgress,
            prospect_name: None,
            agent_name: None,
            script_name: None,
            ..older.clone()
        };
        let kept = update.keep_names(&older);
        assert_eq!((kept.status, kept.agent_name.as_deref()), (CallStatus::InProgress, Some("Ava")));
        assert_eq!(kept.script_name.as_deref(), Some("Fleet pitch"));
    }

    #[test]
    fn a_turn_is_checked_field_by_field() {
        let turn = CallTurn {
            seq: 3,
            speaker: TurnSpeaker::Prospect,
            text: "  We need three vans.  ".into(),
            start_ms: 1_000,
            end_ms: 2_500,
            interrupted: false,
        };
        assert_eq!(turn.clone().validate(0).unwrap().text, "We need three vans.");
        let bad = |t: CallTurn| t.validate(7).unwrap_err();
        let e = bad(CallTurn { text: "   ".into(), ..turn.clone() });
        assert_eq!((e.field.as_str(), e.code), ("turns[7].text", ErrorCode::RequiredValue));
        // An agent cut off before its first word: nothing said, kept as such.
        let cut =
            CallTurn { text: String::new(), interrupted: true, speaker: TurnSpeaker::Agent, ..turn.clone() };
        assert!(cut.validate(0).is_ok());
        let e = bad(CallTurn { text: "a".repeat(TURN_TEXT_MAX + 1), ..turn.clone() });
        assert_eq!((e.field.as_str(), e.code), ("turns[7].text", ErrorCode::TextTooLong));
        let e = bad(CallTurn { end_ms: 999, ..turn.clone() });
        assert_eq!((e.field.as_str(), e.code), ("turns[7].end_ms", ErrorCode::OutOfRange));
        let e = bad(CallTurn { seq: TURN_SEQ_MAX, ..turn.clone() });
        assert_eq!(e.field, "turns[7].seq");
        let e = bad(CallTurn { start_ms: TURN_MS_MAX + 1, end_ms: TURN_MS_MAX + 2, ..turn });
        assert_eq!(e.field, "turns[7].start_ms");
        assert_eq!(serde_json::to_value(TurnSpeaker::Prospect).unwrap(), "prospect");
        assert_eq!(TurnSpeaker::parse("agent"), Some(TurnSpeaker::Agent));
        assert_eq!(TurnSpeaker::parse("robot"), None);
    }
}
