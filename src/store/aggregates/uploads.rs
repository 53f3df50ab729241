//! The aggregates of `locations`, kept per value the statistic groups by:
//!
//! - `upload_regions`: uploads per `region` as stored (NULL read as
//!   empty), with the recordings of those uploads;
//! - `upload_addresses`: uploads per address as stored (NULL read as
//!   empty);
//! - `address_regions`: which region each address falls in, and its one
//!   spelling (`crate::regions`). A longest-prefix match over `ip_regions`
//!   is not SQL both engines run, so voxdash writes these rows itself:
//!   [`resolve_pending`] after an import or an upload, [`rebuild`] after a
//!   new `ip_regions`. From them the triggers keep uploads and distinct
//!   addresses per region (`ip_region_addresses`, `ip_region_totals`);
//!   addresses nobody resolved yet (a write by another program) wait in
//!   `unresolved_addresses`, which the statistic resolves as it reads;
//! - `upload_cells`: uploads with coordinates per cell of the 0.1° grid,
//!   as whole tenths of a degree (rounded half away from zero).
//!
//! As in [`super::corpus`], each statement is written once for both
//! engines, over rows `u` (uploads) or `r` (recordings).

use std::collections::HashMap;

use super::{floor_sql, in_key_order, insert_rows, without_triggers_on, Side, SideSql};
use crate::regions::{ip_region, IpRegions};
use crate::store::{Conn, Engine, Result, Value};

/// The tables (both engines). A zero row is deleted as soon as it is zero;
/// the partial indexes find it without a scan.
pub(crate) const TABLES_SQL: &str = "
CREATE TABLE upload_regions (
    region TEXT PRIMARY KEY,
    uploads BIGINT NOT NULL,
    recordings BIGINT NOT NULL
);
CREATE TABLE upload_addresses (
    address TEXT PRIMARY KEY,
    uploads BIGINT NOT NULL
);
CREATE TABLE address_regions (
    address TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    canonical TEXT NOT NULL
);
CREATE TABLE ip_region_addresses (
    region TEXT NOT NULL,
    canonical TEXT NOT NULL,
    uploads BIGINT NOT NULL,
    PRIMARY KEY (region, canonical)
);
CREATE TABLE ip_region_totals (
    region TEXT PRIMARY KEY,
    uploads BIGINT NOT NULL,
    addresses BIGINT NOT NULL
);
CREATE TABLE unresolved_addresses (
    address TEXT PRIMARY KEY,
    uploads BIGINT NOT NULL
);
CREATE TABLE upload_cells (
    lat BIGINT NOT NULL,
    lon BIGINT NOT NULL,
    uploads BIGINT NOT NULL,
    PRIMARY KEY (lat, lon)
);
CREATE INDEX upload_addresses_empty ON upload_addresses(address) WHERE uploads = 0;
CREATE INDEX unresolved_addresses_empty ON unresolved_addresses(address) WHERE uploads = 0;
CREATE INDEX ip_region_addresses_empty ON ip_region_addresses(region) WHERE uploads = 0;
CREATE INDEX upload_cells_empty ON upload_cells(lat) WHERE uploads = 0;
";

/// A coordinate's cell of the 0.1° grid in tenths, as Rust's `round`
/// computes `x * 10` (half away from zero; `y - floor(y)` is exact).
pub fn grid_cell(x: f64) -> i64 {
    (x * 10.0).round() as i64
}

/// [`grid_cell`] in SQL.
fn grid_cell_sql(engine: Engine, x: &str) -> String {
    let y = format!("({x} * 10)");
    let floor = floor_sql(engine, y.as_str());
    let ceil = format!("(-{})", floor_sql(engine, &format!("(-{y})")));
    format!(
        "(CASE WHEN {y} >= 0 THEN (CASE WHEN {y} - {floor} >= 0.5 THEN {floor} + 1 ELSE {floor} END)
          ELSE (CASE WHEN {ceil} - {y} >= 0.5 THEN {ceil} - 1 ELSE {ceil} END) END)"
    )
}

