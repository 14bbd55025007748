//! The data-schema editor: one row per field (name, type, options for
//! choices, description, required), validated by `domain::data_schema`.

use domain::data_schema::{DataField, DataSchema, FieldKind};
use leptos::prelude::*;

use crate::i18n::{describe, t, t_string, use_i18n};
use crate::AppError;

/// One editable row; options are edited as comma-separated text.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldRow {
    pub key: u64,
    pub name: RwSignal<String>,
    pub kind: RwSignal<String>,
    pub options: RwSignal<String>,
    pub description: RwSignal<String>,
    pub required: RwSignal<bool>,
}

impl FieldRow {
    pub fn from_field(key: u64, f: &DataField) -> Self {
        let options = match &f.kind {
            FieldKind::Enum { options } => options.join(", "),
            _ => String::new(),
        };
        FieldRow {
            key,
            name: RwSignal::new(f.name.clone()),
            kind: RwSignal::new(f.kind.type_name().to_string()),
            options: RwSignal::new(options),
            description: RwSignal::new(f.description.clone()),
            required: RwSignal::new(f.required),
        }
    }

    pub fn to_field(&self) -> DataField {
        let kind = match self.kind.get_untracked().as_str() {
            "number" => FieldKind::Number,
            "boolean" => FieldKind::Boolean,
            "date" => FieldKind::Date,
            "enum" => FieldKind::Enum {
                options: self
                    .options
                    .get_untracked()
                    .split(',')
                    .map(|o| o.trim().to_string())
                    .filter(|o| !o.is_empty())
                    .collect(),
            },
            _ => FieldKind::String,
        };
        DataField {
            name: self.name.get_untracked(),
            kind,
            description: self.description.get_untracked(),
            required: self.required.get_untracked(),
        }
    }
}

pub fn rows_to_schema(rows: &[FieldRow]) -> DataSchema {
    DataSchema { fields: rows.iter().map(FieldRow::to_field).collect() }
}

#[component]
pub fn SchemaEditor(rows: RwSignal<Vec<FieldRow>>, error: Signal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let next_key = StoredValue::new(rows.get_untracked().iter().map(|r| r.key).max().unwrap_or(0) + 1);
    let add = move |_| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        let f = DataField {
            name: String::new(),
            kind: FieldKind::String,
            description: String::new(),
            required: false,
        };
        rows.update(|r| r.push(FieldRow::from_field(key, &f)));
    };
    // "data_schema.<i>.<part>" errors point at a row.
    let row_error = move |i: usize| {
        Signal::derive(move || {
            error
                .get()
                .filter(|e| e.field.as_deref().is_some_and(|f| f.starts_with(&format!("data_schema.{i}."))))
                .map(|e| describe(i18n, &e))
        })
    };
    let control = "rounded-md border-0 bg-white px-2 py-1.5 text-sm ring-1 ring-slate-300 focus:ring-2 focus:ring-indigo-600 dark:bg-slate-800 dark:ring-slate-600";
    view! {
        <div class="space-y-3" data-testid="schema-editor">
            {move || {
                let list = rows.get();
                if list.is_empty() {
                    view! { <p class="text-sm text-slate-500">{t!(i18n, agents.schema_empty)}</p> }.into_any()
                } else {
                    list.into_iter().enumerate().map(|(i, row)| {
                        let key = row.key;
                        let err = row_error(i);
                        view! {
                            <div class="rounded-md border border-slate-200 p-3 dark:border-slate-700" data-testid=format!("schema-row-{i}")>
                                <div class="grid gap-2 sm:grid-cols-[1fr_9rem_auto_auto] sm:items-center">
                                    <input class=control data-testid=format!("schema-name-{i}") placeholder=move || t_string!(i18n, agents.schema_name).to_string()
                                        aria-label=move || t_string!(i18n, agents.schema_name).to_string()
                                        prop:value=move || row.name.get() on:input=move |ev| row.name.set(event_target_value(&ev))/>
                                    <select class=control data-testid=format!("schema-type-{i}") aria-label=move || t_string!(i18n, agents.schema_type).to_string()
                                        on:change=move |ev| row.kind.set(event_target_value(&ev))>
                                        {[("string", "type_string"), ("number", "type_number"), ("boolean", "type_boolean"), ("enum", "type_enum"), ("date", "type_date")].into_iter().map(|(v, _)| {
                                            let label = move || match v {
                                                "number" => t_string!(i18n, agents.type_number).to_string(),
                                                "boolean" => t_string!(i18n, agents.type_boolean).to_string(),
                                                "enum" => t_string!(i18n, agents.type_enum).to_string(),
                                                "date" => t_string!(i18n, agents.type_date).to_string(),
                                                _ => t_string!(i18n, agents.type_string).to_string(),
                                            };
                                            view! { <option value=v selected=move || row.kind.get() == v>{label}</option> }
                                        }).collect_view()}
                                    </select>
                                    <label class="flex items-center gap-1 text-sm">
                                        <input type="checkbox" data-testid=format!("schema-required-{i}") prop:checked=move || row.required.get() on:change=move |ev| row.required.set(event_target_checked(&ev))/>
                                        {t!(i18n, agents.schema_required)}
                                    </label>
                                    <button type="button" class="rounded px-2 py-1 text-sm text-red-600 hover:bg-red-50 dark:hover:bg-red-950"
                                        aria-label=move || t_string!(i18n, agents.schema_remove).to_string()
                                        on:click=move |_| rows.update(|r| r.retain(|x| x.key != key))>"✕"</button>
                                </div>
                                <Show when=move || row.kind.get() == "enum">
                                    <input class=format!("{control} mt-2 w-full") data-testid=format!("schema-options-{i}") placeholder=move || t_string!(i18n, agents.schema_options).to_string()
                                        aria-label=move || t_string!(i18n, agents.schema_options).to_string()
                                        prop:value=move || row.options.get() on:input=move |ev| row.options.set(event_target_value(&ev))/>
                                </Show>
                                <input class=format!("{control} mt-2 w-full") data-testid=format!("schema-description-{i}") placeholder=move || t_string!(i18n, agents.schema_description).to_string()
                                    aria-label=move || t_string!(i18n, agents.schema_description).to_string()
                                    prop:value=move || row.description.get() on:input=move |ev| row.description.set(event_target_value(&ev))/>
                                {move || err.get().map(|m| view! { <p class="mt-1 text-sm text-red-600" role="alert">{m}</p> })}
                            </div>
                        }
                    }).collect_view().into_any()
                }
            }}
            <button type="button" data-testid="schema-add" on:click=add
                class="rounded-md px-3 py-1.5 text-sm font-medium text-indigo-700 ring-1 ring-indigo-200 hover:bg-indigo-50 dark:text-indigo-300 dark:ring-indigo-900">
                {t!(i18n, agents.schema_add)}
            </button>
        </div>
    }
}
