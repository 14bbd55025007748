//! A LiveKit server stand-in speaking its Twirp API at `/twirp/livekit.<Service>/<Method>`
//! on the root of the port (LiveKit's clients replace any base path), with
//! protobuf or JSON bodies as the client sends, and a JWT whose grants are
//! checked per method as LiveKit checks them.
//!
//! Any API key works when the token is signed with [`API_SECRET`]; some keys
//! select a fault (see [`fault`]). The number dialled selects how a call
//! goes (see [`dial_outcome`]). Every request is recorded (vendor
//! `livekit`, the body as JSON). Signed webhooks go to the URL set with
//! `POST /__control/livekit/webhook` `{ "url": … }`, emitted with
//! [`emit_webhook`].
//!
//! With `"lifecycle": true` beside the URL, the mock also sends the webhooks
//! LiveKit sends as calls happen (signed with the requesting key): `room_started` on CreateRoom;
//! `participant_joined` for an agent on CreateDispatch — standing in for a
//! voice worker that takes the job, which the mock has not; for the callee
//! when CreateSIPParticipant is answered (`sip.callStatus` `active`);
//! `participant_left` for everyone and `room_finished` on DeleteRoom;
//! `participant_left` on RemoveParticipant. Webhooks go out after the
//! answer, in order, as LiveKit's do.
//!
//! Egress: StartRoomCompositeEgress answers `EGRESS_STARTING` and (with
//! lifecycle webhooks) sends `egress_started` then `egress_updated`
//! (active). When the room is deleted, the callee hangs up
//! (`/__control/livekit/hangup`) or StopEgress is called, the egress ends as
//! LiveKit's does: a WAV tone as long as the recording ran (one second at
//! least, one minute at most) is uploaded to the request's S3 output
//! (SigV4-signed, path or virtual-host style as asked) and `egress_ended`
//! reports `EGRESS_COMPLETE` with the file's name, location, duration and
//! size — or `EGRESS_FAILED` when the upload is refused.
//!
//! A transfer to a number ending in 603 is refused by the far end
//! (`failed_precondition`, `sip_status_code` 603), as the real bridge
//! reports a REFER the phone declined.
//!
//! Ringing can be held, so a test sees a call ring: after
//! `POST /__control/livekit/hold {"hold": true}` a dial waiting for the
//! answer rings until `POST /__control/livekit/answer {"room": …}` (or the
//! ringing timeout: 480). `POST /__control/livekit/hangup {"room": …}` is the
//! callee hanging up.
//!
//! A browser joining with a token (there is no media server here) is
//! `POST /__control/livekit/join {"token": …, "publish_audio": bool}`: the
//! token is verified and its grants enforced as LiveKit does — a microphone
//! is published only with `canPublish` and `microphone` among the allowed
//! sources (else 403) — then the participant (its name and attributes from
//! the token) is in the room with its audio track, and `participant_joined`
//! and `track_published` are sent. `POST /__control/livekit/leave {"room",
//! "identity"}` is it leaving. `UpdateSubscriptions` is checked (the room
//! admin grant, a participant and tracks that exist) and kept in
//! `subscriptions`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use livekit_api::access_token::{AccessToken, Claims, TokenVerifier};
use livekit_protocol as proto;
use prost::Message;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sha2::Digest;

use crate::Shared;

/// The secret every mock project shares; the key is free.
pub const API_SECRET: &str = "mock-livekit-secret-0123456789abcdef";

/// What the mock LiveKit holds.
#[derive(Debug, Default)]
pub struct LiveKitState {
    pub rooms: BTreeMap<String, proto::Room>,
    /// (room, participant)
    pub participants: Vec<(String, proto::ParticipantInfo)>,
    pub outbound_trunks: Vec<proto::SipOutboundTrunkInfo>,
    pub inbound_trunks: Vec<proto::SipInboundTrunkInfo>,
    pub dispatch_rules: Vec<proto::SipDispatchRuleInfo>,
    pub dispatches: Vec<proto::AgentDispatch>,
    pub egresses: Vec<proto::EgressInfo>,
    /// Where signed webhooks go.
    pub webhook_url: Option<String>,
    /// Send lifecycle webhooks by itself (see the module's notes).
    pub lifecycle: bool,
    /// Dials wait for `/__control/livekit/answer`.
    pub hold: bool,
    /// Held dials: room → who answers them.
    ringing: BTreeMap<String, tokio::sync::oneshot::Sender<()>>,
    next: u64,
    /// The key each room was created with: its webhooks are signed with it.
    room_keys: BTreeMap<String, String>,
    /// Client SDK joins seen at `/rtc` (their tokens' claims).
    pub joins: Vec<serde_json::Value>,
    /// Running egresses: id → what was asked, when.
    running: BTreeMap<String, (proto::RoomCompositeEgressRequest, std::time::Instant)>,
    /// `UpdateSubscriptions` applied, in order.
    pub subscriptions: Vec<proto::UpdateSubscriptionsRequest>,
}

impl LiveKitState {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{:012}", self.next)
    }

    /// A new audio track from a microphone (a browser's, or the phone's as the bridge publishes it).
    fn microphone_track(&mut self, name: &str) -> proto::TrackInfo {
        proto::TrackInfo {
            sid: self.id("TR"),
            r#type: proto::TrackType::Audio as i32,
            source: proto::TrackSource::Microphone as i32,
            name: name.into(),
            ..Default::default()
        }
    }
}

