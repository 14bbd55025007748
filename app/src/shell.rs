//! The HTML shell, the root `App` and the signed-in layout (sidebar,
//! organisation switcher, user menu, theme and language controls).

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Outlet, Redirect, Router};
use leptos_router::hooks::use_location;

use crate::features::auth::api::{get_session, LogOut, SetLocale};
use crate::features::auth::session::SessionResource;
use crate::features::auth::types::{OrgDto, SessionInfo};
use crate::features::orgs::api::SwitchOrg;
use crate::i18n::{t, t_string, use_i18n, I18nContextProvider};
use crate::ui::{LanguageSwitcher, SaveLocale, ThemeToggle, Toaster, Toasts};

/// Runs before first paint: applies the saved (or system) theme so dark mode
/// does not flash.
const THEME_SCRIPT: &str = "try{var t=localStorage.getItem('theme');if(t==='dark'||(!t&&matchMedia('(prefers-color-scheme: dark)').matches)){document.documentElement.classList.add('dark')}}catch(e){}";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let csrf = use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<crate::csrf::CsrfToken>().cloned())
        .map(|t| t.0)
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let csrf = String::new();
    // leptos_axum draws a fresh nonce for every page; its hydration and
    // streaming scripts carry it, so does ours (the first script of the
    // page: the server's header layer reads the policy's nonce from it).
    let nonce = leptos::nonce::use_nonce();
    view! {
        <!DOCTYPE html>
        // `lang` and `dir` come from the I18nContextProvider (the visitor's language).
        <html>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="csrf-token" content=csrf/>
                <link rel="icon" href="data:,"/>
                <link rel="stylesheet" id="leptos" href=stylesheet_href(&options)/>
                <script nonce=nonce>{THEME_SCRIPT}</script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased dark:bg-slate-950 dark:text-slate-100">
                <App/>
            </body>
        </html>
    }
}

/// The stylesheet's URL: `/pkg/<name>.<hash>.css` when the build names
/// assets by content (they are then cached for a year), read once from
/// the hash file cargo-leptos writes beside the server binary. (leptos_meta's
/// `HashedStylesheet` reads that file again on every page.)
fn stylesheet_href(options: &LeptosOptions) -> String {
    #[cfg(feature = "ssr")]
    {
        static HREF: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        HREF.get_or_init(|| {
            let name = options.output_name.to_string();
            let pkg = options.site_pkg_dir.to_string();
            let hash = options
                .hash_files
                .then(|| {
                    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
                    let text = std::fs::read_to_string(dir.join(options.hash_file.as_ref())).ok()?;
                    css_hash(&text)
                })
                .flatten();
            match hash {
                Some(h) => format!("/{pkg}/{name}.{h}.css"),
                None => format!("/{pkg}/{name}.css"),
            }
        })
        .clone()
    }
    #[cfg(not(feature = "ssr"))]
    format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
}

