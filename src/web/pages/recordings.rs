//! `/audio/recordings/`: the list of recordings researchers filter (group,
//! speaker, days, SNR band), sort and page through, with the whole list
//! as a CSV manifest one link away. What every chart bar and table row
//! that stands for a set of recordings leads to.

use std::collections::HashMap;

use maud::{html, Markup};

use super::{breadcrumbs, frame, group_value, layout, local_time, Frame};
use crate::i18n::t;
use crate::stats::key::{DateRange, Filter};
use crate::store::recording_list::{self, ListedRecording, Sort, SortColumn};
use crate::store::speakers::{self, GroupValues};
use crate::web::app::App;
use crate::web::context::Ctx;
use crate::web::decode::recording_list_query;
use crate::web::error::WebError;
use crate::web::manifest::Manifest;
use crate::web::numbers::{fixed, whole};
use crate::web::reply::Reply;

/// What the form's group fields send for "any group": left out, unlike
/// an empty value, which is the group of speakers without one.
pub(crate) const ANY: &str = "*";

/// The parameters of the list that link to a set of recordings: a group
/// or a speaker, the page's days, and what narrows them further.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordingsOf {
    params: Vec<(&'static str, String)>,
    /// The days kept (also among `params`), which a month is cut to.
    range: DateRange,
}

impl RecordingsOf {
    /// The recordings of a group (or of everyone) on the days of its range.
    pub(crate) fn group(filter: &Filter) -> RecordingsOf {
        RecordingsOf {
            params: filter.params(),
            range: filter.range,
        }
    }

    /// The recordings of one speaker on the days of `range`.
    pub(crate) fn speaker(id: i64, range: &DateRange) -> RecordingsOf {
        let mut params = vec![("speaker", id.to_string())];
        params.extend(range.params());
        RecordingsOf {
            params,
            range: *range,
        }
    }

    /// Whether these are one speaker's recordings (a page about them says
    /// nothing of how many speakers, or of their ages: one).
    pub(crate) fn of_one_speaker(&self) -> bool {
        self.params.iter().any(|(name, _)| *name == "speaker")
    }

