//! LiveKit's server API: Twirp over HTTP (`POST {url}/twirp/livekit.<Service>/<Method>`,
//! protobuf bodies, a short-lived JWT carrying the grants each method needs).
//!
//! The messages are `livekit-protocol`'s and the tokens are minted by
//! `livekit-api`'s `AccessToken`, so the wire is LiveKit's own. The HTTP
//! part is ours rather than `livekit-api`'s service clients because those
//! build their own `reqwest::Client` (not replaceable from outside the
//! crate), follow redirects and resolve names without our egress policy: an
//! organisation's LiveKit URL is tenant input, and a request to it must not
//! reach inside our network (`providers::egress`). The grants per method
//! are the ones `livekit-api` 0.10 sends (its `services/*.rs`).

use std::fmt;
use std::time::{Duration, Instant};

use livekit_api::access_token::{AccessToken, SIPGrants, VideoGrants};
use livekit_protocol as proto;
use prost::Message;

/// Twirp's route prefix (the `livekit-api` client replaces any base path).
const PREFIX: &str = "/twirp";

/// Lifetime of the token minted for one request.
const TOKEN_TTL: Duration = Duration::from_secs(60);

/// A LiveKit project: where its server is and the key pair that signs for it.
#[derive(Clone, PartialEq, Eq)]
pub struct Project {
    pub url: url::Url,
    pub api_key: String,
    pub api_secret: String,
}

impl fmt::Debug for Project {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Project").field("url", &self.url.as_str()).field("api_key", &self.api_key).finish()
    }
}

impl Project {
    /// Checks and normalises what a person typed: `ws(s)://` (what LiveKit
    /// hands out for clients) reads as `http(s)://`; no credentials, query
    /// or fragment in the URL; key and secret present.
    pub fn parse(url: &str, api_key: &str, api_secret: &str) -> Result<Project, ProjectError> {
        let url = url.trim();
        let mut parsed = url::Url::parse(url).map_err(|_| ProjectError::Url)?;
        let scheme = match parsed.scheme() {
            "http" | "ws" => "http",
            "https" | "wss" => "https",
            _ => return Err(ProjectError::Url),
        };
        if parsed.host_str().is_none_or(str::is_empty)
            || !parsed.username().is_empty()
            || parsed.password().is_some()
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(ProjectError::Url);
        }
        if parsed.scheme() != scheme {
            // `set_scheme` refuses special-to-special changes only between
            // incompatible kinds; ws→http and wss→https are allowed.
            parsed.set_scheme(scheme).map_err(|_| ProjectError::Url)?;
        }
        parsed.set_path("");
        let (api_key, api_secret) = (api_key.trim(), api_secret.trim());
        if api_key.is_empty() || api_key.len() > 200 || api_key.chars().any(char::is_control) {
            return Err(ProjectError::ApiKey);
        }
        if api_secret.is_empty() || api_secret.len() > 500 {
            return Err(ProjectError::ApiSecret);
        }
        Ok(Project { url: parsed, api_key: api_key.to_string(), api_secret: api_secret.to_string() })
    }

    /// A token for a browser or a worker to join `room` (listen-live, agents).
    pub fn join_token(
        &self,
        identity: &str,
        room: &str,
        publish: bool,
        ttl: Duration,
    ) -> Result<String, LiveKitError> {
        AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_identity(identity)
            .with_ttl(ttl)
            .with_grants(VideoGrants {
                room_join: true,
                room: room.to_string(),
                can_publish: Some(publish),
                can_publish_data: Some(publish),
                can_subscribe: Some(true),
                // A listener is nobody else's business: not shown to the
                // callee's side, unable to rename itself into view.
                hidden: !publish,
                can_update_own_metadata: Some(publish),
                ..Default::default()
            })
            .to_jwt()
            .map_err(|e| LiveKitError::Protocol(e.to_string()))
    }

    /// A token for a person joining `room` as `role`, shown as `name`, with
    /// `attributes` (and the role's) on their participant.
    pub fn role_token(
        &self,
        identity: &str,
        name: &str,
        room: &str,
        role: RoomRole,
        attributes: &[(&str, &str)],
        ttl: Duration,
    ) -> Result<String, LiveKitError> {
        let mut attrs: Vec<(String, String)> = vec![(ROLE_ATTRIBUTE.to_string(), role.as_str().to_string())];
        attrs.extend(attributes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        AccessToken::with_api_key(&self.api_key, &self.api_secret)
            .with_identity(identity)
            .with_name(name)
            .with_ttl(ttl)
            .with_attributes(attrs)
            .with_grants(role.grants(room))
            .to_jwt()
            .map_err(|e| LiveKitError::Protocol(e.to_string()))
    }
}

