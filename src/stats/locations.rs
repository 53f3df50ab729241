//! The `locations` statistic: uploads by their region, by the region of their
//! IP (longest-prefix match over `ip_regions`) and on a 0.1° grid.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::{sort_groups, Result};
use crate::store::DataView;

/// Where data comes from (`GET /api/v1/stats/locations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Locations {
    /// Rows in uploads.
    pub total_uploads: u64,
    /// Distinct non-empty `region` values of uploads.
    pub total_regions: u64,
    /// Uploads by their `region` column.
    pub by_region: Vec<RegionGroup>,
    /// Uploads by the region of their IP address.
    pub by_ip_region: Vec<IpRegionGroup>,
    /// Uploads with coordinates, on a 0.1° grid.
    pub points: Vec<Point>,
}

/// Uploads of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegionGroup {
    /// Region as stored (`""` for none).
    pub region: String,
    /// Uploads.
    pub uploads: u64,
    /// Recordings of those uploads.
    pub recordings: u64,
}

/// Uploads whose IP maps to one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IpRegionGroup {
    /// Region of the longest matching prefix, or `unknown`.
    pub region: String,
    /// Uploads.
    pub uploads: u64,
    /// Distinct addresses (parsed; unparsable text counts as itself).
    pub distinct_ips: u64,
}

/// One grid cell with uploads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Latitude rounded to 0.1°.
    pub lat: f64,
    /// Longitude rounded to 0.1°.
    pub lon: f64,
    /// Uploads in the cell.
    pub uploads: u64,
}

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

    /// Loads the table from the store, in file order.
    pub fn load(view: &DataView) -> Result<IpRegions> {
        let rows = view.ip_regions()?;
        Ok(IpRegions::new(
            rows.iter().map(|(c, r)| (c.as_str(), r.as_str())),
        ))
    }
}

/// An address as counted in `distinct_ips`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Address {
    Parsed(IpAddr),
    Text(String),
}

/// Rounds a coordinate to the 0.1° grid exactly as `round(x * 10) / 10`
/// (halves away from zero), never giving `-0.0`.
pub fn grid(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

/// The region an upload's address falls in (`unknown` when none or not an
/// address), and the address as counted in `distinct_ips`.
fn ip_region(table: &IpRegions, ip: Option<String>) -> (String, Option<Address>) {
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

/// The running sums of one pass over the uploads.
#[derive(Default)]
struct Uploads {
    total: u64,
    /// Region → (uploads, recordings).
    by_region: HashMap<String, (u64, u64)>,
    /// IP region → (uploads, distinct addresses).
    by_ip: HashMap<String, (u64, HashSet<Address>)>,
    /// Grid cell bits → (lat, lon, uploads).
    points: HashMap<(u64, u64), (f64, f64, u64)>,
}

impl Uploads {
    fn read(view: &DataView, table: &IpRegions) -> Result<Uploads> {
        let per_upload = view.recordings_per_upload()?;
        let mut u = Uploads::default();
        view.uploads(|r| {
            u.total += 1;
            let entry = u.by_region.entry(r.region.unwrap_or_default()).or_default();
            entry.0 += 1;
            entry.1 += per_upload.get(&r.id).copied().unwrap_or(0);
            let (ip_region, address) = ip_region(table, r.ip);
            let group = u.by_ip.entry(ip_region).or_default();
            group.0 += 1;
            if let Some(a) = address {
                group.1.insert(a);
            }
            if let (Some(lat), Some(lon)) = (r.latitude, r.longitude) {
                let (glat, glon) = (grid(lat), grid(lon));
                let cell = u
                    .points
                    .entry((glat.to_bits(), glon.to_bits()))
                    .or_insert((glat, glon, 0));
                cell.2 += 1;
            }
        })?;
        Ok(u)
    }
}

/// Computes the locations statistic from the aggregates the writes keep:
/// the work grows with regions, distinct addresses and grid cells, not
/// with uploads or recordings.
pub fn locations(view: &DataView) -> Result<Locations> {
    let table = IpRegions::load(view)?;
    let mut u = Uploads::default();
    for (region, uploads, recordings) in view.upload_regions()? {
        u.total += uploads;
        u.by_region.insert(region, (uploads, recordings));
    }
    view.upload_addresses(|address, uploads| {
        let (ip_region, address) = ip_region(&table, Some(address.to_string()));
        let group = u.by_ip.entry(ip_region).or_default();
        group.0 += uploads;
        if let Some(a) = address {
            group.1.insert(a);
        }
    })?;
    for (lat, lon, uploads) in view.upload_cells()? {
        // As `grid` rounds: whole tenths of a degree, no negative zero.
        let (lat, lon) = (lat as f64 / 10.0 + 0.0, lon as f64 / 10.0 + 0.0);
        u.points
            .insert((lat.to_bits(), lon.to_bits()), (lat, lon, uploads));
    }
    Ok(u.finish())
}

/// Computes the locations statistic from the rows, in one pass over the
/// uploads: the reference the aggregates are checked against.
pub fn locations_from_rows(view: &DataView) -> Result<Locations> {
    let table = IpRegions::load(view)?;
    Ok(Uploads::read(view, &table)?.finish())
}

impl Uploads {
    /// The statistic of what was counted.
    fn finish(self) -> Locations {
        let u = self;
        let total_regions = u.by_region.keys().filter(|r| !r.is_empty()).count() as u64;
        let mut by_region: Vec<RegionGroup> = u
            .by_region
            .into_iter()
            .map(|(region, (uploads, recordings))| RegionGroup {
                region,
                uploads,
                recordings,
            })
            .collect();
        sort_groups(&mut by_region, |g| g.uploads, |g| &g.region);
        let mut by_ip_region: Vec<IpRegionGroup> = u
            .by_ip
            .into_iter()
            .map(|(region, (uploads, ips))| IpRegionGroup {
                region,
                uploads,
                distinct_ips: ips.len() as u64,
            })
            .collect();
        sort_groups(&mut by_ip_region, |g| g.uploads, |g| &g.region);
        let mut points: Vec<Point> = u
            .points
            .into_values()
            .map(|(lat, lon, uploads)| Point { lat, lon, uploads })
            .collect();
        points.sort_by(|a, b| {
            b.uploads
                .cmp(&a.uploads)
                .then(a.lat.total_cmp(&b.lat))
                .then(a.lon.total_cmp(&b.lon))
        });
        Locations {
            total_uploads: u.total,
            total_regions,
            by_region,
            by_ip_region,
            points,
        }
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
    fn grid_rounds_halves_away_from_zero_without_negative_zero() {
        assert_eq!(grid(37.45), 37.5);
        assert_eq!(grid(-0.04).to_string(), "0");
        assert!(grid(-0.04).is_sign_positive());
        assert_eq!(grid(-126.95), -127.0);
    }
}
