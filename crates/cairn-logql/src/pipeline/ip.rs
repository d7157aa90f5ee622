//! Loki's `ip("...")` matcher: a single address, a CIDR prefix or a range `a-b`, found anywhere
//! in a line (line filters) or in a label value (label filters).

use std::net::IpAddr;
use std::str::FromStr;

/// What an `ip()` pattern matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IpMatcher {
    Addr(IpAddr),
    Prefix(IpAddr, u8),
    Range(IpAddr, IpAddr),
}

const V4_CHARS: &[u8] = b"0123456789.";
const V6_CHARS: &[u8] = b"0123456789abcdefABCDEF:.";

impl IpMatcher {
    /// Parses a pattern; the error is Loki's `ip: invalid pattern: "..."`.
    pub(crate) fn parse(pattern: &str) -> Result<IpMatcher, String> {
        let invalid = || format!("ip: invalid pattern: {}", crate::gofmt::quote(pattern));
        if let Ok(a) = parse_addr(pattern) {
            return Ok(IpMatcher::Addr(a));
        }
        if let Some((ip, bits)) = pattern.split_once('/') {
            let a = parse_addr(ip).map_err(|_| invalid())?;
            if bits.is_empty()
                || bits.len() > 3
                || !bits.bytes().all(|b| b.is_ascii_digit())
                || (bits.len() > 1 && bits.starts_with('0'))
            {
                return Err(invalid());
            }
            let n: u8 = bits.parse().map_err(|_| invalid())?;
            let max = if a.is_ipv4() { 32 } else { 128 };
            if n > max {
                return Err(invalid());
            }
            return Ok(IpMatcher::Prefix(a, n));
        }
        if let Some((from, to)) = pattern.split_once('-') {
            let a = parse_addr(from).map_err(|_| invalid())?;
            let b = parse_addr(to).map_err(|_| invalid())?;
            if a.is_ipv4() != b.is_ipv4() || b < a {
                return Err(invalid());
            }
            return Ok(IpMatcher::Range(a, b));
        }
        Err(invalid())
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match *self {
            IpMatcher::Addr(a) => a == ip,
            IpMatcher::Range(a, b) => a.is_ipv4() == ip.is_ipv4() && a <= ip && ip <= b,
            IpMatcher::Prefix(p, bits) => match (p, ip) {
                (IpAddr::V4(p), IpAddr::V4(x)) => {
                    let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
                    u32::from(p) & mask == u32::from(x) & mask
                }
                (IpAddr::V6(p), IpAddr::V6(x)) => {
                    let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
                    u128::from(p) & mask == u128::from(x) & mask
                }
                _ => false,
            },
        }
    }

    /// Whether an address this pattern matches appears in `text`, scanning as Loki does.
    pub(crate) fn find_in(&self, text: &[u8]) -> bool {
        let n = text.len();
        let at = |i: usize| if i < n { text[i] } else { 0 };
        let mut i = 0;
        while i < n {
            let charset = if i + 3 < n
                && text[i].is_ascii_digit()
                && (text[i + 1] == b'.' || text[i + 2] == b'.' || text[i + 3] == b'.')
            {
                Some(V4_CHARS)
            } else if ipv6_hint([at(i), at(i + 1), at(i + 2), at(i + 3), at(i + 4)]) {
                Some(V6_CHARS)
            } else {
                None
            };
            if let Some(cs) = charset {
                let len = text[i..].iter().take_while(|b| cs.contains(b)).count();
                if let Ok(s) = std::str::from_utf8(&text[i..i + len])
                    && let Ok(ip) = parse_addr(s)
                    && self.contains(ip)
                {
                    return true;
                }
                i += len;
            }
            i += 1;
        }
        false
    }
}

/// Go's `netip.ParseAddr` for the forms Loki's scanner can produce (no zones).
fn parse_addr(s: &str) -> Result<IpAddr, ()> {
    if s.contains(':') {
        return std::net::Ipv6Addr::from_str(s)
            .map(IpAddr::V6)
            .map_err(|_| ());
    }
    // Go refuses leading zeros in IPv4 fields.
    if s.split('.').any(|p| p.len() > 1 && p.starts_with('0')) {
        return Err(());
    }
    std::net::Ipv4Addr::from_str(s)
        .map(IpAddr::V4)
        .map_err(|_| ())
}

fn hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn ipv6_hint(p: [u8; 5]) -> bool {
    (p[0] == b':' && p[1] == b':' && hex(p[2]))
        || (hex(p[0]) && p[1] == b':')
        || (hex(p[0]) && hex(p[1]) && p[2] == b':')
        || (hex(p[0]) && hex(p[1]) && hex(p[2]) && p[3] == b':')
        || (hex(p[0]) && hex(p[1]) && hex(p[2]) && hex(p[3]) && p[4] == b':')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let m = IpMatcher::parse("192.168.0.1").unwrap();
        assert!(m.find_in(b"from 192.168.0.1 to x"));
        assert!(!m.find_in(b"from 192.168.0.12 to x"));
        let m = IpMatcher::parse("192.168.0.0/16").unwrap();
        assert!(m.find_in(b"src=192.168.4.5"));
        assert!(!m.find_in(b"src=192.169.4.5"));
        let m = IpMatcher::parse("10.0.0.1-10.0.0.9").unwrap();
        assert!(m.find_in(b"a 10.0.0.5 b"));
        assert!(!m.find_in(b"a 10.0.0.10 b"));
        let m = IpMatcher::parse("::1").unwrap();
        assert!(m.find_in(b"addr ::1 up"));
        let m = IpMatcher::parse("2001:db8::/32").unwrap();
        assert!(m.find_in(b"x 2001:db8:1::5 y"));
        assert_eq!(
            IpMatcher::parse("abc").unwrap_err(),
            r#"ip: invalid pattern: "abc""#
        );
        assert!(IpMatcher::parse("10.0.0.9-10.0.0.1").is_err());
        assert!(IpMatcher::parse("1.2.3.4/33").is_err());
    }
}