/// Adds the rows of `select` (region, uploads, recordings) to
/// `upload_regions`, and deletes the regions left with nothing.
fn into_regions(select: &str) -> String {
    format!(
        "INSERT INTO upload_regions (region, uploads, recordings) {select}
        ON CONFLICT (region) DO UPDATE SET uploads = upload_regions.uploads + excluded.uploads,
            recordings = upload_regions.recordings + excluded.recordings;
    DELETE FROM upload_regions WHERE uploads = 0 AND recordings = 0;\n"
    )
}

const UPLOAD: &[&str] = &["id", "ip", "latitude", "longitude", "region"];
const RECORDING: &[&str] = &["upload_id"];

/// What a side of a write to `uploads` does: the uploads counted per
/// region (with the recordings they hold), address and grid cell.
fn uploads_side(side: Side, sign: &str) -> String {
    let engine = side.engine();
    let u = side.rows(UPLOAD, "u");
    let (lat, lon) = (
        grid_cell_sql(engine, "u.latitude"),
        grid_cell_sql(engine, "u.longitude"),
    );
    let mut sql = into_regions(&format!(
        "SELECT COALESCE(u.region, ''), {sign}COUNT(*),
            {sign}SUM((SELECT COUNT(*) FROM recordings x WHERE x.upload_id = u.id))
        FROM {u} WHERE true GROUP BY 1"
    ));
    sql.push_str(&format!(
        "INSERT INTO upload_addresses (address, uploads)
        SELECT COALESCE(u.ip, ''), {sign}COUNT(*) FROM {u} WHERE true GROUP BY 1
        ON CONFLICT (address) DO UPDATE SET uploads = upload_addresses.uploads + excluded.uploads;
    DELETE FROM upload_addresses WHERE uploads = 0;
    INSERT INTO upload_cells (lat, lon, uploads)
        SELECT {lat}, {lon}, {sign}COUNT(*) FROM {u}
        WHERE u.latitude IS NOT NULL AND u.longitude IS NOT NULL GROUP BY 1, 2
        ON CONFLICT (lat, lon) DO UPDATE SET uploads = upload_cells.uploads + excluded.uploads;
    DELETE FROM upload_cells WHERE uploads = 0;\n"
    ));
    sql.push_str(&format!(
        "INSERT INTO ip_region_totals (region, uploads, addresses)
        SELECT 'unknown', {sign}COUNT(*), 0 FROM {u} WHERE COALESCE(u.ip, '') = '' GROUP BY 1
        ON CONFLICT (region) DO UPDATE SET uploads = ip_region_totals.uploads + excluded.uploads;
    INSERT INTO unresolved_addresses (address, uploads)
        SELECT u.ip, {sign}COUNT(*) FROM {u} WHERE u.ip <> ''
        AND NOT EXISTS (SELECT 1 FROM address_regions a WHERE a.address = u.ip) GROUP BY 1
        ON CONFLICT (address) DO UPDATE
        SET uploads = unresolved_addresses.uploads + excluded.uploads;
    DELETE FROM unresolved_addresses WHERE uploads = 0;\n"
    ));
    sql.push_str(&into_ip_regions(
        &format!("{u} JOIN address_regions a ON a.address = u.ip"),
        &format!("{sign}COUNT(*)"),
    ));
    sql
}

/// Adds `uploads` (an aggregate over `from`, which names the resolution
/// `a`) to the uploads of each region and spelling of an address.
fn into_ip_regions(from: &str, uploads: &str) -> String {
    format!(
        "INSERT INTO ip_region_addresses (region, canonical, uploads)
        SELECT a.region, a.canonical, {uploads} FROM {from} WHERE true GROUP BY 1, 2
        ON CONFLICT (region, canonical) DO UPDATE
        SET uploads = ip_region_addresses.uploads + excluded.uploads;
    DELETE FROM ip_region_addresses WHERE uploads = 0;
    INSERT INTO ip_region_totals (region, uploads, addresses)
        SELECT a.region, {uploads}, 0 FROM {from} WHERE true GROUP BY 1
        ON CONFLICT (region) DO UPDATE SET uploads = ip_region_totals.uploads + excluded.uploads;
    DELETE FROM ip_region_totals WHERE uploads = 0 AND addresses = 0;\n"
    )
}

const RESOLUTION: &[&str] = &["address", "region", "canonical"];
const SPELLING: &[&str] = &["region", "canonical"];