    /// The link to the list, narrowed by `extra` (which replaces a
    /// parameter of the same name).
    pub(crate) fn href(&self, extra: &[(&'static str, String)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &self.params {
            if !extra.iter().any(|(n, _)| n == name) {
                query.append_pair(name, value);
            }
        }
        for (name, value) in extra {
            query.append_pair(name, value);
        }
        format!("/audio/recordings/?{}", query.finish())
    }

    /// The link to the recordings of the local month `YYYY-MM` that this
    /// set keeps (the month cut to its days).
    pub(crate) fn month_href(&self, month: &str) -> String {
        let first = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok();
        let last = first
            .and_then(|d| d.checked_add_months(chrono::Months::new(1)))
            .and_then(|d| d.pred_opt());
        let range = self.range;
        let from = first.max(range.from);
        let to = match (last, range.to) {
            (Some(l), Some(t)) => Some(l.min(t)),
            (l, t) => l.or(t),
        };
        let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        self.href(&[("from", day(from)), ("to", day(to))])
    }

    /// The link to the recordings of an SNR band `[min, max)` (dB).
    pub(crate) fn band_href(&self, min: Option<u32>, max: Option<u32>) -> String {
        self.bounded_href(("snr_min", min), ("snr_max", max))
    }

    /// The link to the recordings of a length bucket `[min, max)` (s).
    pub(crate) fn length_href(&self, min: Option<u32>, max: Option<u32>) -> String {
        self.bounded_href(("length_min", min), ("length_max", max))
    }

    /// The link to the recordings of a sample rate (none: those giving
    /// none).
    pub(crate) fn sample_rate_href(&self, rate: Option<i64>) -> String {
        let value = rate.map_or_else(|| "none".to_string(), |hz| hz.to_string());
        self.href(&[("sample_rate", value)])
    }

    fn bounded_href(
        &self,
        (min_name, min): (&'static str, Option<u32>),
        (max_name, max): (&'static str, Option<u32>),
    ) -> String {
        let mut extra = Vec::new();
        extra.extend(min.map(|v| (min_name, v.to_string())));
        extra.extend(max.map(|v| (max_name, v.to_string())));
        self.href(&extra)
    }
}

/// The query as the list reads it: a field the form left empty, or a
/// group set to any, is left out.
fn asked(ctx: &Ctx) -> HashMap<String, String> {
    let mut query = ctx.query.clone();
    query.retain(|name, value| match name.as_str() {
        "category" | "diagnosis" | "gender" => value != ANY,
        "speaker" | "snr_min" | "snr_max" | "sample_rate" | "length_min" | "length_max"
        | "sort" | "from" | "to" => !value.is_empty(),
        _ => true,
    });
    query
}

/// `GET /audio/recordings/[?category=&diagnosis=&gender=&speaker=&from=&to=&snr_min=&snr_max=&sample_rate=&length_min=&length_max=&sort=&page=&format=csv]`
/// (staff, or anyone on a public server).
pub(crate) fn page(app: &App, ctx: &Ctx) -> Result<Reply, WebError> {
    if !app.public {
        ctx.require_staff()?;
    }
    let query = asked(ctx);
    let list = recording_list_query(&query, &app.config.local)?;
    if list.csv {
        return Ok(Reply::Manifest(Manifest {
            filter: list.filter,
            sort: list.sort,
        }));
    }
    let conn = app.store.conn()?;
    let (rows, has_more) =
        recording_list::numbered_page(&conn, &list.filter, list.sort, list.page)?;
    let groups = speakers::group_values(&conn)?;
    drop(conn);
    let frame = frame(app, ctx, "rec.title");
    let view = ListView {
        query: &query,
        rows: &rows,
        sort: list.sort,
        page: list.page,
        has_more,
        groups: &groups,
    };
    Ok(Reply::Html(layout(&frame, list_page(&frame, &view))))
}

struct ListView<'a> {
    query: &'a HashMap<String, String>,
    rows: &'a [ListedRecording],
    sort: Sort,
    page: u64,
    has_more: bool,
    groups: &'a GroupValues,
}

impl ListView<'_> {
    /// This list with `changes` made to its query (an empty value removes
    /// the parameter), the page number dropped unless given.
    fn href(&self, changes: &[(&str, String)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .query
            .iter()
            .filter(|(k, _)| k.as_str() != "page" && !changes.iter().any(|(n, _)| n == k))
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.extend(
            changes
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(k, v)| (*k, v.as_str())),
        );
        pairs.sort();
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(pairs);
        format!("/audio/recordings/?{}", query.finish())
    }

    fn value(&self, name: &str) -> &str {
        self.query.get(name).map_or("", String::as_str)
    }
}

fn list_page(frame: &Frame, v: &ListView) -> Markup {
    let l = frame.lang;
    let manifest = v.href(&[("format", "csv".to_string())]);
    html! {
        (breadcrumbs(frame, &[], t(l, "rec.title")))
        h1 { (t(l, "rec.title")) }
        (filter_form(frame, v))
        p.actions { a.download href=(manifest) download { (t(l, "rec.manifest")) } }
        @if v.rows.is_empty() {
            p.empty { (t(l, "rec.none")) }
        } @else {
            div.table-wrap { (list_table(frame, v)) }
        }
        p.pager {
            @if v.page > 1 { a rel="prev" href=(v.href(&[("page", (v.page - 1).to_string())])) { (t(l, "drill.previous")) } " " }
            (t(l, "drill.page")) " " (v.page)
            @if v.has_more { " " a rel="next" href=(v.href(&[("page", (v.page + 1).to_string())])) { (t(l, "drill.next")) } }
        }
    }
}

/// The filters, each kept as asked; a group's select offers any group,
/// then each value present (empty: speakers without one).
fn filter_form(frame: &Frame, v: &ListView) -> Markup {
    let l = frame.lang;
    let select = |name: &'static str, values: &[String]| {
        let chosen = v.query.get(name).map(String::as_str);
        html! {
            label { (t(l, &format!("drill.{name}"))) " "
                select name=(name) {
                    option value=(ANY) selected[chosen.is_none()] { (t(l, "rec.any")) }
                    @for value in values {
                        option value=(value) selected[chosen == Some(value.as_str())] { (group_value(l, name, value)) }
                    }
                }
            }
        }
    };
    let input = |name: &'static str, kind: &'static str, label: &str| {
        html! {
            label { (label) " "
                input type=(kind) name=(name) value=(v.value(name)) step=[(kind == "number").then_some("any")] lang=(l.code());
            }
        }
    };
    html! {
        form.filters method="get" action="/audio/recordings/" {
            (select("category", &v.groups.categories))
            (select("diagnosis", &v.groups.diagnoses))
            (select("gender", &v.groups.genders))
            (input("speaker", "number", t(l, "rec.speaker_id")))
            (input("from", "date", t(l, "range.from")))
            (input("to", "date", t(l, "range.to")))
            (input("snr_min", "number", t(l, "rec.snr_min")))
            (input("snr_max", "number", t(l, "rec.snr_max")))
            (input("sample_rate", "text", t(l, "rec.sample_rate_hz")))
            (input("length_min", "number", t(l, "rec.length_min")))
            (input("length_max", "number", t(l, "rec.length_max")))
            @if let Some(lang) = v.query.get("lang") { input type="hidden" name="lang" value=(lang); }
            @if let Some(sort) = v.query.get("sort") { input type="hidden" name="sort" value=(sort); }
            button type="submit" { (t(l, "range.apply")) }
        }
    }
}

/// The page's recordings; each heading sorts by its column (again:
/// the other way).
fn list_table(frame: &Frame, v: &ListView) -> Markup {
    let l = frame.lang;
    let columns = [
        (SortColumn::FileName, "file_name", t(l, "rec.file")),
        (SortColumn::SpeakerId, "speaker_id", t(l, "drill.speaker")),
        (
            SortColumn::RecordedAt,
            "recorded_at",
            t(l, "rec.recorded_at"),
        ),
        (SortColumn::DurationS, "duration_s", t(l, "rec.duration")),
        (
            SortColumn::SampleRate,
            "sample_rate",
            t(l, "rec.sample_rate"),
        ),
        (SortColumn::SnrDb, "snr_db", "SNR (dB)"),
    ];
    html! {
        table.list {
            thead { tr {
                @for (column, name, label) in columns {
                    @let current = v.sort.column == column;
                    @let next = if current && !v.sort.descending { format!("-{name}") } else { name.to_string() };
                    th aria-sort=[current.then_some(if v.sort.descending { "descending" } else { "ascending" })] {
                        a href=(v.href(&[("sort", next)])) { (label) }
                    }
                }
            } }
            tbody {
                @for r in v.rows {
                    tr {
                        td { (r.file_name) }
                        td { a href={"/audio/speakers/" (r.speaker_id) "/"} { (r.speaker_code.as_deref().unwrap_or("–")) } }
                        td { (local_time(r.recorded_at, frame.tz)) }
                        td.num { (fixed(r.duration_s, 1)) }
                        td.num { (r.sample_rate.map_or("–".to_string(), whole)) }
                        td.num { (r.snr_db.map_or("–".to_string(), |v| format!("{v:.2}"))) }
                    }
                }
            }
        }
    }
}
