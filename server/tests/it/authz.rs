//! Authorization of every organisation-scoped entry point, walked from the
//! lists the server itself serves: every `/api/v1/orgs/{org}/…` route
//! (`server::rest::all_routes`) and every registered server function.
//!
//! For each one, on organisation A:
//! 1. a signed-in person who is not a member of A gets `404 not_found`
//!    (the organisation's existence is not disclosed);
//! 2. a Member of A gets `403 forbidden` when the Member role lacks the
//!    permission the action needs, and gets past authorization otherwise;
//! 3. (REST) an API key of another organisation, however broad its grant,
//!    gets `404 not_found`;
//! 4. (REST) a key of A granted only `view_organization` gets `403 forbidden`
//!    wherever more than that is needed.
//!
//! The expectation tables below name every route and function with the
//! permission its service requires; a route or function served but missing
//! from them — or listed but gone — fails
//! [`the_tables_name_every_org_scoped_route_and_server_function`], so nothing
//! new ships unchecked.
//!
//! Why every case carries a *valid* request: a handler resolves access first
//! (`OrgAccess` for REST, `require_member` for server functions: cases 1 and
//! 3 stop there), but the permission is decided by the service, which runs
//! only after the body, the query and the path ids have been decoded. A
//! malformed sample would answer `422`/`400` instead of `403` and prove
//! nothing; the `403` cases therefore also vouch for every sample. Where a
//! service decides the stricter permission only on a real row (someone
//! else's knowledge item, a flagged prospect, a member to remove), the case
//! targets a fixture the owner created, so the `403` is the one that matters.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{Backend, Client, FnResult, TestApp, GOOD_PASSWORD};
use domain::agent::{AgentKind, AgentSettings};
use domain::{Permission, Role};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

