//! Client addresses behind proxies (代理与客户端地址): networks in CIDR notation and the
//! "rightmost untrusted hop" reading of `X-Forwarded-For`.
//!
//! An ingress controller appends the address it received a request from to `X-Forwarded-For`, so the
//! header's entries read, from the right, the hops nearest to us first. Everything left of the first hop
//! that is not one of our own proxies was written by the client and proves nothing. The client's address
//! is therefore the rightmost entry that is not a trusted proxy — and the header counts at all only when
//! the connection itself comes from a trusted proxy.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    str::FromStr,
};

/// A network such as `10.0.0.0/8` or `fd00::/8`; a bare address is a network of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a network could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a network in CIDR notation (such as 10.0.0.0/8 or fd00::/8): {reason}")]
pub struct CidrError {
    input: String,
    reason: &'static str,
}

impl Cidr {
    /// Whether `ip` lies in this network. An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) is compared as
    /// the IPv4 address it carries.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = mask32(self.prefix);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = mask128(self.prefix);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let input = s.trim();
        let err = |reason| CidrError { input: s.to_string(), reason };
        let (addr, prefix) = match input.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (input, None),
        };
        let network: IpAddr = addr.parse().map_err(|_| err("the address is not an IPv4 or IPv6 address"))?;
        let network = canonical(network);
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| err("the prefix length is out of range"))?
            }
        };
        Ok(Self { network, prefix })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

fn mask32(prefix: u8) -> u32 {
    if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) }
}

fn mask128(prefix: u8) -> u128 {
    if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) }
}

/// The proxies whose `X-Forwarded-For` is believed (受信代理).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<Cidr>,
}

impl TrustedProxies {
    /// The loopback and private networks.
    pub const PRIVATE: [&'static str; 6] =
        ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];

    /// Reads networks; the first one that is not a network is the error.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, CidrError> {
        let networks = items.iter().map(|s| s.as_ref().parse()).collect::<Result<Vec<Cidr>, _>>()?;
        Ok(Self { networks })
    }

    /// Whether no proxy is trusted (the header is never read).
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.networks.iter().any(|n| n.contains(ip))
    }

    /// The client's address. The peer's, unless the peer is a trusted proxy: then the rightmost entry of
    /// the `X-Forwarded-For` values (in the order the headers came) that is not a trusted proxy; when
    /// every entry is a trusted proxy, the leftmost one. An entry that is not an address ends the walk
    /// (nothing left of it can be trusted), and the last good hop is taken.
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl IntoIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let mut client = canonical(peer?);
        if !self.contains(client) {
            return Some(client);
        }
        let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|v| v.split(',')).collect();
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        Some(client)
    }
}

/// One `X-Forwarded-For` entry: an address, possibly bracketed or with a port (`[::1]:443`, `1.2.3.4:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(a, _)| a.parse::<Ipv6Addr>().ok()).map(|ip| canonical(IpAddr::V6(ip)));
    }
    hop.rsplit_once(':').and_then(|(a, _)| a.parse::<Ipv4Addr>().ok()).map(IpAddr::V4)
}

/// Whether an address is a loopback address (`127.0.0.0/8`, `::1`), i.e. reachable only from this machine.
pub fn is_loopback(ip: IpAddr) -> bool {
    canonical(ip).is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn networks_contain_their_addresses() {
        let n: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.255.1.2")));
        assert!(!n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped addresses count as IPv4");
        let n: Cidr = "fd00::/8".parse().unwrap();
        assert!(n.contains(ip("fd12::1")));
        assert!(!n.contains(ip("fe80::1")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.1")) && !all.contains(ip("::1")));
        assert_eq!("172.16.0.0/12".parse::<Cidr>().unwrap().to_string(), "172.16.0.0/12");
    }

    #[test]
    fn nonsense_networks_are_refused_with_the_input() {
        for bad in ["10.0.0.0/33", "fd00::/129", "ten/8", "", "10.0.0.0/x", "10.0.0/8"] {
            let e = bad.parse::<Cidr>().unwrap_err();
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let ingress = Some(ip("10.0.3.4"));
        // The client forged a first entry; the ingress appended the real address.
        assert_eq!(proxies.client_ip(ingress, ["1.1.1.1, 203.0.113.9"]), Some(ip("203.0.113.9")));
        // Two proxies of ours (a load balancer, then the ingress): skip them both.
        assert_eq!(proxies.client_ip(ingress, ["1.1.1.1, 203.0.113.9, 10.9.9.9"]), Some(ip("203.0.113.9")));
        // Several headers are one list, in order.
        assert_eq!(proxies.client_ip(ingress, ["1.1.1.1", "203.0.113.9, 10.9.9.9"]), Some(ip("203.0.113.9")));
        // A peer that is not a trusted proxy: its own address, whatever the header says.
        assert_eq!(proxies.client_ip(Some(ip("198.51.100.1")), ["203.0.113.9"]), Some(ip("198.51.100.1")));
        // No header: the proxy itself.
        assert_eq!(proxies.client_ip(ingress, []), ingress);
        // Every hop is ours: the leftmost.
        assert_eq!(proxies.client_ip(ingress, ["10.1.1.1, 10.2.2.2"]), Some(ip("10.1.1.1")));
        // Garbage stops the walk at the last good hop.
        assert_eq!(proxies.client_ip(ingress, ["203.0.113.9, junk, 10.2.2.2"]), Some(ip("10.2.2.2")));
        // Ports and brackets are tolerated.
        assert_eq!(proxies.client_ip(ingress, ["203.0.113.9:5555"]), Some(ip("203.0.113.9")));
        assert_eq!(proxies.client_ip(ingress, ["[2001:db8::1]:443"]), Some(ip("2001:db8::1")));
        // Nothing trusted: the header is never read.
        assert_eq!(TrustedProxies::default().client_ip(ingress, ["203.0.113.9"]), ingress);
        assert_eq!(proxies.client_ip(None, ["203.0.113.9"]), None);
    }
}
