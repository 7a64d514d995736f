//! Netmask lists for `trusted_upstream_proxies` (SVC-9), read the way Net::Netmask 2.0002 reads
//! them (the module the original delegates to).
//!
//! Accepted items: `a.b.c.d`, `a.b.c.d/bits`, `a.b.c.d/m.m.m.m` and `a.b.c.d:m.m.m.m` (a
//! contiguous mask), `a.b.c.d-e.f.g.h` (a range that is exactly one CIDR block, spaces allowed
//! around `-`), `any`/`default` (everything), IPv6 `x:y::z[/bits]` in lower-case hex, and
//! `any6`/`default6`. Octets are decimal without leading zeros. Short forms such as `10.0.0` are
//! refused, as Net::Netmask 2.x does unless told otherwise. The `a.b.c.d#hostmask` form cannot
//! occur: `#` starts a comment before the value is seen.

use std::net::{IpAddr, Ipv6Addr};

use crate::error::NetmaskError;
use crate::value::split_commas;

/// One trusted network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Netmask {
    /// An IPv4 block: `network` has the host bits cleared.
    V4 { network: u32, bits: u8 },
    /// An IPv6 block: `network` has the host bits cleared.
    V6 { network: u128, bits: u8 },
}

impl Netmask {
    /// True when `ip` lies inside this block. Addresses of the other family never match.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (Netmask::V4 { network, bits }, IpAddr::V4(ip)) => {
                u32::from(ip) & v4_mask(bits) == network
            }
            (Netmask::V6 { network, bits }, IpAddr::V6(ip)) => {
                u128::from(ip) & v6_mask(bits) == network
            }
            _ => false,
        }
    }
}

fn v4_mask(bits: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(bits.min(32)))
        .unwrap_or(0)
}

fn v6_mask(bits: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(bits.min(128)))
        .unwrap_or(0)
}

/// Parses a comma-separated list (`split /\s*,\s*/`); the first bad item decides the error, and
/// an empty list is refused.
pub fn parse_netmask_list(raw: &str) -> Result<Vec<Netmask>, NetmaskError> {
    let nets = split_commas(raw)
        .into_iter()
        .map(parse_netmask)
        .collect::<Result<Vec<_>, _>>()?;
    if nets.is_empty() {
        return Err(NetmaskError::NoneFound);
    }
    Ok(nets)
}

/// Parses one netmask item.
pub fn parse_netmask(item: &str) -> Result<Netmask, NetmaskError> {
    let could_not_parse = || NetmaskError::CouldNotParse(item.to_owned());
    if let Some((base, bits)) = item
        .split_once('/')
        .filter(|(b, n)| is_quad(b) && is_num(n))
    {
        let bits = v4_bits(bits)?;
        return v4(base, bits).ok_or_else(could_not_parse);
    }
    if let Some((base, mask)) = split_quad_mask(item) {
        let mask_bits = quad_to_u32(mask)
            .filter(|m| m.leading_ones() + m.trailing_zeros() == 32)
            .ok_or_else(|| NetmaskError::IllegalNetmask(mask.to_owned()))?;
        let bits = u8::try_from(mask_bits.leading_ones()).map_err(|_| could_not_parse())?;
        return v4(base, bits).ok_or_else(could_not_parse);
    }
    if is_quad(item) {
        return v4(item, 32).ok_or_else(could_not_parse);
    }
    if item == "default" || item == "any" {
        return Ok(Netmask::V4 {
            network: 0,
            bits: 0,
        });
    }
    if let Some((start, end)) = split_range(item) {
        return range(item, start, end);
    }
    if let Some((base, bits)) = item
        .split_once('/')
        .filter(|(b, n)| is_v6_shape(b) && is_num(n))
    {
        let bits = v6_bits(bits)?;
        return v6(base, bits).ok_or_else(could_not_parse);
    }
    if is_v6_shape(item) {
        return v6(item, 128).ok_or_else(could_not_parse);
    }
    if item == "default6" || item == "any6" {
        return Ok(Netmask::V6 {
            network: 0,
            bits: 0,
        });
    }
    Err(could_not_parse())
}

