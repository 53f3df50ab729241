//! Charts drawn by the server as inline SVG, readable without JavaScript:
//! horizontal bars for groups, columns for series, a dot map for points.
//!
//! Bar and column charts are as wide as their panel (`width="100%"`, no
//! `viewBox`): positions along the width are percentages and text keeps its
//! pixel size, so labels stay readable on a 390 px phone and on a desktop.
//! Every text is placed where it fits: long labels are shortened with `…`
//! and keep their full text as a tooltip; a value goes inside its bar when
//! the bar is long, beside it otherwise; the first and last tick labels are
//! anchored inward.

use maud::{html, Markup};

/// One bar or column: a label, a value and maybe a page it leads to.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Shown beside or under the bar.
    pub label: String,
    /// Its length.
    pub value: f64,
    /// A page about what the bar counts (a group's sub-corpus).
    pub href: Option<String>,
}

/// One bar per item, labelled and sized by the given functions.
pub fn bars<T>(items: &[T], label: impl Fn(&T) -> String, value: impl Fn(&T) -> f64) -> Vec<Bar> {
    items
        .iter()
        .map(|item| Bar {
            label: label(item),
            value: value(item),
            href: None,
        })
        .collect()
}

/// Makes each bar lead to `href(index)`.
pub fn linked(bars: Vec<Bar>, href: impl Fn(usize) -> String) -> Vec<Bar> {
    bars.into_iter()
        .enumerate()
        .map(|(i, b)| Bar {
            href: Some(href(i)),
            ..b
        })
        .collect()
}

/// What a chart's numbers are, for its axis and tooltips ("recordings",
/// "minutes").
#[derive(Debug, Clone, Copy)]
pub struct Axis<'a> {
    /// The chart's name (its accessible title).
    pub title: &'a str,
    /// The unit of the values.
    pub unit: &'a str,
}

/// The smallest width a chart is laid out for (a 390 px phone minus the
/// page's margins), and the most of it labels may take (percent).
const NARROWEST_PX: f64 = 330.0;
/// The narrowest a chart is on a screen the stylesheet calls wide
/// (`min-width: 700px`, less the page's margins).
const WIDE_PX: f64 = 620.0;
const MAX_LABEL_SHARE: f64 = 45.0;
const FONT_PX: f64 = 13.0;

/// Rough width of `s` in pixels at `font` px: CJK and other wide
/// characters count as one em, the rest as 0.6 em.
fn text_px(s: &str, font: f64) -> f64 {
    s.chars()
        .map(|c| if is_wide(c) { 1.0 } else { 0.6 })
        .sum::<f64>()
        * font
}

fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6)
}

/// `s` shortened with `…` to fit `px` at `font` px.
fn fit(s: &str, px: f64, font: f64) -> String {
    if text_px(s, font) <= px + 0.01 {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if text_px(&out, font) + text_px(&c.to_string(), font) + text_px("…", font) > px {
            break;
        }
        out.push(c);
    }
    out + "…"
}

