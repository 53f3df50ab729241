//! Decoding what clients send: JSON bodies into typed inputs (serde, the
//! failing field's path in the 400), ids in the path, query parameters, and
//! who may write for whom.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::context::Ctx;
use super::error::WebError;
use crate::clock::parse_instant;
use crate::stats::key::{DateRange, Filter, KeyKind};
use crate::writes::{FinishInput, ProgressInput, RecordingInput, SessionInput, UploadInput};

/// Decodes the JSON body (an empty body is an empty object) into `T`. A
/// value of the wrong type is a 400 naming its path (`upload.latitude`);
/// a body that is not JSON, or not an object, names `body`.
pub(crate) fn json_body<T: DeserializeOwned>(ctx: &Ctx) -> Result<T, WebError> {
    let body = ctx.body()?;
    if body.is_empty() {
        return from_json(Value::Object(Default::default()));
    }
    match serde_json::from_slice::<Value>(body) {
        // serde would take an array for a struct, field by field.
        Ok(Value::Object(m)) => from_json(Value::Object(m)),
        Ok(_) => Err(WebError::bad("body", "expected a JSON object")),
        Err(e) => Err(WebError::bad("body", format!("malformed JSON: {e}"))),
    }
}

/// Decodes `value` (a form turned into JSON) into `T`, as [`json_body`].
pub(crate) fn from_json<T: DeserializeOwned>(value: Value) -> Result<T, WebError> {
    serde_path_to_error::deserialize(value).map_err(field_error)
}

fn field_error(e: serde_path_to_error::Error<serde_json::Error>) -> WebError {
    let path = e.path().to_string();
    let field = if path == "." { "body" } else { &path };
    WebError::bad(field, e.into_inner().to_string())
}

/// An object, never an array: serde would fill a struct from an array's
/// items in field order. Null is absent.
fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    struct Object<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
        type Value = Option<T>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_none<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Option<T>, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Option<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Some)
        }
    }
    d.deserialize_option(Object(std::marker::PhantomData))
}

/// A required value that is missing.
fn required<T>(value: Option<T>, field: &str) -> Result<T, WebError> {
    value.ok_or_else(|| WebError::bad(field, "required"))
}

/// Text, with an empty string read as absent.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

/// An RFC 3339 timestamp with an offset, as µs; an empty string is absent.
fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    text(d)?
        .map(|t| {
            parse_instant(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "{t:?} is not an RFC 3339 timestamp with an offset"
                ))
            })
        })
        .transpose()
}

/// The body of a new study session (`POST /api/v1/sessions`, and the
/// learner page's form). `subject`, `environment` and `device` may also be
/// given by their column names; the short name wins.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct SessionBody {
    user_id: Option<i64>,
    course_id: Option<i64>,
    #[serde(deserialize_with = "instant")]
    start_time: Option<i64>,
    #[serde(deserialize_with = "instant")]
    end_time: Option<i64>,
    duration_minutes: Option<i64>,
    effectiveness_rating: Option<i64>,
    focus_score: Option<f64>,
    #[serde(deserialize_with = "text")]
    subject: Option<String>,
    #[serde(deserialize_with = "text")]
    subject_category: Option<String>,
    #[serde(deserialize_with = "text")]
    environment: Option<String>,
    #[serde(deserialize_with = "text")]
    learning_environment: Option<String>,
    #[serde(deserialize_with = "text")]
    device: Option<String>,
    #[serde(deserialize_with = "text")]
    device_type: Option<String>,
    is_active: Option<bool>,
}

impl SessionBody {
    /// The `user_id` the body names (required).
    pub(crate) fn user(&self) -> Result<i64, WebError> {
        required(self.user_id, "user_id")
    }

    /// The session's input, for `user`.
    pub(crate) fn input(self, user: i64) -> SessionInput {
        SessionInput {
            user_id: user,
            course_id: self.course_id,
            start_time: self.start_time,
            end_time: self.end_time,
            duration_minutes: self.duration_minutes,
            effectiveness_rating: self.effectiveness_rating,
            focus_score: self.focus_score,
            subject: self.subject.or(self.subject_category),
            environment: self.environment.or(self.learning_environment),
            device: self.device.or(self.device_type),
            is_active: self.is_active,
        }
    }
}

