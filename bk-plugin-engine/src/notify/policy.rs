//! [`NotifyPolicy`]: which addresses finish notifications may be sent to.
//!
//! The URL of a finish notification comes from the invoker (`plugin_callback_info.url`), so
//! without a policy any caller could make the plugin POST to internal services (a blind
//! server-side request forgery). The policy is checked on the **resolved** address, inside
//! the HTTP client's resolver, so a name that resolves to an allowed address for the check
//! and to a forbidden one for the connection (DNS rebinding) cannot get through.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Where finish notifications may go.
///
/// Always refused: link-local addresses (`169.254.0.0/16`, `fe80::/10`, which hold the cloud
/// metadata services of Tencent Cloud, AWS, GCP, Azure), the other well-known metadata
/// addresses (`100.100.100.200`, `fd00:ec2::254`, `168.63.129.16`, `192.0.0.192`), unspecified,
/// multicast and broadcast addresses. Loopback is refused unless
/// [`allow_loopback`](NotifyPolicy::allow_loopback) (the runtime allows it in dev) or an
/// allowlist network contains it. With an allowlist ([`allow`](NotifyPolicy::allow)), a
/// notification goes only to a listed host name or to an address inside a listed network.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NotifyPolicy {
    allow_loopback: bool,
    hosts: Vec<String>,
    nets: Vec<IpNet>,
}

impl fmt::Debug for NotifyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotifyPolicy")
            .field("allow_loopback", &self.allow_loopback)
            .field("hosts", &self.hosts)
            .field(
                "nets",
                &self
                    .nets
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Addresses no notification may reach, whatever the allowlist says.
const METADATA: [IpAddr; 4] = [
    IpAddr::V4(Ipv4Addr::new(100, 100, 100, 200)),
    IpAddr::V4(Ipv4Addr::new(168, 63, 129, 16)),
    IpAddr::V4(Ipv4Addr::new(192, 0, 0, 192)),
    IpAddr::V6(Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)),
];

impl NotifyPolicy {
    /// The production policy: any address but the always-refused ones and loopback.
    pub fn new() -> Self {
        NotifyPolicy::default()
    }

    /// Also allows loopback addresses (`127.0.0.0/8`, `::1`).
    pub fn allow_loopback(mut self, allow: bool) -> Self {
        self.allow_loopback = allow;
        self
    }

    /// Restricts notifications to these entries, comma- or space-separated: host names
    /// (matched case-insensitively against the URL's host; `*.example.com` matches its
    /// subdomains), IP addresses, or networks in CIDR form (`10.0.0.0/8`). A listed network
    /// may contain loopback addresses; the always-refused addresses stay refused.
    pub fn allow(mut self, entries: &str) -> Result<Self, String> {
        for entry in entries
            .split([',', ' '])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            if let Ok(net) = entry.parse::<IpNet>() {
                self.nets.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                self.nets.push(IpNet::from(ip));
            } else if is_host_pattern(entry) {
                self.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{entry:?} is neither a host name, an IP address nor a CIDR network"
                ));
            }
        }
        Ok(self)
    }

    /// Whether the policy has an allowlist.
    pub fn is_restricted(&self) -> bool {
        !self.hosts.is_empty() || !self.nets.is_empty()
    }

    /// `Ok` if a notification to `host` may connect to `ip`; else why not.
    pub fn check(&self, host: &str, ip: IpAddr) -> Result<(), String> {
        let ip = canonical(ip);
        if is_always_refused(ip) {
            return Err(format!("{ip} is a link-local or cloud metadata address"));
        }
        let listed = self.nets.iter().any(|n| n.contains(&ip));
        if ip.is_loopback() && !self.allow_loopback && !listed {
            return Err(format!("{ip} is a loopback address (allowed only in dev)"));
        }
        if self.is_restricted() && !listed && !self.host_listed(host) {
            return Err(format!("{host} ({ip}) is not in BK_PLUGIN_NOTIFY_ALLOW"));
        }
        Ok(())
    }

    fn host_listed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
            None => *h == host,
        })
    }
}

fn is_host_pattern(entry: &str) -> bool {
    let name = entry.strip_prefix("*.").unwrap_or(entry);
    !name.is_empty()
        && name
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) as the IPv4 address they reach.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn is_always_refused(ip: IpAddr) -> bool {
    METADATA.contains(&ip)
        || ip.is_unspecified()
        || ip.is_multicast()
        || match ip {
            IpAddr::V4(v4) => v4.is_link_local() || v4.is_broadcast(),
            IpAddr::V6(v6) => v6.is_unicast_link_local(),
        }
}

/// The HTTP client's resolver: the system resolver, keeping only the addresses the policy
/// allows for the name.
#[derive(Debug, Clone)]
pub(crate) struct PolicyResolver {
    pub(crate) policy: Arc<NotifyPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = Vec::new();
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| match policy.check(&host, a.ip()) {
                    Ok(()) => true,
                    Err(why) => {
                        refused.push(why);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let why = refused
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "no address".into());
                return Err(format!("notification host refused: {why}").into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::NotifyPolicy;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn link_local_and_metadata_are_refused_even_when_listed() {
        let p = NotifyPolicy::new()
            .allow_loopback(true)
            .allow("0.0.0.0/0, ::/0")
            .unwrap();
        for a in [
            "169.254.169.254",
            "169.254.0.23",
            "100.100.100.200",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
        ] {
            assert!(p.check("h", ip(a)).is_err(), "{a}");
        }
        assert!(p.check("h", ip("10.1.2.3")).is_ok());
    }

    #[test]
    fn loopback_needs_dev_or_a_listed_network() {
        let prod = NotifyPolicy::new();
        assert!(prod.check("localhost", ip("127.0.0.1")).is_err());
        assert!(prod.check("x", ip("::ffff:127.0.0.1")).is_err());
        assert!(prod.check("x", ip("::1")).is_err());
        assert!(prod.check("x", ip("10.0.0.1")).is_ok());
        assert!(
            NotifyPolicy::new()
                .allow_loopback(true)
                .check("x", ip("127.0.0.1"))
                .is_ok()
        );
        let listed = NotifyPolicy::new().allow("127.0.0.1/32").unwrap();
        assert!(listed.check("x", ip("127.0.0.1")).is_ok());
        assert!(listed.check("x", ip("127.0.0.2")).is_err());
    }

    #[test]
    fn an_allowlist_admits_only_listed_hosts_and_networks() {
        let p = NotifyPolicy::new()
            .allow("sops.example.com *.svc.local,10.0.0.0/8")
            .unwrap();
        assert!(p.check("SOPS.example.com", ip("192.168.1.1")).is_ok());
        assert!(p.check("a.svc.local", ip("192.168.1.1")).is_ok());
        assert!(p.check("svc.local", ip("192.168.1.1")).is_err());
        assert!(p.check("other.example.com", ip("10.2.3.4")).is_ok());
        assert!(p.check("other.example.com", ip("192.168.1.1")).is_err());
        assert!(NotifyPolicy::new().allow("http://x").is_err());
    }
}
