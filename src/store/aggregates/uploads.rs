//! The aggregates of `locations`, kept per value the statistic groups by:
//!
//! - `upload_regions`: uploads per `region` as stored (NULL read as
//!   empty), with the recordings of those uploads;
//! - `upload_addresses`: uploads per address as stored (NULL read as
//!   empty). Which region an address falls in is a longest-prefix match
//!   over `ip_regions`, which SQL cannot do: the statistic resolves each
//!   distinct address, a few per upload source rather than per upload;
//! - `upload_cells`: uploads with coordinates per cell of the 0.1° grid,
//!   as whole tenths of a degree (rounded half away from zero).
//!
//! As in [`super::corpus`], each statement is written once for both
//! engines, over rows `u` (uploads) or `r` (recordings).

use std::collections::HashMap;

use super::{floor_sql, insert_rows, Side, SideSql};
use crate::store::{Conn, Engine, Result, Value};

/// The tables (both engines).
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
CREATE TABLE upload_cells (
    lat BIGINT NOT NULL,
    lon BIGINT NOT NULL,
    uploads BIGINT NOT NULL,
    PRIMARY KEY (lat, lon)
);
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
    sql
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
pub(crate) const KEPT: [(&str, &str, SideSql); 2] = [
    ("uploads", "locations", uploads_side),
    ("recordings", "locations", recordings_side),
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
    insert_rows(
        conn,
        "upload_addresses (address, uploads)",
        addresses
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
