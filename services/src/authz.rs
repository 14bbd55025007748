//! The one authorization path. Every organisation-scoped service function
//! takes an [`OrgCtx`]; the only way to get one is [`require_org`], which
//! checks membership and the permission matrix in `domain` (or, within one
//! request that has already read them, [`Memberships::require`]).

use std::collections::HashMap;
use std::sync::LazyLock;

use domain::{Permission, Role};
use entity::memberships;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{ServiceError, ServiceResult};

/// Proof that `user_id` is a member of `org_id` with `role`. Fields are
/// private so that no code outside this module can forge one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrgCtx {
    org_id: Uuid,
    user_id: Uuid,
    role: Role,
}

impl OrgCtx {
    pub fn org_id(&self) -> Uuid {
        self.org_id
    }
    pub fn user_id(&self) -> Uuid {
        self.user_id
    }
    pub fn role(&self) -> Role {
        self.role
    }

    /// Re-checks a further permission on an existing context.
    pub fn require(&self, permission: Permission) -> ServiceResult<()> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ServiceError::forbidden())
        }
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
    let ctx = OrgCtx { org_id, user_id, role };
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
        let ctx = OrgCtx { org_id, user_id: self.user_id, role };
        ctx.require(permission)?;
        Ok(ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_authorises_like_the_query_path() {
        let (user, a, b) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let m = Memberships::new(user, HashMap::from([(a, Role::Member)]));
        let ctx = m.require(a, Permission::ViewOrganization).unwrap();
        assert_eq!((ctx.org_id(), ctx.user_id(), ctx.role()), (a, user, Role::Member));
        assert_eq!(m.require(a, Permission::InviteMembers).unwrap_err().code, domain::ErrorCode::Forbidden);
        assert_eq!(m.require(b, Permission::ViewOrganization).unwrap_err().code, domain::ErrorCode::NotFound);
    }
}