/// Horizontal bars, one per group, the longest as long as the panel allows.
pub fn bar_chart(axis: Axis, bars: &[Bar]) -> Markup {
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1e-9);
    let row = 26.0;
    let height = (bars.len() as f64 * row).max(row) + 4.0;
    // Labels get what the longest needs on the narrowest screen (within
    // limits); bars get the rest, less a margin for values beside them.
    let longest = bars
        .iter()
        .map(|b| text_px(&b.label, FONT_PX))
        .fold(0.0, f64::max);
    let label_px = longest.min(NARROWEST_PX * MAX_LABEL_SHARE / 100.0 - 10.0);
    let label_share = ((label_px + 10.0) / NARROWEST_PX * 100.0).max(12.0);
    let area = 100.0 - label_share - 4.0;
    html! {
        svg class="chart bars" role="img" aria-label=(axis.title) width="100%" height=(height) {
            title { (axis.title) " (" (axis.unit) ")" }
            @for (i, b) in bars.iter().enumerate() {
                @let y = i as f64 * row + 2.0;
                @let w = (b.value / max * area).max(0.0);
                @let value = fmt_num(b.value);
                // Inside the bar when it is long enough to hold the value on
                // the narrowest screen, beside it otherwise.
                @let inside = w / 100.0 * NARROWEST_PX > text_px(&value, FONT_PX) + 10.0;
                @let shown = fit(&b.label, label_px, FONT_PX);
                // The label's share of the width holds more text on a
                // wider screen: there the label is shortened less, or not.
                @let wide = fit(&b.label, (label_px + 10.0) * WIDE_PX / NARROWEST_PX - 10.0, FONT_PX);
                @let row = html! {
                    title { (b.label) ": " (value) " " (axis.unit) }
                    @if wide == shown {
                        text x="2" y=(y + 17.0) class="label" { (shown) }
                    } @else {
                        text x="2" y=(y + 17.0) class="label narrow" { (shown) }
                        text x="2" y=(y + 17.0) class="label wide" { (wide) }
                    }
                    rect x={(format!("{label_share:.2}")) "%"} y=(y + 4.0) width={(format!("{w:.2}")) "%"} height="18" rx="2" class="bar" {}
                    @if inside {
                        text x={(format!("{:.2}", label_share + w)) "%"} dx="-5" y=(y + 17.0) text-anchor="end" class="value inside" { (value) }
                    } @else {
                        text x={(format!("{:.2}", label_share + w)) "%"} dx="5" y=(y + 17.0) class="value" { (value) }
                    }
                };
                @match &b.href {
                    Some(href) => a href=(href) { g.row { (row) } },
                    None => g.row { (row) },
                }
            }
        }
    }
}

/// A round step for `max` split in about `parts`: 1, 2 or 5 times a power
/// of ten.
fn nice_step(max: f64, parts: f64) -> f64 {
    let raw = (max / parts).max(1e-9);
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    if max.fract() == 0.0 && step < 1.0 {
        1.0
    } else {
        step
    }
}

