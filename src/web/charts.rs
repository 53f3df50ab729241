//! Charts drawn by the server as inline SVG, readable without JavaScript:
//! horizontal bars for groups, columns for series, a dot map for points.

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

/// Horizontal bars, one per group, longest = full width.
pub fn bar_chart(title: &str, bars: &[Bar]) -> Markup {
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1e-9);
    let row = 22.0;
    let height = (bars.len() as f64 * row).max(row) + 4.0;
    html! {
        svg class="chart bars" role="img" aria-label=(title) viewBox={"0 0 480 " (height)} width="480" height=(height) {
            title { (title) }
            @for (i, b) in bars.iter().enumerate() {
                @let y = i as f64 * row + 2.0;
                @let w = (b.value / max * 300.0).max(0.0);
                @let row = html! {
                    text x="0" y=(y + 15.0) class="label" { (truncate(&b.label, 18)) }
                    rect x="140" y=(y + 3.0) width=(format!("{w:.1}")) height="15" class="bar" {}
                    text x=(format!("{:.1}", 146.0 + w)) y=(y + 15.0) class="value" { (fmt_num(b.value)) }
                };
                @match &b.href {
                    Some(href) => a href=(href) { (row) },
                    None => (row),
                }
            }
        }
    }
}

/// Vertical columns of a series (months, days, hours), labels under them.
pub fn column_chart(title: &str, cols: &[Bar]) -> Markup {
    let max = cols.iter().map(|b| b.value).fold(0.0, f64::max).max(1e-9);
    let n = cols.len().max(1) as f64;
    let width = 640.0;
    let step = width / n;
    let bar_w = (step * 0.7).max(1.0);
    let every = ((n / 12.0).ceil() as usize).max(1);
    html! {
        svg class="chart columns" role="img" aria-label=(title) viewBox="0 0 640 200" width="640" height="200" {
            title { (title) }
            line x1="0" y1="170" x2="640" y2="170" class="axis" {}
            @for (i, c) in cols.iter().enumerate() {
                @let h = c.value / max * 150.0;
                @let x = i as f64 * step + (step - bar_w) / 2.0;
                rect x=(format!("{x:.1}")) y=(format!("{:.1}", 170.0 - h)) width=(format!("{bar_w:.1}")) height=(format!("{h:.1}")) class="bar" {
                    title { (c.label) ": " (fmt_num(c.value)) }
                }
                @if i % every == 0 {
                    text x=(format!("{:.1}", x + bar_w / 2.0)) y="188" class="tick" text-anchor="middle" { (c.label) }
                }
            }
        }
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

/// A dot map on a lat/lon grid fitted to the points, with a graticule every
/// degree and optional region labels at their coordinates.
pub fn dot_map(title: &str, dots: &[Dot], labels: &[(String, f64, f64)]) -> Markup {
    let lats = dots.iter().map(|d| d.lat).chain(labels.iter().map(|l| l.1));
    let lons = dots.iter().map(|d| d.lon).chain(labels.iter().map(|l| l.2));
    let (min_lat, max_lat) = lats.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (min_lon, max_lon) = lons.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (min_lat, max_lat, min_lon, max_lon) = if min_lat > max_lat {
        (0.0, 1.0, 0.0, 1.0)
    } else {
        (
            min_lat.floor() - 0.5,
            max_lat.ceil() + 0.5,
            min_lon.floor() - 0.5,
            max_lon.ceil() + 0.5,
        )
    };
    let (w, h) = (480.0, 480.0);
    let x = |lon: f64| (lon - min_lon) / (max_lon - min_lon) * w;
    let y = |lat: f64| h - (lat - min_lat) / (max_lat - min_lat) * h;
    let max_count = dots.iter().map(|d| d.count).max().unwrap_or(1).max(1) as f64;
    html! {
        svg class="chart map" role="img" aria-label=(title) viewBox="0 0 480 480" width="480" height="480" {
            title { (title) }
            rect x="0" y="0" width="480" height="480" class="sea" {}
            @for lat in (min_lat.ceil() as i64)..=(max_lat.floor() as i64) {
                line x1="0" x2="480" y1=(format!("{:.1}", y(lat as f64))) y2=(format!("{:.1}", y(lat as f64))) class="grid" {}
                text x="2" y=(format!("{:.1}", y(lat as f64) - 2.0)) class="tick" { (lat) "°" }
            }
            @for lon in (min_lon.ceil() as i64)..=(max_lon.floor() as i64) {
                line y1="0" y2="480" x1=(format!("{:.1}", x(lon as f64))) x2=(format!("{:.1}", x(lon as f64))) class="grid" {}
                text y="476" x=(format!("{:.1}", x(lon as f64) + 2.0)) class="tick" { (lon) "°" }
            }
            @for d in dots {
                circle class="dot" cx=(format!("{:.1}", x(d.lon))) cy=(format!("{:.1}", y(d.lat))) r=(format!("{:.1}", 3.0 + 6.0 * (d.count as f64 / max_count).sqrt())) {
                    title { (d.lat) ", " (d.lon) ": " (d.count) }
                }
            }
            @for (name, lat, lon) in labels {
                text class="region" x=(format!("{:.1}", x(*lon) + 5.0)) y=(format!("{:.1}", y(*lat))) { (name) }
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

/// A number for people: integers plainly, others with one decimal.
pub fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let svg = bar_chart("t", &bars).into_string();
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("서울"));
        assert_eq!(
            svg.matches("<a href=\"/audio/dashboard/?category=a\"")
                .count(),
            1
        );
        let map = dot_map(
            "m",
            &[Dot {
                lat: 37.5,
                lon: 127.0,
                count: 3,
            }],
            &[("Seoul".into(), 37.56, 126.97)],
        )
        .into_string();
        assert_eq!(map.matches("<circle").count(), 1);
        assert!(map.contains("Seoul"));
    }
}
