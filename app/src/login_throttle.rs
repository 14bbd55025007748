//! Password-guessing defence that strangers cannot turn into a lock-out.
//!
//! A plain "five failures lock the account" limit lets anyone lock any
//! owner out by typing wrong passwords at their address. Instead:
//! - failures are counted per **(account, client)**: the client that keeps
//!   failing is refused (429) for the rest of the window, nobody else is;
//! - the account **as a whole** is only slowed down: once it has drawn many
//!   failures from all clients together, each further attempt from a client
//!   that has itself failed on it waits a growing delay (capped) before the
//!   password is checked — guessing gets slow, a client in good standing
//!   (the owner on their own network) logs in at once;
//! - memory is bounded: expired entries are dropped, and past the cap the
//!   oldest entries go first.
//!
//! The per-IP budget (every attempt, any account) stays with the plain
//! [`crate::ssr::RateLimiter`]. Distributed guessing from many addresses is
//! bounded by those budgets and by the password strength estimator at
//! sign-up, not by locking accounts.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Failures one client may make on one account per window.
pub const MAX_FAILURES_PER_CLIENT: u32 = 5;
/// Failures on one account (all clients) before it is slowed down.
pub const ACCOUNT_SLOWDOWN_AFTER: u32 = 10;
/// Delay added per failure past the threshold, and its cap.
pub const SLOWDOWN_STEP: Duration = Duration::from_millis(250);
pub const SLOWDOWN_CAP: Duration = Duration::from_secs(3);

#[derive(Clone)]
pub struct LoginThrottle {
    inner: Arc<Mutex<State>>,
    window: Duration,
    max_keys: usize,
}

#[derive(Default)]
struct State {
    /// (account, client) → (window start, failures).
    pairs: HashMap<(String, IpAddr), (Instant, u32)>,
    /// account → (window start, failures from everyone).
    accounts: HashMap<String, (Instant, u32)>,
}

/// What a login attempt may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Go ahead after waiting this long (zero for clients in good standing).
    Proceed(Duration),
    /// This client has spent its failures on this account: seconds to wait.
    Refused(u64),
}

impl LoginThrottle {
    pub fn new(window: Duration) -> Self {
        Self::with_capacity(window, 100_000)
    }

    pub fn with_capacity(window: Duration, max_keys: usize) -> Self {
        LoginThrottle { inner: Arc::default(), window, max_keys: max_keys.max(1) }
    }

    fn live(&self, now: Instant, entry: Option<&(Instant, u32)>) -> u32 {
        entry.filter(|(start, _)| now.duration_since(*start) < self.window).map_or(0, |(_, n)| *n)
    }

    /// Decides before the password is checked.
    pub fn admit(&self, account: &str, client: IpAddr) -> Admission {
        let state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let pair = state.pairs.get(&(account.to_string(), client));
        let own = self.live(now, pair);
        if own >= MAX_FAILURES_PER_CLIENT {
            let start = pair.map(|(s, _)| *s).unwrap_or(now);
            return Admission::Refused(
                (self.window.saturating_sub(now.duration_since(start))).as_secs().max(1),
            );
        }
        let total = self.live(now, state.accounts.get(account));
        if own == 0 || total < ACCOUNT_SLOWDOWN_AFTER {
            return Admission::Proceed(Duration::ZERO);
        }
        let steps = total - ACCOUNT_SLOWDOWN_AFTER + 1;
        Admission::Proceed(SLOWDOWN_STEP.saturating_mul(steps).min(SLOWDOWN_CAP))
    }

    pub fn failed(&self, account: &str, client: IpAddr) {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let window = self.window;
        let max = self.max_keys;
        bump(&mut state.pairs, (account.to_string(), client), now, window, max);
        bump(&mut state.accounts, account.to_string(), now, window, max);
    }

    /// A correct password clears this client's failures (not the account's:
    /// the owner logging in does not end an attack on the account).
    pub fn succeeded(&self, account: &str, client: IpAddr) {
        let mut state = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        state.pairs.remove(&(account.to_string(), client));
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        let state = self.inner.lock().unwrap();
        (state.pairs.len(), state.accounts.len())
    }
}

