//! Roles and the permission matrix: the single source of truth for who may do
//! what inside an organisation. Services call [`Role::allows`] through
//! `require_org`; the UI calls it to hide actions the user cannot take.

use serde::{Deserialize, Serialize};

use crate::ErrorCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Owner, Role::Admin, Role::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }

    /// The permission matrix.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match permission {
            // Every member can see the organisation, its members and work in it.
            ViewOrganization | ViewMembers | UseWorkspace => true,
            // Admins run the team day to day.
            InviteMembers | RevokeInvitations | ManageMemberRoles | RemoveMembers | ViewAuditLog
            | RenameOrganization | ManageSettings | ManageAgents | ManageProviderKeys | ManageApiKeys
            | ExportProspects | DeleteProspects | LiftCallRestrictions | ManagePlaybook | ReviewKnowledge
            | ListenToCalls | ManageCampaigns | ViewAnalytics => {
                matches!(self, Role::Admin | Role::Owner)
            }
            // Owners alone decide about ownership, billing and deletion.
            ManageOwners | ManageBilling | DeleteOrganization => self == Role::Owner,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ViewOrganization,
    ViewMembers,
    /// Day-to-day work inside the organisation: prospects, notes, imports, calls.
    UseWorkspace,
    RenameOrganization,
    ManageSettings,
    /// Create, edit, move, activate and delete agents and their folders.
    ManageAgents,
    /// Set, test and remove the organisation's provider API keys.
    ManageProviderKeys,
    /// Create, list and revoke the organisation's own API keys (Handoo's API).
    ManageApiKeys,
    /// Download the prospect base as CSV (a bulk copy of personal data).
    ExportProspects,
    /// Delete prospects (one, a selection or every match of a filter).
    DeleteProspects,
    /// Make a number callable again: clear a prospect's do-not-call or
    /// opt-out flag, remove a number from the do-not-call list. Adding a
    /// restriction is always allowed; lifting one is a compliance decision.
    LiftCallRestrictions,
    /// Edit the organisation's call scripts and sales-technique library.
    ManagePlaybook,
    /// Approve or reject knowledge-base items (members write drafts and submit).
    ReviewKnowledge,
    /// Listen to a live call (managers coaching their team).
    ListenToCalls,
    InviteMembers,
    RevokeInvitations,
    ManageMemberRoles,
    RemoveMembers,
    ViewAuditLog,
    /// Grant or take away the Owner role (and invite Owners).
    ManageOwners,
    ManageBilling,
    DeleteOrganization,
    /// Create, edit, start, pause and stop campaigns (which dial on the
    /// organisation's account), and correct calls' analyses.
    ManageCampaigns,
    /// Read the organisation's call analytics: every rep's figures.
    ViewAnalytics,
}

impl Permission {
    pub const ALL: [Permission; 24] = [
        Permission::ViewOrganization,
        Permission::ViewMembers,
        Permission::UseWorkspace,
        Permission::RenameOrganization,
        Permission::ManageSettings,
        Permission::ManageAgents,
        Permission::ManageProviderKeys,
        Permission::ManageApiKeys,
        Permission::ExportProspects,
        Permission::DeleteProspects,
        Permission::LiftCallRestrictions,
        Permission::ManagePlaybook,
        Permission::ReviewKnowledge,
        Permission::ListenToCalls,
        Permission::InviteMembers,
        Permission::RevokeInvitations,
        Permission::ManageMemberRoles,
        Permission::RemoveMembers,
        Permission::ViewAuditLog,
        Permission::ManageOwners,
        Permission::ManageBilling,
        Permission::DeleteOrganization,
        Permission::ManageCampaigns,
        Permission::ViewAnalytics,
    ];
}

