//! Tables of the pages, with what every table offers: sorting by any column
//! on the server (`?sort=TABLE.COLUMN`, a leading `-` for descending), a CSV
//! export of all its rows (`?format=csv&table=TABLE`, UTF-8 with a byte-order
//! mark so spreadsheet programs read Korean and Chinese), and paging.
//!
//! A page builds its tables once, as [`Table`]s; the same value is rendered
//! as HTML or written as CSV, so the two never disagree.

use std::cmp::Ordering;

use maud::{html, Markup};

use super::error::WebError;
use crate::i18n::{t, Lang};

/// One cell: what is shown, how it sorts, what it exports, where it leads.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The text on the page.
    pub shown: String,
    /// The value in the CSV (full precision for numbers).
    pub exported: String,
    /// The value it sorts by.
    pub order: Order,
    /// A page about what the cell names.
    pub href: Option<String>,
    /// An identifier of the software (a key, a table, a job's report),
    /// shown as code and never translated.
    pub code: bool,
}

/// What a cell sorts by.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Order {
    /// No value (sorts after every value, in both directions).
    Missing,
    /// A number.
    Number(f64),
    /// Text, compared with the numbers inside it as numbers
    /// (`user/2` before `user/1001`).
    Text(String),
}

impl Cell {
    /// A text cell.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            shown: s.clone(),
            exported: s.clone(),
            order: Order::Text(s),
            href: None,
            code: false,
        }
    }

    /// An identifier (a cache key, a table name), shown as code.
    pub fn code(s: impl Into<String>) -> Cell {
        Cell {
            code: true,
            ..Cell::text(s)
        }
    }

    /// A whole number.
    pub fn int(n: impl Into<i64>) -> Cell {
        let n = n.into();
        Cell {
            shown: super::numbers::whole(n),
            exported: n.to_string(),
            order: Order::Number(n as f64),
            href: None,
            code: false,
        }
    }

    /// A number shown with `decimals` digits, exported in full.
    pub fn num(v: f64, decimals: usize) -> Cell {
        Cell {
            shown: super::numbers::fixed(v, decimals),
            exported: v.to_string(),
            order: Order::Number(v),
            href: None,
            code: false,
        }
    }

    /// An id (a user's, a token's): sorted as a number, shown as written,
    /// never grouped like an amount (`#1234`, not `1,234`).
    pub fn id(n: i64) -> Cell {
        Cell {
            shown: n.to_string(),
            code: true,
            ..Cell::int(n)
        }
    }

    /// A number that may be missing (shown as `–`, exported empty).
    pub fn opt(v: Option<f64>, decimals: usize) -> Cell {
        match v {
            Some(v) => Cell::num(v, decimals),
            None => Cell {
                shown: "–".into(),
                exported: String::new(),
                order: Order::Missing,
                href: None,
                code: false,
            },
        }
    }

    /// The same cell shown as `shown` (still sorted and exported by its
    /// value).
    pub fn shown_as(mut self, shown: impl Into<String>) -> Cell {
        self.shown = shown.into();
        self
    }

    /// Makes the cell a link.
    pub fn link(mut self, href: impl Into<String>) -> Cell {
        self.href = Some(href.into());
        self
    }
}

/// A column: its name in `?sort=`, its heading.
#[derive(Debug, Clone)]
pub struct Column {
    /// Name in `?sort=TABLE.NAME`.
    pub name: &'static str,
    /// Heading, in the page's language.
    pub label: String,
}

/// A table of a page.
#[derive(Debug, Clone)]
pub struct Table {
    /// Name in `?sort=` and `?table=`, and the element id.
    pub id: &'static str,
    /// Its columns.
    pub columns: Vec<Column>,
    /// Its rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
    /// What an empty table says instead ("Nothing here." unless set).
    pub when_empty: Option<String>,
}

/// A sort asked for: table, column index, direction.
#[derive(Debug, Clone, PartialEq)]
pub struct Sort {
    /// The table's id.
    pub table: String,
    /// The column's name.
    pub column: String,
    /// Largest first.
    pub descending: bool,
}

