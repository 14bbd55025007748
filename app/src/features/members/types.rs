use chrono::{DateTime, Utc};
use domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberDto {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteState {
    Pending,
    Expired,
    Accepted,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationDto {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub status: InviteState,
    pub invited_by: Option<String>,
    pub expires_at: DateTime<Utc>,
}

/// Result of inviting: `link` is returned only when no email was sent, so
/// the inviter can pass it on themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteOutcome {
    pub email: String,
    pub emailed: bool,
    pub link: Option<String>,
}

#[cfg(feature = "ssr")]
mod conv {
    use super::*;
    use services::invitations::{InvitationView, InviteStatus};

    impl From<services::orgs::Member> for MemberDto {
        fn from(m: services::orgs::Member) -> Self {
            Self { user_id: m.user_id, email: m.email, name: m.name, role: m.role, joined_at: m.joined_at }
        }
    }

    impl From<InvitationView> for InvitationDto {
        fn from(v: InvitationView) -> Self {
            Self {
                id: v.id,
                email: v.email,
                role: v.role,
                status: match v.status {
                    InviteStatus::Pending => InviteState::Pending,
                    InviteStatus::Expired => InviteState::Expired,
                    InviteStatus::Accepted => InviteState::Accepted,
                    InviteStatus::Revoked => InviteState::Revoked,
                },
                invited_by: v.invited_by_email,
                expires_at: v.expires_at,
            }
        }
    }
}
