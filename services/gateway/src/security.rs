//! Security headers (安全响应头) on every answer and rate limits (限流) on login and the public, token-less
//! endpoints.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use bangban_platform::{net::TrustedProxies, problem::Problem};

use crate::AppState;

/// The Content-Security-Policy of every page: nothing from elsewhere, no inline script or style, no
/// framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Adds the security headers to every answer (a handler's own value wins).
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        if !h.contains_key(name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    };
    set("content-security-policy", CONTENT_SECURITY_POLICY);
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "same-origin");
    set("cross-origin-opener-policy", "same-origin");
    set("cross-origin-resource-policy", "same-origin");
    set("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()");
    if state.web.secure_cookies {
        set("strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    res
}

/// Which limit a request falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Login attempts: everything under `/auth/` (`/auth/oidc/start` too: each start stores a login in
    /// progress).
    Login,
    /// Token-less public endpoints: provider hooks, evaluation by one-time code.
    Public,
    /// Writes of one signed-in person (by `sub`, not by address; checked by the audit layer, which knows
    /// who is writing).
    Write,
}

impl Bucket {
    /// The per-address bucket of a path, if it is limited.
    pub fn of(path: &str) -> Option<Self> {
        if path.starts_with("/auth/") {
            Some(Bucket::Login)
        } else if ["/api/v1/hooks/", "/api/v1/evaluations/by-code", "/api/v1/evaluations/invitations/", "/e/"]
            .iter()
            .any(|p| path.starts_with(p))
        {
            Some(Bucket::Public)
        } else {
            None
        }
    }

    fn label(self) -> &'static str {
        match self {
            Bucket::Login => "login",
            Bucket::Public => "public",
            Bucket::Write => "write",
        }
    }
}

/// Who a budget belongs to: a client address (an IPv6 address by its /64, the smallest network a
/// subscriber is given, so that one host cannot mint fresh budgets), or a signed-in person.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Client {
    Addr(IpAddr),
    Person(Box<str>),
}

impl Client {
    fn addr(ip: IpAddr) -> Self {
        Client::Addr(match ip {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
            },
        })
    }
}

/// A budget above this many entries is swept of idle ones ([`RateLimiter`]).
const SWEEP_ABOVE: usize = 10_000;
/// An entry untouched this long is full again (every bucket refills within a minute) and can be forgotten.
const IDLE: Duration = Duration::from_secs(60);

/// Token buckets per (bucket, client), refilled continuously: `per_minute` requests a minute, bursts up to
/// `per_minute`. Per replica: a city with N gateway replicas allows up to N times as many.
///
/// Idle entries are forgotten by a sweep over the map, which runs only when the map holds more than
/// [`SWEEP_ABOVE`] entries and either a minute has passed since the last sweep or the map has doubled since:
/// so a sweep's cost is paid for by the requests that grew the map or fell in the minute before it, and a
/// request costs O(1) amortised however many addresses a flood forges ([`RateLimiter::swept`] counts the
/// work).
#[derive(Clone, Default)]
pub struct RateLimiter {
    inner: Arc<Mutex<Budgets>>,
}

#[derive(Default)]
struct Budgets {
    map: HashMap<(Bucket, Client), Tokens>,
    last_sweep: Option<Instant>,
    /// Entries left by the last sweep.
    kept: usize,
    /// Entries looked at by sweeps, in all.
    swept: u64,
}

/// Tokens left and when they were counted.
type Tokens = (f64, Instant);

