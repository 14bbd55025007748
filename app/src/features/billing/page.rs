//! `/app/billing`: the plan in force (status, period, renewal or end),
//! this period's usage against each limit, the plans to choose from —
//! Owners go to Polar's checkout and come back here, where the page waits
//! for Polar's webhook to say the subscription is active — and Polar's
//! customer portal for invoices and cancelling. Admins see it all without
//! the buttons; Members are told it is not theirs.

use domain::billing::plan::{plan_units, PRICED_METRICS};
use domain::billing::views::BillingOverview;
use domain::billing::{Plan, PlanLimits, SubscriptionStatus, UnitPrice, Usage};
use domain::Permission;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::api::{OpenPortal, StartCheckout};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale, Locale};
use crate::ui::{hard_navigate, Badge, Button, ButtonVariant, Card, FormError, Skeleton, Tone};

/// How often the page asks again while a paid checkout's webhook is awaited.
#[cfg(feature = "hydrate")]
const POLL_MS: u64 = 2_000;
/// And for how long at most.
#[cfg(feature = "hydrate")]
const POLLS: u32 = 30;

pub(crate) fn money(locale: domain::Locale, m: &domain::billing::Money) -> String {
    priced(locale, m.major_text(), &m.currency)
}

/// An amount in major units (exact text) with its currency's sign, the
/// way `locale` writes it.
fn priced(locale: domain::Locale, amount: String, currency: &str) -> String {
    let symbol = match currency {
        "usd" => "$",
        "eur" => "€",
        "gbp" => "£",
        _ => "",
    };
    let amount = if locale == domain::Locale::Fr { amount.replace('.', ",") } else { amount };
    match (symbol, locale) {
        ("", _) => format!("{amount} {}", currency.to_uppercase()),
        (s, domain::Locale::Fr) => format!("{amount} {s}"),
        (s, _) => format!("{s}{amount}"),
    }
}

/// "+ $0.02 per call minute".
fn unit_price(i18n: leptos_i18n::I18nContext<Locale>, locale: domain::Locale, u: &UnitPrice) -> String {
    let unit = match u.metric.as_str() {
        "call_minutes" => t_string!(i18n, billing.unit_call_minutes),
        "llm_tokens" => t_string!(i18n, billing.unit_llm_tokens),
        "stt_minutes" => t_string!(i18n, billing.unit_stt_minutes),
        _ => t_string!(i18n, billing.unit_tts_characters),
    };
    let price = priced(locale, u.major_text(), &u.currency);
    t_string!(i18n, billing.per_unit, price = price, unit = unit).to_string()
}

fn status_tone(s: SubscriptionStatus) -> Tone {
    match s {
        SubscriptionStatus::Active | SubscriptionStatus::Trialing => Tone::Success,
        SubscriptionStatus::PastDue | SubscriptionStatus::Canceled => Tone::Warning,
        SubscriptionStatus::Incomplete | SubscriptionStatus::Revoked => Tone::Danger,
    }
}

fn status_label(i18n: leptos_i18n::I18nContext<Locale>, s: SubscriptionStatus) -> String {
    match s {
        SubscriptionStatus::Incomplete => t_string!(i18n, billing.st_incomplete),
        SubscriptionStatus::Trialing => t_string!(i18n, billing.st_trialing),
        SubscriptionStatus::Active => t_string!(i18n, billing.st_active),
        SubscriptionStatus::PastDue => t_string!(i18n, billing.st_past_due),
        SubscriptionStatus::Canceled => t_string!(i18n, billing.st_canceled),
        SubscriptionStatus::Revoked => t_string!(i18n, billing.st_revoked),
    }
    .to_string()
}

/// The four limits a plan has, as (key, label, used, limit) in its units.
pub(crate) fn meters(
    i18n: leptos_i18n::I18nContext<Locale>,
    limits: &PlanLimits,
    used: &Usage,
) -> Vec<(&'static str, String, i64, Option<i64>)> {
    PRICED_METRICS
        .into_iter()
        .map(|key| {
            let label = match key {
                "call_minutes" => t_string!(i18n, billing.call_minutes),
                "llm_tokens" => t_string!(i18n, billing.llm_tokens),
                "stt_minutes" => t_string!(i18n, billing.stt_minutes),
                _ => t_string!(i18n, billing.tts_characters),
            };
            (key, label.to_string(), plan_units(key, used).unwrap_or(0), limits.get(key))
        })
        .collect()
}

