//! Back-off of password sign-in: CSC `auth/login` with HTTP Basic and the sign-in form of the
//! consent and approval pages (docs/security.md, "Password login back-off").
//!
//! Failures are counted per (username, client address) and per client address, and checked
//! before the password hash is computed: an attempt inside a back-off costs no argon2 and gets
//! 429 with `Retry-After`. After `free` failures each further one doubles the wait, from
//! `base_delay` up to `max_delay`. What one address does never delays the same user at another
//! address, so an attacker cannot lock a signer out by failing on purpose.
//!
//! An attempt is charged when it starts, so that a burst of concurrent guesses is throttled as
//! a sequence would be; a correct password refunds it (and clears its (user, address) entry).
//! Entries are forgotten `forget_after` after their last failure, and at most `max_tracked` of
//! each kind are kept (the oldest go first when full).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;

/// Prometheus counter of sign-in attempts refused inside a back-off.
pub const LOGIN_THROTTLED: &str = "signet_login_throttled_total";

/// How password sign-in backs off (`[login]` in the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginBackoffSettings {
    /// False: no back-off at all (for a deployment that throttles in front of Signet).
    pub enabled: bool,
    /// Failures of one username from one address before the back-off starts.
    pub free_failures_per_user: u32,
    /// Failures from one address, whatever the usernames, before the back-off starts.
    pub free_failures_per_address: u32,
    /// The first wait; each further failure doubles it.
    pub base_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// Failures are forgotten this long after the last one.
    pub forget_after: Duration,
    /// Most entries kept of each kind ((user, address) and address).
    pub max_tracked: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client. Empty: the TCP peer is the
    /// client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for LoginBackoffSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            free_failures_per_user: 5,
            free_failures_per_address: 20,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(900),
            forget_after: Duration::from_secs(3600),
            max_tracked: 100_000,
            trusted_proxies: Vec::new(),
        }
    }
}

/// A client address as the back-off counts it: IPv4 as is, IPv6 by its /64 (one subscriber
/// gets a whole /64, so single addresses would cost an attacker nothing). `None`: unknown (no
/// connection information, e.g. a router driven in-process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct AddressKey(Option<IpAddr>);

impl AddressKey {
    fn of(address: Option<IpAddr>) -> Self {
        Self(address.map(|a| match a.to_canonical() {
            IpAddr::V6(v6) => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::from(octets)
            }
            v4 => v4,
        }))
    }
}

/// Usernames are counted by at most this many bytes (longer ones share an entry).
const MAX_USERNAME_BYTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct UserKey {
    username: String,
    address: AddressKey,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    last: Instant,
}

#[derive(Debug, Default)]
struct Tables {
    users: HashMap<UserKey, Entry>,
    addresses: HashMap<AddressKey, Entry>,
}

/// A sign-in attempt let through (and charged as a failure until [`LoginBackoff::succeeded`]).
#[derive(Debug)]
pub struct Attempt {
    user: UserKey,
}

/// The back-off state of one node (in memory: a restart forgets it, as does another node).
#[derive(Debug)]
pub struct LoginBackoff {
    settings: LoginBackoffSettings,
    tables: Mutex<Tables>,
}

impl LoginBackoff {
    pub fn new(settings: LoginBackoffSettings) -> Self {
        Self {
            settings,
            tables: Mutex::new(Tables::default()),
        }
    }

    pub fn settings(&self) -> &LoginBackoffSettings {
        &self.settings
    }

    /// The client of a request that came from `peer`: `peer` itself, unless it is a trusted
    /// proxy; then the nearest address in `X-Forwarded-For` that is not one (each proxy appends
    /// the address it saw, so entries left of the trusted ones are the client's to invent and
    /// are never looked at).
    pub fn client_address(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let values: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let mut client = peer;
        for hop in values.iter().rev().flat_map(|v| v.rsplit(',')) {
            let Some(address) = parse_hop(hop) else {
                break;
            };
            client = address;
            if !self.is_trusted(address) {
                break;
            }
        }
        Some(client)
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.settings
            .trusted_proxies
            .iter()
            .any(|p| p.to_canonical() == address)
    }

    /// Lets a sign-in attempt of `username` from `address` through, charged as a failure, or
    /// says how long it must wait.
    pub fn begin(&self, username: &str, address: Option<IpAddr>) -> Result<Attempt, Duration> {
        self.begin_at(username, address, Instant::now())
    }