/// A failure chosen by the API key (the token's issuer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveKitFault {
    /// `lk-down`: 503 `unavailable` on every method.
    Down,
    /// `lk-slow`: every answer after 1.5 s.
    Slow,
}

pub fn fault(api_key: &str) -> Option<LiveKitFault> {
    match api_key {
        "lk-down" => Some(LiveKitFault::Down),
        "lk-slow" => Some(LiveKitFault::Slow),
        _ => None,
    }
}

/// How a dial to `number` ends, by its last three digits: `486` busy,
/// `480` no answer, `404` unknown number, `603` declined; anything else is
/// answered.
pub fn dial_outcome(number: &str) -> Option<(u16, &'static str, &'static str)> {
    let tail = number.get(number.len().saturating_sub(3)..).unwrap_or("");
    Some(match tail {
        "486" => (486, "Busy Here", "resource_exhausted"),
        "480" => (480, "Temporarily Unavailable", "unavailable"),
        "404" => (404, "Not Found", "not_found"),
        "603" => (603, "Decline", "permission_denied"),
        _ => return None,
    })
}

/// A Twirp error: HTTP status from the code, JSON `{code, msg, meta}`.
pub struct Twirp {
    code: &'static str,
    msg: String,
    meta: BTreeMap<String, String>,
}

impl Twirp {
    fn new(code: &'static str, msg: impl Into<String>) -> Twirp {
        Twirp { code, msg: msg.into(), meta: BTreeMap::new() }
    }
}

impl IntoResponse for Twirp {
    fn into_response(self) -> Response {
        let status = match self.code {
            "invalid_argument" | "malformed" => StatusCode::BAD_REQUEST,
            "unauthenticated" => StatusCode::UNAUTHORIZED,
            "permission_denied" => StatusCode::FORBIDDEN,
            "not_found" | "bad_route" => StatusCode::NOT_FOUND,
            "already_exists" => StatusCode::CONFLICT,
            "resource_exhausted" => StatusCode::TOO_MANY_REQUESTS,
            "failed_precondition" => StatusCode::PRECONDITION_FAILED,
            "deadline_exceeded" => StatusCode::REQUEST_TIMEOUT,
            "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = serde_json::json!({ "code": self.code, "msg": self.msg, "meta": self.meta });
        (status, Json(body)).into_response()
    }
}

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/twirp/{service}/{method}", post(twirp))
        .route("/__control/livekit/webhook", post(control_webhook))
        .route("/__control/livekit/hold", post(control_hold))
        .route("/__control/livekit/answer", post(control_answer))
        .route("/__control/livekit/hangup", post(control_hangup))
        .route("/rtc", axum::routing::get(rtc_join))
        .route("/rtc/v1", axum::routing::get(rtc_join))
        .route("/rtc/validate", axum::routing::get(rtc_join))
        .route("/rtc/v1/validate", axum::routing::get(rtc_join))
        .route("/__control/livekit/joins", axum::routing::get(control_joins))
        .route("/__control/livekit/join", post(control_join))
        .route("/__control/livekit/leave", post(control_leave))
}

/// A client SDK joining (`/rtc?access_token=…`): the token is verified and
/// who joined which room with which rights is kept (see
/// `/__control/livekit/joins`); the mock speaks no WebRTC, so the join then
/// fails as a server without media would (a client sees a connection error).
async fn rtc_join(
    State(state): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let token = q.get("access_token").map(String::as_str).unwrap_or("");
    let issuer = Claims::from_unverified(token).map(|c| c.iss).unwrap_or_default();
    let Ok(claims) = TokenVerifier::with_api_key(&issuer, API_SECRET).verify(token) else {
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    };
    state.livekit.lock().unwrap().joins.push(serde_json::json!({
        "identity": claims.sub,
        "room": claims.video.room,
        "room_join": claims.video.room_join,
        "hidden": claims.video.hidden,
        "can_publish": claims.video.can_publish(),
        "can_subscribe": claims.video.can_subscribe(),
    }));
    (StatusCode::NOT_IMPLEMENTED, "the LiveKit mock has no media server").into_response()
}

#[derive(serde::Deserialize)]
struct Join {
    token: String,
    #[serde(default)]
    publish_audio: bool,
}

/// A client joins with `token` (and publishes its microphone): see the module.
async fn control_join(State(state): State<Shared>, Json(j): Json<Join>) -> Response {
    let issuer = Claims::from_unverified(&j.token).map(|c| c.iss).unwrap_or_default();
    let Ok(claims) = TokenVerifier::with_api_key(&issuer, API_SECRET).verify(&j.token) else {
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    };
    let v = &claims.video;
    if !v.room_join || v.room.is_empty() {
        return (StatusCode::FORBIDDEN, "no roomJoin grant").into_response();
    }
    let mic_allowed = v.can_publish()
        && (v.can_publish_sources.is_empty() || v.can_publish_sources.iter().any(|s| s == "microphone"));
    if j.publish_audio && !mic_allowed {
        return (StatusCode::FORBIDDEN, "does not have permission to publish").into_response();
    }
    let room = v.room.clone();
    let (participant, track) = {
        let mut lk = state.livekit.lock().unwrap();
        if !lk.rooms.contains_key(&room) {
            return (StatusCode::NOT_FOUND, "no such room").into_response();
        }
        let sid = lk.id("PA");
        let track = j.publish_audio.then(|| lk.microphone_track("microphone"));
        let p = proto::ParticipantInfo {
            sid,
            identity: claims.sub.clone(),
            name: claims.name.clone(),
            kind: proto::participant_info::Kind::Standard as i32,
            attributes: claims.attributes.clone().into_iter().collect(),
            tracks: track.iter().cloned().collect(),
            ..Default::default()
        };
        lk.participants.retain(|(r, q)| !(*r == room && q.identity == p.identity));
        lk.participants.push((room.clone(), p.clone()));
        (p, track)
    };
    let key = issuer;
    let mut events = Vec::new();
    if !v.hidden {
        events.push(event("participant_joined", room_ref(&state, &room), Some(participant.clone())));
    }
    if let Some(t) = track.clone() {
        let mut ev = event("track_published", room_ref(&state, &room), Some(participant.clone()));
        ev.track = Some(t);
        events.push(ev);
    }
    send_later(&state, &key, events);
    Json(serde_json::json!({ "sid": participant.sid, "track_sid": track.map(|t| t.sid) })).into_response()
}

