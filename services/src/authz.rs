//! The one authorization path. Every organisation-scoped service function
//! takes an [`OrgCtx`] and checks the permission its action needs with
//! [`OrgCtx::require`]. A person gets one from [`require_org`] (membership
//! and the permission matrix in `domain`, or, within one request that has
//! already read them, [`Memberships::require`]); an integration from
//! [`crate::api_keys::authenticate`]; our own jobs from [`OrgCtx::system`].

use std::collections::HashMap;
use std::sync::LazyLock;

use domain::{Permission, PermissionSet, Role};
use entity::memberships;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{ServiceError, ServiceResult};

/// Who is acting. Services decide permissions with [`OrgCtx::require`] and
/// record the actor with [`OrgCtx::actor`]; nothing else needs to know which
/// kind it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// A person, through their membership.
    Member { user_id: Uuid, role: Role },
    /// An integration holding an API key of this organisation: the role the
    /// key was cut from (a ceiling) and the permissions it was granted.
    ApiKey { key_id: Uuid, role: Role, permissions: PermissionSet },
    /// Our own code acting for the organisation: a named job
    /// (`dialer`, `webhook:livekit`, `voice-worker`…).
    System { job: &'static str },
}

/// What is stored about the actor on audit rows, timeline entries and notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub system: Option<&'static str>,
}

impl From<Option<Uuid>> for Actor {
    fn from(user_id: Option<Uuid>) -> Self {
        Actor { user_id, ..Actor::default() }
    }
}

impl From<&OrgCtx> for Actor {
    fn from(ctx: &OrgCtx) -> Self {
        ctx.actor()
    }
}

/// Proof that a principal may act in `org_id`: a member, an API key of this
/// organisation, or a system job. Fields are private so that no code outside
/// this module can forge a member or key context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgCtx {
    org_id: Uuid,
    principal: Principal,
}

impl OrgCtx {
    /// The context a background job or a verified webhook acts in. It holds
    /// every permission: it is our code, not a tenant, deciding.
    pub fn system(org_id: Uuid, job: &'static str) -> OrgCtx {
        OrgCtx { org_id, principal: Principal::System { job } }
    }

    pub(crate) fn api_key(org_id: Uuid, key_id: Uuid, role: Role, permissions: PermissionSet) -> OrgCtx {
        OrgCtx { org_id, principal: Principal::ApiKey { key_id, role, permissions } }
    }

    pub fn org_id(&self) -> Uuid {
        self.org_id
    }

    /// The API key acting, when one is.
    pub fn api_key_id(&self) -> Option<Uuid> {
        match self.principal {
            Principal::ApiKey { key_id, .. } => Some(key_id),
            _ => None,
        }
    }

    pub fn principal(&self) -> Principal {
        self.principal
    }

    /// The acting person, if a person is acting.
    pub fn user_id(&self) -> Option<Uuid> {
        match self.principal {
            Principal::Member { user_id, .. } => Some(user_id),
            _ => None,
        }
    }

    /// Is the acting person the user `id` names? False for keys and jobs,
    /// and for a `None` (a row whose author is gone).
    pub fn is_user(&self, id: Option<Uuid>) -> bool {
        id.is_some() && id == self.user_id()
    }

    /// The acting person, for actions that belong to one (saved views,
    /// ratings, a playground conversation): `PersonRequired` otherwise.
    pub fn person(&self) -> ServiceResult<Uuid> {
        self.user_id().ok_or_else(|| ServiceError::new(domain::ErrorCode::PersonRequired))
    }

    /// The role the rules of the domain apply to (who may change whose
    /// role…): a member's own, the ceiling an API key was cut from, and for
    /// the system the Owner's (its permission checks pass by construction).
    pub fn role(&self) -> Role {
        match self.principal {
            Principal::Member { role, .. } | Principal::ApiKey { role, .. } => role,
            Principal::System { .. } => Role::Owner,
        }
    }

    pub fn allows(&self, permission: Permission) -> bool {
        match self.principal {
            Principal::Member { role, .. } => role.allows(permission),
            Principal::ApiKey { role, permissions, .. } => {
                role.allows(permission) && permissions.contains(permission)
            }
            Principal::System { .. } => true,
        }
    }

    /// Re-checks a further permission on an existing context.
    pub fn require(&self, permission: Permission) -> ServiceResult<()> {
        if self.allows(permission) {
            Ok(())
        } else {
            Err(ServiceError::forbidden())
        }
    }

    /// The actor as stored on audit rows, timeline entries and notes.
    pub fn actor(&self) -> Actor {
        match self.principal {
            Principal::Member { user_id, .. } => Actor { user_id: Some(user_id), ..Actor::default() },
            Principal::ApiKey { key_id, .. } => Actor { api_key_id: Some(key_id), ..Actor::default() },
            Principal::System { job } => Actor { system: Some(job), ..Actor::default() },
        }
    }
}

/// Who started a piece of background work, as stored in its job payload,
/// so the work resumes as that principal ([`resume`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StartedBy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<Uuid>,
}

impl From<&OrgCtx> for StartedBy {
    fn from(ctx: &OrgCtx) -> Self {
        let a = ctx.actor();
        StartedBy { user_id: a.user_id, api_key_id: a.api_key_id }
    }
}

