use domain::{Locale, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub locale: Locale,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDto {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub role: Role,
}

/// Everything the shell needs about the visitor, loaded once per page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: UserDto,
    pub orgs: Vec<OrgDto>,
    pub current: Option<OrgDto>,
}

/// Public settings of the login page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginSettings {
    pub google: bool,
    pub dev_login: bool,
}

#[cfg(feature = "ssr")]
impl From<services::orgs::OrgSummary> for OrgDto {
    fn from(o: services::orgs::OrgSummary) -> Self {
        Self { id: o.id, name: o.name, slug: o.slug, role: o.role }
    }
}