#[component]
pub fn BillingPage() -> impl IntoView {
    let i18n = use_i18n();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    if !org.role.allows(Permission::ViewAnalytics) {
        return view! {
            <div class="space-y-2">
                <h1 class="text-2xl font-bold">{t!(i18n, billing.title)}</h1>
                <p class="text-sm text-slate-500" data-testid="billing-forbidden">{t!(i18n, billing.admins_only)}</p>
            </div>
        }
        .into_any();
    }
    let can_buy = org.role.allows(Permission::ManageBilling);
    let query = use_query_map();
    // Back from Polar's checkout: ask again until the webhook has landed.
    let returning = query.read_untracked().get("checkout").is_some();
    let tick = RwSignal::new(0u32);
    let overview = Resource::new(move || tick.get(), move |_| super::api::get_billing(org_id));
    #[cfg(feature = "hydrate")]
    {
        Effect::new(move |_| {
            let waiting = overview.get().is_some_and(|r| r.is_ok_and(|o| o.subscription.is_none()));
            if returning && waiting && tick.get_untracked() < POLLS {
                set_timeout(move || tick.update(|n| *n += 1), std::time::Duration::from_millis(POLL_MS));
            }
        });
    }
    let checkout = ServerAction::<StartCheckout>::new();
    let portal = ServerAction::<OpenPortal>::new();
    // Polar's pages are elsewhere: a full navigation.
    Effect::new(move |_| {
        if let Some(Ok(r)) = checkout.value().get() {
            hard_navigate(&r.url);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(r)) = portal.value().get() {
            hard_navigate(&r.url);
        }
    });
    let action_error = move || {
        checkout
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| portal.value().get().and_then(|r| r.err()))
            .map(|e| describe(i18n, &e))
    };
    view! {
        <div class="space-y-6">
            <div class="flex flex-wrap items-end justify-between gap-3">
                <div>
                    <h1 class="text-2xl font-bold">{t!(i18n, billing.title)}</h1>
                    <p class="text-sm text-slate-500">{t!(i18n, billing.intro)}</p>
                </div>
                <A href="/app/usage" attr:class="text-sm text-indigo-700 hover:underline dark:text-indigo-300" attr:data-testid="billing-usage-link">{t!(i18n, billing.see_usage)}</A>
            </div>
            <FormError message=Signal::derive(action_error)/>
            <Transition fallback=|| view! { <Skeleton lines=8/> }>
                {move || overview.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(o) => view! { <Overview o returning can_buy org_id checkout portal/> }.into_any(),
                })}
            </Transition>
        </div>
    }
    .into_any()
}

#[component]
fn Overview(
    o: BillingOverview,
    returning: bool,
    can_buy: bool,
    org_id: uuid::Uuid,
    checkout: ServerAction<StartCheckout>,
    portal: ServerAction<OpenPortal>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let current_id =
        o.subscription.as_ref().map(|s| s.plan_id.clone()).or_else(|| o.plan.as_ref().map(|p| p.id.clone()));
    let subscribed = o.subscription.is_some();
    let sub = o.subscription.clone();
    let plan_name = o
        .plan
        .as_ref()
        .map(|p| p.name.clone())
        .or_else(|| sub.as_ref().map(|s| s.plan_name.clone()))
        .unwrap_or_else(|| t_string!(i18n, billing.no_plan).to_string());
    let (start, end) = (o.period_start, o.period_end);
    let bars = meters(i18n, &o.limits, &o.used);
    view! {
        {(!o.enabled).then(|| view! {
            <div role="status" data-testid="billing-off" class="rounded-md border border-slate-200 bg-slate-50 p-3 text-sm dark:border-slate-700 dark:bg-slate-900">
                {t!(i18n, billing.off)}
            </div>
        })}
        {(returning && !subscribed && o.enabled).then(|| view! {
            <div role="status" data-testid="billing-waiting" class="rounded-md border border-indigo-200 bg-indigo-50 p-3 text-sm text-indigo-900 dark:border-indigo-900 dark:bg-indigo-950 dark:text-indigo-200">
                {t!(i18n, billing.waiting)}
            </div>
        })}
        <Card>
            <div class="flex flex-wrap items-start justify-between gap-3">
                <div>
                    <h2 class="text-sm text-slate-500">{t!(i18n, billing.current_plan)}</h2>
                    <p class="text-xl font-semibold" data-testid="billing-plan">{plan_name}</p>
                    {sub.clone().map(|s| {
                        let status = s.status;
                        view! {
                            <div class="mt-1 flex flex-wrap items-center gap-2 text-sm">
                                <span data-testid="billing-status" data-status=status.as_str()><Badge tone=status_tone(status)>{status_label(i18n, status)}</Badge></span>
                                <span>{move || format!("{} / {}", money(locale.get(), &s.price), s.interval)}</span>
                                {s.current_period_end.map(|e| view! {
                                    <span class="text-slate-500">{move || if s.cancel_at_period_end || status == SubscriptionStatus::Canceled {
                                        t_string!(i18n, billing.ends_on, date = crate::format::date(locale.get(), e)).to_string()
                                    } else {
                                        t_string!(i18n, billing.renews_on, date = crate::format::date(locale.get(), e)).to_string()
                                    }}</span>
                                })}
                            </div>
                        }
                    })}
                </div>
                {(can_buy && subscribed).then(|| view! {
                    <Button variant=ButtonVariant::Secondary busy=portal.pending() attr:data-testid="billing-portal"
                        on:click=move |_| { portal.dispatch(OpenPortal { org_id }); }>{t!(i18n, billing.manage)}</Button>
                })}
            </div>
            <h3 class="mt-4 text-sm font-semibold">{move || t_string!(i18n, billing.this_period, from = crate::format::date(locale.get(), start), until = crate::format::date(locale.get(), end)).to_string()}</h3>
            <div class="mt-2 grid gap-3 sm:grid-cols-2" data-testid="billing-meters">
                {bars.into_iter().map(|(key, label, used, limit)| view! { <Meter key label used limit/> }).collect_view()}
            </div>
            {o.estimate.map(|m| view! { <Estimate m/> })}
        </Card>
        <section aria-labelledby="plans-title" class="space-y-3">
            <h2 id="plans-title" class="text-lg font-semibold">{t!(i18n, billing.plans)}</h2>
            <div class="grid gap-4 md:grid-cols-3" data-testid="billing-plans">
                {o.plans.into_iter().map(|p| {
                    let current = current_id.as_deref() == Some(p.id.as_str());
                    let buyable = can_buy && o.enabled && !current && !p.is_free();
                    view! { <PlanCard p current buyable org_id checkout/> }
                }).collect_view()}
            </div>
        </section>
    }
}

