//! The import wizard: choose a CSV → check the suggested column mapping
//! (create custom fields on the fly) → dry run with a per-row report → run
//! the import as a background job with a progress bar. The job id is in
//! the URL (`?job=…`), so a reload finds the running import again.

use domain::data_schema::FieldKind;
use domain::prospect::key_from_label;
use domain::prospect_import::{
    DuplicatePolicy, ImportJob, ImportOptions, ImportPreview, JobState, NewCustomField, Target,
};
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use uuid::Uuid;

use super::api::{ImportDryRun, ImportStart};
use super::labels::{issue_label, target_label};
use crate::features::auth::session::use_current_org;
use crate::i18n::{describe, t, t_string, use_i18n, use_locale};
use crate::ui::{Button, ButtonVariant, Card, FormError};

const SELECT: &str = "rounded-md border-0 bg-white py-1.5 pl-2 pr-8 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";

const STANDARD: [Target; 12] = [
    Target::Ignore,
    Target::FirstName,
    Target::LastName,
    Target::FullName,
    Target::Company,
    Target::Title,
    Target::Phone,
    Target::Email,
    Target::Timezone,
    Target::Status,
    Target::Tags,
    Target::Note,
];

/// `<select>` value of a target: its wire name, `custom:<key>`, or `new`.
fn value_of(t: &Target) -> String {
    match t {
        Target::Custom(k) => format!("custom:{k}"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("to").and_then(|s| s.as_str()).map(str::to_string))
            .unwrap_or_default(),
    }
}

fn target_of(v: &str) -> Target {
    if let Some(k) = v.strip_prefix("custom:") {
        return Target::Custom(k.to_string());
    }
    STANDARD.iter().find(|t| value_of(t) == v).cloned().unwrap_or(Target::Ignore)
}