/// A person's part in a call's room, and so the grants of their token:
/// each gets what the part needs and nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomRole {
    /// The rep on their own call: speaks (a microphone, nothing else),
    /// hears everyone, sends DTMF (a data packet the SIP bridge turns into
    /// tones).
    Rep,
    /// A manager listening: hears, cannot publish, unseen by the others.
    Listener,
    /// A manager whispering to the rep: a microphone, no data. Seen (the
    /// rep must be able to subscribe); the page limits who may receive the
    /// track to the rep, and the server unsubscribes the callee as well.
    Whisperer,
    /// A manager in the conversation: a microphone, no data.
    Barger,
}

impl RoomRole {
    /// The `handoo.role` attribute other participants read.
    pub fn as_str(self) -> &'static str {
        match self {
            RoomRole::Rep => "rep",
            RoomRole::Listener => "listen",
            RoomRole::Whisperer => "whisper",
            RoomRole::Barger => "barge",
        }
    }

    fn grants(self, room: &str) -> VideoGrants {
        let speaks = self != RoomRole::Listener;
        VideoGrants {
            room_join: true,
            room: room.to_string(),
            can_publish: Some(speaks),
            can_publish_sources: if speaks { vec!["microphone".to_string()] } else { Vec::new() },
            can_publish_data: Some(self == RoomRole::Rep),
            can_subscribe: Some(true),
            hidden: self == RoomRole::Listener,
            // Names and roles are ours to say, not the participant's.
            can_update_own_metadata: Some(false),
            ..Default::default()
        }
    }
}

/// Attribute naming a participant's part (`RoomRole::as_str`).
pub const ROLE_ATTRIBUTE: &str = "handoo.role";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectError {
    Url,
    ApiKey,
    ApiSecret,
}

/// Why a request to LiveKit failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveKitError {
    /// The URL leads into a private network the egress policy keeps us out of.
    Refused,
    /// No answer (connection refused, DNS, TLS) or no answer in time.
    Unreachable(String),
    Timeout,
    /// The key was refused (401, or a Twirp `unauthenticated` /
    /// `permission_denied`).
    Unauthorized,
    /// A Twirp error: its code, message and — for a dial that failed — the
    /// SIP status the bridge got.
    Twirp {
        status: u16,
        code: String,
        msg: String,
        sip_status: Option<u16>,
    },
    /// A reply we could not read.
    Protocol(String),
}

impl fmt::Display for LiveKitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveKitError::Refused => f.write_str("address refused by the egress policy"),
            LiveKitError::Unreachable(m) => write!(f, "unreachable: {m}"),
            LiveKitError::Timeout => f.write_str("timed out"),
            LiveKitError::Unauthorized => f.write_str("API key or secret refused"),
            LiveKitError::Twirp { status, code, msg, sip_status } => {
                write!(f, "{status} {code}: {msg}")?;
                if let Some(s) = sip_status {
                    write!(f, " (SIP {s})")?;
                }
                Ok(())
            }
            LiveKitError::Protocol(m) => write!(f, "unreadable reply: {m}"),
        }
    }
}

impl LiveKitError {
    /// The SIP status a failed dial carried, if any.
    pub fn sip_status(&self) -> Option<u16> {
        match self {
            LiveKitError::Twirp { sip_status, .. } => *sip_status,
            _ => None,
        }
    }

