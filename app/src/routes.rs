use leptos::prelude::*;
use leptos_router::components::{ParentRoute, Redirect, Route, Routes};
use leptos_router::path;

use crate::features::{
    account, agents, audit, auth, gallery, invitations, members, orgs, playground, prospects, providers,
};
use crate::i18n::{t, use_i18n};
use crate::shell::AppLayout;

#[component]
pub fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=NotFound>
            <Route path=path!("/") view=|| view! { <Redirect path="/app"/> }/>
            <Route path=path!("/login") view=auth::pages::LoginPage/>
            <Route path=path!("/signup") view=auth::pages::SignupPage/>
            <Route path=path!("/dev-login") view=auth::pages::DevLoginPage/>
            <Route path=path!("/invite/:token") view=invitations::pages::InvitePage/>
            <Route path=path!("/dev/gallery") view=gallery::pages::GalleryPage/>
            <ParentRoute path=path!("/app") view=AppLayout>
                <Route path=path!("") view=orgs::pages::DashboardPage/>
                <Route path=path!("orgs/new") view=orgs::pages::NewOrgPage/>
                <Route path=path!("settings") view=orgs::pages::OrgSettingsPage/>
                <Route path=path!("settings/providers") view=providers::pages::ProvidersPage/>
                <Route path=path!("agents") view=agents::pages::AgentsPage/>
                <Route path=path!("agents/new") view=agents::editor::AgentEditorPage/>
                <Route path=path!("agents/:id") view=agents::editor::AgentEditorPage/>
                <Route path=path!("agents/:id/playground") view=playground::pages::PlaygroundPage/>
                <Route path=path!("prospects") view=prospects::pages::ProspectsPage/>
                <Route path=path!("prospects/import") view=prospects::import_page::ImportPage/>
                <Route path=path!("prospects/:id") view=prospects::detail::ProspectPage/>
                <Route path=path!("settings/prospects") view=prospects::settings::ProspectSettingsPage/>
                <Route path=path!("members") view=members::pages::MembersPage/>
                <Route path=path!("audit") view=audit::pages::AuditPage/>
                <Route path=path!("account") view=account::pages::AccountPage/>
            </ParentRoute>
        </Routes>
    }
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