fn kind_of(v: &str) -> FieldKind {
    match v {
        "number" => FieldKind::Number,
        "boolean" => FieldKind::Boolean,
        "date" => FieldKind::Date,
        _ => FieldKind::String,
    }
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let i18n = use_i18n();
    let locale = use_locale();
    let Some(org) = use_current_org() else {
        return view! { <leptos_router::components::Redirect path="/app"/> }.into_any();
    };
    let org_id = org.id;
    // Creating custom fields on the fly is for those who may manage them.
    let can_create_fields = org.role.allows(domain::Permission::ManageSettings);
    let query = use_query_map();
    let job_id = move || query.read().get("job").and_then(|j| j.parse::<Uuid>().ok());

    let preview = RwSignal::new(None::<ImportPreview>);
    let upload_error = RwSignal::new(None::<String>);
    let uploading = RwSignal::new(false);
    let mapping = RwSignal::new(Vec::<String>::new());
    let new_kinds = RwSignal::new(Vec::<String>::new());
    let region = RwSignal::new(String::new());
    let policy = RwSignal::new(DuplicatePolicy::Skip);
    let fields = Resource::new(|| (), move |_| super::api::list_custom_fields(org_id));
    let settings = Resource::new(|| (), move |_| super::api::get_compliance(org_id));
    Effect::new(move |_| {
        if let Some(Ok(s)) = settings.get() {
            if region.get_untracked().is_empty() {
                region.set(s.default_region.unwrap_or_default());
            }
        }
    });
    Effect::new(move |_| {
        if let Some(p) = preview.get() {
            mapping.set(p.suggested.iter().map(value_of).collect());
            new_kinds.set(vec!["string".to_string(); p.headers.len()]);
        }
    });

    let options = move || -> Option<(Uuid, ImportOptions)> {
        let p = preview.get_untracked()?;
        let m = mapping.get_untracked();
        let kinds = new_kinds.get_untracked();
        let mut targets = Vec::new();
        let mut new_fields = Vec::new();
        for (i, v) in m.iter().enumerate() {
            if v == "new" {
                let header = p.headers.get(i).cloned().unwrap_or_default();
                let key = key_from_label(&header);
                new_fields.push(NewCustomField {
                    key: key.clone(),
                    label: header,
                    kind: kind_of(kinds.get(i).map(String::as_str).unwrap_or("string")),
                });
                targets.push(Target::Custom(key));
            } else {
                targets.push(target_of(v));
            }
        }
        let region = region.get_untracked();
        Some((
            p.id,
            ImportOptions {
                mapping: targets,
                new_fields,
                duplicates: policy.get_untracked(),
                default_region: (!region.trim().is_empty()).then_some(region),
                tags: vec![],
            },
        ))
    };

    let dry_run = ServerAction::<ImportDryRun>::new();
    let start = ServerAction::<ImportStart>::new();
    // A report describes one mapping: any change makes it stale.
    Effect::new(move |_| {
        mapping.track();
        new_kinds.track();
        policy.track();
        region.track();
        dry_run.clear();
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(job)) = start.value().get() {
            navigate(&format!("/app/prospects/import?job={}", job.id), Default::default());
        }
    });
    let start_error =
        Signal::derive(move || start.value().get().and_then(|r| r.err()).map(|e| describe(i18n, &e)));

    // ---- following the job ----
    // Read once (and on the server); then its progress arrives on the
    // import's event stream, from whichever node runs it.
    let job = Resource::new(job_id, move |id| async move {
        match id {
            Some(id) => super::api::get_import_job(org_id, id).await.map(Some),
            None => Ok(None),
        }
    });
    let live_job = RwSignal::new(None::<ImportJob>);
    #[cfg(feature = "hydrate")]
    {
        use send_wrapper::SendWrapper;
        let stream = StoredValue::new(None::<SendWrapper<crate::live::LiveStream>>);
        Effect::new(move |_| {
            let id = job_id();
            stream.set_value(None);
            live_job.set(None);
            let Some(id) = id else { return };
            let s = crate::live::LiveStream::open(
                &super::api::import_events_url(org_id, id),
                move |j: ImportJob| {
                    let done = !matches!(j.state, JobState::Running | JobState::Pending);
                    live_job.set(Some(j));
                    // The server ends the stream after the final state;
                    // left open, EventSource would reconnect to it forever.
                    if done {
                        stream.with_value(|s| s.as_ref().map(|s| s.close()));
                    }
                },
                || {},
            );
            stream.set_value(s.map(SendWrapper::new));
        });
    }
    let shown_job = move || live_job.get().or_else(|| job.get().and_then(|r| r.ok()).flatten());

    let on_file = move |ev: leptos::ev::Event| {
        let _ = &ev;
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = super::upload::chosen_file(&ev, false) else { return };
            uploading.set(true);
            upload_error.set(None);
            preview.set(None);
            dry_run.clear();
            leptos::task::spawn_local(async move {
                match super::upload::upload(org_id, file).await {
                    Ok(p) => preview.set(Some(p)),
                    Err(e) => upload_error.set(Some(describe(i18n, &e))),
                }
                uploading.set(false);
            });
        }
    };

    view! {
        <div class="space-y-6">
            <A href="/app/prospects" attr:class="text-sm text-indigo-700 hover:underline dark:text-indigo-300">{move || format!("← {}", t_string!(i18n, prospects.title))}</A>
            <h1 class="text-2xl font-bold">{t!(i18n, prospects.import_title)}</h1>
            <Transition fallback=|| ()>{move || match shown_job() {
                Some(j) => {
                    let pct = j.processed_rows.saturating_mul(100).checked_div(j.total_rows).map_or(100, |p| p.min(100));
                    view! {
                        <Card>
                            <div class="space-y-3" data-testid="import-job" data-state=j.state.as_str()>
                                <p class="font-medium">{j.file_name.clone()}</p>
                                <div class="h-3 w-full overflow-hidden rounded-full bg-slate-200 dark:bg-slate-700" role="progressbar"
                                    aria-valuemin="0" aria-valuemax="100" aria-valuenow=pct.to_string() data-testid="import-progress">
                                    <div class="h-full bg-indigo-600 transition-all" style=format!("width: {pct}%")></div>
                                </div>
                                <p class="text-sm" data-testid="import-status">{move || match j.state {
                                    JobState::Pending | JobState::Running => t_string!(i18n, prospects.import_running, done = crate::format::integer(locale.get(), j.processed_rows as i64), total = crate::format::integer(locale.get(), j.total_rows as i64)).to_string(),
                                    JobState::Succeeded => t_string!(i18n, prospects.import_succeeded, created = j.created, updated = j.updated, skipped = j.skipped).to_string(),
                                    JobState::Failed => format!("{} {}", t_string!(i18n, prospects.import_failed), j.error.as_deref().and_then(domain::ErrorCode::parse).map(|c| crate::i18n::error_message(i18n, c)).unwrap_or_default()),
                                }}</p>
                                <A href="/app/prospects" attr:data-testid="back-to-list" attr:class="text-sm text-indigo-700 hover:underline dark:text-indigo-300">{t!(i18n, prospects.back_to_list)}</A>
                            </div>
                        </Card>
                    }.into_any()
                }
                None => view! {
                    <Card>
                        <label for="csv-file" class="mb-2 block text-sm font-medium">{t!(i18n, prospects.choose_file)}</label>
                        <input id="csv-file" type="file" accept=".csv,.txt,text/csv" data-testid="csv-file" on:change=on_file
                            class="block text-sm file:mr-3 file:rounded-md file:border-0 file:bg-indigo-600 file:px-3 file:py-2 file:text-white"/>
                        <p class="mt-2 text-xs text-slate-500">{t!(i18n, prospects.file_hint)}</p>
                        <Show when=move || uploading.get()><p class="mt-2 text-sm">{t!(i18n, prospects.uploading)}</p></Show>
                        <FormError message=Signal::derive(move || upload_error.get())/>
                    </Card>
                    {move || preview.get().map(|p| {
                        let custom = fields.get().and_then(|r| r.ok()).unwrap_or_default();
                        let headers = p.headers.clone();
                        let sample = p.sample.clone();
                        view! {
                            <Card>
                                <p class="mb-3 text-sm" data-testid="file-info">{move || t_string!(i18n, prospects.file_info, rows = p.total_rows, delimiter = p.delimiter.to_string().replace('\t', "tab"), encoding = format!("{:?}", p.encoding)).to_string()}</p>
                                <h2 class="mb-2 font-semibold">{t!(i18n, prospects.mapping)}</h2>
                                <div class="overflow-x-auto">
                                    <table class="min-w-full text-sm" data-testid="mapping">
                                        <thead><tr class="text-left text-slate-500">
                                            <th class="py-1 pr-3">{t!(i18n, prospects.column)}</th>
                                            <th class="py-1 pr-3">{t!(i18n, prospects.sample)}</th>
                                            <th class="py-1">{t!(i18n, prospects.maps_to)}</th>
                                        </tr></thead>
                                        <tbody>
                                            {headers.into_iter().enumerate().map(|(i, h)| {
                                                let example = sample.iter().map(|r| r.get(i).cloned().unwrap_or_default()).filter(|s| !s.is_empty()).take(2).collect::<Vec<_>>().join(" · ");
                                                let custom = custom.clone();
                                                let testid = format!("map-{h}");
                                                view! {
                                                    <tr class="border-t border-slate-100 dark:border-slate-800">
                                                        <td class="py-1 pr-3 font-medium">{h.clone()}</td>
                                                        <td class="max-w-xs truncate py-1 pr-3 text-slate-500">{example}</td>
                                                        <td class="py-1">
                                                            <select class=SELECT data-testid=testid aria-label=h.clone()
                                                                prop:value=move || mapping.get().get(i).cloned().unwrap_or_default()
                                                                on:change=move |ev| { let v = event_target_value(&ev); mapping.update(|m| if let Some(x) = m.get_mut(i) { *x = v; }); }>
                                                                {STANDARD.iter().map(|t| { let t = t.clone(); let v = value_of(&t); view! { <option value=v>{move || target_label(i18n, &t)}</option> } }).collect_view()}
                                                                {custom.into_iter().map(|f| view! { <option value=format!("custom:{}", f.def.key)>{format!("{} · {}", t_string!(i18n, prospects.custom_field), f.def.label)}</option> }).collect_view()}
                                                                {can_create_fields.then(|| view! { <option value="new">{t!(i18n, prospects.new_field)}</option> })}
                                                            </select>
                                                            <Show when=move || mapping.get().get(i).is_some_and(|v| v == "new")>
                                                                <select class=format!("{SELECT} ml-2") aria-label=move || t_string!(i18n, prospects.field_type).to_string()
                                                                    on:change=move |ev| { let v = event_target_value(&ev); new_kinds.update(|k| if let Some(x) = k.get_mut(i) { *x = v; }); }>
                                                                    <option value="string">{t!(i18n, prospects.type_string)}</option>
                                                                    <option value="number">{t!(i18n, prospects.type_number)}</option>
                                                                    <option value="boolean">{t!(i18n, prospects.type_boolean)}</option>
                                                                    <option value="date">{t!(i18n, prospects.type_date)}</option>
                                                                </select>
                                                            </Show>
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                                <div class="mt-4 flex flex-wrap items-end gap-4 text-sm">
                                    <label>
                                        <span class="mb-1 block text-slate-500">{t!(i18n, prospects.default_region)}</span>
                                        <input data-testid="default-region" maxlength="2" class="w-20 rounded-md border-0 px-2 py-1.5 uppercase ring-1 ring-slate-300 dark:bg-slate-800"
                                            prop:value=move || region.get() on:input=move |ev| region.set(event_target_value(&ev))/>
                                    </label>
                                    <fieldset class="flex gap-3">
                                        <legend class="mb-1 text-slate-500">{t!(i18n, prospects.duplicates)}</legend>
                                        <label class="flex items-center gap-1"><input type="radio" name="dup" checked=true data-testid="dup-skip" on:change=move |_| policy.set(DuplicatePolicy::Skip)/>{t!(i18n, prospects.dup_skip)}</label>
                                        <label class="flex items-center gap-1"><input type="radio" name="dup" data-testid="dup-update" on:change=move |_| policy.set(DuplicatePolicy::Update)/>{t!(i18n, prospects.dup_update)}</label>
                                    </fieldset>
                                    <Button variant=ButtonVariant::Secondary busy=dry_run.pending() attr:data-testid="dry-run"
                                        on:click=move |_| if let Some((import_id, options)) = options() { dry_run.dispatch(ImportDryRun { org_id, import_id, options }); }>
                                        {t!(i18n, prospects.dry_run)}
                                    </Button>
                                </div>
                            </Card>
                        }
                    })}
                    {move || dry_run.value().get().map(|r| match r {
                        Err(e) => view! { <FormError message=Signal::derive(move || Some(describe(i18n, &e)))/> }.into_any(),
                        Ok(report) => {
                            let rows = report.rows.clone();
                            let more = report.problem_rows > rows.len() as u64;
                            let problems = report.problem_rows;
                            // Every problem row, kept by the dry run on the server.
                            let problems_href = options().map(|(import_id, _)| {
                                format!("/api/v1/orgs/{org_id}/prospect-imports/{import_id}/problems.csv")
                            });
                            view! {
                                <Card>
                                    <h2 class="mb-2 font-semibold">{t!(i18n, prospects.report)}</h2>
                                    <dl class="mb-3 grid grid-cols-2 gap-2 text-sm sm:grid-cols-5" data-testid="dry-run-report">
                                        <div><dt class="text-slate-500">{t!(i18n, prospects.total_rows)}</dt><dd class="text-lg font-semibold" data-testid="report-total">{report.total_rows}</dd></div>
                                        <div><dt class="text-slate-500">{t!(i18n, prospects.to_create)}</dt><dd class="text-lg font-semibold" data-testid="report-create">{report.to_create}</dd></div>
                                        <div><dt class="text-slate-500">{t!(i18n, prospects.dup_existing)}</dt><dd class="text-lg font-semibold" data-testid="report-dup-existing">{report.duplicates_existing}</dd></div>
                                        <div><dt class="text-slate-500">{t!(i18n, prospects.dup_in_file)}</dt><dd class="text-lg font-semibold" data-testid="report-dup-file">{report.duplicates_in_file}</dd></div>
                                        <div><dt class="text-slate-500">{t!(i18n, prospects.invalid)}</dt><dd class="text-lg font-semibold text-red-600" data-testid="report-invalid">{report.invalid}</dd></div>
                                    </dl>
                                    {(!rows.is_empty()).then(|| view! {
                                        <table class="min-w-full text-sm" data-testid="report-rows">
                                            <thead><tr class="text-left text-slate-500"><th class="pr-3">{t!(i18n, prospects.row)}</th><th class="pr-3">{t!(i18n, prospects.line)}</th><th>{t!(i18n, prospects.issues)}</th></tr></thead>
                                            <tbody>
                                                {rows.into_iter().map(|r| view! {
                                                    <tr class="border-t border-slate-100 dark:border-slate-800" data-testid=format!("report-row-{}", r.row)>
                                                        <td class="pr-3">{r.row}</td><td class="pr-3">{r.line}</td>
                                                        <td>{r.issues.iter().map(|i| issue_label(i18n, i)).collect::<Vec<_>>().join(" · ")}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    })}
                                    {more.then(|| view! { <p class="mt-2 text-xs text-slate-500">{t!(i18n, prospects.more_rows)}</p> })}
                                    {(problems > 0).then(|| problems_href.map(|href| view! {
                                        <a class="mt-2 inline-block text-sm font-medium text-indigo-600 hover:underline dark:text-indigo-400"
                                            href=href download="" data-testid="download-problems">
                                            {move || t_string!(i18n, prospects.download_problems, count = problems).to_string()}
                                        </a>
                                    }))}
                                    <div class="mt-4 flex justify-end">
                                        <Button busy=start.pending() attr:data-testid="start-import"
                                            on:click=move |_| if let Some((import_id, options)) = options() { start.dispatch(ImportStart { org_id, import_id, options }); }>
                                            {move || t_string!(i18n, prospects.start_import, count = report.to_create + report.to_update).to_string()}
                                        </Button>
                                    </div>
                                    <FormError message=start_error/>
                                </Card>
                            }.into_any()
                        }
                    })}
                }.into_any(),
            }}</Transition>
        </div>
    }
    .into_any()
}