fn bump<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, (Instant, u32)>,
    key: K,
    now: Instant,
    window: Duration,
    max_keys: usize,
) {
    if !map.contains_key(&key) && map.len() >= max_keys {
        map.retain(|_, (start, _)| now.duration_since(*start) < window);
        // Still full of live entries: forget the oldest tenth (they are the
        // closest to expiring anyway) rather than grow without bound.
        if map.len() >= max_keys {
            let mut starts: Vec<(Instant, K)> = map.iter().map(|(k, (s, _))| (*s, k.clone())).collect();
            starts.sort_by_key(|(s, _)| *s);
            for (_, k) in starts.into_iter().take((max_keys / 10).max(1)) {
                map.remove(&k);
            }
        }
    }
    let entry = map.entry(key).or_insert((now, 0));
    if now.duration_since(entry.0) >= window {
        *entry = (now, 0);
    }
    entry.1 = entry.1.saturating_add(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_failing_client_is_refused_and_others_are_not() {
        let t = LoginThrottle::new(Duration::from_secs(900));
        let (attacker, owner) = (ip("203.0.113.9"), ip("198.51.100.7"));
        for _ in 0..MAX_FAILURES_PER_CLIENT {
            assert_eq!(t.admit("ada@example.com", attacker), Admission::Proceed(Duration::ZERO));
            t.failed("ada@example.com", attacker);
        }
        assert!(matches!(t.admit("ada@example.com", attacker), Admission::Refused(s) if s > 800));
        assert_eq!(t.admit("ada@example.com", owner), Admission::Proceed(Duration::ZERO));
        assert_eq!(t.admit("bob@example.com", attacker), Admission::Proceed(Duration::ZERO));
    }

    #[test]
    fn an_attacked_account_slows_failing_clients_only() {
        let t = LoginThrottle::new(Duration::from_secs(900));
        // Many clients, a few failures each: nobody is refused…
        for i in 0..6 {
            let c = ip(&format!("203.0.113.{i}"));
            for _ in 0..3 {
                t.failed("ada@example.com", c);
            }
        }
        // …but those that have failed now wait, more with every failure.
        let Admission::Proceed(d) = t.admit("ada@example.com", ip("203.0.113.1")) else { panic!() };
        assert_eq!(d, SLOWDOWN_STEP * (18 - ACCOUNT_SLOWDOWN_AFTER + 1));
        for _ in 0..100 {
            t.failed("ada@example.com", ip("203.0.113.50"));
        }
        let Admission::Proceed(d) = t.admit("ada@example.com", ip("203.0.113.1")) else { panic!() };
        assert_eq!(d, SLOWDOWN_CAP);
        // The owner, who has not been failing, is not slowed at all.
        assert_eq!(t.admit("ada@example.com", ip("198.51.100.7")), Admission::Proceed(Duration::ZERO));
    }

    #[test]
    fn success_clears_the_client_and_windows_expire() {
        let t = LoginThrottle::new(Duration::from_millis(30));
        let c = ip("203.0.113.9");
        for _ in 0..MAX_FAILURES_PER_CLIENT {
            t.failed("a", c);
        }
        assert!(matches!(t.admit("a", c), Admission::Refused(_)));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(t.admit("a", c), Admission::Proceed(Duration::ZERO));
        t.failed("a", c);
        t.succeeded("a", c);
        assert_eq!(t.admit("a", c), Admission::Proceed(Duration::ZERO));
    }

    #[test]
    fn memory_is_bounded_under_a_flood_of_distinct_keys() {
        let t = LoginThrottle::with_capacity(Duration::from_secs(900), 1_000);
        for i in 0..20_000u32 {
            let c = IpAddr::from((0x0a00_0000 + i).to_be_bytes());
            t.failed(&format!("user{i}@example.com"), c);
        }
        let (pairs, accounts) = t.tracked();
        assert!(pairs <= 1_000 && accounts <= 1_000, "{pairs} pairs, {accounts} accounts");
    }
}
