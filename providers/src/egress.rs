//! The egress policy: where a request made on a tenant's behalf may go.
//!
//! Sign-up is open, so an organisation's provider base URL is attacker
//! input. Left alone it would let a tenant aim the server (and the keys it
//! sends) at loopback services, the cloud metadata endpoint or the private
//! network. Every such request therefore:
//! - resolves the host itself and keeps only addresses that are globally
//!   routable, or inside a network the operator allowed (`HANDOO_EGRESS_ALLOW`,
//!   for a self-hosted Ollama or vLLM on a private network);
//! - connects to exactly the addresses it checked (the resolver hands them to
//!   the connector), so a DNS answer that changes between check and connect
//!   (rebinding) gains nothing;
//! - never follows redirects (a 3xx is an error), so a vendor key header
//!   is never replayed to another host.
//!
//! The operator's own configuration (`<PROVIDER>_BASE_URL`) is trusted and
//! does not pass through here.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{ProviderError, ProviderResult};

/// A network in CIDR form (`10.0.0.0/8`, `fd00::/8`, or a bare address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(ip)) => prefix_eq(&net.octets(), &ip.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

impl FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("not an IP address or network: {s:?}"))?;
        let addr = canonical(addr);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix length in {s:?} (0..={max})"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

/// True for every address that is not a public unicast destination: the
/// ones a tenant must not reach through us. Addresses that *embed* an IPv4
/// address (mapped, NAT64, 6to4) are judged by the address they embed.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => internal_v4(v4),
        IpAddr::V6(v6) => internal_v6(v6),
    }
}

fn internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0                                   // "this network", 0.0.0.0
        || a == 10                           // private
        || a == 127                          // loopback
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 169 && b == 254)            // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0)    // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)    // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168)            // private
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113)  // documentation
        || a >= 224 // multicast, reserved, broadcast
}

fn internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded =
        |hi: u16, lo: u16| internal_v4(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8));
    if s[..6] == [0; 6] {
        // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
        return true;
    }
    match s[0] {
        // NAT64 well-known prefix 64:ff9b::/96 reaches the embedded IPv4
        // address; the local-use 64:ff9b:1::/48 is private by definition.
        0x0064 if s[1] == 0xff9b => s[2..6] != [0; 4] || embedded(s[6], s[7]),
        0x0100 if s[1..4] == [0; 3] => true, // discard-only
        0x2001 if s[1] < 0x0200 => true,     // IETF protocol assignments, Teredo, benchmarking, ORCHID
        0x2001 if s[1] == 0x0db8 => true,    // documentation
        0x2002 => embedded(s[1], s[2]),      // 6to4 carries an IPv4 address
        0x3fff if s[1] < 0x1000 => true,     // documentation (2024)
        x if x & 0xfe00 == 0xfc00 => true,   // unique local fc00::/7
        x if x & 0xffc0 == 0xfe80 => true,   // link-local
        x if x & 0xffc0 == 0xfec0 => true,   // site-local (deprecated)
        x if x & 0xff00 == 0xff00 => true,   // multicast
        _ => false,
    }
}

/// Why a destination was refused. Carried inside the resolver's error so the
/// HTTP client's failure can be told apart from an ordinary network error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused;

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("destination address is not allowed by the egress policy")
    }
}

impl std::error::Error for Refused {}

/// The rules (which addresses may be reached) and an HTTP client bound to
/// them. Cheap to clone.
#[derive(Clone)]
pub struct EgressPolicy {
    rules: Arc<Rules>,
    client: reqwest::Client,
}

#[derive(Debug, Default)]
struct Rules {
    allow: Vec<IpNet>,
}

impl Rules {
    fn permits(&self, ip: IpAddr) -> bool {
        !is_internal(ip) || self.allow.iter().any(|n| n.contains(ip))
    }
}

impl fmt::Debug for EgressPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EgressPolicy").field("allow", &self.rules.allow).finish()
    }
}

impl EgressPolicy {
    /// Public destinations only, plus the networks in `allow`.
    pub fn new(allow: Vec<IpNet>) -> EgressPolicy {
        let rules = Arc::new(Rules { allow });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(Resolver(rules.clone())))
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve (and reach) the host on our behalf,
            // outside this policy.
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .expect("reqwest client with default TLS");
        EgressPolicy { rules, client }
    }

    /// `HANDOO_EGRESS_ALLOW`: comma- or space-separated networks.
    pub fn parse_allow_list(s: &str) -> Result<Vec<IpNet>, String> {
        s.split([',', ' ', '\n', '\t']).filter(|p| !p.trim().is_empty()).map(IpNet::from_str).collect()
    }

    pub fn allowed(&self) -> &[IpNet] {
        &self.rules.allow
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        self.rules.permits(ip)
    }

    /// The HTTP client whose every connection passes this policy.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Checks a URL's host when it is an address literal. (The client's
    /// resolver never sees literals: the connector uses them directly.)
    pub fn check_url(&self, url: &url::Url) -> ProviderResult<()> {
        let ip = match url.host() {
            Some(url::Host::Ipv4(v4)) => IpAddr::V4(v4),
            Some(url::Host::Ipv6(v6)) => IpAddr::V6(v6),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err(ProviderError::BadRequest("URL without a host".into())),
        };
        if self.permits(ip) {
            Ok(())
        } else {
            Err(ProviderError::AddressRefused)
        }
    }

    /// Resolves `host` and keeps the permitted addresses; refused when none is.
    pub async fn resolve(&self, host: &str, port: u16) -> ProviderResult<Vec<SocketAddr>> {
        resolve(&self.rules, host, port).await.map_err(|e| match e {
            ResolveError::Refused => ProviderError::AddressRefused,
            ResolveError::Lookup(m) => ProviderError::Network(m),
        })
    }
}