#[derive(serde::Deserialize)]
struct Leave {
    room: String,
    identity: String,
}

/// The participant `identity` leaves `room`: `participant_left`.
async fn control_leave(State(state): State<Shared>, Json(l): Json<Leave>) -> StatusCode {
    let (left, key) = {
        let mut lk = state.livekit.lock().unwrap();
        let Some(i) = lk.participants.iter().position(|(r, p)| *r == l.room && p.identity == l.identity)
        else {
            return StatusCode::NOT_FOUND;
        };
        let (_, p) = lk.participants.remove(i);
        (p, lk.room_keys.get(&l.room).cloned().unwrap_or_default())
    };
    send_later(&state, &key, vec![event("participant_left", room_ref(&state, &l.room), Some(left))]);
    StatusCode::NO_CONTENT
}

async fn control_joins(State(state): State<Shared>) -> Json<Vec<serde_json::Value>> {
    Json(state.livekit.lock().unwrap().joins.clone())
}

#[derive(serde::Deserialize)]
struct Hold {
    hold: bool,
}

async fn control_hold(State(state): State<Shared>, Json(h): Json<Hold>) -> StatusCode {
    let mut lk = state.livekit.lock().unwrap();
    lk.hold = h.hold;
    if !h.hold {
        // Whatever still rings is answered.
        for (_, tx) in std::mem::take(&mut lk.ringing) {
            let _ = tx.send(());
        }
    }
    StatusCode::NO_CONTENT
}

#[derive(serde::Deserialize)]
struct RoomRef {
    room: String,
}

/// The callee in `room` picks up: 204, or 404 when nothing rings there.
async fn control_answer(State(state): State<Shared>, Json(r): Json<RoomRef>) -> StatusCode {
    let ringing = state.livekit.lock().unwrap().ringing.remove(&r.room);
    match ringing.map(|tx| tx.send(())) {
        Some(Ok(())) => StatusCode::NO_CONTENT,
        _ => StatusCode::NOT_FOUND,
    }
}

/// The callee in `room` hangs up: `participant_left` (SIP status 200, BYE).
async fn control_hangup(State(state): State<Shared>, Json(r): Json<RoomRef>) -> StatusCode {
    let (left, key) = {
        let mut lk = state.livekit.lock().unwrap();
        let Some(i) = lk.participants.iter().position(|(room, p)| *room == r.room && p.kind == SIP) else {
            return StatusCode::NOT_FOUND;
        };
        let (_, p) = lk.participants.remove(i);
        (p, lk.room_keys.get(&r.room).cloned().unwrap_or_default())
    };
    let room = room_ref(&state, &r.room);
    let mut p = left;
    p.attributes.insert("sip.callStatus".into(), "hangup".into());
    p.attributes.insert("sip.callStatusCode".into(), "200".into());
    send_later(&state, &key, vec![event("participant_left", room, Some(p))]);
    finish_egresses(&state, &r.room, &key);
    StatusCode::NO_CONTENT
}

/// Ends the egresses recording `room` (see the module's notes).
fn finish_egresses(state: &Shared, room: &str, key: &str) {
    let ended: Vec<_> = {
        let mut lk = state.livekit.lock().unwrap();
        let ids: Vec<String> = lk
            .running
            .iter()
            .filter(|(_, (req, _))| req.room_name == room)
            .map(|(id, _)| id.clone())
            .collect();
        ids.into_iter().filter_map(|id| lk.running.remove(&id).map(|r| (id, r))).collect()
    };
    for (id, (req, started)) in ended {
        let (state, key) = (state.clone(), key.to_string());
        tokio::spawn(async move {
            let info = upload_recording(&id, &req, started.elapsed()).await;
            {
                let mut lk = state.livekit.lock().unwrap();
                if let Some(e) = lk.egresses.iter_mut().find(|e| e.egress_id == id) {
                    *e = info.clone();
                }
            }
            let room = proto::Room { name: info.room_name.clone(), ..Default::default() };
            let mut ev = event("egress_ended", room, None);
            ev.room = None;
            ev.egress_info = Some(info);
            let lifecycle = state.livekit.lock().unwrap().lifecycle;
            if lifecycle {
                emit_webhook(&state, &ev, &key).await;
            }
        });
    }
}