impl Budgets {
    fn take(&mut self, key: (Bucket, Client), per_minute: u32, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(per_minute.max(1));
        let rate = capacity / 60.0;
        let len = self.map.len();
        let due = self.last_sweep.is_none_or(|at| now.saturating_duration_since(at) >= IDLE);
        if len > SWEEP_ABOVE && (due || len >= 2 * self.kept.max(SWEEP_ABOVE)) {
            self.swept += len as u64;
            self.map.retain(|_, (_, at)| now.saturating_duration_since(*at) < IDLE);
            self.kept = self.map.len();
            self.last_sweep = Some(now);
        }
        let (tokens, at) = self.map.entry(key).or_insert((capacity, now));
        *tokens = (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

impl RateLimiter {
    fn budgets(&self) -> std::sync::MutexGuard<'_, Budgets> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes one token of `bucket` for the address `ip`; `Err(wait)` when none is left.
    pub fn check(&self, bucket: Bucket, ip: IpAddr, per_minute: u32, now: Instant) -> Result<(), Duration> {
        self.budgets().take((bucket, Client::addr(ip)), per_minute, now)
    }

    /// Takes one token of `bucket` for the person `sub`; `Err(wait)` when none is left.
    pub fn check_person(&self, bucket: Bucket, sub: &str, per_minute: u32, now: Instant) -> Result<(), Duration> {
        self.budgets().take((bucket, Client::Person(sub.into())), per_minute, now)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.budgets().map.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries looked at by sweeps so far (the limiter's bookkeeping work).
    pub fn swept(&self) -> u64 {
        self.budgets().swept
    }
}

/// 429 with `Retry-After` and a problem naming the wait.
pub fn too_many_requests(wait: Duration, instance: &str, who_zh: &str, who_en: &str) -> Response {
    let secs = wait.as_secs().max(1);
    let mut res = Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "请求过于频繁", "Too many requests")
        .with_detail(
            format!("{who_zh}请求过于频繁，请 {secs} 秒后再试"),
            format!("too many requests {who_en}; try again in {secs} s"),
        )
        .with_instance(instance)
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

/// The client's address: the peer's, or — when the peer is one of `web.trusted_proxies` (the ingress) —
/// the rightmost `X-Forwarded-For` hop that is not a trusted proxy ([`TrustedProxies::client_ip`]).
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, proxies: &TrustedProxies) -> Option<IpAddr> {
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    proxies.client_ip(peer.map(|p| p.ip()), forwarded)
}

/// Refuses, with 429 and `Retry-After`, what is over its limit.
/// The key of the gateway-wide budgets (no client has the unspecified address).
const GATEWAY_WIDE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);

pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(bucket) = Bucket::of(req.uri().path()) else {
        return next.run(req).await;
    };
    // Every request under /auth/ counts, GETs too: `/auth/oidc/start` stores a login in progress and
    // `/auth/callback` redeems a code. (The login page itself, `/login`, is not limited.)
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let web = &state.web;
    let Some(ip) = client_ip(req.headers(), peer, &state.trusted_proxies) else {
        return next.run(req).await;
    };
    let per_minute = match bucket {
        Bucket::Login => web.login_per_minute,
        Bucket::Public | Bucket::Write => web.public_per_minute,
    };
    let now = Instant::now();
    if req.uri().path() == "/auth/oidc/start"
        && let Err(wait) = state.limiter.check(bucket, GATEWAY_WIDE, web.login_starts_per_minute, now)
    {
        tracing::warn!("the gateway's limit of logins started per minute is reached");
        metrics::counter!("bangban_gateway_rate_limited_total", "bucket" => "login_starts").increment(1);
        return too_many_requests(wait, "/auth/oidc/start", "本网关", "at this gateway");
    }
    match state.limiter.check(bucket, ip, per_minute, now) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let path: String = req.uri().path().chars().take(crate::audit::PATH_LIMIT).collect();
            tracing::warn!(path = %path, ?bucket, "rate limit reached");
            metrics::counter!("bangban_gateway_rate_limited_total", "bucket" => bucket.label()).increment(1);
            too_many_requests(wait, &path, "本地址", "from this address")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_wide_budget_is_apart_from_every_address() {
        let l = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..600u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(l.check(Bucket::Login, ip, 10, t0).is_ok());
            assert!(l.check(Bucket::Login, GATEWAY_WIDE, 600, t0).is_ok());
        }
        assert!(l.check(Bucket::Login, GATEWAY_WIDE, 600, t0).is_err(), "600 starts a minute, all addresses together");
        assert!(l.check(Bucket::Login, "10.9.9.9".parse().unwrap(), 10, t0).is_ok());
    }

    #[test]
    fn a_bucket_allows_its_burst_then_refills() {
        let l = RateLimiter::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..10 {
            assert!(l.check(Bucket::Login, ip, 10, t0).is_ok());
        }
        let wait = l.check(Bucket::Login, ip, 10, t0).unwrap_err();
        assert!(wait > Duration::from_secs(5) && wait <= Duration::from_secs(6), "{wait:?}");
        // Another address and another bucket are not affected.
        assert!(l.check(Bucket::Login, "10.0.0.2".parse().unwrap(), 10, t0).is_ok());
        assert!(l.check(Bucket::Public, ip, 10, t0).is_ok());
        // Six seconds later one more is allowed.
        assert!(l.check(Bucket::Login, ip, 10, t0 + Duration::from_secs(6)).is_ok());
        assert!(l.check(Bucket::Login, ip, 10, t0 + Duration::from_secs(6)).is_err());
    }

    #[test]
    fn forwarded_for_is_used_only_when_the_peer_is_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("198.51.100.7, 203.0.113.9"));
        h.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        let peer: SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let ingress = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        // The rightmost hop that is not ours; the forged leftmost entry is ignored.
        assert_eq!(client_ip(&h, Some(peer), &ingress), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(client_ip(&h, Some(peer), &TrustedProxies::default()), Some(peer.ip()));
        let stranger: SocketAddr = "198.51.100.1:5000".parse().unwrap();
        assert_eq!(client_ip(&h, Some(stranger), &ingress), Some(stranger.ip()));
    }