enum ResolveError {
    Refused,
    Lookup(String),
}

async fn resolve(rules: &Rules, host: &str, port: u16) -> Result<Vec<SocketAddr>, ResolveError> {
    // `[::1]` as a host name reaches the resolver with its brackets.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| ResolveError::Lookup(format!("could not resolve {host}")))?
        .collect();
    let permitted: Vec<SocketAddr> = found.iter().copied().filter(|a| rules.permits(a.ip())).collect();
    if permitted.is_empty() {
        if !found.is_empty() {
            tracing::warn!(host, addresses = ?found, "egress refused: host resolves to internal addresses only");
        }
        return Err(if found.is_empty() {
            ResolveError::Lookup(format!("could not resolve {host}"))
        } else {
            ResolveError::Refused
        });
    }
    Ok(permitted)
}

struct Resolver(Arc<Rules>);

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let rules = self.0.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            // The port is the connector's business; 0 is replaced by it.
            match resolve(&rules, &host, 0).await {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs),
                Err(ResolveError::Refused) => {
                    Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>)
                }
                Err(ResolveError::Lookup(m)) => Err(m.into()),
            }
        })
    }
}

/// True when `err`'s chain holds a [`Refused`] from our resolver.
pub fn is_refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if e.is::<Refused>() {
            return true;
        }
        cur = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_ranges() {
        for s in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "2001:db8::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "100::1",
        ] {
            assert!(is_internal(ip(s)), "{s} must be internal");
        }
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4007:80f::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!is_internal(ip(s)), "{s} must be public");
        }
    }

    #[test]
    fn networks_parse_and_match() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.200.1.1")));
        assert!(n.contains(ip("::ffff:10.200.1.1")), "mapped forms match the IPv4 network");
        assert!(!n.contains(ip("11.0.0.1")));
        let one: IpNet = "192.168.1.20".parse().unwrap();
        assert!(one.contains(ip("192.168.1.20")) && !one.contains(ip("192.168.1.21")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        let odd: IpNet = "172.16.0.0/12".parse().unwrap();
        assert!(odd.contains(ip("172.31.1.1")) && !odd.contains(ip("172.32.0.1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("127.0.0.1")) && !all.contains(ip("::1")));
        for bad in ["10.0.0.0/33", "fd00::/129", "localhost", "10.0.0/8", "", "10.0.0.0/x"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
        assert_eq!(EgressPolicy::parse_allow_list(" 10.0.0.0/8, fd00::/8\n127.0.0.1 ").unwrap().len(), 3);
        assert!(EgressPolicy::parse_allow_list("10.0.0.0/8,nope").is_err());
        assert!(EgressPolicy::parse_allow_list("").unwrap().is_empty());
    }

    #[tokio::test]
    async fn policy_checks_literals_and_resolved_names() {
        let strict = EgressPolicy::new(vec![]);
        let url = |s: &str| url::Url::parse(s).unwrap();
        for s in [
            "http://127.0.0.1:8080/v1",
            "http://[::1]/v1",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0:22/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://10.0.0.5/",
        ] {
            assert_eq!(strict.check_url(&url(s)), Err(ProviderError::AddressRefused), "{s}");
        }
        assert_eq!(strict.check_url(&url("https://api.openai.com/v1")), Ok(()));
        assert_eq!(strict.check_url(&url("https://8.8.8.8/")), Ok(()));
        // Names are judged by what they resolve to.
        assert_eq!(strict.resolve("localhost", 80).await, Err(ProviderError::AddressRefused));
        assert_eq!(strict.resolve("127.0.0.1", 80).await, Err(ProviderError::AddressRefused));
        assert_eq!(strict.resolve("[::1]", 80).await, Err(ProviderError::AddressRefused));
        let local = EgressPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert_eq!(local.check_url(&url("http://127.0.0.1:11434/v1")), Ok(()));
        assert_eq!(local.check_url(&url("http://10.0.0.5/")), Err(ProviderError::AddressRefused));
        let addrs = local.resolve("127.0.0.1", 11434).await.unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:11434".parse::<SocketAddr>().unwrap()]);
    }

    #[tokio::test]
    async fn the_client_refuses_names_that_resolve_inside() {
        // A listener that must never be reached.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let strict = EgressPolicy::new(vec![]);
        let err = strict.client().get(format!("http://localhost:{port}/")).send().await.unwrap_err();
        assert!(is_refused(&err), "{err:?}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "no connection may reach the internal listener");
    }
}