/// A tick value, short: `950`, `1.5k`, `25k`, `1.2M`.
pub fn short_num(v: f64) -> String {
    let (n, suffix) = match v.abs() {
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let text = if n.fract().abs() < 1e-9 {
        format!("{}", n as i64)
    } else {
        format!("{n:.1}")
    };
    text + suffix
}

/// Vertical columns of a series (months, days, hours) with a y axis, its
/// unit, and the labels under the columns that fit.
pub fn column_chart(axis: Axis, x_label: &str, cols: &[Bar]) -> Markup {
    let top_value = cols.iter().map(|b| b.value).fold(0.0, f64::max);
    let step = nice_step(top_value.max(1.0), 4.0);
    let ticks = (top_value / step).ceil().max(1.0) as usize;
    let max = step * ticks as f64;
    let (top, base, height) = (22.0, 172.0, 212.0);
    let gutter = 11.0; // % of the width for the y axis labels
    let n = cols.len().max(1) as f64;
    let step_x = (100.0 - gutter) / n;
    let bar_w = step_x * 0.72;
    let shown = shown_ticks(cols, gutter, step_x, bar_w);
    let y = |v: f64| base - v / max * (base - top);
    html! {
        svg class="chart columns" role="img" aria-label=(axis.title) width="100%" height=(height) {
            title { (axis.title) " (" (axis.unit) ")" }
            text x="0" y="11" class="unit" { (axis.unit) }
            @for i in 0..=ticks {
                @let v = step * i as f64;
                line x1={(gutter) "%"} x2="100%" y1=(format!("{:.1}", y(v))) y2=(format!("{:.1}", y(v))) class=(if i == 0 { "axis" } else { "grid" }) {}
                text x={(gutter) "%"} dx="-4" y=(format!("{:.1}", y(v) + 4.0)) text-anchor="end" class="tick" { (short_num(v)) }
            }
            @for (i, c) in cols.iter().enumerate() {
                @let h = base - y(c.value);
                @let x = gutter + i as f64 * step_x + (step_x - bar_w) / 2.0;
                // The value shows above its column on hover or tap (its
                // title, the browser's tooltip, comes later and not on
                // phones); the column's slot is the target, so thin
                // columns are easy to hit.
                g.col tabindex="0" {
                    rect x={(format!("{:.3}", gutter + i as f64 * step_x)) "%"} y=(top) width={(format!("{step_x:.3}")) "%"} height=(base - top) class="hit" {}
                    rect x={(format!("{x:.3}")) "%"} y=(format!("{:.1}", base - h)) width={(format!("{bar_w:.3}")) "%"} height=(format!("{h:.1}")) class="bar" {}
                    title { (c.label) ": " (fmt_num(c.value)) " " (axis.unit) }
                    text.hover x={(format!("{:.3}", x + bar_w / 2.0)) "%"} y=(format!("{:.1}", (base - h - 5.0).max(12.0))) text-anchor=(if i == 0 { "start" } else if i + 1 == cols.len() { "end" } else { "middle" }) {
                        (c.label) ": " (fmt_num(c.value))
                    }
                }
                @if let Some(anchor) = shown[i] {
                    @let at = match anchor { "start" => x, "end" => x + bar_w, _ => x + bar_w / 2.0 };
                    text x={(format!("{at:.3}")) "%"} y=(base + 16.0) class="tick" text-anchor=(anchor) { (c.label) }
                }
            }
            text x="100%" y=(height - 4.0) text-anchor="end" class="unit" { (x_label) }
        }
    }
}

/// Which column labels a column chart shows, and how each is anchored:
/// the first (from its start), the last (to its end) and, between them,
/// every `k`th one (centred), for the smallest `k` at which they all keep a
/// gap between them on the narrowest screen; of those, the ones too close
/// to the last are left out. A regular stride reads as an axis; wider
/// screens only spread the labels further apart.
fn shown_ticks(cols: &[Bar], gutter: f64, step_x: f64, bar_w: f64) -> Vec<Option<&'static str>> {
    let n = cols.len();
    let mut shown = vec![None; n];
    if n == 0 {
        return shown;
    }
    let layout = (gutter, step_x, bar_w);
    let anchor = |i: usize| if i == 0 { "start" } else { "middle" };
    let span = |i: usize| tick_span(&cols[i].label, i, anchor(i), layout);
    let last = tick_span(&cols[n - 1].label, n - 1, "end", layout);
    for k in 1..=n {
        let picked: Vec<usize> = (0..n - 1).step_by(k).collect();
        let clear = picked
            .windows(2)
            .all(|w| span(w[0]).1 + GAP_PX <= span(w[1]).0);
        if clear {
            for i in picked {
                if span(i).1 + GAP_PX <= last.0 {
                    shown[i] = Some(anchor(i));
                }
            }
            break;
        }
    }
    shown[n - 1] = Some(if n == 1 { "start" } else { "end" });
    shown
}

/// Space kept between two column labels (px).
const GAP_PX: f64 = 8.0;

/// Where the label of column `i` lies on the narrowest screen (px from the
/// chart's left), anchored as given; `layout` is the chart's gutter,
/// column step and column width (percent).
fn tick_span(label: &str, i: usize, anchor: &str, layout: (f64, f64, f64)) -> (f64, f64) {
    let (gutter, step_x, bar_w) = layout;
    let px = |percent: f64| percent / 100.0 * NARROWEST_PX;
    let x = gutter + i as f64 * step_x + (step_x - bar_w) / 2.0;
    let width = text_px(label, 11.0);
    match anchor {
        "start" => (px(x), px(x) + width),
        "end" => (px(x + bar_w) - width, px(x + bar_w)),
        _ => (
            px(x + bar_w / 2.0) - width / 2.0,
            px(x + bar_w / 2.0) + width / 2.0,
        ),
    }
}

/// A point on the map.
#[derive(Debug, Clone)]
pub struct Dot {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Weight (dot size).
    pub count: u64,
}