/// The body of `POST /api/v1/sessions/{id}/finish`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct FinishBody {
    #[serde(deserialize_with = "instant")]
    end_time: Option<i64>,
    duration_minutes: Option<i64>,
}

impl From<FinishBody> for FinishInput {
    fn from(b: FinishBody) -> FinishInput {
        FinishInput {
            end_time: b.end_time,
            duration_minutes: b.duration_minutes,
        }
    }
}

/// The body of `PUT /api/v1/users/{id}/progress/{course}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProgressBody {
    proficiency_level: Option<f64>,
    learning_hours_total: Option<f64>,
    learning_hours_week: Option<f64>,
    #[serde(deserialize_with = "instant")]
    completed_at: Option<i64>,
}

impl TryFrom<ProgressBody> for ProgressInput {
    type Error = WebError;
    fn try_from(b: ProgressBody) -> Result<ProgressInput, WebError> {
        Ok(ProgressInput {
            proficiency_level: required(b.proficiency_level, "proficiency_level")?,
            learning_hours_total: required(b.learning_hours_total, "learning_hours_total")?,
            learning_hours_week: required(b.learning_hours_week, "learning_hours_week")?,
            completed_at: b.completed_at,
        })
    }
}

/// The new upload of a recording's body.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UploadBody {
    #[serde(deserialize_with = "text")]
    ip: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    #[serde(deserialize_with = "text")]
    region: Option<String>,
}

/// The body of `POST /api/v1/recordings`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RecordingBody {
    speaker_id: Option<i64>,
    #[serde(deserialize_with = "text")]
    file_name: Option<String>,
    #[serde(deserialize_with = "instant")]
    recorded_at: Option<i64>,
    duration_s: Option<f64>,
    sample_rate: Option<i64>,
    snr_db: Option<f64>,
    upload_id: Option<i64>,
    #[serde(deserialize_with = "object")]
    upload: Option<UploadBody>,
}

impl TryFrom<RecordingBody> for RecordingInput {
    type Error = WebError;
    fn try_from(b: RecordingBody) -> Result<RecordingInput, WebError> {
        Ok(RecordingInput {
            speaker_id: required(b.speaker_id, "speaker_id")?,
            file_name: required(b.file_name, "file_name")?,
            recorded_at: b.recorded_at,
            duration_s: required(b.duration_s, "duration_s")?,
            sample_rate: b.sample_rate,
            snr_db: b.snr_db,
            upload_id: b.upload_id,
            upload: b.upload.map(|u| UploadInput {
                ip: u.ip,
                latitude: u.latitude,
                longitude: u.longitude,
                region: u.region,
            }),
        })
    }
}

/// An id in the path; anything but a positive integer is a 404.
pub(crate) fn path_id(text: &str, what: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| WebError::NotFound(format!("{what} {text:?} not found")))
}

/// Someone is signed in: checked before a write reads its body, so an
/// anonymous client cannot make the server wait for one.
pub(crate) fn require_signed_in(ctx: &Ctx) -> Result<(), WebError> {
    ctx.account
        .as_ref()
        .map(|_| ())
        .ok_or(WebError::Unauthorized)
}

/// Signed in, and allowed to write for `user` (themselves, or staff), with
/// the CSRF token in a header or in `form`. `None` means staff only.
pub(crate) fn require_writer(
    ctx: &Ctx,
    user: Option<i64>,
    form: &std::collections::HashMap<String, String>,
) -> Result<(), WebError> {
    let account = ctx.account.as_ref().ok_or(WebError::Unauthorized)?;
    ctx.check_csrf(form)?;
    match user {
        Some(u) if !account.is_staff && account.id != u => Err(WebError::Forbidden(
            "you may write only your own data".into(),
        )),
        None if !account.is_staff => Err(WebError::Forbidden("staff only".into())),
        _ => Ok(()),
    }
}

