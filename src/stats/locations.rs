//! The `locations` statistic: uploads by their region, by the region of their
//! IP (longest-prefix match over `ip_regions`) and on a 0.1° grid.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{sort_groups, Result};
use crate::regions::{ip_region, Address, IpRegions};
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

/// Loads the address-to-region table from the store, in file order.
pub fn load_regions(view: &DataView) -> Result<IpRegions> {
    let rows = view.ip_regions()?;
    Ok(IpRegions::new(
        rows.iter().map(|(c, r)| (c.as_str(), r.as_str())),
    ))
}

/// Rounds a coordinate to the 0.1° grid exactly as `round(x * 10) / 10`
/// (halves away from zero), never giving `-0.0`.
pub fn grid(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

/// The running sums of one pass over the uploads.
#[derive(Default)]
struct Uploads {
    total: u64,
    /// Region → (uploads, recordings).
    by_region: HashMap<String, (u64, u64)>,
    /// IP region → (uploads, distinct addresses).
    by_ip: HashMap<String, (u64, u64)>,
    /// Grid cell bits → (lat, lon, uploads).
    points: HashMap<(u64, u64), (f64, f64, u64)>,
}

impl Uploads {
    /// Counts the uploads made in `from..until` (µs; every upload with
    /// `None`).
    fn read(view: &DataView, table: &IpRegions, range: Option<(i64, i64)>) -> Result<Uploads> {
        let per_upload = view.recordings_per_upload(range)?;
        let mut u = Uploads::default();
        let mut distinct: HashMap<String, HashSet<Address>> = HashMap::new();
        view.uploads(range, |r| {
            u.total += 1;
            let entry = u.by_region.entry(r.region.unwrap_or_default()).or_default();
            entry.0 += 1;
            entry.1 += per_upload.get(&r.id).copied().unwrap_or(0);
            let (ip_region, address) = ip_region(table, r.ip);
            let addresses = distinct.entry(ip_region.clone()).or_default();
            u.by_ip.entry(ip_region).or_default().0 += 1;
            if let Some(a) = address {
                addresses.insert(a);
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
        for (region, addresses) in distinct {
            u.by_ip.entry(region).or_default().1 = addresses.len() as u64;
        }
        Ok(u)
    }
}

/// Computes the locations statistic from the aggregates the writes keep:
/// the work grows with regions, distinct addresses and grid cells, not
/// with uploads or recordings.
pub fn locations(view: &DataView) -> Result<Locations> {
    let mut u = Uploads::default();
    for (region, uploads, recordings) in view.upload_regions()? {
        u.total += uploads;
        u.by_region.insert(region, (uploads, recordings));
    }
    for (region, uploads, addresses) in view.ip_region_totals()? {
        u.by_ip.insert(region, (uploads, addresses));
    }
    // Addresses another program wrote, which no voxdash write resolved
    // yet: resolved here, each counted once in its region.
    let pending = view.unresolved_addresses()?;
    if !pending.is_empty() {
        let table = load_regions(view)?;
        let mut counted = HashSet::new();
        for (address, uploads) in pending {
            let (region, spelled) = ip_region(&table, Some(address));
            let group = u.by_ip.entry(region.clone()).or_default();
            group.0 += uploads;
            if let Some(spelled) = spelled {
                let canonical = spelled.canonical();
                if !view.ip_region_has(&region, &canonical)?
                    && counted.insert((region.clone(), canonical))
                {
                    u.by_ip.entry(region).or_default().1 += 1;
                }
            }
        }
    }
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
    let table = load_regions(view)?;
    Ok(Uploads::read(view, &table, None)?.finish())
}

/// Computes the locations statistic over the uploads made in `from..until`
/// (µs), from their rows: what it costs grows with the uploads of the
/// range, found through the index on their time.
pub fn locations_in(view: &DataView, (from, until): (i64, i64)) -> Result<Locations> {
    let table = load_regions(view)?;
    Ok(Uploads::read(view, &table, Some((from, until)))?.finish())
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
                distinct_ips: ips,
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
    fn grid_rounds_halves_away_from_zero_without_negative_zero() {
        assert_eq!(grid(37.45), 37.5);
        assert_eq!(grid(-0.04).to_string(), "0");
        assert!(grid(-0.04).is_sign_positive());
        assert_eq!(grid(-126.95), -127.0);
    }
}
