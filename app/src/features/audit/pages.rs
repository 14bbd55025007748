use leptos::prelude::*;

use super::types::{ActorDto, AuditEntryDto};
use crate::features::auth::session::use_current_org;
use crate::i18n::{error_message, t, t_string, use_i18n, use_locale, Locale};
use crate::ui::{Card, Column, DataTable, EmptyState, FormError, Skeleton};
use leptos_i18n::I18nContext;

fn action_label(i18n: I18nContext<Locale>, action: &str) -> String {
    match action {
        "org.created" => t_string!(i18n, audit.org_created).to_string(),
        "org.renamed" => t_string!(i18n, audit.org_renamed).to_string(),
        "member.invited" => t_string!(i18n, audit.member_invited).to_string(),
        "invite.resent" => t_string!(i18n, audit.invite_resent).to_string(),
        "invite.revoked" => t_string!(i18n, audit.invite_revoked).to_string(),
        "member.joined" => t_string!(i18n, audit.member_joined).to_string(),
        "member.role_changed" => t_string!(i18n, audit.member_role_changed).to_string(),
        "member.removed" => t_string!(i18n, audit.member_removed).to_string(),
        "member.left" => t_string!(i18n, audit.member_left).to_string(),
        "api_key.created" => t_string!(i18n, audit.api_key_created).to_string(),
        "api_key.revoked" => t_string!(i18n, audit.api_key_revoked).to_string(),
        "campaign.created" => t_string!(i18n, audit.campaign_created).to_string(),
        "campaign.updated" => t_string!(i18n, audit.campaign_updated).to_string(),
        "campaign.prospects_added" => t_string!(i18n, audit.campaign_prospects_added).to_string(),
        "campaign.started" => t_string!(i18n, audit.campaign_started).to_string(),
        "campaign.paused" => t_string!(i18n, audit.campaign_paused).to_string(),
        "campaign.resumed" => t_string!(i18n, audit.campaign_resumed).to_string(),
        "campaign.completed" => t_string!(i18n, audit.campaign_completed).to_string(),
        "campaign.archived" => t_string!(i18n, audit.campaign_archived).to_string(),
        "campaign.paused_by_dialer" => t_string!(i18n, audit.campaign_paused_by_dialer).to_string(),
        "campaign.completed_by_dialer" => t_string!(i18n, audit.campaign_completed_by_dialer).to_string(),
        "call.analysis_edited" => t_string!(i18n, audit.analysis_edited).to_string(),
        other => other.to_string(),
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    let entries = Resource::new(move || org_id, super::api::audit_log);
    let columns = vec![
        Column::new(
            Signal::derive(move || t_string!(i18n, audit.col_when).to_string()),
            move |e: &AuditEntryDto| {
                let at = e.at;
                view! { {move || crate::format::datetime(locale.get(), at)} }.into_any()
            },
        )
        .sortable(|a: &AuditEntryDto, b: &AuditEntryDto| a.at.cmp(&b.at)),
        Column::new(
            Signal::derive(move || t_string!(i18n, audit.col_action).to_string()),
            move |e: &AuditEntryDto| {
                let a = e.action.clone();
                view! { {move || action_label(i18n, &a)} }.into_any()
            },
        )
        .sortable(|a: &AuditEntryDto, b: &AuditEntryDto| a.action.cmp(&b.action)),
        Column::new(
            Signal::derive(move || t_string!(i18n, audit.col_actor).to_string()),
            move |e: &AuditEntryDto| {
                let actor = e.actor.clone();
                view! { {move || match actor.clone() {
                    Some(ActorDto::Person(email)) => email,
                    Some(ActorDto::ApiKey(key)) => t_string!(i18n, audit.actor_api_key, name = key).to_string(),
                    Some(ActorDto::System(job)) => t_string!(i18n, audit.actor_system, name = job).to_string(),
                    None => String::new(),
                }} }
                .into_any()
            },
        ),
        Column::new(
            Signal::derive(move || t_string!(i18n, audit.col_target).to_string()),
            |e: &AuditEntryDto| view! { {e.target.clone().unwrap_or_default()} }.into_any(),
        ),
        Column::new(
            Signal::derive(move || t_string!(i18n, audit.col_details).to_string()),
            |e: &AuditEntryDto| {
                view! { <span class="text-xs text-slate-500">{e.details.clone()}</span> }.into_any()
            },
        ),
    ];
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">{t!(i18n, audit.title)}</h1>
            <Card>
                <Suspense fallback=|| view! { <Skeleton lines=5/> }>
                    {move || entries.get().map(|r| match r {
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(error_message(i18n, e.code)))/> }.into_any(),
                        Ok(list) if list.is_empty() => view! { <EmptyState title=Signal::derive(move || t_string!(i18n, audit.empty).to_string())/> }.into_any(),
                        Ok(list) => view! { <DataTable rows=Signal::derive(move || list.clone()) columns=columns.clone() page_size=20 testid="audit-table"/> }.into_any(),
                    })}
                </Suspense>
            </Card>
        </div>
    }.into_any()
}