/// What the map says besides its dots.
pub struct MapText<'a> {
    /// The chart's name.
    pub title: &'a str,
    /// The unit of a dot's weight ("uploads").
    pub unit: &'a str,
    /// Region names at their coordinates.
    pub labels: &'a [(String, f64, f64)],
    /// Outlines of the land, as (latitude, longitude) rings, drawn under
    /// the dots.
    pub land: &'a [&'a [(f64, f64)]],
}

const MAP_PX: f64 = 480.0;

/// How far a region's name starts from its point: past the radius of the
/// largest dot (9.5 px), so a name never sits on its dot.
const LABEL_OFFSET: f64 = 12.0;

/// A dot map on a lat/lon grid fitted to the points, with a graticule every
/// degree, region labels that do not overlap, and a legend of dot sizes.
pub fn dot_map(text: &MapText, dots: &[Dot]) -> Markup {
    let labels = text.labels;
    let (min_lat, max_lat, min_lon, max_lon) = map_bounds(dots, labels);
    let (w, h) = (MAP_PX, MAP_PX);
    // Points closer than a few pixels are drawn as one dot with their sum,
    // so thousands of nearby uploads read as sizes, not a solid blob.
    let dots = &binned(dots, (max_lat - min_lat) / 24.0, (max_lon - min_lon) / 24.0);
    let x = |lon: f64| (lon - min_lon) / (max_lon - min_lon) * w;
    let y = |lat: f64| h - (lat - min_lat) / (max_lat - min_lat) * h;
    let max_count = dots.iter().map(|d| d.count).max().unwrap_or(1).max(1);
    let radius = |count: u64| 1.5 + 8.0 * (count as f64 / max_count as f64).sqrt();
    // The graticule's own labels are there first: a region's name never
    // covers one.
    let lat_lines: Vec<i64> = ((min_lat.ceil() as i64)..=(max_lat.floor() as i64)).collect();
    let lon_lines: Vec<i64> = ((min_lon.ceil() as i64)..=(max_lon.floor() as i64)).collect();
    let taken = graticule_boxes((&lat_lines, &lon_lines), (&x, &y));
    let placed = place_labels(labels, |lat, lon| (x(lon), y(lat)), taken);
    // The legend: a dot per round count, side by side, then the unit.
    let mut legend_end = 8.0;
    let legend: Vec<(u64, f64, f64)> = legend_counts(max_count)
        .into_iter()
        .map(|count| {
            let r = radius(count);
            let cx = legend_end + r;
            legend_end += 2.0 * r + 14.0 + text_px(&count.to_string(), 12.0);
            (count, cx, r)
        })
        .collect();
    html! {
        svg class="chart map" role="img" aria-label=(text.title) viewBox={"0 0 480 " (h + 40.0)} width="100%" {
            title { (text.title) }
            rect x="0" y="0" width="480" height="480" class="sea" {}
            // The land stays inside the sea's square, off the legend.
            clipPath #map-sea { rect x="0" y="0" width="480" height="480" {} }
            g clip-path="url(#map-sea)" {
                @for ring in text.land {
                    path class="land" d=(ring_path(ring, |lat, lon| (x(lon), y(lat)))) {}
                }
            }
            @for lat in lat_lines.iter().copied() {
                line x1="0" x2="480" y1=(format!("{:.1}", y(lat as f64))) y2=(format!("{:.1}", y(lat as f64))) class="grid" {}
                text x="3" y=(format!("{:.1}", y(lat as f64) - 3.0)) class="tick" { (lat) "°N" }
            }
            @for lon in lon_lines.iter().copied() {
                line y1="0" y2="480" x1=(format!("{:.1}", x(lon as f64))) x2=(format!("{:.1}", x(lon as f64))) class="grid" {}
                text y="474" x=(format!("{:.1}", x(lon as f64) + 3.0)) class="tick" { (lon) "°E" }
            }
            @for d in dots {
                circle class="dot" cx=(format!("{:.1}", x(d.lon))) cy=(format!("{:.1}", y(d.lat))) r=(format!("{:.1}", radius(d.count))) {
                    title { (format!("{:.2}, {:.2}", d.lat, d.lon)) ": " (d.count) " " (text.unit) }
                }
            }
            @for (name, lx, ly, anchor) in &placed {
                text class="region" x=(format!("{lx:.1}")) y=(format!("{ly:.1}")) text-anchor=(anchor) { (name) }
            }
            g.legend {
                @for (count, cx, r) in &legend {
                    circle class="dot" cx=(format!("{cx:.1}")) cy="500" r=(format!("{r:.1}")) {}
                    text class="tick" x=(format!("{:.1}", cx + r + 4.0)) y="504" { (count) }
                }
                text class="tick" x=(format!("{legend_end:.1}")) y="504" { (text.unit) }
            }
        }
    }
}