    /// LiveKit has no such room, participant or track (Twirp `not_found`):
    /// already gone, which the callers that clean up take as done.
    pub fn is_not_found(&self) -> bool {
        matches!(self, LiveKitError::Twirp { code, .. } if code == "not_found")
    }
}

/// Twirp's error body.
#[derive(serde::Deserialize)]
struct TwirpError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    msg: String,
    #[serde(default)]
    meta: std::collections::HashMap<String, String>,
}

/// The grants one method needs.
#[derive(Default)]
struct Grants {
    video: VideoGrants,
    sip: Option<SIPGrants>,
}

impl Grants {
    fn video(video: VideoGrants) -> Grants {
        Grants { video, sip: None }
    }

    fn room_admin(room: &str) -> Grants {
        Grants::video(VideoGrants { room_admin: true, room: room.to_string(), ..Default::default() })
    }

    fn sip_admin() -> Grants {
        Grants { sip: Some(SIPGrants { admin: true, ..Default::default() }), ..Default::default() }
    }
}

/// A client for one project, over an HTTP client that already carries the
/// right policy (the egress policy's for a tenant's URL).
#[derive(Clone)]
pub struct LiveKit {
    project: Project,
    http: reqwest::Client,
    /// For a tenant's URL: the policy its address literals are checked
    /// against (the policy's resolver only sees host names).
    egress: Option<providers::EgressPolicy>,
    timeout: Duration,
}

/// How long a control request may take. A dial that waits for an answer
/// is given its ringing time on top.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

impl LiveKit {
    /// The operator's own project (`LIVEKIT_*`): reached as configured.
    pub fn operator(project: Project, http: reqwest::Client) -> LiveKit {
        LiveKit { project, http, egress: None, timeout: REQUEST_TIMEOUT }
    }

