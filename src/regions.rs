//! Where an address comes from: an offline table of networks and their
//! regions (`ip_regions`, imported), answering longest-prefix matches, and
//! the spelling of an address that counts it once. Used by the `locations`
//! statistic and by the aggregates that keep it.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

/// A rough outline of the land the lab's regions lie in (South Korea's
/// mainland and Jeju), as (latitude, longitude) rings: for orientation
/// under the locations map's dots, not a survey. About 50 points, so it
/// costs nothing to draw and needs no map service.
#[rustfmt::skip]
pub const LAND_OUTLINES: &[&[(f64, f64)]] = &[
    &[
        (37.75, 126.45), (37.95, 126.68), (38.20, 127.10), (38.30, 127.50), (38.30, 128.00),
        (38.60, 128.35), (38.20, 128.60), (37.80, 128.90), (37.50, 129.10), (37.05, 129.35),
        (36.60, 129.45), (36.30, 129.40), (36.08, 129.57), (35.90, 129.45), (35.50, 129.45),
        (35.30, 129.30), (35.10, 129.10), (35.05, 128.80), (34.85, 128.60), (34.85, 128.30),
        (34.75, 127.90), (34.70, 127.60), (34.50, 127.30), (34.40, 126.90), (34.30, 126.55),
        (34.60, 126.35), (34.80, 126.40), (35.10, 126.30), (35.40, 126.45), (35.70, 126.60),
        (35.98, 126.70), (36.30, 126.50), (36.60, 126.20), (36.95, 126.40), (37.00, 126.80),
        (37.30, 126.65), (37.45, 126.60), (37.70, 126.55),
    ],
    &[
        (33.30, 126.15), (33.20, 126.30), (33.23, 126.55), (33.30, 126.85), (33.45, 126.95),
        (33.55, 126.75), (33.52, 126.50), (33.45, 126.25),
    ],
];

/// An offline IP-to-region table answering longest-prefix matches.
///
/// Prefixes are kept per (family, length) in hash maps; a lookup probes only
/// the lengths that occur, longest first.
#[derive(Debug, Default)]
pub struct IpRegions {
    v4: Vec<(u8, HashMap<u32, usize>)>,
    v6: Vec<(u8, HashMap<u128, usize>)>,
    regions: Vec<String>,
}

impl IpRegions {
    /// Builds the table from `(cidr, region)` rows in file order; on equal
    /// prefix length the earlier row wins. Unparsable CIDRs are skipped.
    pub fn new<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> IpRegions {
        let mut v4: HashMap<u8, HashMap<u32, usize>> = HashMap::new();
        let mut v6: HashMap<u8, HashMap<u128, usize>> = HashMap::new();
        let mut regions = Vec::new();
        for (cidr, region) in rows {
            let Ok(net) = cidr.trim().parse::<IpNet>() else {
                continue;
            };
            let index = regions.len();
            regions.push(region.to_string());
            match net.trunc() {
                IpNet::V4(n) => {
                    v4.entry(n.prefix_len())
                        .or_default()
                        .entry(u32::from(n.network()))
                        .or_insert(index);
                }
                IpNet::V6(n) => {
                    v6.entry(n.prefix_len())
                        .or_default()
                        .entry(u128::from(n.network()))
                        .or_insert(index);
                }
            }
        }
        let mut v4: Vec<_> = v4.into_iter().collect();
        v4.sort_by_key(|b| std::cmp::Reverse(b.0));
        let mut v6: Vec<_> = v6.into_iter().collect();
        v6.sort_by_key(|b| std::cmp::Reverse(b.0));
        IpRegions { v4, v6, regions }
    }

    /// The region of an address. IPv4-mapped IPv6 addresses are IPv6 here.
    pub fn lookup(&self, addr: IpAddr) -> Option<&str> {
        let index = match addr {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                self.v4.iter().find_map(|(len, map)| {
                    let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
                    map.get(&(bits & mask)).copied()
                })
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.v6.iter().find_map(|(len, map)| {
                    let mask = if *len == 0 {
                        0
                    } else {
                        u128::MAX << (128 - len)
                    };
                    map.get(&(bits & mask)).copied()
                })
            }
        };
        index.map(|i| self.regions[i].as_str())
    }
}

/// An upload's address as `distinct_ips` counts it: parsed (two spellings
/// of one address are one), or text that is no address, as itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// An IPv4 or IPv6 address.
    Parsed(IpAddr),
    /// Text that is not an address.
    Text(String),
}

impl Address {
    /// One text per address: the parsed address in its standard spelling,
    /// or the text itself (which never parses, so never equals the other).
    pub fn canonical(&self) -> String {
        match self {
            Address::Parsed(a) => a.to_string(),
            Address::Text(t) => t.clone(),
        }
    }
}

/// The region an upload's address falls in (`unknown` when none or not an
/// address), and the address as counted in `distinct_ips`.
pub fn ip_region(table: &IpRegions, ip: Option<String>) -> (String, Option<Address>) {
    match ip.filter(|s| !s.is_empty()) {
        None => ("unknown".to_string(), None),
        Some(text) => match text.parse::<IpAddr>() {
            Ok(addr) => (
                table.lookup(addr).unwrap_or("unknown").to_string(),
                Some(Address::Parsed(addr)),
            ),
            Err(_) => ("unknown".to_string(), Some(Address::Text(text))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_earlier_row_on_ties() {
        let t = IpRegions::new([
            ("10.0.0.0/8", "Korea"),
            ("10.1.0.0/16", "Busan"),
            ("10.1.0.0/16", "Later"),
            ("2001:db8::/32", "V6"),
            ("::ffff:0:0/96", "Mapped"),
        ]);
        assert_eq!(t.lookup("10.1.2.3".parse().unwrap()), Some("Busan"));
        assert_eq!(t.lookup("10.9.2.3".parse().unwrap()), Some("Korea"));
        assert_eq!(t.lookup("11.0.0.1".parse().unwrap()), None);
        assert_eq!(t.lookup("2001:db8::5".parse().unwrap()), Some("V6"));
        // A mapped address matches only IPv6 prefixes.
        assert_eq!(t.lookup("::ffff:10.1.5.5".parse().unwrap()), Some("Mapped"));
    }

    #[test]
    fn two_spellings_of_one_address_are_one() {
        let t = IpRegions::new([("2001:db8::/32", "V6")]);
        let (a, b) = (
            ip_region(&t, Some("2001:DB8:0::1".into())),
            ip_region(&t, Some("2001:db8::1".into())),
        );
        assert_eq!(a, b);
        assert_eq!(a.1.unwrap().canonical(), "2001:db8::1");
        assert_eq!(ip_region(&t, Some(String::new())), ("unknown".into(), None));
    }
}