/// Uploads a tone as long as the recording ran to the request's S3 output
/// and says how the egress ended.
async fn upload_recording(
    id: &str,
    req: &proto::RoomCompositeEgressRequest,
    ran: Duration,
) -> proto::EgressInfo {
    let ran = ran.clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut info = proto::EgressInfo {
        egress_id: id.into(),
        room_name: req.room_name.clone(),
        ended_at: now_secs() * 1_000_000_000,
        ..Default::default()
    };
    let Some(out) = req.file_outputs.first() else {
        info.status = proto::EgressStatus::EgressFailed as i32;
        info.error = "no file output".into();
        return info;
    };
    let Some(proto::encoded_file_output::Output::S3(s3)) = &out.output else {
        info.status = proto::EgressStatus::EgressFailed as i32;
        info.error = "only S3 outputs are written by the mock".into();
        return info;
    };
    let wav = tone_wav(ran);
    match put_s3(s3, &out.filepath, &wav).await {
        Ok(location) => {
            info.status = proto::EgressStatus::EgressComplete as i32;
            info.file_results = vec![proto::FileInfo {
                filename: out.filepath.clone(),
                location,
                duration: ran.as_nanos() as i64,
                size: wav.len() as i64,
                ..Default::default()
            }];
        }
        Err(e) => {
            info.status = proto::EgressStatus::EgressFailed as i32;
            info.error = format!("upload failed: {e}");
        }
    }
    info
}

/// 8 kHz mono 16-bit PCM, a 440 Hz tone.
pub fn tone_wav(length: Duration) -> Vec<u8> {
    let rate = 8_000u32;
    let n = (length.as_millis() as u32).saturating_mul(rate) / 1000;
    let mut out = Vec::with_capacity(44 + n as usize * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + n * 2).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(n * 2).to_le_bytes());
    for i in 0..n {
        let t = i as f32 / rate as f32;
        let v = ((t * 440.0 * std::f32::consts::TAU).sin() * 8_000.0) as i16;
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// PUTs `body` at `key` of the S3 output, as LiveKit's egress uploads.
async fn put_s3(s3: &proto::S3Upload, key: &str, body: &[u8]) -> Result<String, String> {
    use rusty_s3::S3Action;
    let endpoint: url::Url = s3.endpoint.parse().map_err(|e| format!("endpoint: {e}"))?;
    let style = if s3.force_path_style { rusty_s3::UrlStyle::Path } else { rusty_s3::UrlStyle::VirtualHost };
    let bucket = rusty_s3::Bucket::new(endpoint, style, s3.bucket.clone(), s3.region.clone())
        .map_err(|e| format!("bucket: {e}"))?;
    let creds = rusty_s3::Credentials::new(s3.access_key.clone(), s3.secret.clone());
    let url = bucket.put_object(Some(&creds), key).sign(Duration::from_secs(300));
    let status = http_request("PUT", url.as_str(), &[("Content-Type", "audio/wav")], body)
        .await
        .map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("S3 answered {status}"));
    }
    let mut location = url;
    location.set_query(None);
    Ok(location.to_string())
}

const SIP: i32 = proto::participant_info::Kind::Sip as i32;

fn room_ref(state: &Shared, name: &str) -> proto::Room {
    let lk = state.livekit.lock().unwrap();
    lk.rooms.get(name).cloned().unwrap_or_else(|| proto::Room { name: name.into(), ..Default::default() })
}

fn event(name: &str, room: proto::Room, participant: Option<proto::ParticipantInfo>) -> proto::WebhookEvent {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    proto::WebhookEvent {
        event: name.into(),
        room: Some(room),
        participant,
        id: format!("EV_mock_{}_{n}", std::process::id()),
        created_at: now_secs(),
        ..Default::default()
    }
}

/// Sends `events` in order, signed with `key`, after the current answer
/// (when a webhook URL is set).
fn send_later(state: &Shared, key: &str, events: Vec<proto::WebhookEvent>) {
    {
        let lk = state.livekit.lock().unwrap();
        if lk.webhook_url.is_none() || !lk.lifecycle || events.is_empty() {
            return;
        }
    }
    let (state, key) = (state.clone(), key.to_string());
    tokio::spawn(async move {
        for e in events {
            emit_webhook(&state, &e, &key).await;
        }
    });
}

#[derive(serde::Deserialize)]
struct WebhookTarget {
    url: Option<String>,
    /// Send the webhooks of what happens (rooms, participants) by itself.
    #[serde(default)]
    lifecycle: bool,
}

async fn control_webhook(State(state): State<Shared>, Json(t): Json<WebhookTarget>) -> StatusCode {
    let mut lk = state.livekit.lock().unwrap();
    lk.webhook_url = t.url;
    lk.lifecycle = t.lifecycle;
    StatusCode::NO_CONTENT
}

/// One request: its body's format, the token's claims.
struct Call {
    json: bool,
    claims: Claims,
    body: Bytes,
}

impl Call {
    fn decode<T: Message + Default + DeserializeOwned>(&self) -> Result<T, Twirp> {
        if self.json {
            serde_json::from_slice(&self.body).map_err(|e| Twirp::new("malformed", e.to_string()))
        } else {
            T::decode(self.body.clone()).map_err(|e| Twirp::new("malformed", e.to_string()))
        }
    }

    fn reply<T: Message + Serialize>(&self, msg: &T) -> Response {
        if self.json {
            Json(serde_json::to_value(msg).unwrap_or_default()).into_response()
        } else {
            ([(header::CONTENT_TYPE, "application/protobuf")], msg.encode_to_vec()).into_response()
        }
    }

    fn require(&self, ok: bool, what: &str) -> Result<(), Twirp> {
        if ok {
            Ok(())
        } else {
            Err(Twirp::new("permission_denied", format!("missing permission: {what}")))
        }
    }

    fn room_admin(&self, room: &str) -> Result<(), Twirp> {
        self.require(self.claims.video.room_admin && self.claims.video.room == room, "roomAdmin on the room")
    }

