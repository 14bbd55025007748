use leptos::prelude::*;

use crate::features::auth::types::SessionInfo;
use crate::i18n::{t, use_i18n};
use crate::ui::Card;
use crate::ui::{LanguageSwitcher, ThemeToggle};

#[component]
pub fn AccountPage() -> impl IntoView {
    let i18n = use_i18n();
    let info = use_context::<SessionInfo>();
    view! {
        <div class="space-y-6">
            <h1 class="text-2xl font-bold">{t!(i18n, account.title)}</h1>
            <Card>
                <h2 class="mb-2 font-semibold">{t!(i18n, account.profile)}</h2>
                {info.map(|i| view! { <p class="text-sm">{i.user.name}" · "{i.user.email}</p> })}
            </Card>
            <Card>
                <div class="flex items-center justify-between">
                    <span class="font-semibold">{t!(i18n, account.language)}</span>
                    <LanguageSwitcher/>
                </div>
            </Card>
            <Card>
                <div class="flex items-center justify-between">
                    <span class="font-semibold">{t!(i18n, account.theme)}</span>
                    <ThemeToggle/>
                </div>
            </Card>
        </div>
    }
}