/// The `css: <hash>` line of cargo-leptos's hash file.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
fn css_hash(hash_file: &str) -> Option<String> {
    hash_file.lines().find_map(|l| {
        let (kind, hash) = l.split_once(':')?;
        let hash = hash.trim();
        (kind.trim() == "css"
            && !hash.is_empty()
            && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| hash.to_string())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_css_hash_is_read_from_the_hash_file() {
        assert_eq!(super::css_hash("js: abc\ncss: Zx-9_q\nwasm: d").as_deref(), Some("Zx-9_q"));
        assert_eq!(super::css_hash("js: abc\n"), None);
        assert_eq!(super::css_hash("css: ../../x\n"), None);
    }
}

/// The language source leptos_i18n consults: ours on the server, the
/// default (unused: the browser hydrates in `<html lang>`) in the browser.
fn locale_source() -> leptos_i18n::context::UseLocalesOptions {
    #[cfg(feature = "ssr")]
    return crate::i18n::ssr_locale_source();
    #[cfg(not(feature = "ssr"))]
    leptos_i18n::context::UseLocalesOptions::default()
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(Toasts::new());
    // Boxed: the server function's future holds the whole query stack
    // (sea-orm, sqlx) in its state, and setting a resource up moves that
    // future several times; boxed, each move copies a pointer (the two
    // resources of a dashboard view were ~6 % of its instructions in memcpy).
    let session = Resource::new(|| (), |_| Box::pin(get_session()));
    provide_context(SessionResource(session));
    #[cfg(feature = "ssr")]
    provide_server_i18n();
    view! {
        <Title text="Handoo"/>
        <I18nContextProvider ssr_lang_header_getter=locale_source()>
            <Router>
                <crate::routes::AppRoutes/>
            </Router>
            <Toaster/>
        </I18nContextProvider>
    }
}

/// Keeps the language context's owner alive as long as the page's.
#[cfg(feature = "ssr")]
#[derive(Clone)]
struct I18nOwner(#[allow(dead_code)] Owner);

/// On the server, the language context is made here with its side effects
/// paused; `I18nContextProvider` finds it and does not make its own.
///
/// The provider's context spawns an isomorphic effect that mirrors the
/// language into leptos_i18n's cookie (which we do not use: we keep
/// `i18n::LOCALE_COOKIE` ourselves). On the server that effect first runs on
/// another task; when a quick page (a 404, the login page) had finished and
/// its reactive owner was gone before that task ran, it read a disposed
/// signal and panicked: 252 of 117,677 requests to an unknown path under
/// load. A paused owner's effects never run. The browser keeps the
/// provider's own context.
#[cfg(feature = "ssr")]
fn provide_server_i18n() {
    use leptos_i18n::context::{init_i18n_context_with_options, I18nContextOptions};
    let Some(parent) = Owner::current() else { return };
    let owner = parent.child();
    let ctx = owner.with(|| {
        init_i18n_context_with_options::<crate::i18n::Locale>(
            I18nContextOptions::default().ssr_lang_header_getter(locale_source()),
        )
    });
    owner.pause();
    provide_context(ctx);
    provide_context(I18nOwner(owner));
}

/// The signed-in area. Logged-out visitors are sent to /login.
#[component]
pub fn AppLayout() -> impl IntoView {
    let SessionResource(session) = expect_context();
    let location = use_location();
    // Signing in brings the visitor back to the page they asked for.
    let login = move || {
        let search = location.search.get_untracked();
        let search = search.trim_start_matches('?');
        let here = if search.is_empty() {
            location.pathname.get_untracked()
        } else {
            format!("{}?{search}", location.pathname.get_untracked())
        };
        format!("/login?next={}", crate::url::encode_component(&here))
    };
    // A `Suspend`, not a `<Suspense>`: before rendering, `Suspense`
    // re-resolves its whole subtree (here: the sidebar, the header and
    // every page) as nested futures, which was 58 % of a dashboard render's
    // CPU instructions. `Suspend` awaits the one resource, then renders
    // synchronously. Pages keep their own boundaries for their own data.
    view! {
        {move || Suspend::new(async move {
            match session.await {
                Ok(Some(info)) => {
                    provide_context(info.clone());
                    view! { <SignedIn info/> }.into_any()
                }
                Ok(None) | Err(_) => view! { <Redirect path=login()/> }.into_any(),
            }
        })}
    }
}

#[component]
fn SignedIn(info: SessionInfo) -> impl IntoView {
    let i18n = use_i18n();
    // The language switcher saves a choice on the account from here on.
    let save_locale = ServerAction::<SetLocale>::new();
    provide_context(SaveLocale(Callback::new(move |l: domain::Locale| {
        save_locale.dispatch(SetLocale { locale: l.as_str().to_string() });
    })));
    let menu_open = RwSignal::new(false);
    let menu_button = NodeRef::<leptos::html::Button>::new();
    let location = use_location();
    // Close the mobile menu on navigation.
    Effect::new(move |_| {
        location.pathname.track();
        menu_open.set(false);
    });
    let is_admin = info.current.as_ref().is_some_and(|o| o.role.allows(domain::Permission::ViewAuditLog));
    let is_analyst = info.current.as_ref().is_some_and(|o| o.role.allows(domain::Permission::ViewAnalytics));
    let can_listen = info.current.as_ref().is_some_and(|o| o.role.allows(domain::Permission::ListenToCalls));
    let has_org = info.current.is_some();
    let nav_link = move |href: &'static str, label: Signal<String>, testid: &'static str| {
        let active = move || {
            let p = location.pathname.get();
            if href == "/app" {
                p == "/app" || p == "/app/"
            } else {
                p.starts_with(href)
            }
        };
        // A plain `<a>`: the router already turns every same-origin link
        // click into a client-side navigation, and these hrefs are absolute,
        // so `<A>`'s path resolution and memos (~6 % of a dashboard render's
        // instructions for its links) would buy nothing. `aria-current` is ours.
        view! {
            // `.nav-link` (style/main.css) styles the current page from `aria-current`.
            <a href=href data-testid=testid aria-current=move || active().then_some("page") class="nav-link">{move || label.get()}</a>
        }
    };
    let sidebar = view! {
        <div class="flex h-full flex-col gap-4 p-4">
            <div class="flex items-center gap-2 px-1">
                <div class="flex h-8 w-8 items-center justify-center rounded-lg bg-indigo-600 font-bold text-white">"H"</div>
                <span class="text-lg font-bold">"Handoo"</span>
            </div>
            <OrgSwitcher orgs=info.orgs.clone() current=info.current.clone()/>
            <nav class="flex flex-col gap-1" aria-label=move || t_string!(i18n, nav.main).to_string()>
                {has_org.then(|| view! {
                    {nav_link("/app", Signal::derive(move || t_string!(i18n, nav.dashboard).to_string()), "nav-dashboard")}
                    {nav_link("/app/copilot", Signal::derive(move || t_string!(i18n, nav.copilot).to_string()), "nav-copilot")}
                    {nav_link("/app/prospects", Signal::derive(move || t_string!(i18n, nav.prospects).to_string()), "nav-prospects")}
                    {nav_link("/app/calls", Signal::derive(move || t_string!(i18n, nav.calls).to_string()), "nav-calls")}
                    {can_listen.then(|| nav_link("/app/calls/live", Signal::derive(move || t_string!(i18n, nav.live_calls).to_string()), "nav-live-calls"))}
                    {nav_link("/app/campaigns", Signal::derive(move || t_string!(i18n, nav.campaigns).to_string()), "nav-campaigns")}
                    {is_analyst.then(|| nav_link("/app/analytics", Signal::derive(move || t_string!(i18n, nav.analytics).to_string()), "nav-analytics"))}
                    {is_analyst.then(|| nav_link("/app/billing", Signal::derive(move || t_string!(i18n, nav.billing).to_string()), "nav-billing"))}
                    {nav_link("/app/knowledge", Signal::derive(move || t_string!(i18n, nav.knowledge).to_string()), "nav-knowledge")}
                    {nav_link("/app/scripts", Signal::derive(move || t_string!(i18n, nav.scripts).to_string()), "nav-scripts")}
                    {nav_link("/app/agents", Signal::derive(move || t_string!(i18n, nav.agents).to_string()), "nav-agents")}
                    {nav_link("/app/members", Signal::derive(move || t_string!(i18n, nav.members).to_string()), "nav-members")}
                    {nav_link("/app/settings", Signal::derive(move || t_string!(i18n, nav.settings).to_string()), "nav-settings")}
                    {nav_link("/app/settings/prospects", Signal::derive(move || t_string!(i18n, nav.compliance).to_string()), "nav-compliance")}
                })}
                {is_admin.then(|| nav_link("/app/settings/providers", Signal::derive(move || t_string!(i18n, nav.providers).to_string()), "nav-providers"))}
                {is_admin.then(|| nav_link("/app/settings/telephony", Signal::derive(move || t_string!(i18n, nav.telephony).to_string()), "nav-telephony"))}
                {is_admin.then(|| nav_link("/app/settings/api-keys", Signal::derive(move || t_string!(i18n, nav.api_keys).to_string()), "nav-api-keys"))}
                {is_admin.then(|| nav_link("/app/audit", Signal::derive(move || t_string!(i18n, nav.audit).to_string()), "nav-audit"))}
            </nav>
            <div class="mt-auto"><UserMenu user_name=info.user.name.clone() user_email=info.user.email.clone()/></div>
        </div>
    };
    view! {
        <a href="#main" class="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:p-2">{t!(i18n, common.skip_to_content)}</a>
        // On narrow screens the sidebar is a drawer: a backdrop closes it, so
        // does Escape, and while closed it is `invisible` (out of the tab
        // order and the accessibility tree) rather than merely off-screen.
        <div class="flex min-h-screen" on:keydown=move |ev| {
            if ev.key() == "Escape" && menu_open.get_untracked() {
                menu_open.set(false);
                if let Some(b) = menu_button.get() {
                    let _ = b.focus();
                }
            }
        }>
            {move || menu_open.get().then(|| view! {
                <div class="fixed inset-0 z-20 bg-slate-900/40 md:hidden" aria-hidden="true" data-testid="sidebar-backdrop"
                    on:click=move |_| menu_open.set(false)></div>
            })}
            <aside class=move || format!(
                "fixed inset-y-0 left-0 z-30 w-64 transform border-r border-slate-200 bg-white transition md:visible md:static md:translate-x-0 dark:border-slate-800 dark:bg-slate-900 {}",
                if menu_open.get() { "translate-x-0" } else { "invisible -translate-x-full" },
            ) data-testid="sidebar">
                {sidebar}
            </aside>
            <div class="flex min-w-0 flex-1 flex-col">
                <header class="flex items-center justify-between gap-3 border-b border-slate-200 bg-white px-4 py-3 dark:border-slate-800 dark:bg-slate-900">
                    <button type="button" node_ref=menu_button data-testid="menu-button" class="rounded p-2 md:hidden focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                        aria-label=move || t_string!(i18n, nav.menu).to_string()
                        aria-expanded=move || menu_open.get().to_string()
                        on:click=move |_| menu_open.update(|o| *o = !*o)>"☰"</button>
                    <div class="ml-auto flex items-center gap-2">
                        <LanguageSwitcher/>
                        <ThemeToggle/>
                    </div>
                </header>
                <main id="main" class="mx-auto w-full max-w-6xl flex-1 p-4 md:p-8">
                    <Outlet/>
                </main>
            </div>
        </div>
    }
}

#[component]
fn OrgSwitcher(orgs: Vec<OrgDto>, current: Option<OrgDto>) -> impl IntoView {
    let i18n = use_i18n();
    let action = ServerAction::<SwitchOrg>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            crate::ui::hard_navigate("/app");
        }
    });
    let current_id = current.as_ref().map(|o| o.id.to_string()).unwrap_or_default();
    view! {
        <div>
            <label for="org-switcher" class="mb-1 block px-1 text-xs font-medium uppercase tracking-wide text-slate-500">{t!(i18n, nav.switch_org)}</label>
            <select id="org-switcher" data-testid="org-switcher"
                class="block w-full rounded-md border-0 bg-slate-50 px-2 py-2 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600"
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    if v == "__new" {
                        crate::ui::hard_navigate("/app/orgs/new");
                    } else if let Ok(id) = v.parse() {
                        action.dispatch(crate::features::orgs::api::SwitchOrg { org_id: id });
                    }
                }>
                {orgs.into_iter().map(|o| {
                    let selected = o.id.to_string() == current_id;
                    view! { <option value=o.id.to_string() selected=selected>{o.name}</option> }
                }).collect_view()}
                <option value="__new" selected=current.is_none()>{move || format!("+ {}", t_string!(i18n, nav.new_org))}</option>
            </select>
        </div>
    }
}