/// The map's bounds (min and max latitude, min and max longitude): the
/// whole degrees around its dots and labels, with half a degree of sea.
fn map_bounds(dots: &[Dot], labels: &[(String, f64, f64)]) -> (f64, f64, f64, f64) {
    let lats = dots.iter().map(|d| d.lat).chain(labels.iter().map(|l| l.1));
    let lons = dots.iter().map(|d| d.lon).chain(labels.iter().map(|l| l.2));
    let (min_lat, max_lat) = lats.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (min_lon, max_lon) = lons.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if min_lat > max_lat {
        return (0.0, 1.0, 0.0, 1.0);
    }
    (
        min_lat.floor() - 0.5,
        max_lat.ceil() + 0.5,
        min_lon.floor() - 0.5,
        max_lon.ceil() + 0.5,
    )
}

/// Where the graticule's labels (`37°N` at the left of each parallel,
/// `127°E` at the foot of each meridian) lie, as (left, top, right,
/// bottom) boxes, given the map's projection `(x of lon, y of lat)`.
fn graticule_boxes(
    (lat_lines, lon_lines): (&[i64], &[i64]),
    (x, y): (&dyn Fn(f64) -> f64, &dyn Fn(f64) -> f64),
) -> Vec<(f64, f64, f64, f64)> {
    let tick = 11.0;
    let parallels = lat_lines.iter().map(|lat| {
        let ty = y(*lat as f64) - 3.0;
        let width = text_px(&format!("{lat}°N"), tick);
        (3.0, ty - tick, 3.0 + width, ty + 2.0)
    });
    let meridians = lon_lines.iter().map(|lon| {
        let tx = x(*lon as f64) + 3.0;
        let width = text_px(&format!("{lon}°E"), tick);
        (tx, 474.0 - tick, tx + width, 476.0)
    });
    parallels.chain(meridians).collect()
}

/// An SVG path of a closed ring of (latitude, longitude) points.
fn ring_path(ring: &[(f64, f64)], at: impl Fn(f64, f64) -> (f64, f64)) -> String {
    let mut d = String::new();
    for (i, (lat, lon)) in ring.iter().enumerate() {
        let (px, py) = at(*lat, *lon);
        d.push_str(&format!(
            "{}{px:.1},{py:.1}",
            if i == 0 { "M" } else { " L" }
        ));
    }
    d.push_str(" Z");
    d
}

/// `dots` summed per cell of `lat_step` × `lon_step` degrees, each drawn at
/// the weighted centre of its points; largest first, so small dots stay
/// visible on top.
fn binned(dots: &[Dot], lat_step: f64, lon_step: f64) -> Vec<Dot> {
    let mut cells: std::collections::BTreeMap<(i64, i64), (f64, f64, u64)> = Default::default();
    for d in dots {
        let cell = (
            (d.lat / lat_step).floor() as i64,
            (d.lon / lon_step).floor() as i64,
        );
        let c = cells.entry(cell).or_default();
        let weight = d.count.max(1) as f64;
        c.0 += d.lat * weight;
        c.1 += d.lon * weight;
        c.2 += d.count;
    }
    let mut out: Vec<Dot> = cells
        .into_values()
        .map(|(lat, lon, count)| {
            let weight = count.max(1) as f64;
            Dot {
                lat: lat / weight,
                lon: lon / weight,
                count,
            }
        })
        .collect();
    out.sort_by_key(|d| std::cmp::Reverse(d.count));
    out
}