impl Permission {
    /// The stable snake_case name (stored with API keys, shown in the API).
    pub fn as_str(self) -> &'static str {
        use Permission::*;
        match self {
            ViewOrganization => "view_organization",
            ViewMembers => "view_members",
            UseWorkspace => "use_workspace",
            RenameOrganization => "rename_organization",
            ManageSettings => "manage_settings",
            ManageAgents => "manage_agents",
            ManageProviderKeys => "manage_provider_keys",
            ManageApiKeys => "manage_api_keys",
            ExportProspects => "export_prospects",
            DeleteProspects => "delete_prospects",
            LiftCallRestrictions => "lift_call_restrictions",
            ManagePlaybook => "manage_playbook",
            ReviewKnowledge => "review_knowledge",
            ListenToCalls => "listen_to_calls",
            InviteMembers => "invite_members",
            RevokeInvitations => "revoke_invitations",
            ManageMemberRoles => "manage_member_roles",
            RemoveMembers => "remove_members",
            ViewAuditLog => "view_audit_log",
            ManageOwners => "manage_owners",
            ManageBilling => "manage_billing",
            DeleteOrganization => "delete_organization",
            ManageCampaigns => "manage_campaigns",
            ViewAnalytics => "view_analytics",
        }
    }

    pub fn parse(s: &str) -> Option<Permission> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s.trim())
    }

    /// May an API key hold this permission? Ownership, billing, deleting the
    /// organisation and minting keys stay with people: a leaked key must
    /// never take the organisation from its owners, spend its money or
    /// outlive its own revocation by creating another.
    pub fn grantable_to_keys(self) -> bool {
        !matches!(
            self,
            Permission::ManageOwners
                | Permission::ManageBilling
                | Permission::DeleteOrganization
                | Permission::ManageApiKeys
        )
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of permissions (what an API key was granted). Stored as the list of
/// stable names, so adding a permission later never changes an old key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PermissionSet(u32);

impl PermissionSet {
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Everything `role` allows.
    pub fn of_role(role: Role) -> PermissionSet {
        Permission::ALL.into_iter().filter(|p| role.allows(*p)).collect()
    }

    pub fn contains(self, p: Permission) -> bool {
        self.0 & p.bit() != 0
    }

    pub fn insert(&mut self, p: Permission) {
        self.0 |= p.bit();
    }

    pub fn is_subset_of(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL.into_iter().filter(move |p| self.contains(*p))
    }

    /// The stable names, in matrix order.
    pub fn names(self) -> Vec<&'static str> {
        self.iter().map(Permission::as_str).collect()
    }

    /// Parses stored or submitted names; `Err` carries the first unknown one.
    pub fn parse_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<PermissionSet, String> {
        names.into_iter().map(|n| Permission::parse(n).ok_or_else(|| n.to_string())).collect()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        let mut set = PermissionSet::EMPTY;
        for p in iter {
            set.insert(p);
        }
        set
    }
}

/// May `actor` give `new_role` to someone who currently holds `current`?
///
/// `owner_count` is the number of Owners in the organisation right now; the
/// last Owner can never be demoted, so an organisation is never orphaned.
pub fn check_role_change(
    actor: Role,
    current: Role,
    new_role: Role,
    owner_count: u64,
) -> Result<(), ErrorCode> {
    if !actor.allows(Permission::ManageMemberRoles) {
        return Err(ErrorCode::Forbidden);
    }
    // Touching ownership in either direction is an Owner-only act.
    if (current == Role::Owner || new_role == Role::Owner) && !actor.allows(Permission::ManageOwners) {
        return Err(ErrorCode::Forbidden);
    }
    if current == Role::Owner && new_role != Role::Owner && owner_count <= 1 {
        return Err(ErrorCode::LastOwner);
    }
    Ok(())
}

/// May `actor` remove a member holding `target` (`is_self` when leaving)?
pub fn check_removal(actor: Role, target: Role, is_self: bool, owner_count: u64) -> Result<(), ErrorCode> {
    // Anyone may leave; removing someone else needs the right permissions.
    // Permission comes first so a non-owner learns nothing about owner counts.
    if !is_self {
        if !actor.allows(Permission::RemoveMembers) {
            return Err(ErrorCode::Forbidden);
        }
        if target == Role::Owner && !actor.allows(Permission::ManageOwners) {
            return Err(ErrorCode::Forbidden);
        }
    }
    if target == Role::Owner && owner_count <= 1 {
        return Err(ErrorCode::LastOwner);
    }
    Ok(())
}