    /// Many forged addresses (finding 7): the map is swept at most once a minute or when it has doubled, so
    /// the bookkeeping work stays proportional to the requests, not to requests × entries (the old limiter
    /// swept all 50 000+ entries on every request past 50 000: ~10^10 entries looked at here).
    #[test]
    fn a_flood_of_addresses_costs_amortised_constant_work() {
        let l = RateLimiter::default();
        let t0 = Instant::now();
        let calls: u32 = 200_000;
        for i in 0..calls {
            // Distinct addresses, each fresh, all within the same second.
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert!(l.check(Bucket::Login, ip, 10, t0 + Duration::from_micros(u64::from(i))).is_ok());
        }
        assert_eq!(l.len(), calls as usize, "nothing idle to forget yet");
        let work = l.swept();
        assert!(work <= 2 * u64::from(calls), "{work} entries swept for {calls} requests");
        // A minute later the idle ones are forgotten by one sweep, and the next requests cost nothing more.
        let later = t0 + Duration::from_secs(61);
        for i in 0..1_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            assert!(l.check(Bucket::Login, ip, 10, later).is_ok());
        }
        assert_eq!(l.len(), 1_000, "the flood's entries are gone");
        let after = l.swept() - work;
        assert!(after <= u64::from(calls) + 1_000, "{after}");
        // Steady traffic from many addresses over several minutes: still linear.
        let before = l.swept();
        let mut requests = 0u64;
        for minute in 0..5u64 {
            for i in 0..30_000u32 {
                let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0c00_0000 + i));
                let at = later + Duration::from_secs(60 * (minute + 1)) + Duration::from_millis(u64::from(i % 1000));
                let _ = l.check(Bucket::Public, ip, 60, at);
                requests += 1;
            }
        }
        let steady = l.swept() - before;
        assert!(steady <= 3 * requests, "{steady} for {requests}");
    }

    #[test]
    fn an_ipv6_host_has_one_budget_per_64_and_people_have_their_own() {
        let l = RateLimiter::default();
        let t0 = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:fffe".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.check(Bucket::Login, a, 2, t0).is_ok());
        assert!(l.check(Bucket::Login, b, 2, t0).is_ok());
        assert!(l.check(Bucket::Login, a, 2, t0).is_err(), "the same /64");
        assert!(l.check(Bucket::Login, other, 2, t0).is_ok());
        // An IPv4-mapped address is the IPv4 address.
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(l.check(Bucket::Login, v4, 1, t0).is_ok());
        assert!(l.check(Bucket::Login, mapped, 1, t0).is_err());
        // A person's writes: one budget per sub, whatever the address.
        assert!(l.check_person(Bucket::Write, "staff-1", 2, t0).is_ok());
        assert!(l.check_person(Bucket::Write, "staff-1", 2, t0).is_ok());
        assert!(l.check_person(Bucket::Write, "staff-1", 2, t0).is_err());
        assert!(l.check_person(Bucket::Write, "staff-2", 2, t0).is_ok());
    }

    #[test]
    fn limited_paths() {
        assert_eq!(Bucket::of("/auth/dev-login"), Some(Bucket::Login));
        assert_eq!(Bucket::of("/auth/oidc/start"), Some(Bucket::Login));
        assert_eq!(Bucket::of("/api/v1/hooks/sms/aliyun"), Some(Bucket::Public));
        assert_eq!(Bucket::of("/api/v1/cases"), None);
    }
}
