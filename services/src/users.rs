//! The signed-in user's own profile and preferences.

use domain::Locale;
use entity::users;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, EntityTrait, IntoActiveModel};
use uuid::Uuid;

use crate::{now, ServiceError, ServiceResult};

pub async fn find<C: ConnectionTrait>(db: &C, user_id: Uuid) -> ServiceResult<users::Model> {
    users::Entity::find_by_id(user_id)
        .one(db)
        .await?
        .ok_or_else(|| ServiceError::new(domain::ErrorCode::Unauthenticated))
}

pub async fn set_locale<C: ConnectionTrait>(db: &C, user_id: Uuid, locale: Locale) -> ServiceResult<()> {
    let mut user = find(db, user_id).await?.into_active_model();
    user.locale = Set(locale.as_str().to_string());
    user.updated_at = Set(now());
    user.update(db).await?;
    Ok(())
}

/// Remembers the organisation the user last worked in (the switcher's choice).
pub async fn set_last_org<C: ConnectionTrait>(
    db: &C,
    user_id: Uuid,
    org_id: Option<Uuid>,
) -> ServiceResult<()> {
    let mut user = find(db, user_id).await?.into_active_model();
    user.last_org_id = Set(org_id);
    user.updated_at = Set(now());
    user.update(db).await?;
    Ok(())
}