#[component]
fn UserMenu(user_name: String, user_email: String) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let logout = ServerAction::<LogOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            crate::ui::hard_navigate("/login");
        }
    });
    view! {
        <div class="relative" on:keydown=move |ev| if ev.key() == "Escape" { open.set(false) }>
            <button type="button" data-testid="user-menu"
                class="flex w-full items-center gap-2 rounded-md p-2 text-left text-sm hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:hover:bg-slate-800"
                aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                aria-label=move || t_string!(i18n, nav.user_menu).to_string()
                on:click=move |_| open.update(|o| *o = !*o)>
                <span class="flex h-8 w-8 items-center justify-center rounded-full bg-slate-200 font-semibold dark:bg-slate-700">{user_name.chars().next().unwrap_or('?').to_string()}</span>
                <span class="min-w-0 flex-1"><span class="block truncate font-medium">{user_name.clone()}</span><span class="block truncate text-xs text-slate-500" data-testid="user-email">{user_email}</span></span>
            </button>
            <Show when=move || open.get()>
                <div role="menu" class="absolute bottom-full left-0 mb-2 w-full rounded-md border border-slate-200 bg-white py-1 shadow-lg dark:border-slate-700 dark:bg-slate-900">
                    <a href="/app/account" role="menuitem" class="block px-3 py-2 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">{t!(i18n, nav.account)}</a>
                    <a href="/app/orgs/new" role="menuitem" class="block px-3 py-2 text-sm hover:bg-slate-100 dark:hover:bg-slate-800">{t!(i18n, nav.new_org)}</a>
                    <button type="button" role="menuitem" data-testid="logout" class="block w-full px-3 py-2 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800"
                        on:click=move |_| { logout.dispatch(LogOut {}); }>{t!(i18n, nav.logout)}</button>
                </div>
            </Show>
        </div>
    }
}
