//! Settings → Telephony → Recordings: whether calls are recorded when their
//! agent leaves it to the organisation, and the S3-compatible bucket
//! recordings go to. The secret key is write-only (a hint shows); "Check
//! bucket" writes and deletes a small object with the stored keys.

use domain::telephony::{RecordingChange, RecordingSettings};
use leptos::prelude::*;
use uuid::Uuid;

use super::api::{SaveRecordings, TestRecordings};
use crate::i18n::{describe, t, t_string, use_i18n};
use crate::ui::{
    field_error, toast_result, Button, ButtonVariant, Card, Checkbox, FormError, Input, Skeleton,
};

#[component]
pub fn RecordingsCard(org_id: Uuid) -> impl IntoView {
    let i18n = use_i18n();
    let save = ServerAction::<SaveRecordings>::new();
    let test = ServerAction::<TestRecordings>::new();
    toast_result(save, move || Some(t_string!(i18n, common.saved).to_string()));
    let settings = Resource::new(
        move || (save.version().get(), test.version().get()),
        move |_| super::api::get_recordings(org_id),
    );
    view! {
        <Card>
            <h2 class="mb-1 font-semibold">{t!(i18n, telephony.recordings)}</h2>
            <p class="mb-3 text-sm text-slate-500">{t!(i18n, telephony.recordings_intro)}</p>
            <Transition fallback=|| view! { <Skeleton lines=4/> }>
                {move || settings.get().map(|r| match r {
                    Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                    Ok(s) => view! { <RecordingsForm org_id s save test/> }.into_any(),
                })}
            </Transition>
        </Card>
    }
}

#[component]
fn RecordingsForm(
    org_id: Uuid,
    s: RecordingSettings,
    save: ServerAction<SaveRecordings>,
    test: ServerAction<TestRecordings>,
) -> impl IntoView {
    let i18n = use_i18n();
    let record = RwSignal::new(s.record_calls);
    let endpoint = RwSignal::new(s.endpoint.clone().unwrap_or_default());
    let region = RwSignal::new(s.region.clone().unwrap_or_default());
    let bucket = RwSignal::new(s.bucket.clone().unwrap_or_default());
    let path_style = RwSignal::new(s.path_style);
    let access_key = RwSignal::new(s.access_key.clone().unwrap_or_default());
    let secret = RwSignal::new(String::new());
    let hint = s.secret_hint.clone();
    let error = Signal::derive(move || save.value().get().and_then(|r| r.err()));
    let last = test.value().get_untracked().and_then(|r| r.ok()).or(s.last_test.clone());
    let test_error =
        Signal::derive(move || test.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));
    let label =
        move |f: fn(leptos_i18n::I18nContext<crate::i18n::Locale>) -> String| Signal::derive(move || f(i18n));
    let submit = move |_| {
        let secret = secret.get_untracked();
        save.dispatch(SaveRecordings {
            org_id,
            change: RecordingChange {
                record_calls: Some(record.get_untracked()),
                endpoint: Some(endpoint.get_untracked()),
                region: Some(region.get_untracked()),
                bucket: Some(bucket.get_untracked()),
                path_style: Some(path_style.get_untracked()),
                access_key: Some(access_key.get_untracked()),
                // Left empty: the stored key stays.
                secret_key: (!secret.is_empty()).then_some(secret),
            },
        });
    };
    view! {
        <div class="space-y-3" data-testid="recordings-form">
            <Checkbox id="record-calls" name="record_calls" checked=record
                label=label(|i| t_string!(i, telephony.record_calls).to_string())/>
            <div class="grid gap-3 sm:grid-cols-3">
                <Input id="rec-endpoint" name="endpoint" value=endpoint error=field_error(error, "endpoint")
                    label=label(|i| t_string!(i, telephony.bucket_endpoint).to_string())/>
                <Input id="rec-region" name="region" value=region error=field_error(error, "region")
                    label=label(|i| t_string!(i, telephony.bucket_region).to_string())/>
                <Input id="rec-bucket" name="bucket" value=bucket error=field_error(error, "bucket")
                    label=label(|i| t_string!(i, telephony.bucket_name).to_string())/>
                <Input id="rec-access-key" name="access_key" value=access_key autocomplete="off" error=field_error(error, "access_key")
                    label=label(|i| t_string!(i, telephony.bucket_access_key).to_string())/>
                <Input id="rec-secret-key" name="secret_key" kind="password" autocomplete="new-password" value=secret
                    error=field_error(error, "secret_key")
                    label=label(|i| t_string!(i, telephony.bucket_secret_key).to_string())
                    hint=Signal::derive(move || hint.clone().map(|h| t_string!(i18n, telephony.secret_hint, hint = h.clone()).to_string()).unwrap_or_default())/>
            </div>
            <Checkbox id="rec-path-style" name="path_style" checked=path_style
                label=label(|i| t_string!(i, telephony.bucket_path_style).to_string())/>
            <FormError message=Signal::derive(move || error.get().filter(|e| e.field.is_none() || e.field.as_deref() == Some("record_calls")).map(|e| describe(i18n, &e)))/>
            <div class="flex flex-wrap items-center gap-3">
                <Button busy=save.pending() attr:data-testid="recordings-save" on:click=submit>{t!(i18n, common.save)}</Button>
                <Button variant=ButtonVariant::Secondary busy=test.pending() attr:data-testid="recordings-test"
                    on:click=move |_| { test.dispatch(TestRecordings { org_id }); }>{t!(i18n, telephony.bucket_test)}</Button>
                <super::pages::LastTest last testid="recordings-last-test" ok_label=Signal::derive(move || t_string!(i18n, telephony.bucket_ok).to_string())/>
                <FormError message=test_error/>
            </div>
        </div>
    }
}
