use domain::Role;
use serde::{Deserialize, Serialize};

use crate::features::members::types::InviteState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreviewDto {
    pub org_name: String,
    pub email: String,
    pub role: Role,
    pub status: InviteState,
    pub account_exists: bool,
    /// Email of the signed-in visitor, if any.
    pub signed_in_as: Option<String>,
}