/// A user id in the path; anything but a positive integer is a 400.
pub(crate) fn user_id(text: &str) -> Result<i64, WebError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| WebError::bad("id", format!("{text:?} is not a user id")))
}

/// The sub-corpus filter of the query (`category`, `diagnosis`, `gender`,
/// `from`, `to`); a parameter that is neither a filter nor in `allowed`
/// is a 400 naming it, as is a bad date or `from` after `to`.
pub(crate) fn filter_of(ctx: &Ctx, allowed: &[&str]) -> Result<Filter, WebError> {
    let mut filter = Filter::default();
    let mut names: Vec<&String> = ctx.query.keys().collect();
    names.sort();
    for name in names {
        if !filter.set(name, ctx.query[name].clone())? && !allowed.contains(&name.as_str()) {
            return Err(WebError::bad(name, "unknown parameter"));
        }
    }
    filter.range.check()?;
    Ok(filter)
}

/// The date range of the query (`from`, `to`) of a statistic that takes
/// no group; a parameter that is neither nor in `allowed` is a 400 naming
/// it, as is a bad date or `from` after `to`.
pub(crate) fn range_of(ctx: &Ctx, allowed: &[&str]) -> Result<DateRange, WebError> {
    let mut range = DateRange::default();
    let mut names: Vec<&String> = ctx.query.keys().collect();
    names.sort();
    for name in names {
        if !range.set(name, &ctx.query[name])? && !allowed.contains(&name.as_str()) {
            return Err(WebError::bad(name, "unknown parameter"));
        }
    }
    range.check()?;
    Ok(range)
}

/// `?kind=` of a cache list (`dashboard`, `subcorpus`, `speaker`, `daily`, ...).
pub(crate) fn kind_of(ctx: &Ctx) -> Result<Option<KeyKind>, WebError> {
    match ctx.query.get("kind").filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(name) => KeyKind::parse(name)
            .map(Some)
            .map_err(|reason| WebError::bad("kind", reason)),
    }
}

/// What `GET /api/v1/recordings` asks for.
pub(crate) struct RecordingListQuery {
    /// Which recordings.
    pub filter: crate::store::recording_list::RecordingFilter,
    /// In which order.
    pub sort: crate::store::recording_list::Sort,
    /// The page (from 1) of the JSON answer.
    pub page: u64,
    /// The whole list as a CSV manifest instead of one page.
    pub csv: bool,
}

/// The parameters of the recording list: the group (`category`,
/// `diagnosis`, `gender`), `speaker`, `from` / `to` (inclusive local
/// dates), `snr_min` (inclusive) / `snr_max` (exclusive), `sort` (a column,
/// `-` first for descending), `page`, `format` (`json` or `csv`); any other
/// parameter but `lang` is a 400 naming it, as is a bad value.
pub(crate) fn recording_list_query(
    query: &std::collections::HashMap<String, String>,
    local: &crate::clock::LocalTime,
) -> Result<RecordingListQuery, WebError> {
    use crate::store::recording_list::RecordingFilter;
    let known = [
        "category",
        "diagnosis",
        "gender",
        "speaker",
        "from",
        "to",
        "snr_min",
        "snr_max",
        "sample_rate",
        "length_min",
        "length_max",
        "sort",
        "page",
        "format",
        "lang",
    ];
    let mut names: Vec<&String> = query.keys().collect();
    names.sort();
    if let Some(name) = names.into_iter().find(|n| !known.contains(&n.as_str())) {
        return Err(WebError::bad(name, "unknown parameter"));
    }
    let text = |name: &str| query.get(name).map(String::as_str);
    let mut range = DateRange::default();
    for name in ["from", "to"] {
        if let Some(t) = text(name) {
            range.set(name, t)?;
        }
    }
    range.check()?;
    let (from, until) = range.bounds(local);
    let number = |name: &'static str, unit: &str| -> Result<Option<f64>, WebError> {
        text(name)
            .map(|t| {
                t.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| WebError::bad(name, format!("{t:?} is not a number of {unit}")))
            })
            .transpose()
    };
    let (snr_min, snr_max) = (number("snr_min", "dB")?, number("snr_max", "dB")?);
    let length = (
        number("length_min", "seconds")?,
        number("length_max", "seconds")?,
    );
    let sample_rate = text("sample_rate").map(sample_rate_of).transpose()?;
    let speaker = text("speaker")
        .map(|t| {
            path_id(t, "speaker")
                .map_err(|_| WebError::bad("speaker", format!("{t:?} is not a speaker id")))
        })
        .transpose()?;
    let sort = sort_of(text("sort"))?;
    let csv = csv_asked(text("format"))?;
    let group = |name: &str| text(name).map(str::to_string);
    Ok(RecordingListQuery {
        filter: RecordingFilter {
            group: [group("category"), group("diagnosis"), group("gender")],
            speaker,
            from: range.from.map(|_| from),
            until: range.to.map(|_| until),
            snr_min,
            snr_max,
            sample_rate,
            length_min: length.0,
            length_max: length.1,
        },
        sort,
        page: page_in(query)?,
        csv,
    })
}