/// May `actor` invite someone with `role`?
pub fn check_invite(actor: Role, role: Role) -> Result<(), ErrorCode> {
    if !actor.allows(Permission::InviteMembers) {
        return Err(ErrorCode::Forbidden);
    }
    if role == Role::Owner && !actor.allows(Permission::ManageOwners) {
        return Err(ErrorCode::Forbidden);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use Permission::*;

    #[test]
    fn matrix_is_exactly_as_documented() {
        // (permission, member, admin, owner)
        let expected = [
            (ViewOrganization, true, true, true),
            (ViewMembers, true, true, true),
            (UseWorkspace, true, true, true),
            (RenameOrganization, false, true, true),
            (ManageSettings, false, true, true),
            (ManageAgents, false, true, true),
            (ManageProviderKeys, false, true, true),
            (ManageApiKeys, false, true, true),
            (ExportProspects, false, true, true),
            (DeleteProspects, false, true, true),
            (LiftCallRestrictions, false, true, true),
            (ManagePlaybook, false, true, true),
            (ReviewKnowledge, false, true, true),
            (ListenToCalls, false, true, true),
            (InviteMembers, false, true, true),
            (RevokeInvitations, false, true, true),
            (ManageMemberRoles, false, true, true),
            (RemoveMembers, false, true, true),
            (ViewAuditLog, false, true, true),
            (ManageOwners, false, false, true),
            (ManageBilling, false, false, true),
            (DeleteOrganization, false, false, true),
            (ManageCampaigns, false, true, true),
            (ViewAnalytics, false, true, true),
        ];
        assert_eq!(expected.len(), Permission::ALL.len(), "every permission is in the table");
        for (p, m, a, o) in expected {
            assert_eq!(Role::Member.allows(p), m, "member {p:?}");
            assert_eq!(Role::Admin.allows(p), a, "admin {p:?}");
            assert_eq!(Role::Owner.allows(p), o, "owner {p:?}");
        }
    }

    #[test]
    fn higher_roles_never_have_fewer_permissions() {
        for p in Permission::ALL {
            if Role::Member.allows(p) {
                assert!(Role::Admin.allows(p));
            }
            if Role::Admin.allows(p) {
                assert!(Role::Owner.allows(p));
            }
        }
    }

    #[test]
    fn permission_names_round_trip_and_sets_behave() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
        }
        let member = PermissionSet::of_role(Role::Member);
        let admin = PermissionSet::of_role(Role::Admin);
        assert!(member.is_subset_of(admin) && !admin.is_subset_of(member));
        assert_eq!(member.names(), ["view_organization", "view_members", "use_workspace"]);
        let parsed = PermissionSet::parse_names(["use_workspace", "view_organization"]).unwrap();
        assert!(
            parsed.contains(UseWorkspace)
                && parsed.contains(ViewOrganization)
                && !parsed.contains(ViewMembers)
        );
        assert_eq!(PermissionSet::parse_names(["use_workspace", "root"]), Err("root".into()));
        assert!(!ManageBilling.grantable_to_keys() && !ManageOwners.grantable_to_keys());
        assert!(ManageAgents.grantable_to_keys() && !ManageApiKeys.grantable_to_keys());
    }

    #[test]
    fn role_parse_round_trips() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse(" ADMIN "), Some(Role::Admin));
        assert_eq!(Role::parse("superuser"), None);
    }

    #[test]
    fn role_changes() {
        use Role::*;
        // Members change nothing.
        assert_eq!(check_role_change(Member, Member, Admin, 1), Err(ErrorCode::Forbidden));
        // Admins manage members and admins...
        assert_eq!(check_role_change(Admin, Member, Admin, 1), Ok(()));
        assert_eq!(check_role_change(Admin, Admin, Member, 1), Ok(()));
        // ...but not ownership.
        assert_eq!(check_role_change(Admin, Member, Owner, 1), Err(ErrorCode::Forbidden));
        assert_eq!(check_role_change(Admin, Owner, Member, 2), Err(ErrorCode::Forbidden));
        // Owners can, except demoting the last owner.
        assert_eq!(check_role_change(Owner, Member, Owner, 1), Ok(()));
        assert_eq!(check_role_change(Owner, Owner, Admin, 2), Ok(()));
        assert_eq!(check_role_change(Owner, Owner, Admin, 1), Err(ErrorCode::LastOwner));
        assert_eq!(check_role_change(Owner, Owner, Owner, 1), Ok(()));
    }

    #[test]
    fn removals() {
        use Role::*;
        assert_eq!(check_removal(Member, Member, true, 1), Ok(()), "members may leave");
        assert_eq!(check_removal(Member, Member, false, 1), Err(ErrorCode::Forbidden));
        assert_eq!(check_removal(Admin, Member, false, 1), Ok(()));
        assert_eq!(check_removal(Admin, Owner, false, 2), Err(ErrorCode::Forbidden));
        assert_eq!(check_removal(Admin, Owner, false, 1), Err(ErrorCode::Forbidden));
        assert_eq!(check_removal(Owner, Owner, true, 1), Err(ErrorCode::LastOwner));
        assert_eq!(check_removal(Owner, Owner, true, 2), Ok(()));
        assert_eq!(check_removal(Owner, Owner, false, 2), Ok(()));
    }

    #[test]
    fn invites() {
        assert_eq!(check_invite(Role::Member, Role::Member), Err(ErrorCode::Forbidden));
        assert_eq!(check_invite(Role::Admin, Role::Admin), Ok(()));
        assert_eq!(check_invite(Role::Admin, Role::Owner), Err(ErrorCode::Forbidden));
        assert_eq!(check_invite(Role::Owner, Role::Owner), Ok(()));
    }
}
