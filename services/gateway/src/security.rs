//! Security headers (安全响应头) on every answer and rate limits (限流) on login and the public, token-less
//! endpoints.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
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
    if state.settings.web.secure_cookies {
        set("strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    res
}

/// Which limit a request falls under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// Login attempts.
    Login,
    /// Token-less public endpoints: provider hooks, evaluation by one-time code.
    Public,
}

impl Bucket {
    /// The bucket of a path, if it is limited.
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
}

/// Token buckets per (bucket, client address), refilled continuously: `per_minute` requests a minute,
/// bursts up to `per_minute`. Per replica: a city with N gateway replicas allows up to N times as many.
#[derive(Clone, Default)]
pub struct RateLimiter {
    inner: Arc<Mutex<HashMap<(Bucket, IpAddr), Tokens>>>,
}

/// Tokens left and when they were counted.
type Tokens = (f64, Instant);

impl RateLimiter {
    /// Takes one token; `Err(wait)` when none is left.
    pub fn check(&self, bucket: Bucket, ip: IpAddr, per_minute: u32, now: Instant) -> Result<(), Duration> {
        let capacity = f64::from(per_minute.max(1));
        let rate = capacity / 60.0;
        let mut map = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 50_000 {
            // Forget full buckets: they are the same as new ones.
            map.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * rate < capacity);
        }
        let (tokens, at) = map.entry((bucket, ip)).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

/// The client's address: the peer's, or — when the peer is one of `web.trusted_proxies` (the ingress) —
/// the rightmost `X-Forwarded-For` hop that is not a trusted proxy ([`TrustedProxies::client_ip`]).
pub fn client_ip(headers: &HeaderMap, peer: Option<SocketAddr>, proxies: &TrustedProxies) -> Option<IpAddr> {
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    proxies.client_ip(peer.map(|p| p.ip()), forwarded)
}

/// Refuses, with 429 and `Retry-After`, what is over its limit.
pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(bucket) = Bucket::of(req.uri().path()) else {
        return next.run(req).await;
    };
    // Showing the login page is not an attempt.
    if bucket == Bucket::Login && req.method() == axum::http::Method::GET && req.uri().path() != "/auth/callback" {
        return next.run(req).await;
    }
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let web = &state.settings.web;
    let Some(ip) = client_ip(req.headers(), peer, &state.trusted_proxies) else {
        return next.run(req).await;
    };
    let per_minute = match bucket {
        Bucket::Login => web.login_per_minute,
        Bucket::Public => web.public_per_minute,
    };
    match state.limiter.check(bucket, ip, per_minute, Instant::now()) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let secs = wait.as_secs().max(1);
            tracing::warn!(path = req.uri().path(), ?bucket, "rate limit reached");
            metrics::counter!("bangban_gateway_rate_limited_total", "bucket" => format!("{bucket:?}").to_lowercase())
                .increment(1);
            let mut res =
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "请求过于频繁", "Too many requests")
                    .with_detail(
                        format!("请求过于频繁，请 {secs} 秒后再试"),
                        format!("too many requests from this address; try again in {secs} s"),
                    )
                    .with_instance(req.uri().path())
                    .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn limited_paths() {
        assert_eq!(Bucket::of("/auth/dev-login"), Some(Bucket::Login));
        assert_eq!(Bucket::of("/api/v1/hooks/sms/aliyun"), Some(Bucket::Public));
        assert_eq!(Bucket::of("/api/v1/cases"), None);
    }
}