/// Counts shown in the legend: the largest, and smaller round ones.
fn legend_counts(max: u64) -> Vec<u64> {
    let mut out = vec![max];
    for part in [4, 20] {
        let c = max / part;
        if c >= 1 && !out.contains(&c) {
            out.push(c);
        }
    }
    out.reverse();
    out
}

/// Puts each region's name beside its point, on the right or, when that
/// runs off the map, on the left; a name that would overlap one already
/// placed, or a box `taken` (left, top, right, bottom), is left out (its
/// dot keeps its tooltip).
fn place_labels(
    labels: &[(String, f64, f64)],
    at: impl Fn(f64, f64) -> (f64, f64),
    taken: Vec<(f64, f64, f64, f64)>,
) -> Vec<(String, f64, f64, &'static str)> {
    let font = 14.0;
    let mut boxes = taken;
    let mut out = Vec::new();
    for (name, lat, lon) in labels {
        let (px, py) = at(*lat, *lon);
        let width = text_px(name, font);
        // Clear of the largest dot drawn at the same place.
        let (left, anchor, tx) = if px + LABEL_OFFSET + width <= MAP_PX {
            (px + LABEL_OFFSET, "start", px + LABEL_OFFSET)
        } else {
            (px - LABEL_OFFSET - width, "end", px - LABEL_OFFSET)
        };
        let bx = (left, py - font, left + width, py + 3.0);
        let overlaps = boxes
            .iter()
            .any(|b| bx.0 < b.2 && b.0 < bx.2 && bx.1 < b.3 && b.1 < bx.3);
        let inside = bx.0 >= 0.0 && bx.2 <= MAP_PX && bx.1 >= 0.0 && bx.3 <= MAP_PX;
        if !overlaps && inside {
            boxes.push(bx);
            out.push((name.clone(), tx, py, anchor));
        }
    }
    out
}