on_both_backends!(org_entry_points_refuse_strangers_and_check_permissions, |backend: Backend| async move {
    let Some(app) = TestApp::spawn(backend).await else { return };
    let s = Scene::new(&app).await;
    let routes = rest_cases();
    let fns = fn_cases();
    let mut failures = Vec::new();
    for case in &routes {
        check_route(&s, case, &mut failures).await;
    }
    // `leave_org` really takes the Member out of A: everything else first.
    let (last, first): (Vec<&FnCase>, Vec<&FnCase>) = fns.iter().partition(|c| RUN_LAST.contains(&c.name));
    for case in first.into_iter().chain(last) {
        check_fn(&s, case, &mut failures).await;
    }
    eprintln!(
        "authz ({backend:?}): {} org-scoped REST routes × 4 callers and {} org-scoped server functions × 2 callers checked",
        routes.len(),
        fns.len()
    );
    assert!(
        failures.is_empty(),
        "{} authorization failure(s) on {backend:?}:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
});

/// No database needed: the tables against what the server serves.
#[test]
fn the_tables_name_every_org_scoped_route_and_server_function() {
    let routes = rest_cases();
    let fns = fn_cases();
    let mut failures = route_table_failures(&routes);
    failures.extend(fn_table_failures(&fns));
    eprintln!(
        "authz tables: {} org-scoped REST routes, {} org-scoped server functions, {} other server functions",
        routes.len(),
        fns.len(),
        NOT_ORG_SCOPED.len()
    );
    assert!(failures.is_empty(), "the authorization tables are out of date:\n  {}", failures.join("\n  "));
}

// ---- placeholders ----------------------------------------------------------------

// Filled at run time in paths (the placeholder after `{org}`), JSON bodies
// and server-function arguments. `{org}` itself is always organisation A.

/// A fresh random id: names nothing that exists, which is fine wherever the
/// permission is checked before anything is looked up.
const ANY: &str = "{uuid}";
/// A's owner: a real member to change or remove (the lookup comes first).
const OWNER: &str = "{owner}";
/// A's prospect flagged do-not-call: clearing the flag is lifting a restriction.
const PROSPECT: &str = "{prospect}";
/// An approved knowledge item written by A's owner: a Member sees it (a
/// draft would be invisible to them: 404), but only a reviewer may edit,
/// decide on or delete someone else's item.
const ITEM: &str = "{item}";

// ---- REST ------------------------------------------------------------------------

/// Every organisation-scoped `/api/v1` route, with the permission its
/// service requires and a request that decodes.
fn rest_cases() -> Vec<Case> {
    use Permission::*;
    let settings = agent_settings();
    vec![
        // -- the organisation, its members, its audit log (rest.rs)
        route("GET", "/orgs/{org}", ViewOrganization),
        route("PATCH", "/orgs/{org}", RenameOrganization).json(json!({"name": "Renamed"})),
        route("GET", "/orgs/{org}/members", ViewMembers),
        route("PATCH", "/orgs/{org}/members/{user}", ManageMemberRoles)
            .on(OWNER)
            .json(json!({"role": "member"})),
        // Removing someone else; the member is looked up before the check.
        route("DELETE", "/orgs/{org}/members/{user}", RemoveMembers).on(OWNER),
        route("GET", "/orgs/{org}/audit", ViewAuditLog),
        // -- agents, folders, provider settings, the playground (agents_api.rs)
        route("GET", "/orgs/{org}/agents", UseWorkspace).query("search=probe&kind=chat"),
        route("POST", "/orgs/{org}/agents", ManageAgents).json(json!({"settings": settings.clone()})),
        route("GET", "/orgs/{org}/agents/{id}", UseWorkspace),
        route("PUT", "/orgs/{org}/agents/{id}", ManageAgents)
            .json(json!({"version": 1, "settings": settings.clone()})),
        route("DELETE", "/orgs/{org}/agents/{id}", ManageAgents),
        route("POST", "/orgs/{org}/agents/{id}/active", ManageAgents).json(json!({"active": false})),
        route("POST", "/orgs/{org}/agents/{id}/duplicate", ManageAgents),
        route("GET", "/orgs/{org}/agents/{id}/conversations", UseWorkspace),
        // No body: the sample prospect as is.
        route("POST", "/orgs/{org}/agents/{id}/conversations", UseWorkspace),
        route("GET", "/orgs/{org}/agents/{id}/test-call", UseWorkspace).socket(),
        route("GET", "/orgs/{org}/agent-folders", UseWorkspace),
        route("POST", "/orgs/{org}/agent-folders", ManageAgents).json(json!({"name": "Probe"})),
        // Which providers are set up (never the keys): part of seeing the organisation.
        route("GET", "/orgs/{org}/providers", ViewOrganization),
        route("GET", "/orgs/{org}/conversations/{id}", UseWorkspace),
        route("POST", "/orgs/{org}/conversations/{id}/messages", UseWorkspace).json(json!({"text": "Hello"})),
        // -- prospects (prospects_api.rs)
        route("GET", "/orgs/{org}/prospects", UseWorkspace).query("search=paul&status=new&sort=last_name"),
        route("POST", "/orgs/{org}/prospects", UseWorkspace)
            .json(json!({"first_name": "Ann", "phone": "+33612345601"})),
        route("GET", "/orgs/{org}/prospects/export.csv", ExportProspects).query("status=new"),
        // Deleting is the stricter of the bulk actions.
        route("POST", "/orgs/{org}/prospects/bulk", DeleteProspects)
            .json(json!({"selection": {"kind": "ids", "ids": [ANY]}, "action": "delete"})),
        route("POST", "/orgs/{org}/prospects/bulk/undo", DeleteProspects).json(json!({"token": ANY})),
        route("GET", "/orgs/{org}/prospects/{id}", UseWorkspace),
        route("PATCH", "/orgs/{org}/prospects/{id}", LiftCallRestrictions)
            .on(PROSPECT)
            .json(json!({"do_not_call": false})),
        // The handler reads the prospect first: a real one, or a Member would see 404.
        route("DELETE", "/orgs/{org}/prospects/{id}", DeleteProspects).on(PROSPECT),
        route("GET", "/orgs/{org}/prospects/{id}/notes", UseWorkspace),
        route("POST", "/orgs/{org}/prospects/{id}/notes", UseWorkspace).json(json!({"body": "Called back"})),
        route("GET", "/orgs/{org}/prospects/{id}/activity", UseWorkspace),
        route("GET", "/orgs/{org}/prospects/{id}/consents", UseWorkspace),
        route("POST", "/orgs/{org}/prospects/{id}/consents", UseWorkspace)
            .json(json!({"source": "Web form", "method": "verbal"})),
        route("GET", "/orgs/{org}/prospects/{id}/may-call", UseWorkspace),
        route("GET", "/orgs/{org}/prospect-tags", UseWorkspace),
        route("GET", "/orgs/{org}/custom-fields", UseWorkspace),
        route("POST", "/orgs/{org}/custom-fields", ManageSettings).json(custom_field()),
        route("DELETE", "/orgs/{org}/custom-fields/{id}", ManageSettings),
        route("GET", "/orgs/{org}/prospect-imports", UseWorkspace),
        // The file is the raw body.
        route("POST", "/orgs/{org}/prospect-imports", UseWorkspace)
            .query("file_name=probe.csv")
            .raw("text/csv", "first_name,phone\nAnn,+33612345603\n"),
        route("GET", "/orgs/{org}/prospect-imports/{id}", UseWorkspace),
        route("GET", "/orgs/{org}/prospect-imports/{id}/problems.csv", UseWorkspace),
        route("GET", "/orgs/{org}/prospect-imports/{id}/events", UseWorkspace),
        route("POST", "/orgs/{org}/prospect-imports/{id}/dry-run", UseWorkspace).json(json!({"mapping": []})),
        // Creating a custom field on the way is an admin's decision.
        route("POST", "/orgs/{org}/prospect-imports/{id}/start", ManageSettings)
            .json(import_creating_a_field()),
        route("GET", "/orgs/{org}/dnc", UseWorkspace).query("search=336"),
        route("POST", "/orgs/{org}/dnc", UseWorkspace)
            .json(json!({"phone": "+33612345604", "reason": "Asked"})),
        route("POST", "/orgs/{org}/dnc/import", UseWorkspace)
            .query("reason=list")
            .raw("text/plain", "+33612345605\n"),
        route("DELETE", "/orgs/{org}/dnc/{phone}", LiftCallRestrictions).on("+33612345678"),
        route("GET", "/orgs/{org}/compliance", UseWorkspace),
        route("PUT", "/orgs/{org}/compliance", ManageSettings).json(compliance_settings()),
        route("GET", "/orgs/{org}/saved-views", UseWorkspace),
        route("POST", "/orgs/{org}/saved-views", UseWorkspace)
            .json(json!({"name": "Mine", "query": {}, "columns": []})),
        route("DELETE", "/orgs/{org}/saved-views/{id}", UseWorkspace),
        // -- analytics (analytics_api.rs)
        route("GET", "/orgs/{org}/analytics", ViewAnalytics),
        route("GET", "/orgs/{org}/analytics/export.csv", ViewAnalytics).query("table=days"),
        // -- billing (billing_api.rs)
        route("GET", "/orgs/{org}/billing", ViewAnalytics),
        route("POST", "/orgs/{org}/billing/checkout", ManageBilling).json(json!({"plan_id": "probe"})),
        route("POST", "/orgs/{org}/billing/portal", ManageBilling),
        route("GET", "/orgs/{org}/usage", ViewAnalytics),
        route("GET", "/orgs/{org}/usage/export.csv", ViewAnalytics),
        // -- campaigns (campaigns_api.rs)
        route("GET", "/orgs/{org}/campaigns", UseWorkspace),
        route("POST", "/orgs/{org}/campaigns", ManageCampaigns)
            .json(json!({"name": "Probe", "agent_id": ANY, "concurrency": 1})),
        route("GET", "/orgs/{org}/campaigns/{id}", UseWorkspace),
        route("PUT", "/orgs/{org}/campaigns/{id}", ManageCampaigns)
            .json(json!({"name": "Probe", "agent_id": ANY, "concurrency": 1, "version": 1})),
        route("POST", "/orgs/{org}/campaigns/{id}/start", ManageCampaigns),
        route("POST", "/orgs/{org}/campaigns/{id}/pause", ManageCampaigns),
        route("POST", "/orgs/{org}/campaigns/{id}/resume", ManageCampaigns),
        route("POST", "/orgs/{org}/campaigns/{id}/complete", ManageCampaigns),
        route("POST", "/orgs/{org}/campaigns/{id}/archive", ManageCampaigns),
        route("GET", "/orgs/{org}/campaigns/{id}/prospects", UseWorkspace),
        route("POST", "/orgs/{org}/campaigns/{id}/prospects", ManageCampaigns)
            .json(json!({"source": {"kind": "ids", "ids": [ANY]}})),
        route("GET", "/orgs/{org}/campaigns/{id}/events", UseWorkspace),
        // -- calls (calls_api.rs)
        route("GET", "/orgs/{org}/calls", UseWorkspace),
        route("POST", "/orgs/{org}/calls", UseWorkspace)
            .json(json!({"to_number": "+33612345678", "agent_id": ANY})),
        route("GET", "/orgs/{org}/calls/{id}", UseWorkspace),
        route("POST", "/orgs/{org}/calls/{id}/hang-up", UseWorkspace),
        route("POST", "/orgs/{org}/calls/{id}/transfer", UseWorkspace),
        route("GET", "/orgs/{org}/calls/export.csv", UseWorkspace),
        route("GET", "/orgs/{org}/calls/events", UseWorkspace),
        route("GET", "/orgs/{org}/calls/{id}/events", UseWorkspace),
        route("POST", "/orgs/{org}/calls/{id}/outcome", UseWorkspace).json(json!({"outcome": "interested"})),
        route("POST", "/orgs/{org}/calls/{id}/turns", UseWorkspace).json(
            json!({"turns": [{"seq": 0, "speaker": "agent", "text": "Hello", "start_ms": 0, "end_ms": 900}]}),
        ),
        route("PATCH", "/orgs/{org}/calls/{id}/data", UseWorkspace).json(json!({"data": {"budget": "10k"}})),
        route("GET", "/orgs/{org}/calls/{id}/recording", UseWorkspace),
        route("GET", "/orgs/{org}/calls/{id}/recording/audio", UseWorkspace),
        route("POST", "/orgs/{org}/calls/{id}/listen", ListenToCalls),
        route("POST", "/orgs/{org}/calls/{id}/supervise", ListenToCalls).json(json!({"mode": "listen"})),
        route("GET", "/orgs/{org}/calls/live", ListenToCalls),
        route("POST", "/orgs/{org}/calls/rep", UseWorkspace).json(json!({"prospect_id": ANY})),
        route("GET", "/orgs/{org}/calls/rep/current", UseWorkspace),
        route("POST", "/orgs/{org}/calls/{id}/hold", UseWorkspace).json(json!({"hold": true})),
        route("GET", "/orgs/{org}/calls/{id}/analysis", UseWorkspace),
        route("PUT", "/orgs/{org}/calls/{id}/analysis", ManageCampaigns).json(json!({"analysis": {
            "summary": "s", "key_points": [], "sentiment": "neutral", "sentiment_score": 0.0,
            "suggested_outcome": null, "extracted": {}, "phases": []
        }})),
        // -- telephony (telephony_api.rs)
        route("GET", "/orgs/{org}/telephony", ManageSettings),
        route("PUT", "/orgs/{org}/telephony", ManageSettings)
            .json(json!({"default_caller_number": "+33612345678"})),
        route("POST", "/orgs/{org}/telephony/test", ManageSettings),
        route("GET", "/orgs/{org}/telephony/recordings", ManageSettings),
        route("PUT", "/orgs/{org}/telephony/recordings", ManageSettings).json(json!({"record_calls": false})),
        route("POST", "/orgs/{org}/telephony/recordings/test", ManageSettings),
        route("GET", "/orgs/{org}/telephony/trunks", UseWorkspace),
        route("POST", "/orgs/{org}/telephony/trunks", ManageSettings)
            .json(json!({"name": "Main", "address": "sip.example.com", "numbers": ["+33612345678"]})),
        route("DELETE", "/orgs/{org}/telephony/trunks/{id}", ManageSettings),
        // -- the copilot (copilot_api.rs)
        route("GET", "/orgs/{org}/scripts", UseWorkspace),
        route("POST", "/orgs/{org}/scripts", ManagePlaybook).json(script_input()),
        route("POST", "/orgs/{org}/scripts/generate", ManagePlaybook)
            .json(json!({"name": "Probe", "language": "en", "product": "Used cars"})),
        route("GET", "/orgs/{org}/scripts/{id}", UseWorkspace),
        route("PUT", "/orgs/{org}/scripts/{id}", ManagePlaybook).json(script_input()),
        route("DELETE", "/orgs/{org}/scripts/{id}", ManagePlaybook),
        route("GET", "/orgs/{org}/scripts/{id}/versions", UseWorkspace),
        route("GET", "/orgs/{org}/knowledge", UseWorkspace).query("q=price&limit=5"),
        route("POST", "/orgs/{org}/knowledge", UseWorkspace).json(knowledge_draft()),
        route("GET", "/orgs/{org}/knowledge/most-used", UseWorkspace),
        route("GET", "/orgs/{org}/knowledge/related", UseWorkspace).query("text=too%20expensive"),
        route("GET", "/orgs/{org}/knowledge/{id}", UseWorkspace),
        route("PUT", "/orgs/{org}/knowledge/{id}", ReviewKnowledge).on(ITEM).json(knowledge_draft()),
        route("POST", "/orgs/{org}/knowledge/{id}/review", ReviewKnowledge)
            .on(ITEM)
            .json(json!({"action": "approve", "expected_version": 1})),
        route("DELETE", "/orgs/{org}/knowledge/{id}", ReviewKnowledge).on(ITEM),
        route("POST", "/orgs/{org}/knowledge/{id}/usage", UseWorkspace).json(json!({"kind": "shown"})),
        route("GET", "/orgs/{org}/techniques", UseWorkspace).query("language=en&phase=opening"),
        route("POST", "/orgs/{org}/techniques/{id}/rating", UseWorkspace).json(json!({"rating": 5})),
        route("GET", "/orgs/{org}/copilot/queue", UseWorkspace),
        route("GET", "/orgs/{org}/prospects/{id}/brief", UseWorkspace).query("language=en"),
        route("GET", "/orgs/{org}/prospects/{id}/calls", UseWorkspace),
        route("POST", "/orgs/{org}/copilot/sessions", UseWorkspace)
            .json(json!({"prospect_id": ANY, "mode": "practice", "language": "en"})),
        route("GET", "/orgs/{org}/copilot/sessions/{id}", UseWorkspace),
        route("GET", "/orgs/{org}/copilot/sessions/{id}/analysis", UseWorkspace),
        route("PUT", "/orgs/{org}/copilot/sessions/{id}/analysis", ManageCampaigns).json(
            json!({"analysis": {
                "summary": "s", "key_points": [], "sentiment": "neutral", "sentiment_score": 0.0,
                "suggested_outcome": null, "extracted": {}, "phases": []
            }}),
        ),
        route("POST", "/orgs/{org}/copilot/sessions/{id}/transcript", UseWorkspace)
            .json(json!({"speaker": "prospect", "text": "Hello"})),
        route("POST", "/orgs/{org}/copilot/sessions/{id}/navigate", UseWorkspace).json(json!({"to": "next"})),
        route("POST", "/orgs/{org}/copilot/sessions/{id}/end", UseWorkspace)
            .json(json!({"outcome": "no_answer"})),
        route("POST", "/orgs/{org}/copilot/sessions/{id}/opt-out", UseWorkspace).json(json!({"seq": 1})),
        route("GET", "/orgs/{org}/copilot/sessions/{id}/events", UseWorkspace),
        // A WebSocket: without a real handshake the upgrade extractor refuses
        // (400) before the handler's own permission check could run.
        route("GET", "/orgs/{org}/copilot/sessions/{id}/audio", UseWorkspace).socket(),
    ]
}

/// One route and what the check needs to reach its permission.
struct Case {
    method: &'static str,
    /// Exactly as served (`server::rest::all_routes`), placeholders included.
    path: &'static str,
    needs: Permission,
    /// What fills the placeholder after `{org}` (`{id}`, `{user}`, `{phone}`).
    target: &'static str,
    /// Without the `?`.
    query: &'static str,
    body: Body,
}

enum Body {
    None,
    Json(Value),
    /// A raw upload: content type and text.
    Raw(&'static str, &'static str),
    /// Not a body: the route upgrades to a WebSocket and is reached with a real handshake.
    Socket,
}

fn route(method: &'static str, path: &'static str, needs: Permission) -> Case {
    Case { method, path, needs, target: ANY, query: "", body: Body::None }
}

impl Case {
    fn json(mut self, body: Value) -> Case {
        self.body = Body::Json(body);
        self
    }

    fn raw(mut self, content_type: &'static str, text: &'static str) -> Case {
        self.body = Body::Raw(content_type, text);
        self
    }

    fn socket(mut self) -> Case {
        self.body = Body::Socket;
        self
    }

    fn query(mut self, query: &'static str) -> Case {
        self.query = query;
        self
    }

    fn on(mut self, target: &'static str) -> Case {
        self.target = target;
        self
    }
}

async fn check_route(s: &Scene, case: &Case, failures: &mut Vec<String>) {
    let what = format!("{} {} (needs {})", case.method, case.path, case.needs.as_str());
    let got = s.send(case, Who::Session(&s.outsider)).await;
    refused(failures, &what, "a signed-in non-member", &got, 404, "not_found");
    let got = s.send(case, Who::Key(&s.other_key)).await;
    refused(failures, &what, "an API key of another organisation", &got, 404, "not_found");
    let got = s.send(case, Who::Key(&s.view_key)).await;
    if case.needs == Permission::ViewOrganization {
        let_through(failures, &what, "a view_organization-only API key", &got);
    } else {
        refused(failures, &what, "a view_organization-only API key", &got, 403, "forbidden");
    }
    let got = s.send(case, Who::Session(&s.member)).await;
    if Role::Member.allows(case.needs) {
        let_through(failures, &what, "a Member", &got);
    } else {
        refused(failures, &what, "a Member", &got, 403, "forbidden");
    }
}

fn is_org_scoped(path: &str) -> bool {
    path == "/orgs/{org}" || path.starts_with("/orgs/{org}/")
}

fn route_table_failures(cases: &[Case]) -> Vec<String> {
    let mut failures = Vec::new();
    let served: BTreeSet<(&str, &str)> =
        server::rest::all_routes().into_iter().filter(|(_, path)| is_org_scoped(path)).collect();
    let mut listed = BTreeSet::new();
    for c in cases {
        if !is_org_scoped(c.path) {
            failures.push(format!("rest_cases lists a route outside /orgs/{{org}}: {} {}", c.method, c.path));
        }
        if !listed.insert((c.method, c.path)) {
            failures.push(format!("rest_cases lists a route twice: {} {}", c.method, c.path));
        }
    }
    for (method, path) in served.difference(&listed) {
        failures.push(format!(
            "route served but missing from rest_cases (add it with the permission its service requires): {method} {path}"
        ));
    }
    for (method, path) in listed.difference(&served) {
        failures.push(format!("route in rest_cases but no longer served: {method} {path}"));
    }
    failures
}

// ---- server functions --------------------------------------------------------------

/// Registered server functions outside any organisation: sessions, sign-up,
/// invitations seen from the invitee's side, creating an organisation.
const NOT_ORG_SCOPED: &[&str] = &[
    "get_session",
    "login_options",
    "sign_up",
    "log_in",
    "log_out",
    "dev_login",
    "dev_login_users",
    "set_locale",
    "create_org",
    "invite_preview",
    "accept_invite",
    "accept_invite_new_user",
];

/// Called after every other function: a Member calling them really changes A.
const RUN_LAST: &[&str] = &["leave_org"];

/// Every organisation-scoped server function (all take `org_id`, added at
/// run time), with the permission its service requires and arguments that
/// decode (else the answer is `validation`, before authorization runs).
fn fn_cases() -> Vec<FnCase> {
    use Permission::*;
    let settings = agent_settings();
    vec![
        // -- organisations (features/orgs)
        form("rename_org", RenameOrganization, &[("name", "Renamed")]),
        form("switch_org", ViewOrganization, &[]),
        form("org_overview", ViewOrganization, &[]),
        // Anyone may leave: membership is all it takes.
        form("leave_org", ViewOrganization, &[]),
        // -- members and invitations (features/members)
        form("list_members", ViewMembers, &[]),
        form("change_role", ManageMemberRoles, &[("user_id", OWNER), ("role", "member")]),
        form("remove_member", RemoveMembers, &[("user_id", OWNER)]),
        form("invite_member", InviteMembers, &[("email", "newcomer@example.com"), ("role", "member")]),
        form("list_invitations", InviteMembers, &[]),
        form("revoke_invitation", RevokeInvitations, &[("invitation_id", ANY)]),
        form("resend_invitation", InviteMembers, &[("invitation_id", ANY)]),
        // -- audit log and API keys (features/audit, features/api_keys)
        form("audit_log", ViewAuditLog, &[]),
        form("list_api_keys", ManageApiKeys, &[]),
        json_fn(
            "create_api_key",
            ManageApiKeys,
            json!({"name": "Probe", "permissions": ["view_organization"]}),
        ),
        form("revoke_api_key", ManageApiKeys, &[("key_id", ANY)]),
        // -- provider settings (features/providers)
        form("list_provider_settings", ViewOrganization, &[]),
        form(
            "save_provider_settings",
            ManageProviderKeys,
            &[("provider", "openai"), ("api_key", "sk-probe"), ("base_url", ""), ("clear_key", "false")],
        ),
        form("remove_provider_settings", ManageProviderKeys, &[("provider", "openai")]),
        form("test_provider", ManageProviderKeys, &[("provider", "openai")]),
        form("list_voices", UseWorkspace, &[("provider", "cartesia")]),
        // -- agents and folders (features/agents)
        json_fn("list_agents", UseWorkspace, json!({"filter": {}})),
        form("list_agent_folders", UseWorkspace, &[]),
        form("create_agent_folder", ManageAgents, &[("name", "Probe")]),
        form("rename_agent_folder", ManageAgents, &[("folder_id", ANY), ("name", "Probe")]),
        form("delete_agent_folder", ManageAgents, &[("folder_id", ANY)]),
        form("get_agent", UseWorkspace, &[("agent_id", ANY)]),
        json_fn("create_agent", ManageAgents, json!({"folder_id": null, "settings": settings.clone()})),
        json_fn(
            "update_agent",
            ManageAgents,
            json!({"agent_id": ANY, "version": 1, "settings": settings.clone()}),
        ),
        form("set_agent_active", ManageAgents, &[("agent_id", ANY), ("active", "false")]),
        json_fn("move_agent", ManageAgents, json!({"agent_id": ANY, "folder_id": null})),
        form("duplicate_agent", ManageAgents, &[("agent_id", ANY)]),
        form("delete_agent", ManageAgents, &[("agent_id", ANY)]),
        // -- the playground (features/playground)
        form("start_conversation", UseWorkspace, &[("agent_id", ANY)]),
        form("get_conversation", UseWorkspace, &[("conversation_id", ANY)]),
        form("list_conversations", UseWorkspace, &[("agent_id", ANY)]),
        // -- analytics (features/analytics)
        json_fn("analytics_dashboard", ViewAnalytics, json!({"query": {}})),
        form("analytics_campaigns", UseWorkspace, &[]),
        // -- billing (features/billing)
        form("get_billing", ViewAnalytics, &[]),
        form("start_checkout", ManageBilling, &[("plan_id", "probe")]),
        form("open_portal", ManageBilling, &[]),
        json_fn("get_usage", ViewAnalytics, json!({"query": {}})),
        // -- campaigns (features/campaigns)
        form("list_campaigns", UseWorkspace, &[]),
        form("get_campaign", UseWorkspace, &[("campaign_id", ANY)]),
        json_fn(
            "create_campaign",
            ManageCampaigns,
            json!({"settings": {"name": "Probe", "agent_id": ANY, "concurrency": 1}}),
        ),
        json_fn(
            "edit_campaign",
            ManageCampaigns,
            json!({"campaign_id": ANY, "edit": {"name": "Probe", "agent_id": ANY, "concurrency": 1, "version": 1}}),
        ),
        json_fn("act_on_campaign", ManageCampaigns, json!({"campaign_id": ANY, "action": "pause"})),
        json_fn(
            "add_campaign_prospects",
            ManageCampaigns,
            json!({"campaign_id": ANY, "add": {"source": {"kind": "ids", "ids": [ANY]}}}),
        ),
        form("campaign_prospects", UseWorkspace, &[("campaign_id", ANY)]),
        // -- calls and telephony (features/calls, features/telephony)
        json_fn("list_calls", UseWorkspace, json!({"params": {}})),
        form("get_call", UseWorkspace, &[("call_id", ANY)]),
        form("hang_up_call", UseWorkspace, &[("call_id", ANY)]),
        form("transfer_call", UseWorkspace, &[("call_id", ANY)]),
        json_fn(
            "set_call_outcome",
            UseWorkspace,
            json!({"call_id": ANY, "report": {"outcome": "interested"}}),
        ),
        form("place_call", UseWorkspace, &[("prospect_id", ANY), ("agent_id", ANY), ("key", "probe-1")]),
        form("prospect_calls", UseWorkspace, &[("prospect_id", ANY)]),
        form("voice_agents", UseWorkspace, &[]),
        form("list_trunks", UseWorkspace, &[]),
        form("get_telephony", ManageSettings, &[]),
        json_fn("save_telephony", ManageSettings, json!({"change": {}})),
        form("test_telephony", ManageSettings, &[]),
        form("get_recordings", ManageSettings, &[]),
        json_fn("save_recordings", ManageSettings, json!({"change": {}})),
        form("test_recordings", ManageSettings, &[]),
        form("call_recording", UseWorkspace, &[("call_id", ANY)]),
        form("listen_call", ListenToCalls, &[("call_id", ANY)]),
        form("supervise_call", ListenToCalls, &[("call_id", ANY), ("mode", "listen")]),
        form("live_calls", ListenToCalls, &[]),
        json_fn("rep_call", UseWorkspace, json!({"req": {"prospect_id": ANY}})),
        form("rep_current_call", UseWorkspace, &[]),
        form("rep_hold", UseWorkspace, &[("call_id", ANY), ("hold", "true"), ("music", "false")]),
        json_fn("get_analysis", UseWorkspace, json!({"of": {"kind": "call", "id": ANY}})),
        json_fn(
            "edit_analysis",
            ManageCampaigns,
            json!({"of": {"kind": "session", "id": ANY}, "analysis": {
                "summary": "s", "key_points": [], "sentiment": "neutral", "sentiment_score": 0.0,
                "suggested_outcome": null, "extracted": {}, "phases": []
            }}),
        ),
        json_fn(
            "create_trunk",
            ManageSettings,
            json!({"trunk": {"name": "Probe", "address": "93.184.216.34", "numbers": ["+33187654321"]}}),
        ),
        form("delete_trunk", ManageSettings, &[("trunk_id", ANY)]),
        // -- prospects (features/prospects)
        json_fn("list_prospects", UseWorkspace, json!({"query": {}})),
        form("get_prospect", UseWorkspace, &[("prospect_id", ANY)]),
        json_fn(
            "create_prospect",
            UseWorkspace,
            json!({"input": {"first_name": "Bea", "phone": "+33612345602"}}),
        ),
        json_fn(
            "update_prospect",
            LiftCallRestrictions,
            json!({"prospect_id": PROSPECT, "patch": {"do_not_call": false}}),
        ),
        json_fn(
            "bulk_prospects",
            DeleteProspects,
            json!({"selection": {"kind": "ids", "ids": [ANY]}, "action": {"action": "delete"}}),
        ),
        form("undo_delete_prospects", DeleteProspects, &[("token", ANY)]),
        form("prospect_notes", UseWorkspace, &[("prospect_id", ANY)]),
        form("add_prospect_note", UseWorkspace, &[("prospect_id", ANY), ("body", "Called back")]),
        form("prospect_activity", UseWorkspace, &[("prospect_id", ANY)]),
        form("prospect_consents", UseWorkspace, &[("prospect_id", ANY)]),
        json_fn(
            "add_prospect_consent",
            UseWorkspace,
            json!({"prospect_id": ANY, "input": {"source": "Web form", "method": "verbal"}}),
        ),
        form("list_custom_fields", UseWorkspace, &[]),
        json_fn("create_custom_field", ManageSettings, json!({"def": custom_field()})),
        form("delete_custom_field", ManageSettings, &[("field_id", ANY)]),
        form("prospect_tags", UseWorkspace, &[]),
        json_fn("import_dry_run", UseWorkspace, json!({"import_id": ANY, "options": {"mapping": []}})),
        json_fn(
            "import_start",
            ManageSettings,
            json!({"import_id": ANY, "options": import_creating_a_field()}),
        ),
        form("import_job", UseWorkspace, &[("import_id", ANY)]),
        form("import_jobs", UseWorkspace, &[]),
        form("list_dnc", UseWorkspace, &[("search", "")]),
        form("add_dnc", UseWorkspace, &[("phone", "+33612345606"), ("reason", "Asked")]),
        form("remove_dnc", LiftCallRestrictions, &[("phone", "+33612345678")]),
        form("get_compliance", UseWorkspace, &[]),
        json_fn("set_compliance", ManageSettings, json!({"settings": compliance_settings()})),
        form("list_saved_views", UseWorkspace, &[]),
        json_fn("save_view", UseWorkspace, json!({"view": {"name": "Mine", "query": {}, "columns": []}})),
        form("delete_view", UseWorkspace, &[("view_id", ANY)]),
        // The owner picker lists the members.
        form("prospect_owners", ViewMembers, &[]),
        // -- the copilot (features/copilot)
        form("copilot_queue", UseWorkspace, &[]),
        form(
            "copilot_brief",
            UseWorkspace,
            &[("prospect_id", ANY), ("language", "en"), ("refresh", "false")],
        ),
        form("copilot_call_history", UseWorkspace, &[("prospect_id", ANY)]),
        form(
            "copilot_start",
            UseWorkspace,
            &[("prospect_id", ANY), ("mode", "practice"), ("language", "en")],
        ),
        form("copilot_session", UseWorkspace, &[("session_id", ANY)]),
        form("copilot_say", UseWorkspace, &[("session_id", ANY), ("speaker", "prospect"), ("text", "Hello")]),
        form("copilot_opt_out", UseWorkspace, &[("session_id", ANY), ("seq", "1")]),
        json_fn("copilot_navigate", UseWorkspace, json!({"session_id": ANY, "to": "Next"})),
        json_fn("copilot_end", UseWorkspace, json!({"session_id": ANY, "report": {"outcome": "no_answer"}})),
        form("list_scripts", UseWorkspace, &[]),
        form("get_script", UseWorkspace, &[("script_id", ANY)]),
        form("script_versions", UseWorkspace, &[("script_id", ANY)]),
        json_fn("save_script", ManagePlaybook, json!({"script_id": null, "input": script_input()})),
        json_fn(
            "generate_script",
            ManagePlaybook,
            json!({"request": {
                "name": "Probe", "language": "en", "product": "Used cars", "prospect_id": null, "technique_ids": []
            }}),
        ),
        json_fn("list_knowledge", UseWorkspace, json!({"query": {}})),
        form("most_used_knowledge", UseWorkspace, &[]),
        form("related_knowledge", UseWorkspace, &[("text", "too expensive")]),
        // Editing someone else's item (an `item_id`): a reviewer's act.
        json_fn("save_knowledge", ReviewKnowledge, json!({"item_id": ITEM, "draft": knowledge_draft()})),
        json_fn(
            "review_knowledge",
            ReviewKnowledge,
            json!({"item_id": ITEM, "action": {"action": "approve", "expected_version": 1}}),
        ),
        form("knowledge_usage", UseWorkspace, &[("item_id", ANY), ("kind", "shown")]),
        form("delete_knowledge", ReviewKnowledge, &[("item_id", ITEM)]),
        form("list_techniques", UseWorkspace, &[("language", "en")]),
        form("rate_technique", UseWorkspace, &[("technique_id", ANY), ("rating", "5")]),
    ]
}

/// One server function and arguments that decode (without `org_id`).
struct FnCase {
    name: &'static str,
    needs: Permission,
    args: Args,
}

enum Args {
    /// Form-encoded (the default input encoding).
    Form(Vec<(&'static str, &'static str)>),
    /// For functions declared with `input = Json`.
    Json(Value),
}

fn form(name: &'static str, needs: Permission, args: &[(&'static str, &'static str)]) -> FnCase {
    FnCase { name, needs, args: Args::Form(args.to_vec()) }
}

fn json_fn(name: &'static str, needs: Permission, args: Value) -> FnCase {
    FnCase { name, needs, args: Args::Json(args) }
}

/// Server functions are reached through a session only (a bearer request
/// has its cookies stripped), so cases 3 and 4 have no counterpart here.
async fn check_fn(s: &Scene, case: &FnCase, failures: &mut Vec<String>) {
    let what = format!("server fn {} (needs {})", case.name, case.needs.as_str());
    let got = s.call(case, &s.outsider).await;
    if code(&got) != Some("not_found") {
        failures.push(format!(
            "{what} as a signed-in non-member: expected Err(\"not_found\"), got {}",
            show(&got)
        ));
    }
    let got = s.call(case, &s.member).await;
    if !Role::Member.allows(case.needs) {
        if code(&got) != Some("forbidden") {
            failures.push(format!("{what} as a Member: expected Err(\"forbidden\"), got {}", show(&got)));
        }
    } else if matches!(code(&got), Some("forbidden" | "unauthenticated" | "internal")) {
        // Random ids make `not_found` a fair answer once authorized.
        failures.push(format!("{what} as a Member: expected to pass authorization, got {}", show(&got)));
    }
}

fn fn_table_failures(cases: &[FnCase]) -> Vec<String> {
    let mut failures = Vec::new();
    let registered: BTreeSet<&str> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.strip_prefix("/api/").unwrap_or(path))
        .collect();
    let mut listed = BTreeSet::new();
    for name in cases.iter().map(|c| c.name).chain(NOT_ORG_SCOPED.iter().copied()) {
        if !listed.insert(name) {
            failures.push(format!("server function listed twice (fn_cases, NOT_ORG_SCOPED): {name}"));
        }
    }
    for name in registered.difference(&listed) {
        failures.push(format!(
            "server function registered but in neither fn_cases (with the permission its service requires) \
             nor NOT_ORG_SCOPED: {name}"
        ));
    }
    for name in listed.difference(&registered) {
        failures.push(format!("server function listed but no longer registered: {name}"));
    }
    failures
}

