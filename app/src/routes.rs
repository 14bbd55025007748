//! The route table. The signed-in shell (`AppLayout`), the dashboard and the
//! SDR copilot are in the main wasm bundle: they are what every visit starts
//! with (the copilot is where reps spend the day, and as a lazy route its
//! code shared with other pages came as ~250 tiny chunks: 1.6 s to hydrate
//! on loopback instead of ~0.4 s). Every other page is a lazy route: with `cargo leptos build --split` its code is
//! cut into its own chunk, fetched when the page is first visited (and
//! preloaded by a `modulepreload` link when the server renders that page),
//! so the first load does not pay for the prospects table, the agent editor
//! or the playground. Without `--split` the same routes simply load eagerly.

use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Routes};
use leptos_router::{path, Lazy, LazyRoute, SsrMode};

use crate::features::{
    account, agents, analytics, api_keys, audit, auth, billing, calls, campaigns, copilot, gallery,
    invitations, members, orgs, playground, prospects, providers, telephony,
};
use crate::i18n::{t, use_i18n};
use crate::shell::AppLayout;

#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=NotFound>
            <Route path=path!("/") view=|| view! { <Redirect path="/app"/> }/>
            <Route path=path!("/login") view={Lazy::<LoginRoute>::new()}/>
            <Route path=path!("/signup") view={Lazy::<SignupRoute>::new()}/>
            <Route path=path!("/dev-login") view={Lazy::<DevLoginRoute>::new()}/>
            <Route path=path!("/invite/:token") view={Lazy::<InviteRoute>::new()}/>
            <Route path=path!("/dev/gallery") view={Lazy::<GalleryRoute>::new()}/>
            // Async for every signed-in page: the layout awaits the session
            // in a top-level `Suspend`, and out-of-order streaming would swap
            // it in with an inline script that Leptos 0.8 emits without the
            // page's CSP nonce (tachys `reactive_graph/suspense.rs`), which
            // the policy then blocks. Pages' data are indexed queries, so
            // the finished page in one piece costs no visible latency.
            <ParentRoute path=path!("/app") view=AppLayout ssr=SsrMode::Async>
                // Async: the dashboard's data is two indexed queries (~1 ms), so
                // the server answers with the finished page in one piece: no
                // skeleton, no out-of-order <template> swaps, ~15 % less HTML
                // and less render work per view (see `scripts/bench`).
                <Route path=path!("") view=orgs::pages::DashboardPage ssr=SsrMode::Async/>
                <Route path=path!("orgs/new") view={Lazy::<NewOrgRoute>::new()}/>
                <Route path=path!("settings") view={Lazy::<OrgSettingsRoute>::new()}/>
                <Route path=path!("settings/providers") view={Lazy::<ProvidersRoute>::new()}/>
                <Route path=path!("settings/api-keys") view={Lazy::<ApiKeysRoute>::new()}/>
                <Route path=path!("agents") view={Lazy::<AgentsRoute>::new()}/>
                <Route path=path!("agents/new") view={Lazy::<AgentEditorRoute>::new()}/>
                <Route path=path!("agents/:id") view={Lazy::<AgentEditorRoute>::new()}/>
                <Route path=path!("agents/:id/playground") view={Lazy::<PlaygroundRoute>::new()}/>
                <Route path=path!("prospects") view={Lazy::<ProspectsRoute>::new()}/>
                <Route path=path!("prospects/import") view={Lazy::<ImportRoute>::new()}/>
                <Route path=path!("prospects/:id") view={Lazy::<ProspectRoute>::new()}/>
                <Route path=path!("settings/prospects") view={Lazy::<ProspectSettingsRoute>::new()}/>
                <Route path=path!("settings/telephony") view={Lazy::<TelephonyRoute>::new()}/>
                <Route path=path!("analytics") view={Lazy::<AnalyticsRoute>::new()}/>
                <Route path=path!("billing") view={Lazy::<BillingRoute>::new()}/>
                <Route path=path!("usage") view={Lazy::<UsageRoute>::new()}/>
                <Route path=path!("campaigns") view={Lazy::<CampaignsRoute>::new()}/>
                <Route path=path!("campaigns/:id") view={Lazy::<CampaignRoute>::new()}/>
                <Route path=path!("calls") view={Lazy::<CallsRoute>::new()}/>
                <Route path=path!("calls/live") view={Lazy::<LiveCallsRoute>::new()}/>
                <Route path=path!("calls/:id") view={Lazy::<CallRoute>::new()}/>
                <Route path=path!("copilot") view=copilot::dashboard::CopilotPage/>
                <Route path=path!("knowledge") view={Lazy::<KnowledgeRoute>::new()}/>
                <Route path=path!("scripts") view={Lazy::<ScriptsRoute>::new()}/>
                <Route path=path!("scripts/new") view={Lazy::<ScriptEditorRoute>::new()}/>
                <Route path=path!("scripts/:id") view={Lazy::<ScriptEditorRoute>::new()}/>
                <Route path=path!("members") view={Lazy::<MembersRoute>::new()}/>
                <Route path=path!("audit") view={Lazy::<AuditRoute>::new()}/>
                <Route path=path!("account") view={Lazy::<AccountRoute>::new()}/>
            </ParentRoute>
        </Routes>
    }
}

