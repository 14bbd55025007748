//! Demo data for local installs: one organisation, one user per role.
//! Idempotent: running it again changes nothing.

use domain::{Locale, Role};
use sea_orm::DatabaseConnection;

use crate::auth::{self, SignUp};
use crate::{orgs, ServiceResult};

pub const DEMO_ORG: &str = "Demo Motors";
/// Local-only password shared by the demo accounts (printed in the README).
pub const DEMO_PASSWORD: &str = "handoo-demo-2026";
pub const DEMO_USERS: [(&str, &str, Role); 3] = [
    ("owner@demo.handoo.test", "Olivia Owner", Role::Owner),
    ("admin@demo.handoo.test", "Adam Admin", Role::Admin),
    ("member@demo.handoo.test", "Mia Member", Role::Member),
];

pub async fn seed_demo(db: &DatabaseConnection) -> ServiceResult<bool> {
    if auth::find_by_email(db, DEMO_USERS[0].0).await?.is_some() {
        return Ok(false);
    }
    let mut ids = Vec::new();
    for (email, name, _) in DEMO_USERS {
        let user =
            auth::sign_up(db, SignUp { email, name, password: DEMO_PASSWORD, locale: Locale::En }).await?;
        ids.push(user.id);
    }
    let org = orgs::create(db, ids[0], DEMO_ORG).await?;
    for (idx, (_, _, role)) in DEMO_USERS.iter().enumerate().skip(1) {
        orgs::insert_membership(db, org.id, ids[idx], *role).await?;
        crate::users::set_last_org(db, ids[idx], Some(org.id)).await?;
    }
    tracing::info!("seeded demo organisation");
    Ok(true)
}