impl Sort {
    /// Reads `?sort=` (`TABLE.COLUMN` or `-TABLE.COLUMN`); its table and
    /// column are checked against the page's tables by [`Tables::sorted`].
    pub fn parse(value: &str) -> Result<Sort, WebError> {
        let (descending, rest) = match value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let (table, column) = rest.split_once('.').ok_or_else(|| {
            WebError::bad(
                "sort",
                format!("{value:?} is not TABLE.COLUMN or -TABLE.COLUMN"),
            )
        })?;
        Ok(Sort {
            table: table.into(),
            column: column.into(),
            descending,
        })
    }

    fn value(&self) -> String {
        format!(
            "{}{}.{}",
            if self.descending { "-" } else { "" },
            self.table,
            self.column
        )
    }
}

impl Table {
    /// A table with the given columns (name, label) and no rows yet.
    /// What the table says when it has no rows, in the page's words.
    pub fn saying_when_empty(mut self, text: impl Into<String>) -> Table {
        self.when_empty = Some(text.into());
        self
    }

    /// A table with these columns (name, heading) and no rows yet.
    pub fn new(id: &'static str, columns: &[(&'static str, &str)]) -> Table {
        Table {
            id,
            columns: columns
                .iter()
                .map(|(name, label)| Column {
                    name,
                    label: (*label).to_string(),
                })
                .collect(),
            rows: Vec::new(),
            when_empty: None,
        }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<Cell>) {
        debug_assert_eq!(cells.len(), self.columns.len(), "table {}", self.id);
        self.rows.push(cells);
    }

    /// Sorts the rows by `sort` when it names this table (stable: equal
    /// values keep their order). Fails naming `sort` for an unknown column.
    pub fn sort(&mut self, sort: Option<&Sort>) -> Result<(), WebError> {
        let Some(sort) = sort.filter(|s| s.table == self.id) else {
            return Ok(());
        };
        let i = self
            .columns
            .iter()
            .position(|c| c.name == sort.column)
            .ok_or_else(|| {
                let names: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
                WebError::bad(
                    "sort",
                    format!(
                        "table {} has no column {:?} (columns: {})",
                        self.id,
                        sort.column,
                        names.join(", ")
                    ),
                )
            })?;
        self.rows
            .sort_by(|a, b| compare(&a[i].order, &b[i].order, sort.descending));
        Ok(())
    }

    /// The rows of page `page` (from 1) of `per_page` rows; empty past the
    /// last page.
    pub fn page(&self, page: u64, per_page: u32) -> &[Vec<Cell>] {
        let per_page = per_page as usize;
        let start = usize::try_from(page.saturating_sub(1))
            .unwrap_or(usize::MAX)
            .saturating_mul(per_page)
            .min(self.rows.len());
        &self.rows[start..(start + per_page).min(self.rows.len())]
    }

    /// The CSV of every row: a byte-order mark, the headings, the values
    /// (text made [`spreadsheet_safe`], numbers as they are).
    pub fn csv(&self) -> Result<Vec<u8>, WebError> {
        let mut out = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
        let failed = |e: csv::Error| WebError::Io(std::io::Error::other(e));
        out.write_record(self.columns.iter().map(|c| c.label.as_str()))
            .map_err(failed)?;
        for row in &self.rows {
            out.write_record(row.iter().map(|c| match c.order {
                Order::Number(_) => c.exported.as_bytes().to_vec(),
                _ => spreadsheet_safe(&c.exported).into_owned().into_bytes(),
            }))
            .map_err(failed)?;
        }
        out.into_inner()
            .map_err(|e| WebError::Io(std::io::Error::other(e.to_string())))
    }
}

/// Text for a CSV cell that a spreadsheet program shows as text: a value
/// starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be
/// run as a formula (a speaker code `=HYPERLINK(…)`), so it gets a leading
/// `'`, as OWASP advises. Numbers are written as they are, not through this.
pub fn spreadsheet_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Missing values last in both directions; text by natural order.
fn compare(a: &Order, b: &Order, descending: bool) -> Ordering {
    let flip = |o: Ordering| if descending { o.reverse() } else { o };
    match (a, b) {
        (Order::Missing, Order::Missing) => Ordering::Equal,
        (Order::Missing, _) => Ordering::Greater,
        (_, Order::Missing) => Ordering::Less,
        (Order::Number(x), Order::Number(y)) => flip(x.total_cmp(y)),
        (Order::Text(x), Order::Text(y)) => flip(natural(x, y)),
        (Order::Number(_), Order::Text(_)) => flip(Ordering::Less),
        (Order::Text(_), Order::Number(_)) => flip(Ordering::Greater),
    }
}

