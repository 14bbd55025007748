//! PostgreSQL: which trigrams of `prospects.search_text` are common, from a
//! sample of rows, so that a search asks the trigram index for its rare
//! ones only.
//!
//! pg_trgm answers `LIKE '%company4217%'` by reading the posting list of
//! every trigram of the pattern. `com`, `omp`… are in every row: reading
//! them took 50–140 ms at a million rows, while `y42` alone named the few
//! thousand rows to check in 7 ms. PostgreSQL keeps no statistics per
//! trigram, so this samples rows (`TABLESAMPLE SYSTEM`, a few hundred
//! pages) and counts, at most every ten minutes per database and node, or
//! sooner when the table's size has changed a lot. A wrong guess costs
//! time, never a wrong answer: the exact test is always applied.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::{ServiceError, ServiceResult};

/// Rows sampled (about).
const SAMPLE_ROWS: f64 = 5_000.0;
/// A trigram estimated in more rows than this is not asked of the index.
const RARE_ROWS: f64 = 5_000.0;
/// Trigrams asked of the index per term at most (the rarest).
const PER_TERM: usize = 3;
const TTL: Duration = Duration::from_secs(600);

/// Trigram frequencies in a sample of the table.
#[derive(Debug, Default)]
pub(crate) struct Trigrams {
    /// In how many sampled rows each trigram occurs.
    counts: HashMap<String, u32>,
    sampled: u32,
    /// The table's size when sampled (rows, all organisations: the index
    /// holds them all).
    rows: f64,
}

impl Trigrams {
    fn from_sample<'a>(texts: impl Iterator<Item = &'a str>, table_rows: f64) -> Trigrams {
        let mut t = Trigrams::default();
        for text in texts {
            t.sampled += 1;
            let chars: Vec<char> = text.chars().collect();
            let seen: HashSet<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
            for g in seen {
                *t.counts.entry(g).or_default() += 1;
            }
        }
        t.rows = table_rows.max(t.sampled as f64);
        t
    }

    /// Rows estimated to hold `trigram`.
    fn estimate(&self, trigram: &str) -> f64 {
        if self.sampled == 0 {
            return 0.0;
        }
        self.counts.get(trigram).copied().unwrap_or(0) as f64 / self.sampled as f64 * self.rows
    }

    /// Whether the trigram index cannot narrow `term`: it has no trigram of
    /// letters and digits, or each of them is in most rows. pg_trgm would
    /// then read posting lists as long as the table (`company`: 235 ms at
    /// a million rows) to learn what reading the rows tells as fast.
    pub(crate) fn useless_for(&self, term: &str) -> bool {
        let chars: Vec<char> = term.chars().collect();
        chars
            .windows(3)
            .filter(|w| w.iter().all(char::is_ascii_alphanumeric))
            .all(|w| self.estimate(&w.iter().collect::<String>()) >= self.rows / 2.0)
    }

    /// The term's rare trigrams, rarest first, at most [`PER_TERM`]: only
    /// ASCII letters and digits, the characters pg_trgm indexes as they are
    /// (it splits words at anything else, so `@co` is not one of its
    /// trigrams).
    pub(crate) fn rare_trigrams(&self, term: &str) -> Vec<String> {
        let chars: Vec<char> = term.chars().collect();
        let mut found: Vec<(f64, String)> = Vec::new();
        for w in chars.windows(3) {
            if !w.iter().all(char::is_ascii_alphanumeric) {
                continue;
            }
            let g: String = w.iter().collect();
            let n = self.estimate(&g);
            if n < RARE_ROWS && !found.iter().any(|(_, f)| *f == g) {
                found.push((n, g));
            }
        }
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        found.into_iter().take(PER_TERM).map(|(_, g)| g).collect()
    }
}

struct Cached {
    trigrams: Arc<Trigrams>,
    at: Instant,
}

/// The trigram frequencies of the connected database's prospects.
pub(crate) async fn common<C: ConnectionTrait>(db: &C) -> ServiceResult<Arc<Trigrams>> {
    static CACHE: LazyLock<Mutex<HashMap<String, Cached>>> = LazyLock::new(Default::default);
    let row = db
        .query_one(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_database() AS db, \
             (SELECT reltuples::float8 FROM pg_class WHERE oid = 'prospects'::regclass) AS rows",
        ))
        .await?
        .ok_or_else(ServiceError::internal)?;
    let name: String = row.try_get("", "db")?;
    // -1 until the table is first analysed.
    let rows: f64 = row.try_get::<f64>("", "rows")?.max(0.0);
    {
        let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.get(&name) {
            let drift = (rows + 1.0) / (c.trigrams.rows + 1.0);
            if c.at.elapsed() < TTL && (0.5..2.0).contains(&drift) {
                return Ok(c.trigrams.clone());
            }
        }
    }
    // SYSTEM samples whole pages: a few hundred of a large table, all of a
    // small one.
    let percent = if rows <= SAMPLE_ROWS { 100.0 } else { (SAMPLE_ROWS / rows * 100.0).clamp(0.01, 100.0) };
    let texts: Vec<String> = db
        .query_all(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT search_text FROM prospects TABLESAMPLE SYSTEM ({percent:.4}) LIMIT {}",
                SAMPLE_ROWS * 2.0
            ),
        ))
        .await?
        .iter()
        .map(|r| r.try_get::<String>("", "search_text"))
        .collect::<Result<_, _>>()?;
    let trigrams = Arc::new(Trigrams::from_sample(texts.iter().map(String::as_str), rows));
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.insert(name, Cached { trigrams: trigrams.clone(), at: Instant::now() });
    Ok(trigrams)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_trigrams_are_left_to_the_exact_test() {
        // 1,000 sampled rows of a million: `com`… in all of them, `y42` in
        // eleven (company420…429, company4217), `421` and `217` in two.
        let mut texts: Vec<String> = (0..999).map(|i| format!("jean martin company{i:03}")).collect();
        texts.push("marie company4217".into());
        let t = Trigrams::from_sample(texts.iter().map(String::as_str), 1_000_000.0);
        assert_eq!(t.rare_trigrams("company4217"), vec!["421", "217"]);
        assert!(t.rare_trigrams("martin").is_empty(), "every trigram is common");
        assert!(t.useless_for("company") && t.useless_for("@.") && !t.useless_for("company4217"));
        assert!(!t.useless_for("marie"), "in one row of a thousand: the index narrows it");
        assert_eq!(t.rare_trigrams("@co.fr"), Vec::<String>::new(), "no trigram of letters and digits");
        // A small table: everything is rare, the index narrows every term.
        let t = Trigrams::from_sample(texts.iter().map(String::as_str), 1_000.0);
        assert_eq!(t.rare_trigrams("martin").len(), PER_TERM);
    }
}