    fn sip_admin(&self) -> Result<(), Twirp> {
        self.require(self.claims.sip.admin, "sip.admin")
    }
}

async fn twirp(
    State(state): State<Shared>,
    Path((service, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let json = content_type.starts_with("application/json");
    if !json && !content_type.starts_with("application/protobuf") {
        return Twirp::new("bad_route", format!("unexpected Content-Type: {content_type:?}")).into_response();
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let issuer = Claims::from_unverified(token).map(|c| c.iss).unwrap_or_default();
    let Ok(claims) = TokenVerifier::with_api_key(&issuer, API_SECRET).verify(token) else {
        return Twirp::new("unauthenticated", "invalid token").into_response();
    };
    let call = Call { json, claims, body };
    let recorded = record_body(&service, &method, &call);
    state.record("livekit", format!("/twirp/{service}/{method}"), &headers, &recorded);
    match fault(&issuer) {
        Some(LiveKitFault::Down) => return Twirp::new("unavailable", "service unavailable").into_response(),
        Some(LiveKitFault::Slow) => tokio::time::sleep(Duration::from_millis(1500)).await,
        None => {}
    }
    match handle(&state, &service, &method, &call).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

/// The request as JSON, for assertions (whatever format it came in).
fn record_body(service: &str, method: &str, call: &Call) -> serde_json::Value {
    fn as_json<T: Message + Default + DeserializeOwned + Serialize>(call: &Call) -> serde_json::Value {
        call.decode::<T>().ok().and_then(|m| serde_json::to_value(m).ok()).unwrap_or_default()
    }
    match (service, method) {
        ("livekit.RoomService", "CreateRoom") => as_json::<proto::CreateRoomRequest>(call),
        ("livekit.RoomService", "UpdateSubscriptions") => as_json::<proto::UpdateSubscriptionsRequest>(call),
        ("livekit.SIP", "CreateSIPParticipant") => as_json::<proto::CreateSipParticipantRequest>(call),
        ("livekit.SIP", "CreateSIPOutboundTrunk") => as_json::<proto::CreateSipOutboundTrunkRequest>(call),
        ("livekit.SIP", "CreateSIPInboundTrunk") => as_json::<proto::CreateSipInboundTrunkRequest>(call),
        ("livekit.SIP", "CreateSIPDispatchRule") => as_json::<proto::CreateSipDispatchRuleRequest>(call),
        ("livekit.SIP", "TransferSIPParticipant") => as_json::<proto::TransferSipParticipantRequest>(call),
        ("livekit.AgentDispatchService", "CreateDispatch") => {
            as_json::<proto::CreateAgentDispatchRequest>(call)
        }
        ("livekit.Egress", "StartRoomCompositeEgress") => as_json::<proto::RoomCompositeEgressRequest>(call),
        _ => serde_json::Value::Null,
    }
}

fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

async fn handle(state: &Shared, service: &str, method: &str, call: &Call) -> Result<Response, Twirp> {
    let v = &call.claims.video;
    match (service, method) {
        ("livekit.RoomService", "ListRooms") => {
            call.require(v.room_list, "roomList")?;
            let req: proto::ListRoomsRequest = call.decode()?;
            let lk = state.livekit.lock().unwrap();
            let rooms = lk
                .rooms
                .values()
                .filter(|r| req.names.is_empty() || req.names.contains(&r.name))
                .cloned()
                .collect();
            Ok(call.reply(&proto::ListRoomsResponse { rooms }))
        }
        ("livekit.RoomService", "CreateRoom") => {
            call.require(v.room_create, "roomCreate")?;
            let req: proto::CreateRoomRequest = call.decode()?;
            if req.name.is_empty() {
                return Err(Twirp::new("invalid_argument", "room name required"));
            }
            let mut lk = state.livekit.lock().unwrap();
            let sid = lk.id("RM");
            let room = lk
                .rooms
                .entry(req.name.clone())
                .or_insert_with(|| proto::Room {
                    sid,
                    name: req.name.clone(),
                    metadata: req.metadata.clone(),
                    empty_timeout: req.empty_timeout,
                    departure_timeout: req.departure_timeout,
                    max_participants: req.max_participants,
                    creation_time: now_secs(),
                    ..Default::default()
                })
                .clone();
            let fresh = lk.room_keys.insert(req.name.clone(), call.claims.iss.clone()).is_none();
            drop(lk);
            if fresh {
                send_later(state, &call.claims.iss, vec![event("room_started", room.clone(), None)]);
            }
            Ok(call.reply(&room))
        }
        ("livekit.RoomService", "DeleteRoom") => {
            call.require(v.room_create, "roomCreate")?;
            let req: proto::DeleteRoomRequest = call.decode()?;
            let mut lk = state.livekit.lock().unwrap();
            let room = lk.rooms.remove(&req.room);
            let (gone, stay): (Vec<_>, Vec<_>) =
                std::mem::take(&mut lk.participants).into_iter().partition(|(r, _)| *r == req.room);
            lk.participants = stay;
            lk.room_keys.remove(&req.room);
            drop(lk);
            if let Some(room) = room {
                let mut events: Vec<_> = gone
                    .into_iter()
                    .map(|(_, mut p)| {
                        if p.kind == SIP {
                            p.attributes.insert("sip.callStatus".into(), "hangup".into());
                        }
                        event("participant_left", room.clone(), Some(p))
                    })
                    .collect();
                events.push(event("room_finished", room, None));
                send_later(state, &call.claims.iss, events);
                finish_egresses(state, &req.room, &call.claims.iss);
            }
            Ok(call.reply(&proto::DeleteRoomResponse {}))
        }
        ("livekit.RoomService", "ListParticipants") => {
            let req: proto::ListParticipantsRequest = call.decode()?;
            call.room_admin(&req.room)?;
            let lk = state.livekit.lock().unwrap();
            let participants =
                lk.participants.iter().filter(|(r, _)| *r == req.room).map(|(_, p)| p.clone()).collect();
            Ok(call.reply(&proto::ListParticipantsResponse { participants }))
        }
        ("livekit.RoomService", "UpdateSubscriptions") => {
            let req: proto::UpdateSubscriptionsRequest = call.decode()?;
            call.room_admin(&req.room)?;
            let mut lk = state.livekit.lock().unwrap();
            let in_room: Vec<&proto::ParticipantInfo> =
                lk.participants.iter().filter(|(r, _)| *r == req.room).map(|(_, p)| p).collect();
            if !in_room.iter().any(|p| p.identity == req.identity) {
                return Err(Twirp::new("not_found", "participant not found"));
            }
            let tracks: Vec<&str> =
                in_room.iter().flat_map(|p| p.tracks.iter().map(|t| t.sid.as_str())).collect();
            if let Some(t) = req.track_sids.iter().find(|t| !tracks.contains(&t.as_str())) {
                return Err(Twirp::new("not_found", format!("track {t} not found")));
            }
            lk.subscriptions.push(req);
            Ok(call.reply(&proto::UpdateSubscriptionsResponse {}))
        }
        ("livekit.RoomService", "RemoveParticipant") => {
            let req: proto::RoomParticipantIdentity = call.decode()?;
            call.room_admin(&req.room)?;
            let mut lk = state.livekit.lock().unwrap();
            let Some(i) =
                lk.participants.iter().position(|(r, p)| *r == req.room && p.identity == req.identity)
            else {
                return Err(Twirp::new("not_found", "participant not found"));
            };
            let (_, p) = lk.participants.remove(i);
            drop(lk);
            send_later(
                state,
                &call.claims.iss,
                vec![event("participant_left", room_ref(state, &req.room), Some(p))],
            );
            Ok(call.reply(&proto::RemoveParticipantResponse {}))
        }
        ("livekit.AgentDispatchService", "CreateDispatch") => {
            let req: proto::CreateAgentDispatchRequest = call.decode()?;
            call.room_admin(&req.room)?;
            let mut lk = state.livekit.lock().unwrap();
            let id = lk.id("AD");
            let d = proto::AgentDispatch {
                id,
                agent_name: req.agent_name,
                room: req.room,
                metadata: req.metadata,
                ..Default::default()
            };
            lk.dispatches.push(d.clone());
            // Workers registered at `/agent` under this name are offered the job.
            crate::livekit_agent::dispatch(state, &d.id, &d.room, &d.agent_name, &d.metadata);
            let agent = proto::ParticipantInfo {
                sid: lk.id("PA"),
                identity: format!("agent-{}", d.id),
                kind: proto::participant_info::Kind::Agent as i32,
                ..Default::default()
            };
            lk.participants.push((d.room.clone(), agent.clone()));
            drop(lk);
            send_later(
                state,
                &call.claims.iss,
                vec![event("participant_joined", room_ref(state, &d.room), Some(agent))],
            );
            Ok(call.reply(&d))
        }
        ("livekit.SIP", "CreateSIPOutboundTrunk") => {
            call.sip_admin()?;
            let req: proto::CreateSipOutboundTrunkRequest = call.decode()?;
            let mut t = req.trunk.ok_or_else(|| Twirp::new("invalid_argument", "trunk required"))?;
            if t.address.is_empty() || t.numbers.is_empty() {
                return Err(Twirp::new("invalid_argument", "address and numbers required"));
            }
            let mut lk = state.livekit.lock().unwrap();
            t.sip_trunk_id = lk.id("ST");
            lk.outbound_trunks.push(t.clone());
            Ok(call.reply(&t))
        }
        ("livekit.SIP", "CreateSIPInboundTrunk") => {
            call.sip_admin()?;
            let req: proto::CreateSipInboundTrunkRequest = call.decode()?;
            let mut t = req.trunk.ok_or_else(|| Twirp::new("invalid_argument", "trunk required"))?;
            let mut lk = state.livekit.lock().unwrap();
            if lk.inbound_trunks.iter().any(|o| o.numbers.iter().any(|n| t.numbers.contains(n))) {
                return Err(Twirp::new("already_exists", "a trunk already takes one of these numbers"));
            }
            t.sip_trunk_id = lk.id("ST");
            lk.inbound_trunks.push(t.clone());
            Ok(call.reply(&t))
        }
        ("livekit.SIP", "ListSIPOutboundTrunk") => {
            call.sip_admin()?;
            let items = state.livekit.lock().unwrap().outbound_trunks.clone();
            Ok(call.reply(&proto::ListSipOutboundTrunkResponse { items }))
        }
        ("livekit.SIP", "ListSIPInboundTrunk") => {
            call.sip_admin()?;
            let items = state.livekit.lock().unwrap().inbound_trunks.clone();
            Ok(call.reply(&proto::ListSipInboundTrunkResponse { items }))
        }
        ("livekit.SIP", "DeleteSIPTrunk") => {
            call.sip_admin()?;
            let req: proto::DeleteSipTrunkRequest = call.decode()?;
            let mut lk = state.livekit.lock().unwrap();
            let (o, i) = (lk.outbound_trunks.len(), lk.inbound_trunks.len());
            lk.outbound_trunks.retain(|t| t.sip_trunk_id != req.sip_trunk_id);
            lk.inbound_trunks.retain(|t| t.sip_trunk_id != req.sip_trunk_id);
            if (o, i) == (lk.outbound_trunks.len(), lk.inbound_trunks.len()) {
                return Err(Twirp::new("not_found", "trunk not found"));
            }
            Ok(call.reply(&proto::SipTrunkInfo { sip_trunk_id: req.sip_trunk_id, ..Default::default() }))
        }
        ("livekit.SIP", "CreateSIPDispatchRule") => {
            call.sip_admin()?;
            let req: proto::CreateSipDispatchRuleRequest = call.decode()?;
            let mut lk = state.livekit.lock().unwrap();
            // The current form carries the rule whole; older clients send its fields.
            #[allow(deprecated)]
            let mut rule = req.dispatch_rule.clone().unwrap_or(proto::SipDispatchRuleInfo {
                rule: req.rule,
                trunk_ids: req.trunk_ids,
                name: req.name,
                metadata: req.metadata,
                room_config: req.room_config,
                ..Default::default()
            });
            rule.sip_dispatch_rule_id = lk.id("SDR");
            lk.dispatch_rules.push(rule.clone());
            Ok(call.reply(&rule))
        }
        ("livekit.SIP", "DeleteSIPDispatchRule") => {
            call.sip_admin()?;
            let req: proto::DeleteSipDispatchRuleRequest = call.decode()?;
            let mut lk = state.livekit.lock().unwrap();
            let before = lk.dispatch_rules.len();
            lk.dispatch_rules.retain(|r| r.sip_dispatch_rule_id != req.sip_dispatch_rule_id);
            if before == lk.dispatch_rules.len() {
                return Err(Twirp::new("not_found", "dispatch rule not found"));
            }
            Ok(call.reply(&proto::SipDispatchRuleInfo {
                sip_dispatch_rule_id: req.sip_dispatch_rule_id,
                ..Default::default()
            }))
        }
        ("livekit.SIP", "CreateSIPParticipant") => {
            call.require(call.claims.sip.call, "sip.call")?;
            let req: proto::CreateSipParticipantRequest = call.decode()?;
            if !state
                .livekit
                .lock()
                .unwrap()
                .outbound_trunks
                .iter()
                .any(|t| t.sip_trunk_id == req.sip_trunk_id)
            {
                return Err(Twirp::new("not_found", "no such outbound trunk"));
            }
            if let Some((code, status, twirp)) = dial_outcome(&req.sip_call_to) {
                if req.wait_until_answered {
                    let mut e = Twirp::new(twirp, format!("call failed: {code} {status}"));
                    e.meta.insert("sip_status_code".into(), code.to_string());
                    e.meta.insert("sip_status".into(), status.into());
                    return Err(e);
                }
            }
            let held = {
                let mut lk = state.livekit.lock().unwrap();
                (lk.hold && req.wait_until_answered).then(|| {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    lk.ringing.insert(req.room_name.clone(), tx);
                    rx
                })
            };
            if let Some(answer) = held {
                let ringing = req.ringing_timeout.as_ref().map_or(30, |d| d.seconds.max(1) as u64);
                if tokio::time::timeout(Duration::from_secs(ringing), answer).await.is_err() {
                    state.livekit.lock().unwrap().ringing.remove(&req.room_name);
                    let mut e = Twirp::new("unavailable", "call failed: 480 Temporarily Unavailable");
                    e.meta.insert("sip_status_code".into(), "480".into());
                    e.meta.insert("sip_status".into(), "Temporarily Unavailable".into());
                    return Err(e);
                }
            }
            let mut lk = state.livekit.lock().unwrap();
            let identity = if req.participant_identity.is_empty() {
                format!("sip_{}", req.sip_call_to.trim_start_matches('+'))
            } else {
                req.participant_identity.clone()
            };
            let participant_id = lk.id("PA");
            let sip_call_id = lk.id("SCL");
            // The phone's voice, as the bridge publishes it.
            let voice = lk.microphone_track("phone");
            let callee = proto::ParticipantInfo {
                sid: participant_id.clone(),
                identity: identity.clone(),
                kind: SIP,
                tracks: vec![voice],
                attributes: [
                    ("sip.callStatus".to_string(), "active".to_string()),
                    ("sip.phoneNumber".to_string(), req.sip_call_to.clone()),
                    ("sip.callID".to_string(), sip_call_id.clone()),
                ]
                .into(),
                ..Default::default()
            };
            lk.participants.push((req.room_name.clone(), callee.clone()));
            drop(lk);
            let joined = event("participant_joined", room_ref(state, &req.room_name), Some(callee));
            send_later(state, &call.claims.iss, vec![joined]);
            Ok(call.reply(&proto::SipParticipantInfo {
                participant_id,
                participant_identity: identity,
                room_name: req.room_name,
                sip_call_id,
            }))
        }
        ("livekit.SIP", "TransferSIPParticipant") => {
            let req: proto::TransferSipParticipantRequest = call.decode()?;
            call.require(call.claims.sip.call, "sip.call")?;
            call.room_admin(&req.room_name)?;
            let lk = state.livekit.lock().unwrap();
            if !lk
                .participants
                .iter()
                .any(|(r, p)| *r == req.room_name && p.identity == req.participant_identity)
            {
                return Err(Twirp::new("not_found", "participant not found"));
            }
            // The far end refuses the REFER for a target ending in a refusal
            // code (…603), as LiveKit's bridge reports it.
            if let Some((code, status, _)) = dial_outcome(&req.transfer_to).filter(|o| o.0 == 603) {
                let mut e = Twirp::new(
                    "failed_precondition",
                    format!("call transfer failed: sip status: {code}: {status}"),
                );
                e.meta.insert("sip_status_code".into(), code.to_string());
                e.meta.insert("sip_status".into(), status.into());
                return Err(e);
            }
            Ok(call.reply(&()))
        }
        ("livekit.Egress", "StartRoomCompositeEgress") => {
            call.require(v.room_record, "roomRecord")?;
            let req: proto::RoomCompositeEgressRequest = call.decode()?;
            let mut lk = state.livekit.lock().unwrap();
            if !lk.rooms.contains_key(&req.room_name) {
                return Err(Twirp::new("not_found", "room not found"));
            }
            let info = proto::EgressInfo {
                egress_id: lk.id("EG"),
                room_name: req.room_name.clone(),
                status: proto::EgressStatus::EgressStarting as i32,
                started_at: now_secs() * 1_000_000_000,
                ..Default::default()
            };
            lk.egresses.push(info.clone());
            lk.running.insert(info.egress_id.clone(), (req, std::time::Instant::now()));
            drop(lk);
            let egress_event = |name: &str, status: proto::EgressStatus| {
                let mut ev = event(name, proto::Room::default(), None);
                ev.room = None;
                ev.egress_info = Some(proto::EgressInfo { status: status as i32, ..info.clone() });
                ev
            };
            send_later(
                state,
                &call.claims.iss,
                vec![
                    egress_event("egress_started", proto::EgressStatus::EgressStarting),
                    egress_event("egress_updated", proto::EgressStatus::EgressActive),
                ],
            );
            Ok(call.reply(&info))
        }
        ("livekit.Egress", "StopEgress") => {
            let req: proto::StopEgressRequest = call.decode()?;
            let room = {
                let lk = state.livekit.lock().unwrap();
                lk.running.get(&req.egress_id).map(|(r, _)| r.room_name.clone())
            };
            let Some(room) = room else { return Err(Twirp::new("not_found", "egress not found")) };
            call.require(v.room_record, "roomRecord")?;
            finish_egresses(state, &room, &call.claims.iss);
            let info =
                state.livekit.lock().unwrap().egresses.iter().find(|e| e.egress_id == req.egress_id).cloned();
            Ok(call.reply(&info.unwrap_or_default()))
        }
        _ => Err(Twirp::new("bad_route", format!("no handler for {service}/{method}"))),
    }
}

/// Signs `event` as LiveKit does (a JWT from `api_key`/[`API_SECRET`]
/// carrying the body's SHA-256, base64) and returns (body, Authorization).
pub fn sign_webhook(event: &proto::WebhookEvent, api_key: &str) -> (String, String) {
    let body = serde_json::to_string(event).expect("webhook event serialises");
    let hash = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        sha2::Sha256::digest(body.as_bytes()),
    );
    let token = AccessToken::with_api_key(api_key, API_SECRET)
        .with_ttl(Duration::from_secs(300))
        .with_sha256(&hash)
        .to_jwt()
        .expect("webhook token");
    (body, token)
}

/// Posts `event`, signed, to the webhook URL (when one is set). LiveKit
/// sends the JWT as the raw `Authorization` value, with `application/webhook+json`.
pub async fn emit_webhook(state: &Shared, event: &proto::WebhookEvent, api_key: &str) -> Option<StatusCode> {
    let url = state.livekit.lock().unwrap().webhook_url.clone()?;
    let (body, auth) = sign_webhook(event, api_key);
    let res = reqwest_like_post(&url, &body, &auth).await;
    res.ok()
}

/// A tiny HTTP/1.1 POST over a TCP stream (the mock has no HTTP client of
/// its own and needs only this).
async fn reqwest_like_post(url: &str, body: &str, auth: &str) -> std::io::Result<StatusCode> {
    let headers = [("Content-Type", "application/webhook+json"), ("Authorization", auth)];
    http_request("POST", url, &headers, body.as_bytes()).await
}

/// One HTTP/1.1 request, `Connection: close`; the answer's status.
pub(crate) async fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<StatusCode> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").ok_or_else(|| std::io::Error::other("http only"))?;
    let (hostport, path) =
        rest.split_once('/').map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = tokio::net::TcpStream::connect(hostport).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {hostport}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await?;
    let head = String::from_utf8_lossy(&buf);
    let code = head.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok()).unwrap_or(0);
    StatusCode::from_u16(code).map_err(std::io::Error::other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_outcomes_follow_the_number() {
        assert_eq!(dial_outcome("+33612345486").map(|o| o.0), Some(486));
        assert_eq!(dial_outcome("+33612345480").map(|o| o.0), Some(480));
        assert_eq!(dial_outcome("+33612345678"), None);
    }

    #[test]
    fn signed_webhooks_verify_with_livekit_s_receiver() {
        let event =
            proto::WebhookEvent { event: "room_started".into(), id: "EV_1".into(), ..Default::default() };
        let (body, auth) = sign_webhook(&event, "k");
        let rx = livekit_api::webhooks::WebhookReceiver::new(TokenVerifier::with_api_key("k", API_SECRET));
        assert_eq!(rx.receive(&body, &auth).unwrap().id, "EV_1");
        assert!(rx.receive(&body.replace("room_started", "room_finished"), &auth).is_err(), "tampered");
    }
}