/// Declares a lazy route rendering one page component. The pages load their
/// own data (resources in the component), so the route's data half is empty.
/// Each page is its own wasm chunk where the bundle is split (the `split`
/// feature: release builds through `cargo leptos … --split`); scripts/dev's
/// unsplit bundle holds them all, behind the same routes.
macro_rules! lazy_page {
    ($($route:ident => $($module:ident)::+, $page:ident;)*) => {$(
        struct $route;

        #[cfg(feature = "split")]
        #[leptos_router::lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                use $($module)::+::$page;
                view! { <$page/> }.into_any()
            }
        }

        #[cfg(not(feature = "split"))]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                use $($module)::+::$page;
                view! { <$page/> }.into_any()
            }
        }
    )*};
}

lazy_page! {
    LoginRoute => auth::pages, LoginPage;
    SignupRoute => auth::pages, SignupPage;
    DevLoginRoute => auth::pages, DevLoginPage;
    InviteRoute => invitations::pages, InvitePage;
    GalleryRoute => gallery::pages, GalleryPage;
    NewOrgRoute => orgs::pages, NewOrgPage;
    OrgSettingsRoute => orgs::pages, OrgSettingsPage;
    ProvidersRoute => providers::pages, ProvidersPage;
    ApiKeysRoute => api_keys::pages, ApiKeysPage;
    AgentsRoute => agents::pages, AgentsPage;
    AgentEditorRoute => agents::editor, AgentEditorPage;
    PlaygroundRoute => playground::pages, PlaygroundPage;
    ProspectsRoute => prospects::list, ProspectsPage;
    ImportRoute => prospects::import_page, ImportPage;
    ProspectRoute => prospects::detail, ProspectPage;
    ProspectSettingsRoute => prospects::settings, ProspectSettingsPage;
    TelephonyRoute => telephony::pages, TelephonyPage;
    AnalyticsRoute => analytics::page, AnalyticsPage;
    BillingRoute => billing::page, BillingPage;
    UsageRoute => billing::usage, UsagePage;
    CampaignsRoute => campaigns::list, CampaignsPage;
    CampaignRoute => campaigns::detail, CampaignPage;
    CallsRoute => calls::list, CallsPage;
    LiveCallsRoute => calls::live, LiveCallsPage;
    CallRoute => calls::detail, CallPage;
    KnowledgeRoute => copilot::knowledge, KnowledgePage;
    ScriptsRoute => copilot::scripts, ScriptsPage;
    ScriptEditorRoute => copilot::scripts, ScriptEditorPage;
    MembersRoute => members::pages, MembersPage;
    AuditRoute => audit::pages, AuditPage;
    AccountRoute => account::pages, AccountPage;
}

#[component]
fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <div class="flex min-h-screen flex-col items-center justify-center gap-2 p-8 text-center">
            <h1 class="text-2xl font-bold">{t!(i18n, notfound.title)}</h1>
            <p class="text-slate-500">{t!(i18n, notfound.body)}</p>
            <a href="/app" class="mt-4 text-indigo-600 hover:underline">{t!(i18n, notfound.home)}</a>
        </div>
    }
}