    /// An organisation's project: every request passes the egress policy.
    pub fn tenant(project: Project, egress: &providers::EgressPolicy) -> LiveKit {
        LiveKit {
            project,
            http: egress.client().clone(),
            egress: Some(egress.clone()),
            timeout: REQUEST_TIMEOUT,
        }
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    async fn twirp<Req: Message, Resp: Message + Default>(
        &self,
        service: &str,
        method: &str,
        req: &Req,
        grants: Grants,
        timeout: Duration,
    ) -> Result<Resp, LiveKitError> {
        let mut token = AccessToken::with_api_key(&self.project.api_key, &self.project.api_secret)
            .with_ttl(TOKEN_TTL)
            .with_grants(grants.video);
        if let Some(sip) = grants.sip {
            token = token.with_sip_grants(sip);
        }
        let token = token.to_jwt().map_err(|e| LiveKitError::Protocol(e.to_string()))?;
        if let Some(egress) = &self.egress {
            egress.check_url(&self.project.url).map_err(|_| LiveKitError::Refused)?;
        }
        let mut url = self.project.url.clone();
        url.set_path(&format!("{PREFIX}/livekit.{service}/{method}"));
        let sent = self
            .http
            .post(url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/protobuf")
            .body(req.encode_to_vec())
            .timeout(timeout)
            .send()
            .await
            .map_err(transport)?;
        let status = sent.status();
        let body = sent.bytes().await.map_err(transport)?;
        if status.is_success() {
            return Resp::decode(body).map_err(|e| LiveKitError::Protocol(e.to_string()));
        }
        let err: TwirpError = serde_json::from_slice(&body).unwrap_or(TwirpError {
            code: String::new(),
            msg: String::from_utf8_lossy(&body).chars().take(200).collect(),
            meta: Default::default(),
        });
        // A failed dial carries the SIP status, whatever the Twirp code
        // (a 603 Decline comes as `permission_denied`).
        let sip_status = err.meta.get("sip_status_code").and_then(|s| s.parse().ok());
        if sip_status.is_none()
            && (status == reqwest::StatusCode::UNAUTHORIZED
                || matches!(err.code.as_str(), "unauthenticated" | "permission_denied"))
        {
            return Err(LiveKitError::Unauthorized);
        }
        Err(LiveKitError::Twirp { status: status.as_u16(), code: err.code, msg: err.msg, sip_status })
    }

    /// Lists rooms: the connection test (cheap, needs only `roomList`).
    /// Returns how many there are and how long the round trip took.
    pub async fn ping(&self) -> Result<(usize, Duration), LiveKitError> {
        let started = Instant::now();
        let rooms = self.list_rooms(Vec::new()).await?;
        Ok((rooms.len(), started.elapsed()))
    }

    pub async fn list_rooms(&self, names: Vec<String>) -> Result<Vec<proto::Room>, LiveKitError> {
        let grants = Grants::video(VideoGrants { room_list: true, ..Default::default() });
        let req = proto::ListRoomsRequest { names };
        let resp: proto::ListRoomsResponse =
            self.twirp("RoomService", "ListRooms", &req, grants, self.timeout).await?;
        Ok(resp.rooms)
    }

    pub async fn create_room(&self, req: proto::CreateRoomRequest) -> Result<proto::Room, LiveKitError> {
        let grants = Grants::video(VideoGrants { room_create: true, ..Default::default() });
        self.twirp("RoomService", "CreateRoom", &req, grants, self.timeout).await
    }

    pub async fn delete_room(&self, room: &str) -> Result<(), LiveKitError> {
        let grants = Grants::video(VideoGrants { room_create: true, ..Default::default() });
        let req = proto::DeleteRoomRequest { room: room.to_string() };
        let _: proto::DeleteRoomResponse =
            self.twirp("RoomService", "DeleteRoom", &req, grants, self.timeout).await?;
        Ok(())
    }

    pub async fn list_participants(&self, room: &str) -> Result<Vec<proto::ParticipantInfo>, LiveKitError> {
        let req = proto::ListParticipantsRequest { room: room.to_string() };
        let resp: proto::ListParticipantsResponse = self
            .twirp("RoomService", "ListParticipants", &req, Grants::room_admin(room), self.timeout)
            .await?;
        Ok(resp.participants)
    }

    /// Subscribes (or unsubscribes) participant `identity` to the tracks
    /// `track_sids` of `room`: how the server keeps a track from someone
    /// whatever their client does (hold, a whisper).
    pub async fn update_subscriptions(
        &self,
        room: &str,
        identity: &str,
        track_sids: Vec<String>,
        subscribe: bool,
    ) -> Result<(), LiveKitError> {
        let req = proto::UpdateSubscriptionsRequest {
            room: room.to_string(),
            identity: identity.to_string(),
            track_sids,
            subscribe,
            ..Default::default()
        };
        let _: proto::UpdateSubscriptionsResponse = self
            .twirp("RoomService", "UpdateSubscriptions", &req, Grants::room_admin(room), self.timeout)
            .await?;
        Ok(())
    }

    pub async fn remove_participant(&self, room: &str, identity: &str) -> Result<(), LiveKitError> {
        let req = proto::RoomParticipantIdentity {
            room: room.to_string(),
            identity: identity.to_string(),
            ..Default::default()
        };
        let _: proto::RemoveParticipantResponse = self
            .twirp("RoomService", "RemoveParticipant", &req, Grants::room_admin(room), self.timeout)
            .await?;
        Ok(())
    }

    pub async fn create_dispatch(
        &self,
        req: proto::CreateAgentDispatchRequest,
    ) -> Result<proto::AgentDispatch, LiveKitError> {
        let grants = Grants::room_admin(&req.room);
        self.twirp("AgentDispatchService", "CreateDispatch", &req, grants, self.timeout).await
    }

    /// Dials. With `wait_until_answered`, LiveKit answers when the callee
    /// picks up (or with the SIP status that ended the attempt), so the
    /// request may last the whole ringing time.
    pub async fn create_sip_participant(
        &self,
        req: proto::CreateSipParticipantRequest,
    ) -> Result<proto::SipParticipantInfo, LiveKitError> {
        let ringing = req
            .ringing_timeout
            .as_ref()
            .map_or(Duration::from_secs(30), |d| Duration::from_secs(d.seconds.max(0) as u64));
        let timeout = if req.wait_until_answered { self.timeout + ringing } else { self.timeout };
        let grants =
            Grants { sip: Some(SIPGrants { call: true, ..Default::default() }), ..Default::default() };
        self.twirp("SIP", "CreateSIPParticipant", &req, grants, timeout).await
    }

    /// A cold transfer (SIP REFER); LiveKit answers once the new party
    /// picks up or the transfer fails.
    pub async fn transfer_sip_participant(
        &self,
        req: proto::TransferSipParticipantRequest,
    ) -> Result<(), LiveKitError> {
        let grants = Grants {
            video: VideoGrants { room_admin: true, room: req.room_name.clone(), ..Default::default() },
            sip: Some(SIPGrants { call: true, ..Default::default() }),
        };
        let timeout = self.timeout + Duration::from_secs(30);
        let _: () = self.twirp::<_, ()>("SIP", "TransferSIPParticipant", &req, grants, timeout).await?;
        Ok(())
    }

    pub async fn create_outbound_trunk(
        &self,
        trunk: proto::SipOutboundTrunkInfo,
    ) -> Result<proto::SipOutboundTrunkInfo, LiveKitError> {
        let req = proto::CreateSipOutboundTrunkRequest { trunk: Some(trunk) };
        self.twirp("SIP", "CreateSIPOutboundTrunk", &req, Grants::sip_admin(), self.timeout).await
    }

    pub async fn create_inbound_trunk(
        &self,
        trunk: proto::SipInboundTrunkInfo,
    ) -> Result<proto::SipInboundTrunkInfo, LiveKitError> {
        let req = proto::CreateSipInboundTrunkRequest { trunk: Some(trunk) };
        self.twirp("SIP", "CreateSIPInboundTrunk", &req, Grants::sip_admin(), self.timeout).await
    }

    pub async fn delete_trunk(&self, trunk_id: &str) -> Result<(), LiveKitError> {
        let req = proto::DeleteSipTrunkRequest { sip_trunk_id: trunk_id.to_string() };
        let _: proto::SipTrunkInfo =
            self.twirp("SIP", "DeleteSIPTrunk", &req, Grants::sip_admin(), self.timeout).await?;
        Ok(())
    }

    pub async fn create_dispatch_rule(
        &self,
        req: proto::CreateSipDispatchRuleRequest,
    ) -> Result<proto::SipDispatchRuleInfo, LiveKitError> {
        self.twirp("SIP", "CreateSIPDispatchRule", &req, Grants::sip_admin(), self.timeout).await
    }

    pub async fn delete_dispatch_rule(&self, rule_id: &str) -> Result<(), LiveKitError> {
        let req = proto::DeleteSipDispatchRuleRequest { sip_dispatch_rule_id: rule_id.to_string() };
        let _: proto::SipDispatchRuleInfo =
            self.twirp("SIP", "DeleteSIPDispatchRule", &req, Grants::sip_admin(), self.timeout).await?;
        Ok(())
    }

    /// Records the room's audio (all participants mixed) to a file.
    pub async fn start_room_composite_egress(
        &self,
        req: proto::RoomCompositeEgressRequest,
    ) -> Result<proto::EgressInfo, LiveKitError> {
        let grants = Grants::video(VideoGrants { room_record: true, ..Default::default() });
        self.twirp("Egress", "StartRoomCompositeEgress", &req, grants, self.timeout).await
    }
}

fn transport(e: reqwest::Error) -> LiveKitError {
    if providers::egress::is_refused(&e) {
        LiveKitError::Refused
    } else if e.is_timeout() {
        LiveKitError::Timeout
    } else {
        // reqwest's message names the URL, which is the tenant's own input.
        LiveKitError::Unreachable(e.without_url().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_urls_are_checked_and_normalised() {
        let p = Project::parse(" wss://acme.livekit.cloud/ ", "APIkey", "s3cret").unwrap();
        assert_eq!(p.url.as_str(), "https://acme.livekit.cloud/");
        let p = Project::parse("ws://127.0.0.1:7880/some/path", "k", "s").unwrap();
        assert_eq!(p.url.as_str(), "http://127.0.0.1:7880/");
        for bad in [
            "",
            "acme.livekit.cloud",
            "ftp://x",
            "https://user:pw@x",
            "https://x/?a=1",
            "https://x/#f",
            "file:///etc",
        ] {
            assert_eq!(Project::parse(bad, "k", "s"), Err(ProjectError::Url), "{bad}");
        }
        assert_eq!(Project::parse("https://x", " ", "s"), Err(ProjectError::ApiKey));
        assert_eq!(Project::parse("https://x", "k", ""), Err(ProjectError::ApiSecret));
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let p = Project::parse("https://x", "key", "do-not-print-me").unwrap();
        assert!(!format!("{p:?}").contains("do-not-print-me"));
    }

    #[test]
    fn join_tokens_carry_the_room_and_the_publish_right() {
        let p = Project::parse("https://x", "key", "secret-secret-secret-secret-32b!").unwrap();
        let jwt = p.join_token("listener-1", "call-abc", false, Duration::from_secs(300)).unwrap();
        let claims =
            livekit_api::access_token::TokenVerifier::with_api_key("key", "secret-secret-secret-secret-32b!")
                .verify(&jwt)
                .unwrap();
        assert_eq!((claims.sub.as_str(), claims.video.room.as_str()), ("listener-1", "call-abc"));
        assert!(claims.video.room_join && claims.video.can_subscribe());
        assert!(!claims.video.can_publish() && !claims.video.room_admin);
        assert!(claims.video.hidden, "a listener is hidden");
    }

    #[test]
    fn each_part_in_a_call_gets_exactly_its_grants() {
        use livekit_api::access_token::TokenVerifier;
        let secret = "secret-secret-secret-secret-32b!";
        let p = Project::parse("https://x", "key", secret).unwrap();
        let claims = |role: RoomRole| {
            let jwt = p
                .role_token(
                    "id-1",
                    "Ann",
                    "call-abc",
                    role,
                    &[("handoo.to", "rep-1")],
                    Duration::from_secs(60),
                )
                .unwrap();
            TokenVerifier::with_api_key("key", secret).verify(&jwt).unwrap()
        };
        for role in [RoomRole::Rep, RoomRole::Listener, RoomRole::Whisperer, RoomRole::Barger] {
            let c = claims(role);
            let v = &c.video;
            assert_eq!((c.sub.as_str(), c.name.as_str(), v.room.as_str()), ("id-1", "Ann", "call-abc"));
            assert!(v.room_join && v.can_subscribe(), "{role:?} joins and hears");
            assert!(!v.room_admin && !v.room_create && !v.room_record, "{role:?} administers nothing");
            assert_eq!(v.can_update_own_metadata, Some(false), "{role:?} cannot rename itself");
            assert_eq!(c.attributes.get(ROLE_ATTRIBUTE).map(String::as_str), Some(role.as_str()));
            assert_eq!(c.attributes.get("handoo.to").map(String::as_str), Some("rep-1"));
            match role {
                RoomRole::Listener => {
                    assert!(!v.can_publish() && v.can_publish_data == Some(false) && v.hidden);
                    assert!(v.can_publish_sources.is_empty());
                }
                _ => {
                    assert!(v.can_publish() && !v.hidden, "{role:?} speaks, seen");
                    assert_eq!(
                        v.can_publish_sources,
                        vec!["microphone".to_string()],
                        "{role:?}: a microphone only"
                    );
                    assert_eq!(
                        v.can_publish_data,
                        Some(role == RoomRole::Rep),
                        "{role:?}: data (DTMF) for the rep only"
                    );
                }
            }
        }
    }
}
