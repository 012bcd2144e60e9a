//! The client's address. Behind proxies, each hop appends the address it received the request from to
//! `X-Forwarded-For`, so only the entries our own proxies appended can be believed, and those are on the
//! right: the client is the right-most address that is not a trusted proxy (nginx's `real_ip_recursive`,
//! Go's `realclientip` "rightmost non-trusted"). The left-most entry is whatever the client chose to send.
//! When the peer itself is not a trusted proxy the header is ignored entirely.

use std::net::{IpAddr, SocketAddr};

use actix_web::HttpRequest;

use crate::types::Cidr;

/// Entries examined from the right; a longer chain than this is not one our proxies built.
pub const MAX_FORWARDED_HOPS: usize = 20;

/// The client address of `req` given the trusted proxies; `None` only when the peer is unknown.
pub fn client_ip(req: &HttpRequest, trusted: &[Cidr]) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|addr| addr.ip());
    // A line with bytes that are not text is still read: the client chose those bytes (on the left), but
    // our proxy appended the address it saw to the same line (on the right). Dropping the header would
    // make the client "the proxy" (another per-IP budget, the proxy's address in the audit log); read
    // lossily, the bytes only make their own entry malformed.
    let lines: Vec<String> = req
        .headers()
        .get_all("x-forwarded-for")
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    resolve(peer, &lines, trusted)
}

/// The rule itself: `forwarded` are the `X-Forwarded-For` header lines in order.
pub fn resolve(peer: Option<IpAddr>, forwarded: &[&str], trusted: &[Cidr]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|cidr| cidr.contains(ip));
    let peer = peer?.to_canonical();
    if !is_trusted(peer) {
        return Some(peer);
    }
    let entries = forwarded.iter().flat_map(|line| line.split(','));
    let entries: Vec<&str> = entries.collect();
    let mut client = peer;
    for entry in entries.iter().rev().take(MAX_FORWARDED_HOPS) {
        // Whatever a trusted hop wrote that we cannot read, the hop itself is the last address we know.
        let Some(ip) = parse_entry(entry) else {
            return Some(client);
        };
        client = ip;
        if !is_trusted(ip) {
            return Some(ip);
        }
    }
    // Every hop examined is ours: the request started inside (or the chain was too long to believe).
    Some(client)
}

/// One entry: an address, optionally with a port (`1.2.3.4:80`, `[2001:db8::1]:443`), spaces around it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim_matches(|c| c == ' ' || c == '\t');
    if entry.is_empty() || entry.len() > 64 {
        return None;
    }
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The key an address is limited under: an IPv4 address as is, an IPv6 address by its /64 (one customer
/// line or host usually holds a whole /64, so per-address limits would not hold).
pub fn limit_bucket(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(value: &str) -> IpAddr {
        value.parse().unwrap()
    }

    fn loopback_and_lan() -> Vec<Cidr> {
        ["127.0.0.0/8", "::1", "10.0.0.0/8"]
            .iter()
            .map(|c| c.parse().unwrap())
            .collect()
    }

    fn through_proxy(forwarded: &[&str]) -> Option<IpAddr> {
        resolve(Some(ip("127.0.0.1")), forwarded, &loopback_and_lan())
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client_not_the_left_most() {
        assert_eq!(through_proxy(&["203.0.113.7"]), Some(ip("203.0.113.7")));
        assert_eq!(
            through_proxy(&["198.51.100.1, 203.0.113.7"]),
            Some(ip("203.0.113.7")),
            "the client-supplied left-most entry is ignored"
        );
        assert_eq!(
            through_proxy(&["198.51.100.1, 203.0.113.7, 10.1.2.3"]),
            Some(ip("203.0.113.7")),
            "trusted hops on the right are skipped"
        );
        assert_eq!(
            through_proxy(&["198.51.100.1", "203.0.113.7, 10.1.2.3"]),
            Some(ip("203.0.113.7")),
            "several header lines are one list, in order"
        );
    }

    #[test]
    fn without_a_header_or_from_an_untrusted_peer_the_peer_is_the_client() {
        assert_eq!(through_proxy(&[]), Some(ip("127.0.0.1")));
        assert_eq!(
            resolve(
                Some(ip("198.51.100.9")),
                &["203.0.113.7"],
                &loopback_and_lan()
            ),
            Some(ip("198.51.100.9")),
            "an untrusted peer's header is ignored"
        );
        assert_eq!(
            resolve(Some(ip("127.0.0.1")), &["203.0.113.7"], &[]),
            Some(ip("127.0.0.1")),
            "nothing is trusted by default"
        );
        assert_eq!(resolve(None, &["203.0.113.7"], &loopback_and_lan()), None);
    }

    #[test]
    fn ports_brackets_and_spaces_are_read() {
        assert_eq!(
            through_proxy(&["203.0.113.7:5123"]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            through_proxy(&["[2001:db8::1]:443"]),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(through_proxy(&["2001:db8::1"]), Some(ip("2001:db8::1")));
        assert_eq!(
            through_proxy(&["  203.0.113.7 ,\t10.0.0.1  "]),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            through_proxy(&["::ffff:203.0.113.7"]),
            Some(ip("203.0.113.7")),
            "an IPv4-mapped entry is the IPv4 address"
        );
    }

    #[test]
    fn a_malformed_entry_stops_at_the_last_trusted_hop() {
        assert_eq!(through_proxy(&["unknown"]), Some(ip("127.0.0.1")));
        assert_eq!(
            through_proxy(&["203.0.113.7, garbage"]),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            through_proxy(&["garbage, 10.0.0.5"]),
            Some(ip("10.0.0.5")),
            "the hop that wrote it"
        );
        assert_eq!(
            through_proxy(&["203.0.113.7,,10.0.0.5"]),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(through_proxy(&[""]), Some(ip("127.0.0.1")));
        assert_eq!(through_proxy(&["203.0.113.7:99999"]), Some(ip("127.0.0.1")));
        assert_eq!(through_proxy(&["[203.0.113.7]"]), Some(ip("127.0.0.1")));
        assert_eq!(through_proxy(&[&"1".repeat(100)]), Some(ip("127.0.0.1")));
        // A malformed entry left of the client is never reached.
        assert_eq!(
            through_proxy(&["garbage, 203.0.113.7"]),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn too_many_entries_are_not_walked_past_the_hop_limit() {
        let mut chain: Vec<String> = vec!["203.0.113.7".into()];
        chain.extend((0..MAX_FORWARDED_HOPS).map(|i| format!("10.0.0.{i}")));
        let header = chain.join(", ");
        assert_eq!(
            through_proxy(&[&header]),
            Some(ip("10.0.0.0")),
            "the client beyond the limit is not believed"
        );
        let many = vec!["198.51.100.1"; 10_000].join(",") + ", 203.0.113.7";
        assert_eq!(through_proxy(&[&many]), Some(ip("203.0.113.7")));
    }

    #[test]
    fn ipv6_is_limited_by_its_64() {
        assert_eq!(limit_bucket(ip("203.0.113.7")), "203.0.113.7");
        assert_eq!(limit_bucket(ip("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            limit_bucket(ip("2001:db8:1:2:aaaa::1")),
            limit_bucket(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_eq!(limit_bucket(ip("2001:db8:1:2::1")), "2001:db8:1:2::/64");
        assert_ne!(
            limit_bucket(ip("2001:db8:1:2::1")),
            limit_bucket(ip("2001:db8:1:3::1"))
        );
    }
}
