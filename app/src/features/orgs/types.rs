use serde::{Deserialize, Serialize};

use crate::features::auth::types::OrgDto;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverviewDto {
    pub org: OrgDto,
    pub member_count: u64,
    pub pending_invites: Option<u64>,
}