/// `?format=` of the recording list: whether the manifest (`csv`) is
/// asked for rather than a page (`json`, the default).
fn csv_asked(format: Option<&str>) -> Result<bool, WebError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(WebError::bad(
            "format",
            format!("{other:?} is not json or csv"),
        )),
    }
}

/// `?sample_rate=` of the recording list: a rate in Hz, or `none` for the
/// recordings that give none.
fn sample_rate_of(text: &str) -> Result<Option<i64>, WebError> {
    if text == "none" {
        return Ok(None);
    }
    text.parse::<i64>()
        .ok()
        .filter(|hz| *hz > 0)
        .map(Some)
        .ok_or_else(|| {
            WebError::bad(
                "sample_rate",
                format!("{text:?} is not a sample rate in Hz (or none)"),
            )
        })
}

/// `?sort=` of the recording list: a column, `-` first for descending.
fn sort_of(text: Option<&str>) -> Result<crate::store::recording_list::Sort, WebError> {
    use crate::store::recording_list::{Sort, SortColumn};
    let Some(t) = text.filter(|t| !t.is_empty()) else {
        return Ok(Sort::default());
    };
    let (descending, name) = match t.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, t),
    };
    let column = SortColumn::parse(name).ok_or_else(|| {
        let names: Vec<&str> = SortColumn::NAMES.iter().map(|(n, _)| *n).collect();
        WebError::bad("sort", format!("{t:?} is not one of {}", names.join(", ")))
    })?;
    Ok(Sort { column, descending })
}

/// The longest search text taken, in characters.
const SEARCH_AT_MOST: usize = 100;

/// `?q=` of a search: trimmed, 1 to 100 characters, no control
/// characters; any other parameter but `lang` is a 400 naming it.
pub(crate) fn search_text(ctx: &Ctx) -> Result<String, WebError> {
    if let Some(name) = ctx
        .query
        .keys()
        .find(|n| !matches!(n.as_str(), "q" | "lang"))
    {
        return Err(WebError::bad(name, "unknown parameter"));
    }
    let text = ctx.query.get("q").map(|q| q.trim()).unwrap_or_default();
    if text.is_empty() {
        return Err(WebError::bad("q", "type something to search for"));
    }
    if text.chars().count() > SEARCH_AT_MOST {
        return Err(WebError::bad(
            "q",
            format!("at most {SEARCH_AT_MOST} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(WebError::bad(
            "q",
            "control characters are not searched for",
        ));
    }
    Ok(text.to_string())
}

/// `?page=` (1-based, default 1).
pub(crate) fn page_of(ctx: &Ctx) -> Result<u64, WebError> {
    page_in(&ctx.query)
}

/// `?page=` of a query: 1 when absent, else 1 to 1,000,000.
fn page_in(query: &std::collections::HashMap<String, String>) -> Result<u64, WebError> {
    match query.get("page") {
        None => Ok(1),
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
            .ok_or_else(|| WebError::bad("page", format!("{text:?} is not a page number"))),
    }
}
