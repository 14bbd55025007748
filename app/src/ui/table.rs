//! A data table with client-side sorting (click or Enter on a header) and
//! pagination. Headers are signals so they follow the UI language.

use std::cmp::Ordering;
use std::sync::Arc;

use leptos::prelude::*;

type SortFn<T> = Arc<dyn Fn(&T, &T) -> Ordering + Send + Sync>;
/// A borrowed row comparator.
pub type Comparator<'a, T> = &'a dyn Fn(&T, &T) -> Ordering;
type CellFn<T> = Arc<dyn Fn(&T) -> AnyView + Send + Sync>;

pub struct Column<T> {
    pub header: Signal<String>,
    pub sort: Option<SortFn<T>>,
    pub cell: CellFn<T>,
}

impl<T> Clone for Column<T> {
    fn clone(&self) -> Self {
        Self { header: self.header, sort: self.sort.clone(), cell: self.cell.clone() }
    }
}

impl<T> Column<T> {
    pub fn new(
        header: impl Into<Signal<String>>,
        cell: impl Fn(&T) -> AnyView + Send + Sync + 'static,
    ) -> Self {
        Self { header: header.into(), sort: None, cell: Arc::new(cell) }
    }

    pub fn sortable(mut self, cmp: impl Fn(&T, &T) -> Ordering + Send + Sync + 'static) -> Self {
        self.sort = Some(Arc::new(cmp));
        self
    }
}

/// Sorts and slices `rows` for display: pure, so it is unit-tested.
pub fn page_of<T: Clone>(
    rows: &[T],
    sort: Option<(Comparator<'_, T>, bool)>,
    page: usize,
    page_size: usize,
) -> (Vec<T>, usize) {
    let mut rows = rows.to_vec();
    if let Some((cmp, ascending)) = sort {
        rows.sort_by(|a, b| if ascending { cmp(a, b) } else { cmp(b, a) });
    }
    let page_size = page_size.max(1);
    let pages = rows.len().div_ceil(page_size).max(1);
    let page = page.min(pages - 1);
    let slice = rows.into_iter().skip(page * page_size).take(page_size).collect();
    (slice, pages)
}

#[component]
pub fn DataTable<T>(
    #[prop(into)] rows: Signal<Vec<T>>,
    columns: Vec<Column<T>>,
    #[prop(default = 10)] page_size: usize,
    #[prop(optional, into)] caption: Option<Signal<String>>,
    #[prop(optional, into)] testid: String,
) -> impl IntoView
where
    T: Clone + PartialEq + Send + Sync + 'static,
{
    let i18n = crate::i18n::use_i18n();
    let sort = RwSignal::new(None::<(usize, bool)>);
    let page = RwSignal::new(0usize);
    let columns = StoredValue::new(columns);

    let view_rows = Memo::new(move |_| {
        let rows = rows.get();
        let cols = columns.read_value();
        let sorter =
            sort.get().and_then(|(i, asc)| cols.get(i).and_then(|c| c.sort.clone()).map(|s| (s, asc)));
        let (slice, pages) = match &sorter {
            Some((s, asc)) => page_of(&rows, Some((s.as_ref(), *asc)), page.get(), page_size),
            None => page_of(&rows, None, page.get(), page_size),
        };
        (slice, pages)
    });

    let header_cells = move || {
        columns
            .read_value()
            .iter()
            .enumerate()
            .map(|(i, col)| {
                let header = col.header;
                let sortable = col.sort.is_some();
                let aria_sort = move || match sort.get() {
                    Some((j, true)) if j == i => "ascending",
                    Some((j, false)) if j == i => "descending",
                    _ => "none",
                };
                let toggle = move || {
                    sort.update(|s| {
                        *s = match *s {
                            Some((j, asc)) if j == i => Some((i, !asc)),
                            _ => Some((i, true)),
                        }
                    });
                    page.set(0);
                };
                view! {
                    <th scope="col" aria-sort=aria_sort class="px-3 py-2 text-left text-xs font-semibold uppercase tracking-wide text-slate-500 dark:text-slate-400">
                        {if sortable {
                            view! {
                                <button type="button" class="inline-flex items-center gap-1 rounded hover:text-slate-900 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 dark:hover:text-white"
                                    on:click=move |_| toggle()
                                    aria-label=move || crate::i18n::t_string!(i18n, common.sort_by, column = header.get()).to_string()
                                >
                                    {move || header.get()}
                                    <span aria-hidden="true">{move || match sort.get() { Some((j, true)) if j == i => "▲", Some((j, false)) if j == i => "▼", _ => "↕" }}</span>
                                </button>
                            }.into_any()
                        } else {
                            view! { <span>{move || header.get()}</span> }.into_any()
                        }}
                    </th>
                }
            })
            .collect_view()
    };

    view! {
        <div class="overflow-x-auto" data-testid=testid>
            <table class="min-w-full divide-y divide-slate-200 text-sm dark:divide-slate-700">
                {caption.map(|c| view! { <caption class="sr-only">{move || c.get()}</caption> })}
                <thead><tr>{header_cells}</tr></thead>
                <tbody class="divide-y divide-slate-100 dark:divide-slate-800">
                    {move || {
                        let (slice, _) = view_rows.get();
                        slice
                            .into_iter()
                            .map(|row| {
                                let cells = columns
                                    .read_value()
                                    .iter()
                                    .map(|c| view! { <td class="whitespace-nowrap px-3 py-2 text-slate-700 dark:text-slate-200">{(c.cell)(&row)}</td> })
                                    .collect_view();
                                view! { <tr>{cells}</tr> }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
            {move || {
                let (_, pages) = view_rows.get();
                (pages > 1).then(|| {
                    let current = page.get().min(pages - 1);
                    view! {
                        <nav class="mt-3 flex items-center justify-between text-sm" aria-label=move || crate::i18n::t_string!(i18n, common.pagination).to_string()>
                            <button type="button" class="rounded px-2 py-1 hover:bg-slate-100 disabled:opacity-40 dark:hover:bg-slate-800" disabled=current == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>
                                {crate::i18n::t!(i18n, common.previous)}
                            </button>
                            <span>{crate::i18n::t!(i18n, common.page_of, page = current + 1, pages = pages)}</span>
                            <button type="button" class="rounded px-2 py-1 hover:bg-slate-100 disabled:opacity-40 dark:hover:bg-slate-800" disabled={current + 1 >= pages} on:click=move |_| page.update(|p| *p += 1)>
                                {crate::i18n::t!(i18n, common.next)}
                            </button>
                        </nav>
                    }
                })
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::page_of;

    #[test]
    fn sorts_and_paginates() {
        let rows: Vec<i32> = (1..=25).rev().collect();
        let cmp = |a: &i32, b: &i32| a.cmp(b);
        let (p0, pages) = page_of(&rows, Some((&cmp, true)), 0, 10);
        assert_eq!(pages, 3);
        assert_eq!(p0, (1..=10).collect::<Vec<_>>());
        let (p2, _) = page_of(&rows, Some((&cmp, true)), 2, 10);
        assert_eq!(p2, (21..=25).collect::<Vec<_>>());
        let (desc, _) = page_of(&rows, Some((&cmp, false)), 0, 5);
        assert_eq!(desc, vec![25, 24, 23, 22, 21]);
        // Out-of-range pages clamp to the last page; empty input has one page.
        let (last, _) = page_of(&rows, None, 99, 10);
        assert_eq!(last.len(), 5);
        let (none, pages) = page_of::<i32>(&[], None, 0, 10);
        assert!(none.is_empty());
        assert_eq!(pages, 1);
    }
}