/// Compares text with runs of digits compared as numbers.
pub fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let take = |it: &mut std::iter::Peekable<std::str::Chars>| {
                    let mut digits = String::new();
                    while let Some(c) = it.next_if(char::is_ascii_digit) {
                        digits.push(c);
                    }
                    digits
                };
                let (m, n) = (take(&mut a), take(&mut b));
                let (m, n) = (m.trim_start_matches('0'), n.trim_start_matches('0'));
                let o = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if o != Ordering::Equal {
                    return o;
                }
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(&y);
                }
                a.next();
                b.next();
            }
        }
    }
}

/// Makes the extra cell of a row (its buttons).
pub type Actions<'a> = &'a dyn Fn(&[Cell]) -> Markup;

/// How a page's tables are shown: the sort and the links to keep.
pub struct Tables<'a> {
    /// The page's language.
    pub lang: Lang,
    /// The page's path.
    pub path: &'a str,
    /// The query without `sort`, `page`, `format` and `table` (kept by the
    /// sort and CSV links).
    pub keep: Vec<(String, String)>,
    /// The sort asked for.
    pub sort: Option<Sort>,
}

impl Tables<'_> {
    fn href(&self, extra: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.keep {
            q.append_pair(k, v);
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        let q = q.finish();
        if q.is_empty() {
            self.path.to_string()
        } else {
            format!("{}?{q}", self.path)
        }
    }

    /// Where the pager of `table` leads: this page with its sort.
    pub fn base(&self) -> String {
        match &self.sort {
            Some(s) => self.href(&[("sort", &s.value())]),
            None => self.href(&[]),
        }
    }

    /// The table as HTML: sortable headings, the CSV link. `rows` are the
    /// rows to show (a page of them); the table's own rows when `None`.
    pub fn html(&self, table: &Table, rows: Option<&[Vec<Cell>]>) -> Markup {
        self.table(table, rows, None)
    }

    /// The table under a chart that already shows its numbers: folded,
    /// one click away ("Table (6 rows)"), and open when the page is sorted
    /// by one of its columns (the reader just asked for it).
    pub fn folded(&self, table: &Table) -> Markup {
        if table.rows.is_empty() {
            return self.html(table, None);
        }
        let open = self.sort.as_ref().is_some_and(|s| s.table == table.id);
        let summary = crate::i18n::plural(self.lang, "table.folded", table.rows.len() as u64);
        html! {
            details.table open[open] {
                summary { (summary) }
                (self.html(table, None))
            }
        }
    }

    /// [`Tables::html`] with one more cell per row, made by `actions` from
    /// the row (buttons; not sorted, not exported).
    pub fn html_with(&self, table: &Table, rows: Option<&[Vec<Cell>]>, actions: Actions) -> Markup {
        self.table(table, rows, Some(actions))
    }

    fn table(&self, table: &Table, rows: Option<&[Vec<Cell>]>, actions: Option<Actions>) -> Markup {
        let l = self.lang;
        if table.rows.is_empty() {
            let said = table.when_empty.as_deref().unwrap_or(t(l, "drill.none"));
            return html! { p.empty id=(table.id) { (said) } };
        }
        let rows = rows.unwrap_or(&table.rows);
        let csv = self.href(&[("format", "csv"), ("table", table.id)]);
        html! {
            div.table {
                table id=(table.id) {
                    thead { tr {
                        @for c in &table.columns { (self.heading(table, c)) }
                        @if actions.is_some() { th {} }
                    } }
                    tbody {
                        @for row in rows {
                            tr data-row=[row.first().map(|c| c.exported.as_str())] { @for c in row {
                                td class=[matches!(c.order, Order::Number(_)).then_some("num")] {
                                    @match (&c.href, c.code) {
                                        (Some(h), true) => a href=(h) { code { (c.shown) } },
                                        (Some(h), false) => a href=(h) { (c.shown) },
                                        (None, true) => code { (c.shown) },
                                        (None, false) => (c.shown),
                                    }
                                }
                            }
                            @if let Some(actions) = actions { td.actions { (actions(row)) } } }
                        }
                    }
                }
                p.export { a.csv href=(csv) download={"voxdash-" (table.id) ".csv"} { (t(l, "table.csv")) } }
            }
        }
    }

    fn heading(&self, table: &Table, c: &Column) -> Markup {
        let current = self
            .sort
            .as_ref()
            .filter(|s| s.table == table.id && s.column == c.name);
        let descending = current.is_some_and(|s| s.descending);
        let next = Sort {
            table: table.id.into(),
            column: c.name.into(),
            descending: current.is_some() && !descending,
        };
        let aria = current.map(|_| {
            if descending {
                "descending"
            } else {
                "ascending"
            }
        });
        let arrow = current.map(|_| if descending { " ▼" } else { " ▲" });
        html! {
            th aria-sort=[aria] {
                a href=(self.href(&[("sort", &next.value())])) title=(t(self.lang, "table.sort")) {
                    (c.label) (arrow.unwrap_or(""))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new("keys", &[("key", "Key"), ("n", "N")]);
        for (k, n) in [("user/1001", 3.0), ("user/2", 1.5), ("dashboard", 7.0)] {
            t.row(vec![Cell::text(k), Cell::num(n, 1)]);
        }
        t.row(vec![Cell::text("x"), Cell::opt(None, 1)]);
        t
    }

    fn first_column(t: &Table) -> Vec<&str> {
        t.rows.iter().map(|r| r[0].shown.as_str()).collect()
    }

    #[test]
    fn text_sorts_naturally_and_missing_values_go_last() {
        let mut t = sample();
        t.sort(Some(&Sort::parse("keys.key").unwrap())).unwrap();
        assert_eq!(first_column(&t), ["dashboard", "user/2", "user/1001", "x"]);
        t.sort(Some(&Sort::parse("-keys.n").unwrap())).unwrap();
        assert_eq!(first_column(&t), ["dashboard", "user/1001", "user/2", "x"]);
        t.sort(Some(&Sort::parse("keys.n").unwrap())).unwrap();
        assert_eq!(first_column(&t), ["user/2", "user/1001", "dashboard", "x"]);
    }

    #[test]
    fn an_unknown_column_names_the_parameter_and_other_tables_are_left_alone() {
        let mut t = sample();
        let e = t
            .sort(Some(&Sort::parse("keys.nope").unwrap()))
            .unwrap_err();
        assert!(e.to_string().starts_with("sort: "), "{e}");
        assert!(Sort::parse("nodot").is_err());
        t.sort(Some(&Sort::parse("other.key").unwrap())).unwrap();
        assert_eq!(first_column(&t)[0], "user/1001");
    }

    #[test]
    fn pages_hold_their_share_of_rows_and_nothing_past_the_end() {
        let t = sample();
        assert_eq!(t.page(1, 3).len(), 3);
        assert_eq!(t.page(2, 3).len(), 1);
        assert!(t.page(3, 3).is_empty());
        assert!(t.page(u64::MAX, 50).is_empty());
    }

    #[test]
    fn csv_has_a_byte_order_mark_headings_and_full_values() {
        let mut t = Table::new("g", &[("name", "이름"), ("h", "Hours")]);
        t.row(vec![Cell::text("서울, \"north\""), Cell::num(1.23456, 2)]);
        let csv = String::from_utf8(t.csv().unwrap()).unwrap();
        assert_eq!(csv, "\u{feff}이름,Hours\n\"서울, \"\"north\"\"\",1.23456\n");
    }

    #[test]
    fn csv_text_that_a_spreadsheet_would_run_is_neutralised_and_numbers_stay() {
        let mut t = Table::new("g", &[("code", "Code"), ("n", "N")]);
        for formula in ["=1+1", "+1", "-2+3", "@SUM(A1)", "\tx"] {
            t.row(vec![Cell::text(formula), Cell::num(-1.5, 1)]);
        }
        t.row(vec![Cell::text("SPK-1"), Cell::int(-3)]);
        let csv = String::from_utf8(t.csv().unwrap()).unwrap();
        assert_eq!(
            csv,
            "\u{feff}Code,N\n'=1+1,-1.5\n'+1,-1.5\n'-2+3,-1.5\n'@SUM(A1),-1.5\n'\tx,-1.5\nSPK-1,-3\n"
        );
    }
}
