//! The one authorization path. Every organisation-scoped service function
//! takes an [`OrgCtx`]; the only way to get one is [`require_org`], which
//! checks membership and the permission matrix in `domain`.

use domain::{Permission, Role};
use entity::memberships;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
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