/// A number for people: integers plainly, others with one decimal.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        super::numbers::whole(v as i64)
    } else {
        super::numbers::fixed(v, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AXIS: Axis = Axis {
        title: "t",
        unit: "recordings",
    };

    #[test]
    fn charts_are_svg_with_one_shape_per_value() {
        let bars = vec![
            Bar {
                label: "a".into(),
                value: 2.0,
                href: Some("/audio/dashboard/?category=a".into()),
            },
            Bar {
                label: "서울".into(),
                value: 1.0,
                href: None,
            },
        ];
        let svg = bar_chart(AXIS, &bars).into_string();
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("서울"));
        assert_eq!(
            svg.matches("<a href=\"/audio/dashboard/?category=a\"")
                .count(),
            1
        );
        let map = dot_map(
            &MapText {
                title: "m",
                unit: "uploads",
                labels: &[("Seoul".into(), 37.56, 126.97)],
                land: crate::regions::LAND_OUTLINES,
            },
            &[Dot {
                lat: 37.5,
                lon: 127.0,
                count: 3,
            }],
        )
        .into_string();
        // One dot, and the legend's.
        assert_eq!(map.matches("<circle").count(), 1 + legend_counts(3).len());
        assert!(map.contains("Seoul"));
        // The land is drawn under the dots, one path per ring.
        assert_eq!(map.matches("<path class=\"land\"").count(), 2);
        assert!(map.find("class=\"land\"").unwrap() < map.find("class=\"dot\"").unwrap());
    }

    #[test]
    fn long_labels_are_shortened_and_keep_their_full_text_as_a_tooltip() {
        let one_bar = |label: &str, value: f64| {
            let bar = Bar {
                label: label.into(),
                value,
                href: None,
            };
            bar_chart(AXIS, &[bar]).into_string()
        };
        let label = "a category with a very long name indeed";
        let svg = one_bar(label, 25226.0);
        assert!(svg.contains(&format!("<title>{label}: 25,226 recordings</title>")));
        assert!(svg.contains("…</text>"));
        // The longest bar holds its value inside.
        assert!(svg.contains("class=\"value inside\">25,226</text>"));
        // On a wide screen a label has more room: a name cut on a phone
        // is whole there.
        let svg = one_bar("Parkinson's disease", 75.0);
        assert!(svg.contains("class=\"label narrow\">Parkinson"));
        assert!(
            svg.contains("class=\"label wide\">Parkinson's disease</text>"),
            "{svg}"
        );
    }

    #[test]
    fn axes_have_round_ticks_and_short_numbers() {
        assert_eq!(nice_step(25226.0, 4.0), 10000.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
        assert_eq!(nice_step(3.0, 4.0), 1.0);
        assert_eq!(short_num(25000.0), "25k");
        assert_eq!(short_num(1_200_000.0), "1.2M");
        assert_eq!(short_num(950.0), "950");
        let cols: Vec<Bar> = (0..24)
            .map(|h| Bar {
                label: format!("2026-{h:02}"),
                value: h as f64,
                href: None,
            })
            .collect();
        let svg = column_chart(AXIS, "month", &cols).into_string();
        // The last label is always shown, anchored inward.
        assert!(svg.contains("text-anchor=\"end\">2026-23</text>"));
        assert!(svg.contains("text-anchor=\"start\">2026-00</text>"));
    }

    #[test]
    fn column_labels_never_meet_whatever_the_number_of_columns() {
        for n in 1..=120usize {
            let cols: Vec<Bar> = (0..n)
                .map(|i| Bar {
                    label: format!("{}-{:02}", 2020 + i / 12, i % 12 + 1),
                    value: i as f64,
                    href: None,
                })
                .collect();
            let step_x = (100.0 - 11.0) / n as f64;
            let layout = (11.0, step_x, step_x * 0.72);
            let shown = shown_ticks(&cols, layout.0, layout.1, layout.2);
            let spans: Vec<(f64, f64)> = shown
                .iter()
                .enumerate()
                .filter_map(|(i, a)| a.map(|a| tick_span(&cols[i].label, i, a, layout)))
                .collect();
            assert!(shown[n - 1].is_some(), "{n}: the last label is shown");
            for w in spans.windows(2) {
                assert!(w[0].1 + GAP_PX <= w[1].0, "{n} columns: {spans:?}");
            }
            // At a regular stride, so that they read as an axis.
            let picked: Vec<usize> = (0..n - 1).filter(|i| shown[*i].is_some()).collect();
            assert!(
                picked.windows(3).all(|w| w[1] - w[0] == w[2] - w[1]),
                "{n} columns: {picked:?}"
            );
            // And the axis keeps landmarks between the ends.
            assert!(n < 12 || spans.len() >= 3, "{n} columns: {spans:?}");
        }
    }

    #[test]
    fn overlapping_region_names_are_left_out() {
        let labels = vec![
            ("Seoul".to_string(), 37.56, 126.97),
            ("Incheon".to_string(), 37.45, 126.70),
            ("Busan".to_string(), 35.17, 129.07),
        ];
        let placed = place_labels(
            &labels,
            |lat, lon| ((lon - 126.0) * 100.0, (38.0 - lat) * 100.0),
            Vec::new(),
        );
        let names: Vec<&str> = placed.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["Seoul", "Busan"]);
        // Nor over a box already taken (the graticule's labels).
        let placed = place_labels(
            &labels,
            |lat, lon| ((lon - 126.0) * 100.0, (38.0 - lat) * 100.0),
            vec![(150.0, 30.0, 250.0, 60.0)],
        );
        let names: Vec<&str> = placed.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(names, ["Incheon", "Busan"]);
    }
}