    fn begin_at(
        &self,
        username: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<Attempt, Duration> {
        let address = AddressKey::of(address);
        let user = UserKey {
            username: truncate(username, MAX_USERNAME_BYTES).to_owned(),
            address,
        };
        if !self.settings.enabled {
            return Ok(Attempt { user });
        }
        let s = &self.settings;
        let mut tables = self.lock();
        let wait = self
            .wait(tables.users.get(&user), s.free_failures_per_user, now)
            .max(self.wait(
                tables.addresses.get(&address),
                s.free_failures_per_address,
                now,
            ));
        if !wait.is_zero() {
            metrics::counter!(LOGIN_THROTTLED).increment(1);
            return Err(wait);
        }
        self.charge(&mut tables.users, user.clone(), now);
        self.charge(&mut tables.addresses, address, now);
        Ok(Attempt { user })
    }

    /// The password was right: the (user, address) entry is cleared and the address refunded
    /// the charge of this attempt (not its other failures: signing in to one's own account
    /// must not reset a count run up against others).
    pub fn succeeded(&self, attempt: Attempt) {
        if !self.settings.enabled {
            return;
        }
        let mut tables = self.lock();
        tables.users.remove(&attempt.user);
        let address = attempt.user.address;
        if let Some(entry) = tables.addresses.get_mut(&address) {
            entry.failures = entry.failures.saturating_sub(1);
            if entry.failures == 0 {
                tables.addresses.remove(&address);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // The tables stay consistent whatever panicked while holding them.
        self.tables.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long an entry with `free` free failures still makes a new attempt wait at `now`.
    fn wait(&self, entry: Option<&Entry>, free: u32, now: Instant) -> Duration {
        let Some(entry) = entry else {
            return Duration::ZERO;
        };
        let since = now.saturating_duration_since(entry.last);
        if since >= self.settings.forget_after {
            return Duration::ZERO;
        }
        self.delay(entry.failures, free).saturating_sub(since)
    }

    /// The back-off after `failures` failures: none for the first `free`, then `base_delay`,
    /// doubling with each further failure up to `max_delay`.
    fn delay(&self, failures: u32, free: u32) -> Duration {
        let Some(beyond) = failures.checked_sub(free) else {
            return Duration::ZERO;
        };
        let factor = 1u32 << beyond.min(31);
        self.settings
            .base_delay
            .saturating_mul(factor)
            .min(self.settings.max_delay)
    }

    /// Counts one more failure under `key`, making room first when the table is full.
    fn charge<K: Eq + Hash>(&self, table: &mut HashMap<K, Entry>, key: K, now: Instant) {
        if !table.contains_key(&key) && table.len() >= self.settings.max_tracked {
            self.make_room(table, now);
        }
        let entry = table.entry(key).or_insert(Entry {
            failures: 0,
            last: now,
        });
        if now.saturating_duration_since(entry.last) >= self.settings.forget_after {
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last = now;
    }

    /// Drops forgotten entries; if that is not enough, the oldest eighth (at least one), so
    /// that a full table costs one sweep per `max_tracked / 8` new entries.
    fn make_room<K: Eq + Hash>(&self, table: &mut HashMap<K, Entry>, now: Instant) {
        let forget = self.settings.forget_after;
        table.retain(|_, e| now.saturating_duration_since(e.last) < forget);
        if table.len() < self.settings.max_tracked {
            return;
        }
        let mut times: Vec<Instant> = table.values().map(|e| e.last).collect();
        let drop = (times.len() / 8).max(1);
        let (_, cutoff, _) = times.select_nth_unstable(drop - 1);
        let cutoff = *cutoff;
        table.retain(|_, e| e.last > cutoff);
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        let tables = self.lock();
        (tables.users.len(), tables.addresses.len())
    }
}

/// Whole seconds to put in `Retry-After` (rounded up: retrying earlier is refused again).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// One `X-Forwarded-For` entry: an address, `[v6]`, or either with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .and_then(|h| h.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub(crate) fn describe() {
    metrics::describe_counter!(
        LOGIN_THROTTLED,
        metrics::Unit::Count,
        "Password sign-in attempts refused inside a back-off (429), before any password check"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> LoginBackoffSettings {
        LoginBackoffSettings {
            free_failures_per_user: 3,
            free_failures_per_address: 10,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(8),
            forget_after: Duration::from_secs(60),
            max_tracked: 1000,
            ..LoginBackoffSettings::default()
        }
    }

    const A: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));
    const B: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));
    const S: Duration = Duration::from_secs(1);

    #[test]
    fn free_failures_then_doubling_waits_up_to_the_cap() {
        let b = LoginBackoff::new(settings());
        let t0 = Instant::now();
        for _ in 0..3 {
            b.begin_at("alice", A, t0).expect("free");
        }
        // The fourth waits 1 s, then 2, 4, 8, 8 (capped).
        let mut t = t0;
        for wait in [1, 2, 4, 8, 8] {
            assert_eq!(b.begin_at("alice", A, t).unwrap_err(), S * wait);
            let half = t + S * wait / 2;
            assert_eq!(b.begin_at("alice", A, half).unwrap_err(), S * wait / 2);
            t += S * wait;
            b.begin_at("alice", A, t).expect("after the wait");
        }
    }

    #[test]
    fn another_address_and_another_user_are_not_delayed() {
        let b = LoginBackoff::new(settings());
        let t = Instant::now();
        for _ in 0..3 {
            b.begin_at("alice", A, t).unwrap();
        }
        assert!(b.begin_at("alice", A, t).is_err());
        // The victim at their own address, and another user at the attacker's address.
        b.begin_at("alice", B, t).expect("alice at B");
        b.begin_at("bob", A, t).expect("bob at A");
    }

    #[test]
    fn success_clears_the_user_and_refunds_only_its_own_charge() {
        let b = LoginBackoff::new(settings());
        let t = Instant::now();
        for name in ["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9"] {
            b.begin_at(name, A, t).unwrap();
        }
        let mine = b.begin_at("me", A, t).unwrap();
        // Ten charges on A: the eleventh attempt from A waits, whoever it names.
        assert_eq!(b.begin_at("other", A, t).unwrap_err(), S);
        b.succeeded(mine);
        // Refunded its own charge only: one more attempt, then waiting again.
        let next = b.begin_at("other", A, t).unwrap();
        assert!(b.begin_at("another", A, t).is_err());
        b.succeeded(next);
        assert_eq!(b.tracked(), (9, 1));
        // A success clears the user's count at that address.
        for _ in 0..2 {
            b.begin_at("carol", B, t).unwrap();
        }
        let ok = b.begin_at("carol", B, t).unwrap();
        b.succeeded(ok);
        for _ in 0..3 {
            b.begin_at("carol", B, t).expect("counting from zero again");
        }
    }

    #[test]
    fn failures_are_forgotten_after_a_while() {
        let b = LoginBackoff::new(settings());
        let t = Instant::now();
        for _ in 0..4 {
            let _ = b.begin_at("dave", A, t);
        }
        assert_eq!(b.begin_at("dave", A, t + S / 4).unwrap_err(), S * 3 / 4);
        let later = t + Duration::from_secs(61);
        for _ in 0..3 {
            b.begin_at("dave", A, later).expect("forgotten");
        }
    }

    #[test]
    fn memory_is_bounded() {
        let b = LoginBackoff::new(LoginBackoffSettings {
            max_tracked: 64,
            free_failures_per_address: u32::MAX,
            ..settings()
        });
        let t = Instant::now();
        for i in 0..1000u32 {
            let address = Some(IpAddr::from([10, 0, (i >> 8) as u8, i as u8]));
            b.begin_at(
                &format!("user{i}"),
                address,
                t + Duration::from_millis(i.into()),
            )
            .unwrap();
        }
        let (users, addresses) = b.tracked();
        assert!(users <= 64 && addresses <= 64, "{users} {addresses}");
        // The newest survive.
        let tables = b.lock();
        assert!(tables.users.keys().any(|k| k.username == "user999"));
    }

    #[test]
    fn ipv6_counts_by_slash_64_and_disabled_means_never() {
        let b = LoginBackoff::new(settings());
        let t = Instant::now();
        for i in 1..=3u16 {
            let a: IpAddr = format!("2001:db8:1:2::{i}").parse().unwrap();
            b.begin_at("erin", Some(a), t).unwrap();
        }
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(b.begin_at("erin", Some(same_64), t).is_err());
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        b.begin_at("erin", Some(other_64), t).unwrap();
        // IPv4-mapped IPv6 is the IPv4 address.
        for _ in 0..3 {
            b.begin_at("finn", A, t).unwrap();
        }
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert!(b.begin_at("finn", Some(mapped), t).is_err());

        let off = LoginBackoff::new(LoginBackoffSettings {
            enabled: false,
            ..settings()
        });
        for _ in 0..100 {
            off.begin_at("gus", A, t).unwrap();
        }
    }

    #[test]
    fn forwarded_for_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let b = LoginBackoff::new(LoginBackoffSettings {
            trusted_proxies: vec![proxy, "10.0.0.5".parse().unwrap()],
            ..settings()
        });
        let headers = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append("x-forwarded-for", v.parse().unwrap());
            }
            h
        };
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // Not a trusted proxy: the header is the client's invention.
        let direct = ip("192.0.2.9");
        assert_eq!(
            b.client_address(direct, &headers(&["198.51.100.1"])),
            direct
        );
        // The proxy: the rightmost address it did not add itself, skipping trusted hops.
        assert_eq!(
            b.client_address(Some(proxy), &headers(&["1.1.1.1, 198.51.100.7"])),
            ip("198.51.100.7")
        );
        assert_eq!(
            b.client_address(
                Some(proxy),
                &headers(&["6.6.6.6", "198.51.100.7 , 10.0.0.5"])
            ),
            ip("198.51.100.7")
        );
        assert_eq!(
            b.client_address(Some(proxy), &headers(&["[2001:db8::1]:443"])),
            ip("2001:db8::1")
        );
        // Nothing usable: the proxy itself.
        assert_eq!(b.client_address(Some(proxy), &headers(&[])), Some(proxy));
        assert_eq!(
            b.client_address(Some(proxy), &headers(&["garbage"])),
            Some(proxy)
        );
        assert_eq!(b.client_address(None, &headers(&["1.2.3.4"])), None);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
