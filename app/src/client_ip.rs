//! Who is asking, for the per-IP login and sign-up limits. In production
//! Handoo sits behind a TLS-terminating proxy (see README), where the
//! socket peer is the proxy: every visitor would share one budget. Peers
//! listed in `HANDOO_TRUSTED_PROXIES` are believed about `X-Forwarded-For`;
//! nobody else is, since any client can send that header.

use std::net::IpAddr;

/// Addresses and CIDR blocks of the reverse proxies in front of the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Comma-separated addresses or CIDR blocks: `127.0.0.1, 10.0.0.0/8, fd00::/8`.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (addr, prefix) = match item.split_once('/') {
                Some((a, p)) => (a, Some(p)),
                None => (item, None),
            };
            let ip: IpAddr =
                addr.trim().parse().map_err(|_| format!("not an IP address or CIDR block: {item:?}"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = match prefix {
                None => max,
                Some(p) => p
                    .trim()
                    .parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("prefix length must be 0–{max}: {item:?}"))?,
            };
            // An IPv4-mapped block (::ffff:10.0.0.0/104) is the IPv4 block.
            nets.push(match ip {
                IpAddr::V6(v6) if len >= 96 => match v6.to_ipv4_mapped() {
                    Some(v4) => (IpAddr::V4(v4), len - 96),
                    None => (ip, len),
                },
                _ => (ip, len),
            });
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|&(net, len)| in_block(ip, net, len))
    }

    /// The client: the socket peer unless it is one of our proxies; then,
    /// walking `X-Forwarded-For` from the nearest hop back, the first
    /// address that is not one of our proxies. Hops further back than that
    /// were written by the client itself and are ignored; an unreadable hop
    /// stops the walk at the last address we could vouch for.
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded_for: impl IntoIterator<Item = &'a str>) -> IpAddr {
        let peer = canonical(peer);
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = forwarded_for.into_iter().flat_map(|h| h.split(',')).map(str::trim).collect();
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else { return client };
            client = canonical(ip);
            if !self.contains(client) {
                return client;
            }
        }
        client
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn in_block(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_blocks_and_rejects_junk() {
        let p = TrustedProxies::parse(" 127.0.0.1, 10.0.0.0/8 ,fd00::/8,, ::ffff:192.168.0.0/112").unwrap();
        assert!(p.contains(ip("127.0.0.1")));
        assert!(!p.contains(ip("127.0.0.2")));
        assert!(p.contains(ip("10.255.3.4")));
        assert!(!p.contains(ip("11.0.0.1")));
        assert!(p.contains(ip("fd12::1")));
        assert!(!p.contains(ip("fe80::1")));
        assert!(p.contains(ip("192.168.7.7")), "a mapped block is the IPv4 block");
        assert!(p.contains(ip("::ffff:10.1.2.3")), "mapped addresses match IPv4 blocks");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        for bad in ["localhost", "10.0.0.0/33", "::/129", "10.0.0.0/x", "1.2.3.4/"] {
            assert!(TrustedProxies::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn only_trusted_peers_are_believed() {
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("203.0.113.9"), ["1.1.1.1"]), ip("203.0.113.9"));
        let p = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // A client talking to us directly cannot pick its own address.
        assert_eq!(p.client_ip(ip("203.0.113.9"), ["1.1.1.1"]), ip("203.0.113.9"));
        // Through the proxy: the address the proxy saw.
        assert_eq!(p.client_ip(ip("10.0.0.2"), ["198.51.100.7"]), ip("198.51.100.7"));
    }

    #[test]
    fn walks_back_through_proxy_chains_and_ignores_forged_hops() {
        let p = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // client forged "6.6.6.6"; our edge appended the real peer, an inner proxy the edge.
        assert_eq!(p.client_ip(ip("10.0.0.2"), ["6.6.6.6, 198.51.100.7, 10.0.0.1"]), ip("198.51.100.7"));
        // Several header lines are one list.
        assert_eq!(p.client_ip(ip("10.0.0.2"), ["6.6.6.6", "198.51.100.7"]), ip("198.51.100.7"));
        // All hops trusted: the farthest one.
        assert_eq!(p.client_ip(ip("10.0.0.2"), ["10.9.9.9"]), ip("10.9.9.9"));
        // No header: the proxy itself.
        assert_eq!(p.client_ip(ip("10.0.0.2"), []), ip("10.0.0.2"));
        // Garbage stops the walk at the last hop we can vouch for.
        assert_eq!(p.client_ip(ip("10.0.0.2"), ["198.51.100.7, unknown"]), ip("10.0.0.2"));
        assert_eq!(p.client_ip(ip("10.0.0.2"), ["evil, 10.0.0.1"]), ip("10.0.0.1"));
        // IPv6 clients and mapped peers.
        assert_eq!(p.client_ip(ip("::ffff:10.0.0.2"), ["2001:db8::5"]), ip("2001:db8::5"));
    }
}
