//! The list's query — search, filters, sort, page, columns — as signals
//! that start from the page's URL and keep it up to date, so a reload, Back
//! from a prospect or a shared link shows the same list.

use domain::prospect::{ListQuery, ProspectFilter, ProspectStatus, SavedView, SortKey};
use leptos::prelude::*;
use uuid::Uuid;

pub(super) const DEFAULT_COLUMNS: &[&str] = &["name", "company", "phone", "email", "status", "owner", "tags"];
const LIST_PATH: &str = "/app/prospects";
const DEFAULT_PER_PAGE: u64 = 50;
const PER_PAGE_CHOICES: [u64; 4] = [25, 50, 100, 200];

#[derive(Clone, Copy)]
pub(super) struct ListState {
    /// The search the list is filtered by: follows `search_box` once typing pauses.
    pub search: RwSignal<String>,
    /// What is in the search box.
    pub search_box: RwSignal<String>,
    pub status: RwSignal<String>,
    pub tag: RwSignal<String>,
    pub owner: RwSignal<String>,
    pub custom_key: RwSignal<String>,
    pub custom_value: RwSignal<String>,
    pub sort: RwSignal<SortKey>,
    pub descending: RwSignal<bool>,
    pub page: RwSignal<u64>,
    pub per_page: RwSignal<u64>,
    pub columns: RwSignal<Vec<String>>,
    pub filter: Memo<ProspectFilter>,
    pub query: Memo<ListQuery>,
}

impl ListState {
    /// The state the current URL describes, with the effects that keep the
    /// two in step (a new filter starts from page one; the URL follows).
    pub fn from_url() -> Self {
        let url = leptos_router::hooks::use_query_map().get_untracked();
        let from_url = |k: &str| url.get(k).unwrap_or_default();
        let search = RwSignal::new(from_url("q"));
        let status = RwSignal::new(from_url("status"));
        let tag = RwSignal::new(from_url("tag"));
        let owner = RwSignal::new(from_url("owner"));
        let (url_key, url_value) = from_url("custom")
            .split_once(':')
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .unwrap_or_default();
        let custom_key = RwSignal::new(url_key);
        let custom_value = RwSignal::new(url_value);
        let url_sort = SortKey::parse(&from_url("sort"));
        let descending = match from_url("desc").as_str() {
            "true" => true,
            "false" => false,
            _ => url_sort.is_none_or(newest_first),
        };
        let per_page = from_url("per_page")
            .parse::<u64>()
            .ok()
            .filter(|n| PER_PAGE_CHOICES.contains(n))
            .unwrap_or(DEFAULT_PER_PAGE);

        let filter = Memo::new(move |_| ProspectFilter {
            search: search.get(),
            status: ProspectStatus::parse(&status.get())
                .filter(|_| !status.get().is_empty())
                .into_iter()
                .collect(),
            tag: Some(tag.get()).filter(|t| !t.is_empty()),
            owner: match owner.get().as_str() {
                "" => None,
                "none" => Some(None),
                id => id.parse::<Uuid>().ok().map(Some),
            },
            custom: (!custom_key.get().is_empty() && !custom_value.get().trim().is_empty())
                .then(|| (custom_key.get(), custom_value.get())),
            do_not_call: None,
        });
        let sort = RwSignal::new(url_sort.unwrap_or(SortKey::CreatedAt));
        let descending = RwSignal::new(descending);
        let page = RwSignal::new(from_url("page").parse::<u64>().unwrap_or(1).max(1));
        let per_page = RwSignal::new(per_page);
        let query = Memo::new(move |_| ListQuery {
            filter: filter.get(),
            sort: sort.get(),
            descending: descending.get(),
            page: page.get(),
            per_page: per_page.get(),
        });
        let state = ListState {
            search,
            search_box: RwSignal::new(search.get_untracked()),
            status,
            tag,
            owner,
            custom_key,
            custom_value,
            sort,
            descending,
            page,
            per_page,
            columns: RwSignal::new(DEFAULT_COLUMNS.iter().map(|c| c.to_string()).collect()),
            filter,
            query,
        };
        state.follow();
        state
    }

    fn follow(self) {
        // A new filter starts from the first page.
        Effect::new(move |prev: Option<ProspectFilter>| {
            let f = self.filter.get();
            if prev.is_some_and(|p| p != f) {
                self.page.set(1);
            }
            f
        });
        // …and the URL follows the list (replacing the entry: one Back leaves the list).
        let navigate = leptos_router::hooks::use_navigate();
        let location = leptos_router::hooks::use_location();
        Effect::new(move |prev: Option<String>| {
            let qs = query_string(&url_params(&self.query.get()));
            // Only while the list is on screen: a search that settles after the
            // user opened a prospect must not pull them back to the list.
            let on_list = location.pathname.get_untracked().trim_end_matches('/') == LIST_PATH;
            if on_list && prev.as_ref().is_some_and(|p| *p != qs) {
                let to = if qs.is_empty() { LIST_PATH.to_string() } else { format!("{LIST_PATH}?{qs}") };
                navigate(
                    &to,
                    leptos_router::NavigateOptions { replace: true, scroll: false, ..Default::default() },
                );
            }
            qs
        });
    }