/// The context a job acts in for work `started_by` someone: that member
/// (still a member), that API key (still valid), or, for work started by
/// the system, the system under `job`'s name. Access lost since the work was
/// queued ends it: `NotFound` / `ApiKeyInvalid`.
pub async fn resume<C: ConnectionTrait>(
    db: &C,
    org_id: Uuid,
    started_by: StartedBy,
    job: &'static str,
) -> ServiceResult<OrgCtx> {
    match started_by {
        StartedBy { user_id: Some(user), .. } => {
            require_org(db, user, org_id, Permission::ViewOrganization).await
        }
        StartedBy { api_key_id: Some(key), .. } => crate::api_keys::context_by_id(db, key, org_id).await,
        _ => Ok(OrgCtx::system(org_id, job)),
    }
}

/// Loads the caller's membership in `org_id` and checks `permission`.
///
/// A non-member gets `NotFound`, not `Forbidden`: the existence of other
/// tenants' organisations is not disclosed.
pub async fn require_org<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    org_id: Uuid,
    permission: Permission,
) -> ServiceResult<OrgCtx> {
    let membership = memberships::Entity::find()
        .filter(memberships::Column::OrgId.eq(org_id))
        .filter(memberships::Column::UserId.eq(user_id))
        .one(db)
        .await?
        .ok_or_else(ServiceError::not_found)?;
    let role = Role::parse(&membership.role).ok_or_else(|| {
        tracing::error!(role = %membership.role, "unknown role in database");
        ServiceError::internal()
    })?;
    let ctx = OrgCtx { org_id, principal: Principal::Member { user_id, role } };
    ctx.require(permission)?;
    Ok(ctx)
}

/// Bumped by [`access_changed`]; see there.
static ACCESS_CHANGES: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Says that someone's access may just have shrunk: a membership removed or
/// its role changed, a session ended (later: an API key revoked). Streams
/// that stay open (server-sent events, sockets) re-check their caller at
/// once instead of at their next periodic check. It names no one — a
/// re-check that finds access intact costs one query — and it reaches this
/// process only: other nodes notice at their next periodic check.
pub fn access_changed() {
    ACCESS_CHANGES.send_modify(|n| *n = n.wrapping_add(1));
}

/// Wakes (`changed()`) after every [`access_changed`] from now on.
pub fn access_changes() -> watch::Receiver<u64> {
    ACCESS_CHANGES.subscribe()
}

/// A user's memberships as read by one query ([`crate::orgs::identity_of`]).
/// A request that has loaded them (every signed-in page does, for the
/// organisation switcher) authorises its further calls from this snapshot
/// instead of re-reading: the same answer one query would give at that
/// instant. Only this crate can build one, so it is as unforgeable as [`OrgCtx`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Memberships {
    user_id: Uuid,
    roles: HashMap<Uuid, Role>,
}

impl Memberships {
    pub(crate) fn new(user_id: Uuid, roles: HashMap<Uuid, Role>) -> Self {
        Self { user_id, roles }
    }

    pub fn user_id(&self) -> Uuid {
        self.user_id
    }

    /// [`require_org`] against the snapshot: `NotFound` for a non-member,
    /// `Forbidden` when the role lacks `permission`.
    pub fn require(&self, org_id: Uuid, permission: Permission) -> ServiceResult<OrgCtx> {
        let role = *self.roles.get(&org_id).ok_or_else(ServiceError::not_found)?;
        let ctx = OrgCtx { org_id, principal: Principal::Member { user_id: self.user_id, role } };
        ctx.require(permission)?;
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hold_at_most_their_grant_and_the_system_everything() {
        let org = Uuid::now_v7();
        let grant: PermissionSet =
            [Permission::UseWorkspace, Permission::ViewOrganization, Permission::ManageBilling]
                .into_iter()
                .collect();
        let key = OrgCtx::api_key(org, Uuid::now_v7(), Role::Admin, grant);
        assert!(key.allows(Permission::UseWorkspace));
        assert!(!key.allows(Permission::ViewMembers), "not granted");
        assert!(!key.allows(Permission::ManageBilling), "granted but above the admin ceiling");
        assert_eq!(key.user_id(), None);
        assert_eq!(key.person().unwrap_err().code, domain::ErrorCode::PersonRequired);
        assert!(key.actor().api_key_id.is_some() && key.actor().user_id.is_none());
        let job = OrgCtx::system(org, "dialer");
        assert!(Permission::ALL.into_iter().all(|p| job.allows(p)));
        assert_eq!(job.actor().system, Some("dialer"));
    }

    #[test]
    fn snapshot_authorises_like_the_query_path() {
        let (user, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let m = Memberships::new(user, HashMap::from([(a, Role::Member)]));
        let ctx = m.require(a, Permission::ViewOrganization).unwrap();
        assert_eq!((ctx.org_id(), ctx.user_id(), ctx.role()), (a, Some(user), Role::Member));
        assert_eq!(m.require(a, Permission::InviteMembers).unwrap_err().code, domain::ErrorCode::Forbidden);
        assert_eq!(m.require(b, Permission::ViewOrganization).unwrap_err().code, domain::ErrorCode::NotFound);
    }
}