// ---- the scene -----------------------------------------------------------------------

/// Organisation A with its owner, a Member, two fixtures of the owner's; an
/// outsider who owns organisation B; and the two keys.
struct Scene {
    base: String,
    /// Organisation A, the one every case targets.
    org: String,
    owner_id: String,
    prospect: String,
    item: String,
    member: Client,
    outsider: Client,
    /// B's key, granted everything an Admin may give a key.
    other_key: String,
    /// A's key, granted `view_organization` only.
    view_key: String,
    /// For key requests: no cookie jar.
    bare: reqwest::Client,
}

const TIMEOUT: Duration = Duration::from_secs(20);

/// A caller of a REST route.
#[derive(Clone, Copy)]
enum Who<'a> {
    Session(&'a Client),
    Key(&'a str),
}

impl Scene {
    async fn new(app: &TestApp) -> Scene {
        let owner = app.client().await;
        owner.sign_up("Olivia", "olivia@example.com", GOOD_PASSWORD).await.expect("the owner signs up");
        let org = owner.create_org("Acme").await;
        let owner_id = owner.session().await["user"]["id"].as_str().expect("the owner's id").to_string();
        let (member, _) = owner.invite_new_user(app, &org, "Remy", "remy@example.com", "member").await;

        let outsider = app.client().await;
        outsider.sign_up("Bob", "bob@example.com", GOOD_PASSWORD).await.expect("the outsider signs up");
        let org_b = outsider.create_org("Bobco").await;
        let other_key = api_key(&outsider, &org_b, "Everything B may grant", &admin_grant()).await;
        let view_key = api_key(&owner, &org, "Viewer", &["view_organization"]).await;

        let prospect = created(
            &owner,
            &format!("/orgs/{org}/prospects"),
            json!({"first_name": "Paul", "last_name": "Roux", "phone": "+33612345699", "do_not_call": true}),
        )
        .await;
        let item = created(&owner, &format!("/orgs/{org}/knowledge"), knowledge_draft()).await;
        let review = format!("/orgs/{org}/knowledge/{item}/review");
        let (status, submitted) = owner.rest(Method::POST, &review, Some(json!({"action": "submit"}))).await;
        assert_eq!(status, 200, "submit the fixture: {submitted}");
        let decision = json!({"action": "approve", "expected_version": submitted["version"]});
        let (status, approved) = owner.rest(Method::POST, &review, Some(decision)).await;
        assert_eq!(status, 200, "approve the fixture: {approved}");
        let bare = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Scene {
            base: app.base.clone(),
            org,
            owner_id,
            prospect,
            item,
            member,
            outsider,
            other_key,
            view_key,
            bare,
        }
    }

    /// Fills the placeholders; each call draws a new random id.
    fn fill(&self, text: &str) -> String {
        text.replace(ANY, &Uuid::now_v7().to_string())
            .replace(OWNER, &self.owner_id)
            .replace(PROSPECT, &self.prospect)
            .replace(ITEM, &self.item)
    }

    /// The route's path in A, its second placeholder filled with the case's target.
    fn path_of(&self, case: &Case) -> String {
        case.path
            .split('/')
            .map(|segment| match segment {
                "{org}" => self.org.clone(),
                s if s.starts_with('{') => self.fill(case.target),
                s => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    async fn send(&self, case: &Case, who: Who<'_>) -> Answer {
        let mut path = self.path_of(case);
        if !case.query.is_empty() {
            path = format!("{path}?{}", case.query);
        }
        if matches!(case.body, Body::Socket) {
            return self.handshake(&path, who).await;
        }
        let Ok(method) = Method::from_bytes(case.method.as_bytes()) else {
            return Answer::failed(format!("{} is not an HTTP method", case.method));
        };
        let url = format!("{}/api/v1{path}", self.base);
        let mut req = match who {
            Who::Session(c) => c.http.request(method, url).header("x-csrf-token", &c.csrf),
            // No cookie, no CSRF token: the key alone, as an integration sends it.
            Who::Key(key) => self.bare.request(method, url).header("authorization", format!("Bearer {key}")),
        };
        match &case.body {
            Body::None | Body::Socket => {}
            Body::Json(body) => {
                req = req.header("content-type", "application/json").body(self.fill(&body.to_string()));
            }
            Body::Raw(content_type, text) => req = req.header("content-type", *content_type).body(*text),
        }
        match req.send().await {
            Ok(res) => {
                let status = res.status().as_u16();
                Answer::new(status, res.text().await.unwrap_or_default(), false)
            }
            Err(e) => Answer::failed(format!("request failed: {e}")),
        }
    }

    /// A real WebSocket handshake: refusals come back as plain HTTP answers.
    async fn handshake(&self, path: &str, who: Who<'_>) -> Answer {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        use tokio_tungstenite::tungstenite::Error;
        let url = format!("{}/api/v1{path}", self.base.replacen("http://", "ws://", 1));
        let mut req = match url.into_client_request() {
            Ok(req) => req,
            Err(e) => return Answer::failed(format!("no WebSocket request for {path}: {e}")),
        };
        let (name, value) = match who {
            Who::Session(c) => ("cookie", c.http_cookie_header(&self.base)),
            Who::Key(key) => ("authorization", format!("Bearer {key}")),
        };
        req.headers_mut().insert(name, value.parse().expect("a valid header value"));
        match tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(req)).await {
            Err(_) => Answer::failed("the WebSocket handshake timed out".into()),
            // Upgraded: dropping the socket closes it.
            Ok(Ok(_socket)) => Answer::new(101, String::new(), false),
            Ok(Err(Error::Http(res))) => {
                let body = res
                    .body()
                    .as_deref()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .unwrap_or_default();
                Answer::new(res.status().as_u16(), body, true)
            }
            Ok(Err(e)) => Answer::failed(format!("the WebSocket handshake failed: {e}")),
        }
    }

    async fn call(&self, case: &FnCase, c: &Client) -> FnResult {
        match &case.args {
            Args::Form(pairs) => {
                let filled: Vec<(&str, String)> = std::iter::once(("org_id", self.org.clone()))
                    .chain(pairs.iter().map(|(k, v)| (*k, self.fill(v))))
                    .collect();
                let form: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
                c.call(case.name, &form).await
            }
            Args::Json(args) => {
                let mut args = args.clone();
                args["org_id"] = json!(self.org);
                let args: Value =
                    serde_json::from_str(&self.fill(&args.to_string())).expect("filled arguments are JSON");
                c.call_json(case.name, args).await
            }
        }
    }
}

/// Creates an API key through the server function; its secret.
async fn api_key(c: &Client, org: &str, name: &str, permissions: &[&str]) -> String {
    let out = c
        .call_json("create_api_key", json!({"org_id": org, "name": name, "permissions": permissions}))
        .await
        .unwrap_or_else(|e| panic!("create_api_key {name:?}: {e}"));
    out["secret"].as_str().expect("the key's secret").to_string()
}

/// Everything an Admin may grant a key: the broadest key that is not an owner's.
fn admin_grant() -> Vec<&'static str> {
    Permission::ALL
        .into_iter()
        .filter(|p| p.grantable_to_keys() && Role::Admin.allows(*p))
        .map(Permission::as_str)
        .collect()
}

/// POSTs as `c` and returns the created row's id.
async fn created(c: &Client, path: &str, body: Value) -> String {
    let (status, out) = c.rest(Method::POST, path, Some(body)).await;
    assert_eq!(status, 201, "POST {path}: {out}");
    out["id"].as_str().expect("the created row's id").to_string()
}

// ---- sample bodies ------------------------------------------------------------------

/// A complete, valid chat agent: built from the domain's own default so the
/// sample follows the struct when fields are added.
fn agent_settings() -> Value {
    let mut settings = AgentSettings::new_default(AgentKind::Chat, "en");
    settings.name = "Probe".into();
    serde_json::to_value(settings).expect("agent settings are JSON")
}

/// Decodes; its empty phases are refused only after the permission check.
fn script_input() -> Value {
    json!({"name": "Probe", "language": "en", "content": {"phases": []}})
}

/// A valid draft (a pricing tip has no required fields): the draft is
/// checked before an edit's permission is.
fn knowledge_draft() -> Value {
    json!({"kind": "pricing_tip", "title": "Spring offer", "body": "Ten percent off until May"})
}

fn custom_field() -> Value {
    json!({"key": "industry", "label": "Industry", "type": "string"})
}

fn import_creating_a_field() -> Value {
    json!({"mapping": [], "new_fields": [custom_field()]})
}

fn compliance_settings() -> Value {
    json!({"window_start_minute": 480, "window_end_minute": 1260, "default_region": null})
}

// ---- answers and expectations ---------------------------------------------------------

/// A REST answer: status, the `code` of its JSON error body if any, the body.
struct Answer {
    status: u16,
    code: Option<String>,
    body: String,
    /// Only part of the body may have been read (a refused WebSocket
    /// handshake): a missing code is then no evidence against the status.
    body_partial: bool,
}

impl Answer {
    fn new(status: u16, body: String, body_partial: bool) -> Answer {
        let code = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("code")?.as_str().map(str::to_string));
        let body_partial = body_partial && code.is_none();
        Answer { status, code, body, body_partial }
    }

    /// No HTTP answer at all (status 0).
    fn failed(why: String) -> Answer {
        Answer { status: 0, code: None, body: why, body_partial: false }
    }
}

fn refused(failures: &mut Vec<String>, what: &str, who: &str, got: &Answer, status: u16, code: &str) {
    let code_ok = got.code.as_deref() == Some(code) || (got.code.is_none() && got.body_partial);
    if got.status != status || !code_ok {
        failures.push(format!(
            "{what} as {who}: expected {status} {code}, got {} {}",
            got.status,
            brief(&got.body)
        ));
    }
}

/// Past authorization: anything but a refusal of the caller or a crash
/// (random ids make `404` a fair answer).
fn let_through(failures: &mut Vec<String>, what: &str, who: &str, got: &Answer) {
    if matches!(got.status, 0 | 401 | 403) || got.status >= 500 {
        failures.push(format!(
            "{what} as {who}: expected to pass authorization, got {} {}",
            got.status,
            brief(&got.body)
        ));
    }
}

fn code(r: &FnResult) -> Option<&str> {
    r.as_ref().err().map(String::as_str)
}

fn show(r: &FnResult) -> String {
    match r {
        Ok(v) => format!("Ok({})", brief(&v.to_string())),
        Err(code) => format!("Err({code:?})"),
    }
}

fn brief(text: &str) -> String {
    const MAX: usize = 300;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}