/// What a side of a write to `address_regions` does: an address resolved
/// moves its uploads from `unresolved_addresses` to its region; a
/// resolution taken away moves them back.
fn resolution_side(side: Side, sign: &str) -> String {
    let a = side.rows(RESOLUTION, "a");
    let undo = if sign.is_empty() { "-" } else { "" };
    let from = format!("{a} JOIN upload_addresses c ON c.address = a.address");
    let mut sql = into_ip_regions(&from, &format!("{sign}SUM(c.uploads)"));
    sql.push_str(&format!(
        "INSERT INTO unresolved_addresses (address, uploads)
        SELECT a.address, {undo}c.uploads FROM {from} WHERE true
        ON CONFLICT (address) DO UPDATE
        SET uploads = unresolved_addresses.uploads + excluded.uploads;
    DELETE FROM unresolved_addresses WHERE uploads = 0;\n"
    ));
    sql
}

/// What a side of a write to `ip_region_addresses` does: each spelling of
/// an address counted once in its region.
fn spelling_side(side: Side, sign: &str) -> String {
    let x = side.rows(SPELLING, "x");
    format!(
        "INSERT INTO ip_region_totals (region, uploads, addresses)
        SELECT x.region, 0, {sign}COUNT(*) FROM {x} WHERE true GROUP BY 1
        ON CONFLICT (region) DO UPDATE
        SET addresses = ip_region_totals.addresses + excluded.addresses;
    DELETE FROM ip_region_totals WHERE uploads = 0 AND addresses = 0;\n"
    )
}

/// Resolves the addresses waiting in `unresolved_addresses` against
/// `ip_regions`, inside the caller's write transaction: the triggers move
/// their uploads to their regions. Nothing to do costs one empty read.
pub fn resolve_pending(conn: &Conn) -> Result<()> {
    let pending: Vec<String> = conn.rows("SELECT address FROM unresolved_addresses", &[], |r| {
        r.get(0)
    })?;
    if pending.is_empty() {
        return Ok(());
    }
    let table = ip_regions(conn)?;
    insert_rows(
        conn,
        "address_regions (address, region, canonical)",
        pending.into_iter().map(|address| {
            let (region, spelled) = ip_region(&table, Some(address.clone()));
            let canonical = spelled.map(|a| a.canonical()).unwrap_or_default();
            vec![
                Value::from(address),
                Value::from(region),
                Value::from(canonical),
            ]
        }),
    )
}