    /// The search box changed: the list follows once typing pauses, so a word
    /// typed is one query, not one per keystroke.
    pub fn type_search(self, typed: String) {
        self.search_box.set(typed.clone());
        set_timeout(
            move || {
                if self.search_box.get_untracked() == typed {
                    self.search.set(typed);
                }
            },
            std::time::Duration::from_millis(250),
        );
    }

    /// A click on a column header: the same column flips the direction, a new
    /// one starts newest-first for dates and A→Z otherwise.
    pub fn toggle_sort(self, key: SortKey) {
        if self.sort.get_untracked() == key {
            self.descending.update(|d| *d = !*d);
        } else {
            self.sort.set(key);
            self.descending.set(newest_first(key));
        }
    }

    /// Shows what a saved view saved: its filter, sort, page size and columns.
    pub fn apply(self, v: SavedView) {
        self.per_page.set(v.query.per_page());
        let f = v.query.filter;
        self.search_box.set(f.search.clone());
        self.search.set(f.search);
        self.status.set(f.status.first().map(|s| s.as_str().to_string()).unwrap_or_default());
        self.tag.set(f.tag.unwrap_or_default());
        self.owner.set(match f.owner {
            Some(Some(id)) => id.to_string(),
            Some(None) => "none".into(),
            None => String::new(),
        });
        let (k, val) = f.custom.unwrap_or_default();
        self.custom_key.set(k);
        self.custom_value.set(val);
        self.sort.set(v.query.sort);
        self.descending.set(v.query.descending);
        self.columns.set(v.columns);
        self.page.set(1);
    }

    /// The CSV export of every row the filter matches.
    pub fn export_href(self, org_id: Uuid) -> String {
        // The REST API names the search `search`; the page's URL says `q`.
        let params: Vec<(String, String)> = filter_params(&self.filter.get())
            .into_iter()
            .map(|(k, v)| (if k == "q" { "search".into() } else { k }, v))
            .collect();
        format!("/api/v1/orgs/{org_id}/prospects/export.csv?{}", query_string(&params))
    }
}

fn newest_first(key: SortKey) -> bool {
    matches!(key, SortKey::CreatedAt | SortKey::UpdatedAt)
}

/// The page's URL parameters for a query; defaults are left out.
fn url_params(q: &ListQuery) -> Vec<(String, String)> {
    let mut params = filter_params(&q.filter);
    if q.sort != SortKey::CreatedAt || !q.descending {
        params.push(("sort".into(), q.sort.as_str().into()));
        params.push(("desc".into(), q.descending.to_string()));
    }
    if q.page() > 1 {
        params.push(("page".into(), q.page().to_string()));
    }
    if q.per_page() != DEFAULT_PER_PAGE {
        params.push(("per_page".into(), q.per_page().to_string()));
    }
    params
}

/// A filter as query parameters (`q`, `status`, `tag`, `owner`, `custom`),
/// for the page's URL and the export link; empty ones are left out.
fn filter_params(f: &ProspectFilter) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = Vec::new();
    if !f.search.is_empty() {
        params.push(("q".into(), f.search.clone()));
    }
    if let Some(s) = f.status.first() {
        params.push(("status".into(), s.as_str().into()));
    }
    if let Some(t) = &f.tag {
        params.push(("tag".into(), t.clone()));
    }
    match f.owner {
        Some(Some(id)) => params.push(("owner".into(), id.to_string())),
        Some(None) => params.push(("owner".into(), "none".into())),
        None => {}
    }
    if let Some((k, v)) = &f.custom {
        params.push(("custom".into(), format!("{k}:{v}")));
    }
    params
}

fn query_string(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", crate::url::encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_leaves_defaults_out_and_encodes_values() {
        let mut q = ListQuery {
            filter: ProspectFilter::default(),
            sort: SortKey::CreatedAt,
            descending: true,
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        };
        assert_eq!(query_string(&url_params(&q)), "");
        q.filter.search = "a&b c".into();
        q.filter.custom = Some(("industry".into(), "retail".into()));
        q.sort = SortKey::Email;
        q.descending = false;
        q.page = 3;
        assert_eq!(
            query_string(&url_params(&q)),
            "q=a%26b%20c&custom=industry%3Aretail&sort=email&desc=false&page=3"
        );
    }
}