fn is_num(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+`
fn is_quad(s: &str) -> bool {
    let mut parts = 0;
    for part in s.split('.') {
        if !is_num(part) {
            return false;
        }
        parts += 1;
    }
    parts == 4
}

/// Net::Netmask's `quad2int`: four decimal octets below 256, no leading zeros.
fn quad_to_u32(s: &str) -> Option<u32> {
    let mut value = 0u32;
    let mut parts = 0;
    for part in s.split('.') {
        let canonical = part == "0" || (is_num(part) && !part.starts_with('0'));
        let octet: u8 = part.parse().ok().filter(|_| canonical)?;
        value = (value << 8) | u32::from(octet);
        parts += 1;
    }
    (parts == 4).then_some(value)
}

fn v4_bits(bits: &str) -> Result<u8, NetmaskError> {
    bits.parse::<u8>()
        .ok()
        .filter(|&b| b <= 32)
        .ok_or_else(|| NetmaskError::IllegalBits(bits.to_owned()))
}

fn v6_bits(bits: &str) -> Result<u8, NetmaskError> {
    bits.parse::<u8>()
        .ok()
        .filter(|&b| b <= 128)
        .ok_or_else(|| NetmaskError::IllegalBits(bits.to_owned()))
}

fn v4(base: &str, bits: u8) -> Option<Netmask> {
    let network = quad_to_u32(base)? & v4_mask(bits);
    Some(Netmask::V4 { network, bits })
}

fn v6(base: &str, bits: u8) -> Option<Netmask> {
    let network = u128::from(base.parse::<Ipv6Addr>().ok()?) & v6_mask(bits);
    Some(Netmask::V6 { network, bits })
}

/// `a.b.c.d/m.m.m.m` or `a.b.c.d:m.m.m.m`.
fn split_quad_mask(item: &str) -> Option<(&str, &str)> {
    let sep = item.find([':', '/'])?;
    let (base, mask) = (&item[..sep], &item[sep + 1..]);
    (is_quad(base) && is_quad(mask)).then_some((base, mask))
}

/// `a.b.c.d\s*-\s*e.f.g.h`
fn split_range(item: &str) -> Option<(&str, &str)> {
    let (start, end) = item.split_once('-')?;
    let (start, end) = (start.trim_end_matches(crate::text::is_space), end);
    let end = end.trim_start_matches(crate::text::is_space);
    (is_quad(start) && is_quad(end)).then_some((start, end))
}

fn range(item: &str, start: &str, end: &str) -> Result<Netmask, NetmaskError> {
    let (Some(start), Some(end)) = (quad_to_u32(start), quad_to_u32(end)) else {
        return Err(NetmaskError::IllegalDottedQuad(item.to_owned()));
    };
    let no_fit = || NetmaskError::NoExactFit(item.to_owned());
    let size = (u64::from(end) + 1)
        .checked_sub(u64::from(start))
        .ok_or_else(no_fit)?;
    if !size.is_power_of_two() || size > 1 << 32 {
        return Err(no_fit());
    }
    let bits = u8::try_from(32 - size.trailing_zeros()).map_err(|_| no_fit())?;
    if start & !v4_mask(bits) != 0 {
        return Err(no_fit());
    }
    Ok(Netmask::V4 {
        network: start,
        bits,
    })
}

/// `[0-9a-f]*:[0-9a-f]*:[0-9a-f:]*`
fn is_v6_shape(s: &str) -> bool {
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let mut groups = s.splitn(3, ':');
    let (Some(a), Some(b), Some(rest)) = (groups.next(), groups.next(), groups.next()) else {
        return false;
    };
    a.bytes().all(hex) && b.bytes().all(hex) && rest.bytes().all(|c| hex(c) || c == b':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4net(a: [u8; 4], bits: u8) -> Netmask {
        Netmask::V4 {
            network: u32::from(Ipv4Addr::from(a)),
            bits,
        }
    }

    #[test]
    fn accepted_ipv4_forms() {
        assert_eq!(parse_netmask("10.0.0.0/8"), Ok(v4net([10, 0, 0, 0], 8)));
        assert_eq!(parse_netmask("10.1.2.3/8"), Ok(v4net([10, 0, 0, 0], 8)));
        assert_eq!(parse_netmask("1.2.3.4/08"), Ok(v4net([1, 0, 0, 0], 8)));
        assert_eq!(parse_netmask("1.2.3.4/0"), Ok(v4net([0, 0, 0, 0], 0)));
        assert_eq!(parse_netmask("1.2.3.4"), Ok(v4net([1, 2, 3, 4], 32)));
        assert_eq!(
            parse_netmask("10.0.0.0/255.255.0.0"),
            Ok(v4net([10, 0, 0, 0], 16))
        );
        assert_eq!(
            parse_netmask("10.0.0.0:255.255.0.0"),
            Ok(v4net([10, 0, 0, 0], 16))
        );
        assert_eq!(
            parse_netmask("10.0.0.0 - 10.0.0.255"),
            Ok(v4net([10, 0, 0, 0], 24))
        );
        assert_eq!(
            parse_netmask("10.0.0.0-10.0.0.255"),
            Ok(v4net([10, 0, 0, 0], 24))
        );
        assert_eq!(
            parse_netmask("0.0.0.0-255.255.255.255"),
            Ok(v4net([0, 0, 0, 0], 0))
        );
        assert_eq!(parse_netmask("any"), Ok(v4net([0, 0, 0, 0], 0)));
        assert_eq!(parse_netmask("default"), Ok(v4net([0, 0, 0, 0], 0)));
    }

    #[test]
    fn refused_ipv4_forms_with_netmask_messages() {
        let err = |s: &str| parse_netmask(s).unwrap_err().to_string();
        assert_eq!(err("10.0.0"), "could not parse 10.0.0");
        assert_eq!(err("10"), "could not parse 10");
        assert_eq!(err("a"), "could not parse a");
        assert_eq!(err(""), "could not parse ");
        assert_eq!(err("10.0.0.0/33"), "illegal number of bits: 33");
        assert_eq!(err("300.0.0.0/33"), "illegal number of bits: 33");
        assert_eq!(err("300.0.0.0/8"), "could not parse 300.0.0.0/8");
        assert_eq!(err("010.0.0.0/8"), "could not parse 010.0.0.0/8");
        assert_eq!(err("10.0.0.0/255.0.255.0"), "illegal netmask: 255.0.255.0");
        assert_eq!(
            err("10.0.0.0/255.255.0.00"),
            "illegal netmask: 255.255.0.00"
        );
        assert_eq!(
            err("10.0.0.0-10.0.0.254"),
            "could not find exact fit for 10.0.0.0-10.0.0.254"
        );
        assert_eq!(
            err("10.0.0.1-10.0.0.2"),
            "could not find exact fit for 10.0.0.1-10.0.0.2"
        );
        assert_eq!(
            err("10.0.0.9-10.0.0.1"),
            "could not find exact fit for 10.0.0.9-10.0.0.1"
        );
        assert_eq!(
            err("10.0.0.0-10.0.300.254"),
            "illegal dotted quad: 10.0.0.0-10.0.300.254"
        );
    }

    #[test]
    fn ipv6_forms() {
        assert!(matches!(
            parse_netmask("::1"),
            Ok(Netmask::V6 { bits: 128, .. })
        ));
        assert!(matches!(
            parse_netmask("2001:db8::/32"),
            Ok(Netmask::V6 { bits: 32, .. })
        ));
        assert!(matches!(
            parse_netmask("any6"),
            Ok(Netmask::V6 {
                network: 0,
                bits: 0
            })
        ));
        assert!(matches!(
            parse_netmask("default6"),
            Ok(Netmask::V6 {
                network: 0,
                bits: 0
            })
        ));
        let err = |s: &str| parse_netmask(s).unwrap_err().to_string();
        assert_eq!(err("2001:DB8::/32"), "could not parse 2001:DB8::/32");
        assert_eq!(err("2001:db8::/129"), "illegal number of bits: 129");
    }

    #[test]
    fn list_rules() {
        assert_eq!(
            parse_netmask_list("10.0.0.0/8, 1.2.3.4"),
            Ok(vec![v4net([10, 0, 0, 0], 8), v4net([1, 2, 3, 4], 32)])
        );
        assert_eq!(
            parse_netmask_list("1.2.3.4,"),
            Ok(vec![v4net([1, 2, 3, 4], 32)])
        );
        assert_eq!(parse_netmask_list(","), Err(NetmaskError::NoneFound));
        assert_eq!(
            parse_netmask_list("a,,b"),
            Err(NetmaskError::CouldNotParse("a".into()))
        );
        assert_eq!(
            parse_netmask_list(",1.2.3.4"),
            Err(NetmaskError::CouldNotParse("".into()))
        );
    }

    #[test]
    fn contains_matches_within_block_and_family() {
        let net = v4net([10, 0, 0, 0], 8);
        assert!(net.contains("10.200.3.4".parse().unwrap()));
        assert!(!net.contains("11.0.0.1".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let all = v4net([0, 0, 0, 0], 0);
        assert!(all.contains("255.255.255.255".parse().unwrap()));
        let host = v4net([1, 2, 3, 4], 32);
        assert!(host.contains("1.2.3.4".parse().unwrap()));
        assert!(!host.contains("1.2.3.5".parse().unwrap()));
        let v6 = parse_netmask("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
    }
}