/// The address-to-region table, from the store.
fn ip_regions(conn: &Conn) -> Result<IpRegions> {
    let rows: Vec<(String, String)> = conn.rows(
        "SELECT cidr, region FROM ip_regions ORDER BY seq",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(IpRegions::new(
        rows.iter().map(|(c, r)| (c.as_str(), r.as_str())),
    ))
}

/// What a side of a write to `recordings` does: each recording counted in
/// the region of its upload, when that upload exists.
fn recordings_side(side: Side, sign: &str) -> String {
    let r = side.rows(RECORDING, "r");
    into_regions(&format!(
        "SELECT COALESCE(u.region, ''), 0, {sign}COUNT(*)
        FROM {r} JOIN uploads u ON u.id = r.upload_id WHERE true GROUP BY 1"
    ))
}

/// The tables whose writes adjust these aggregates, with what a side of
/// their write does.
pub(crate) const KEPT: [(&str, &str, SideSql); 4] = [
    ("uploads", "locations", uploads_side),
    ("recordings", "locations", recordings_side),
    ("address_regions", "locations", resolution_side),
    ("ip_region_addresses", "locations", spelling_side),
];

/// Rebuilds the upload aggregates from the rows, inside the caller's
/// write transaction.
pub fn rebuild(conn: &Conn) -> Result<()> {
    let mut per_upload: HashMap<i64, i64> = HashMap::new();
    conn.each(
        "SELECT upload_id, COUNT(*) FROM recordings WHERE upload_id IS NOT NULL GROUP BY upload_id",
        &[],
        |r| {
            per_upload.insert(r.get(0)?, r.get(1)?);
            Ok(())
        },
    )?;
    let mut regions: HashMap<String, (i64, i64)> = HashMap::new();
    let mut addresses: HashMap<String, i64> = HashMap::new();
    let mut cells: HashMap<(i64, i64), i64> = HashMap::new();
    conn.each(
        "SELECT id, COALESCE(ip, ''), latitude, longitude, COALESCE(region, '') FROM uploads",
        &[],
        |r| {
            let region = regions.entry(r.get(4)?).or_default();
            region.0 += 1;
            region.1 += per_upload.get(&r.get(0)?).copied().unwrap_or(0);
            *addresses.entry(r.get(1)?).or_default() += 1;
            if let (Some(lat), Some(lon)) = (r.get::<Option<f64>>(2)?, r.get::<Option<f64>>(3)?) {
                *cells.entry((grid_cell(lat), grid_cell(lon))).or_default() += 1;
            }
            Ok(())
        },
    )?;
    conn.batch(
        "DELETE FROM upload_regions; DELETE FROM upload_addresses; DELETE FROM upload_cells;",
    )?;
    insert_rows(
        conn,
        "upload_regions (region, uploads, recordings)",
        regions.into_iter().map(|(region, (uploads, recordings))| {
            vec![
                Value::from(region),
                Value::from(uploads),
                Value::from(recordings),
            ]
        }),
    )?;
    rebuild_resolutions(conn, &addresses)?;
    insert_rows(
        conn,
        "upload_addresses (address, uploads)",
        in_key_order(addresses)
            .into_iter()
            .map(|(address, uploads)| vec![Value::from(address), Value::from(uploads)]),
    )?;
    insert_rows(
        conn,
        "upload_cells (lat, lon, uploads)",
        cells
            .into_iter()
            .map(|((lat, lon), n)| vec![Value::from(lat), Value::from(lon), Value::from(n)]),
    )
}

/// Resolves every address against `ip_regions` again, and writes the
/// uploads and distinct addresses per region that follow (the triggers of
/// the resolutions set aside: the counts are written here).
fn rebuild_resolutions(conn: &Conn, addresses: &HashMap<String, i64>) -> Result<()> {
    let table = ip_regions(conn)?;
    let mut resolutions = Vec::new();
    let mut spellings: HashMap<(String, String), i64> = HashMap::new();
    let mut totals: HashMap<String, (i64, i64)> = HashMap::new();
    let mut addresses: Vec<_> = addresses.iter().collect();
    addresses.sort_unstable();
    for (address, uploads) in addresses {
        let (region, spelled) = ip_region(&table, Some(address.clone()));
        totals.entry(region.clone()).or_default().0 += uploads;
        if let Some(spelled) = spelled {
            let canonical = spelled.canonical();
            resolutions.push(vec![
                Value::from(address.as_str()),
                Value::from(region.as_str()),
                Value::from(canonical.as_str()),
            ]);
            let n = spellings.entry((region.clone(), canonical)).or_default();
            if *n == 0 {
                totals.entry(region).or_default().1 += 1;
            }
            *n += uploads;
        }
    }
    conn.batch("DELETE FROM ip_region_totals; DELETE FROM unresolved_addresses;")?;
    without_triggers_on(conn, "address_regions", || {
        conn.batch("DELETE FROM address_regions;")?;
        insert_rows(
            conn,
            "address_regions (address, region, canonical)",
            resolutions,
        )
    })?;
    without_triggers_on(conn, "ip_region_addresses", || {
        conn.batch("DELETE FROM ip_region_addresses;")?;
        insert_rows(
            conn,
            "ip_region_addresses (region, canonical, uploads)",
            in_key_order(spellings)
                .into_iter()
                .map(|((region, canonical), n)| {
                    vec![Value::from(region), Value::from(canonical), Value::from(n)]
                }),
        )
    })?;
    insert_rows(
        conn,
        "ip_region_totals (region, uploads, addresses)",
        totals.into_iter().map(|(region, (uploads, addresses))| {
            vec![
                Value::from(region),
                Value::from(uploads),
                Value::from(addresses),
            ]
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_half_away_from_zero() {
        assert_eq!(grid_cell(37.45), 375);
        assert_eq!(grid_cell(-0.04), 0);
        assert_eq!(grid_cell(-126.95), -1270);
        assert_eq!(grid_cell(0.049999999999999996), 0);
    }
}