/// What the period costs so far (the billing and usage pages).
#[component]
pub(crate) fn Estimate(m: domain::billing::Money) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    view! {
        <p class="mt-3 text-sm font-medium" data-testid="billing-estimate">
            {move || t_string!(i18n, billing.estimate, amount = money(locale.get(), &m)).to_string()}
        </p>
    }
}

/// One limit of the period: used of allowed, and a bar when there is a limit.
#[component]
pub(crate) fn Meter(key: &'static str, label: String, used: i64, limit: Option<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let pct = limit.filter(|l| *l > 0).map(|l| ((used as f64 / l as f64) * 100.0).clamp(0.0, 100.0));
    let over = limit.is_some_and(|l| used >= l);
    view! {
        <div class="text-sm" data-testid=format!("meter-{key}")>
            <div class="flex justify-between">
                <span>{label.clone()}</span>
                <span class="tabular-nums" data-testid=format!("meter-{key}-text")>{move || match limit {
                    Some(l) => format!("{} / {}", crate::format::integer(locale.get(), used), crate::format::integer(locale.get(), l)),
                    None => format!("{} · {}", crate::format::integer(locale.get(), used), t_string!(i18n, billing.unlimited)),
                }}</span>
            </div>
            {pct.map(|p| view! {
                <div class="mt-1 h-2 rounded bg-slate-200 dark:bg-slate-700" role="progressbar" aria-label=label.clone()
                    aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{p:.0}")>
                    <div class=if over { "h-2 rounded bg-rose-500" } else { "h-2 rounded bg-indigo-500" } style=format!("width: {p:.1}%")></div>
                </div>
            })}
        </div>
    }
}

#[component]
fn PlanCard(
    p: Plan,
    current: bool,
    buyable: bool,
    org_id: uuid::Uuid,
    checkout: ServerAction<StartCheckout>,
) -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let id = p.id.clone();
    let price = p.price.clone();
    let interval = p.interval.clone().unwrap_or_default();
    let limits = meters(i18n, &p.limits, &Usage::default());
    view! {
        <Card>
            <div class="flex h-full flex-col gap-2" data-testid="plan-card" data-plan=p.name.clone()>
                <div class="flex items-center justify-between gap-2">
                    <h3 class="text-lg font-semibold">{p.name.clone()}</h3>
                    {current.then(|| view! { <Badge tone=Tone::Info attr:data-testid="plan-current">{t!(i18n, billing.current)}</Badge> })}
                </div>
                <p class="text-2xl font-bold tabular-nums">{move || match &price {
                    Some(m) if m.amount_minor == 0 => t_string!(i18n, billing.free).to_string(),
                    Some(m) => format!("{} / {}", money(locale.get(), m), interval),
                    None => "—".to_string(),
                }}</p>
                <p class="text-sm text-slate-500">{p.description.clone()}</p>
                <ul class="space-y-1 text-sm">
                    {p.unit_prices.iter().map(|u| {
                        let u = u.clone();
                        view! { <li data-testid="plan-unit-price">{move || unit_price(i18n, locale.get(), &u)}</li> }
                    }).collect_view()}
                    {limits.into_iter().map(|(_, label, _, limit)| view! {
                        <li>{move || match limit {
                            Some(l) => format!("{} {label}", crate::format::integer(locale.get(), l)),
                            None => format!("{label}: {}", t_string!(i18n, billing.unlimited)),
                        }}</li>
                    }).collect_view()}
                </ul>
                {buyable.then(|| view! {
                    <div class="mt-auto pt-2">
                        <Button busy=checkout.pending() attr:data-testid="plan-choose"
                            on:click=move |_| { checkout.dispatch(StartCheckout { org_id, plan_id: id.clone() }); }>{t!(i18n, billing.choose)}</Button>
                    </div>
                })}
            </div>
        </Card>
    }
}
