//! The three languages of every visible text (English, Korean, Chinese):
//! picking one from `?lang=`, a cookie or `Accept-Language`, and the phrase
//! table itself.

use serde::{Deserialize, Serialize};

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Lang {
    /// English (the default).
    #[default]
    En,
    /// Korean.
    Ko,
    /// Chinese (simplified).
    Zh,
}

impl Lang {
    /// Parses `en`, `ko` or `zh` (also `ko-KR`, `zh-CN`, ...).
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ko" => Some(Lang::Ko),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The language code (`en`, `ko`, `zh`), also used for `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
            Lang::Zh => "zh",
        }
    }

    /// The best language of an `Accept-Language` header (by q-value, then
    /// order); English when none of ours is listed.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("");
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|v| v.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            if let Some(lang) = Lang::parse(tag) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map(|(_, l)| l).unwrap_or_default()
    }
}

/// Translates a phrase key; an unknown key is returned as is (visible in
/// review rather than a crash).
pub fn t(lang: Lang, key: &str) -> &str {
    match PHRASES.iter().find(|(k, ..)| *k == key) {
        Some((_, en, ko, zh)) => match lang {
            Lang::En => en,
            Lang::Ko => ko,
            Lang::Zh => zh,
        },
        None => key,
    }
}

/// Translates a phrase and fills its `{name}` holes with `args`.
pub fn fill(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut text = t(lang, key).to_string();
    for (name, value) in args {
        text = text.replace(&format!("{{{name}}}"), value);
    }
    text
}

/// A data word (`home`, `laptop`, `improving`) in the page's language:
/// the phrase `PREFIX.WORD` when there is one, the word as written
/// otherwise.
pub fn word(lang: Lang, prefix: &str, value: &str) -> String {
    let key = format!("{prefix}.{value}");
    match t(lang, &key) {
        found if found != key => found.to_string(),
        _ => value.to_string(),
    }
}

/// A phrase about `n` things, in the form the language uses for that
/// number: `KEY.one` for exactly one, `KEY.other` otherwise (Korean and
/// Chinese do not inflect, so their two forms are the same); `{n}` is filled.
pub fn plural(lang: Lang, key: &str, n: u64) -> String {
    let form = if n == 1 { "one" } else { "other" };
    fill(lang, &format!("{key}.{form}"), &[("n", &n.to_string())])
}

/// A region name of the data in the page's language: the Korean provinces
/// and cities have their Korean and Chinese names, whichever of the three
/// spellings the data holds (a profile may say `서울` where an upload says
/// `Seoul`); others stay as written.
pub fn region(lang: Lang, name: &str) -> String {
    let name = name.trim();
    match REGIONS
        .iter()
        .find(|(en, ko, zh)| en.eq_ignore_ascii_case(name) || *ko == name || *zh == name)
    {
        Some((en, ko, zh)) => match lang {
            Lang::En => (*en).to_string(),
            Lang::Ko => (*ko).to_string(),
            Lang::Zh => (*zh).to_string(),
        },
        None => name.to_string(),
    }
}

/// (English, Korean, Chinese) names of Korea's first-level regions.
const REGIONS: &[(&str, &str, &str)] = &[
    ("Seoul", "서울", "首尔"),
    ("Busan", "부산", "釜山"),
    ("Daegu", "대구", "大邱"),
    ("Incheon", "인천", "仁川"),
    ("Gwangju", "광주", "光州"),
    ("Daejeon", "대전", "大田"),
    ("Ulsan", "울산", "蔚山"),
    ("Sejong", "세종", "世宗"),
    ("Gyeonggi", "경기", "京畿"),
    ("Gangwon", "강원", "江原"),
    ("Chungbuk", "충북", "忠清北道"),
    ("Chungnam", "충남", "忠清南道"),
    ("Jeonbuk", "전북", "全罗北道"),
    ("Jeonnam", "전남", "全罗南道"),
    ("Gyeongbuk", "경북", "庆尚北道"),
    ("Gyeongnam", "경남", "庆尚南道"),
    ("Jeju", "제주", "济州"),
];

/// The places with a name in each language, as (English, Korean,
/// Chinese): for checks that a page shows each in its own language.
pub fn regions() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    REGIONS.iter().copied()
}

/// Every phrase as (key, English, Korean, Chinese): for checks that no
/// page shows an English phrase in another language.
pub fn phrases() -> impl Iterator<Item = (&'static str, &'static str, &'static str, &'static str)> {
    PHRASES.iter().copied()
}

/// The sentence of a recommendation code in a language.
pub fn recommendation(lang: Lang, code: &str) -> String {
    t(lang, &format!("rec.{code}")).to_string()
}

/// (key, English, Korean, Chinese).
const PHRASES: &[(&str, &str, &str, &str)] = &[
    // Recommendations (the codes of docs/statistics.md).
    (
        "rec.short_sessions",
        "Your sessions are short; try blocks of at least 30 minutes.",
        "학습 시간이 짧습니다. 30분 이상 집중해 보세요.",
        "你的学习时间较短，试着每次至少学习 30 分钟。",
    ),
    (
        "rec.low_effectiveness",
        "Your sessions rate low on effectiveness; try shorter goals and regular breaks.",
        "학습 효과 평가가 낮습니다. 목표를 작게 나누고 규칙적으로 쉬어 보세요.",
        "你的学习效果评分偏低，试着设定更小的目标并定时休息。",
    ),
    (
        "rec.home_environment",
        "You mostly study at home; a library or a quiet room may help you focus.",
        "주로 집에서 학습합니다. 도서관이나 조용한 공간이 집중에 도움이 될 수 있습니다.",
        "你大多在家学习，图书馆或安静的房间可能更有助于专注。",
    ),
    (
        "rec.morning_learner",
        "You learn best in the morning; keep your hardest topics for then.",
        "아침에 가장 많이 학습합니다. 어려운 주제는 아침에 하세요.",
        "你在早晨学习最多，把最难的内容安排在早晨吧。",
    ),
    (
        "rec.late_night",
        "You often study late at night; earlier sessions may be more effective.",
        "늦은 밤에 자주 학습합니다. 조금 더 이른 시간이 효과적일 수 있습니다.",
        "你经常在深夜学习，早一点学习可能更有效。",
    ),
    // Badges.
    ("badge.cached", "Cached data", "캐시 데이터", "缓存数据"),
    ("badge.fresh", "Fresh data", "최신 데이터", "最新数据"),
    ("badge.stale", "Stale data", "오래된 데이터", "过期数据"),
    ("badge.updated", "updated", "업데이트", "更新于"),
    ("badge.refreshed", "refreshed", "새로 고침", "刷新于"),
    (
        "badge.refreshing",
        "refreshing",
        "새로 고치는 중",
        "正在刷新",
    ),
    // Tables, charts and empty states.
    ("table.csv", "Download CSV", "CSV 내려받기", "下载 CSV"),
    ("table.sort", "Sort by this column", "이 열로 정렬", "按此列排序"),
    ("unit.recordings", "recordings", "녹음 수", "录音数"),
    ("unit.speakers", "speakers", "화자 수", "说话人数"),
    ("unit.uploads", "uploads", "업로드 수", "上传数"),
    ("unit.minutes", "minutes", "분", "分钟"),
    ("unit.sessions", "sessions", "세션 수", "学习次数"),
    ("unit.s", "s", "초", "秒"),
    ("unit.min", "min", "분", "分钟"),
    ("unit.h", "h", "시간", "小时"),
    ("unit.d", "d", "일", "天"),
    ("axis.month", "month", "월", "月份"),
    ("axis.day", "day", "날짜", "日期"),
    ("axis.hour", "hour of day (0–23)", "시각 (0–23시)", "时段 (0–23 时)"),
    ("snr.band", "{name} {range} dB", "{name} {range} dB", "{name} {range} dB"),
    ("empty.title", "No data yet", "아직 데이터가 없습니다", "还没有数据"),
    ("empty.load", "Load your CSV files with voxdash import DIR, or try the demo data with voxdash init --demo; this page fills in on the next view.", "voxdash import DIR 로 CSV 파일을 불러오거나 voxdash init --demo 로 데모 데이터를 넣어 보세요. 다음에 이 페이지를 열면 채워집니다.", "用 voxdash import DIR 导入 CSV 文件，或用 voxdash init --demo 载入演示数据；下次打开此页面时即会显示。"),
    ("empty.no_points", "No upload has coordinates yet, so there is nothing to map.", "좌표가 있는 업로드가 아직 없어 지도에 표시할 것이 없습니다.", "还没有带坐标的上传，地图上没有可显示的内容。"),
    ("empty.no_learners", "No learners yet.", "아직 학습자가 없습니다.", "还没有学习者。"),
    ("badge.changes.one", "1 change since", "이후 변경 1건", "此后 1 处变更"),
    ("badge.changes.other", "{n} changes since", "이후 변경 {n}건", "此后 {n} 处变更"),
    ("status.fresh", "fresh", "최신", "最新"),
    ("status.cached", "cached", "캐시", "缓存"),
    ("status.stale", "stale", "오래됨", "过期"),
    // Learning.
    ("learn.your_page", "Your learning page", "내 학습 페이지", "我的学习页面"),
    ("learn.learners", "Learners", "학습자 목록", "学习者列表"),
    ("learn.no_profile", "(no profile)", "(프로필 없음)", "（无资料）"),
    ("learn.list_hint", "{with} with sessions (the card above counts them) and {without} with none yet. Staff accounts are listed when they have sessions of their own.", "세션이 있는 학습자 {with}명(위 카드의 수)과 아직 세션이 없는 학습자 {without}명입니다. 스태프 계정은 자신의 세션이 있을 때만 표시됩니다.", "有学习记录的 {with} 人（即上方卡片的数字），尚无记录的 {without} 人。工作人员账户只有在有自己的学习记录时才列出。"),
    ("learn.username", "Username", "사용자 이름", "用户名"),
    ("learn.name", "Name", "이름", "姓名"),
    ("learn.last_active", "Last active", "최근 활동", "最近活跃"),
    ("learn.sessions_total", "Sessions", "세션", "学习次数"),
    ("learn.region", "Region", "지역", "地区"),
    ("user.previous_day", "← Previous day", "← 전날", "← 前一天"),
    ("user.next_day", "Next day →", "다음 날 →", "后一天 →"),
    ("user.previous_week", "← Previous week", "← 지난주", "← 上一周"),
    ("user.next_week", "Next week →", "다음 주 →", "下一周 →"),
    ("user.pick_day", "Day", "날짜", "日期"),
    ("user.pick_week", "Week of", "주 (날짜 선택)", "所在周"),
    ("user.show", "Show", "보기", "查看"),
    ("user.today_link", "Today", "오늘", "今天"),
    ("user.no_recommendations", "Nothing to recommend: no pattern in the last 30 days calls for a change.", "추천할 내용이 없습니다. 최근 30일 동안 바꿀 만한 패턴이 없습니다.", "暂无建议：最近 30 天没有需要改变的模式。"),
    ("user.started", "started", "시작", "开始于"),
    ("form.start_time", "Start", "시작 시각", "开始时间"),
    ("form.duration", "Duration (minutes)", "시간 (분)", "时长（分钟）"),
    ("form.effectiveness", "Effectiveness (1–5)", "효과 (1–5)", "效果（1–5）"),
    ("form.focus", "Focus (0–100)", "집중도 (0–100)", "专注度（0–100）"),
    ("form.environment", "Place", "장소", "地点"),
    ("form.device", "Device", "기기", "设备"),
    ("form.subject", "Subject", "주제", "科目"),
    ("form.now_hint", "Leave empty for now", "비워 두면 지금", "留空表示现在"),
    ("env.home", "home", "집", "家"),
    ("env.library", "library", "도서관", "图书馆"),
    ("env.office", "office", "사무실", "办公室"),
    ("env.cafe", "cafe", "카페", "咖啡馆"),
    ("env.classroom", "classroom", "교실", "教室"),
    ("env.other", "other", "기타", "其他"),
    ("device.desktop", "desktop", "데스크톱", "台式机"),
    ("device.laptop", "laptop", "노트북", "笔记本电脑"),
    ("device.tablet", "tablet", "태블릿", "平板电脑"),
    ("device.mobile", "mobile", "휴대폰", "手机"),
    ("device.other", "other", "기타", "其他"),
    // Cache administration.
    ("admin.all", "all", "전체", "全部"),
    ("admin.entries", "Entries", "항목", "条目"),
    ("admin.kind", "Kind", "종류", "类型"),
    ("admin.hits", "Hits", "적중", "命中"),
    ("admin.misses", "Misses", "실패", "未命中"),
    ("admin.stale_reads", "Stale reads", "오래된 읽기", "过期读取"),
    ("admin.computations", "Computations", "계산", "计算次数"),
    ("admin.compute_s", "Computing (s)", "계산 시간 (초)", "计算时间（秒）"),
    ("admin.max_ms", "Longest (ms)", "최장 (ms)", "最长（毫秒）"),
    ("admin.hit_rate", "Hit rate", "적중률", "命中率"),
    ("admin.job", "Job", "작업", "任务"),
    ("admin.outcome", "Outcome", "결과", "结果"),
    ("admin.started", "Started", "시작", "开始时间"),
    ("admin.duration", "Duration (s)", "소요 (초)", "用时（秒）"),
    ("admin.summary", "Summary", "요약", "摘要"),
    ("admin.by", "Started by", "실행한 사람", "启动者"),
    ("admin.no_runs", "No job has run yet.", "아직 실행된 작업이 없습니다.", "还没有运行过任务。"),
    ("admin.no_reads", "Nothing read from the cache since the server started.", "서버 시작 후 캐시에서 읽은 것이 없습니다.", "服务器启动后还没有读取缓存。"),
    ("by.scheduler", "the scheduler", "스케줄러", "调度器"),
    ("by.staff", "{name} (web)", "{name} (웹)", "{name}（网页）"),
    ("by.command", "{name} (command line)", "{name} (명령줄)", "{name}（命令行）"),
    ("admin.table", "Table", "테이블", "数据表"),
    ("admin.rows", "Rows", "행", "行数"),
    ("admin.file", "File", "파일", "文件"),
    ("admin.last_run", "last {job}: {outcome} at {when}, {secs} s", "마지막 {job}: {when}에 {outcome}, {secs}초", "上次{job}：{when}，{outcome}，用时 {secs} 秒"),
    ("admin.never_run", "last {job}: never", "마지막 {job}: 실행한 적 없음", "上次{job}：从未运行"),
    ("warn.never", "{job} has never run", "{job} 작업이 한 번도 실행되지 않았습니다", "{job}从未运行"),
    ("warn.failed", "the last {job} failed: {summary}", "마지막 {job} 작업이 실패했습니다: {summary}", "上次{job}失败：{summary}"),
    ("warn.overdue", "{job} is overdue", "{job} 작업이 늦어지고 있습니다", "{job}已逾期"),
    ("job.refresh", "refresh", "새로 고침", "刷新"),
    ("job.cleanup", "cleanup", "정리", "清理"),
    ("job.precompute", "precompute", "미리 계산", "预计算"),
    ("job.purge", "purge", "만료 삭제", "清除过期"),
    ("job.warmup", "warm-up", "예열", "预热"),
    ("outcome.ok", "ok", "성공", "成功"),
    ("outcome.failed", "failed", "실패", "失败"),
    ("confirm.cancel", "Cancel", "취소", "取消"),
    ("confirm.clear_all", "Clear every entry of the stats cache?", "통계 캐시의 모든 항목을 지울까요?", "清除统计缓存中的所有条目？"),
    ("confirm.clear_some", "Clear the cache entries under {prefix}?", "{prefix} 아래의 캐시 항목을 지울까요?", "清除 {prefix} 下的缓存条目？"),
    ("confirm.clear_what", "{n} entries will be removed. No data is lost: each statistic is computed again on its next view or refresh, which can take a while for the corpus dashboard.", "{n}개 항목이 지워집니다. 데이터는 잃지 않으며, 각 통계는 다음에 보거나 새로 고칠 때 다시 계산됩니다(코퍼스 대시보드는 시간이 걸릴 수 있습니다).", "将删除 {n} 个条目。数据不会丢失：每项统计会在下次查看或刷新时重新计算（语料库仪表板可能需要一些时间）。"),
    ("confirm.clear", "Yes, clear", "지우기", "确认清除"),
    ("done.cleared.one", "1 cache entry cleared.", "캐시 항목 1개를 지웠습니다.", "已清除 1 个缓存条目。"),
    ("done.cleared.other", "{n} cache entries cleared.", "캐시 항목 {n}개를 지웠습니다.", "已清除 {n} 个缓存条目。"),
    ("done.refreshed", "Refreshed: the numbers below were just computed.", "새로 고침 완료: 아래 숫자는 방금 계산되었습니다.", "已刷新：下面的数字刚刚计算完成。"),
    ("maint.preview", "What a cleanup would act on now: a preview, nothing has changed yet.", "지금 정리를 실행하면 처리될 항목입니다(미리 보기이며 아직 아무것도 바뀌지 않았습니다).", "现在运行清理将处理的内容：仅为预览，尚未做任何更改。"),
    ("maint.rule", "Rule", "규칙", "规则"),
    ("maint.rows", "Rows", "행 수", "行数"),
    ("maint.confirm", "Run a cleanup now?", "지금 정리를 실행할까요?", "现在运行清理？"),
    ("maint.confirm_what", "A backup of the database is written to backups/ first. Then invalid rows are removed, old sessions are moved to the archive and very old archived sessions are deleted, in batches; the counts below are what it will act on.", "먼저 데이터베이스 백업을 backups/에 씁니다. 그다음 잘못된 행을 지우고, 오래된 세션을 보관함으로 옮기고, 아주 오래된 보관 세션을 배치로 삭제합니다. 아래 숫자가 처리될 양입니다.", "首先把数据库备份写入 backups/。然后分批删除无效行、把旧的学习记录移入归档、删除很旧的归档记录；下面的数字就是将要处理的数量。"),
    ("maint.confirm_run", "Yes, run cleanup", "정리 실행", "确认清理"),
    ("maint.started", "Cleanup started. Its report appears in the list below when it ends.", "정리를 시작했습니다. 끝나면 아래 목록에 보고서가 표시됩니다.", "清理已开始，结束后报告会显示在下方列表中。"),
    ("maint.already", "A cleanup was already running; it was not started twice.", "정리가 이미 실행 중이어서 다시 시작하지 않았습니다.", "清理已在运行，未重复启动。"),
    ("rule.negative_duration", "sessions with a negative duration", "시간이 음수인 세션", "时长为负的学习记录"),
    ("rule.end_before_start", "sessions ending before they start", "시작 전에 끝나는 세션", "结束早于开始的学习记录"),
    ("rule.rating_out_of_range", "ratings outside 1–5", "1–5 밖의 평가", "评分超出 1–5"),
    ("rule.focus_out_of_range", "focus outside 0–100", "0–100 밖의 집중도", "专注度超出 0–100"),
    ("rule.unknown_user", "sessions of unknown users", "없는 사용자의 세션", "未知用户的学习记录"),
    ("rule.unknown_course", "sessions of unknown courses", "없는 과정의 세션", "未知课程的学习记录"),
    ("rule.duplicate_progress", "duplicate course progress", "중복된 과정 진도", "重复的课程进度"),
    ("rule.to_archive", "sessions to archive (older than {n} days; archived sessions leave the statistics)", "보관할 세션 ({n}일 이전; 보관된 세션은 통계에서 빠집니다)", "待归档的学习记录（{n} 天前；归档后不再计入统计）"),
    ("rule.to_delete", "archived sessions to delete (older than {n} days)", "삭제할 보관 세션 ({n}일 이전)", "待删除的归档记录（{n} 天前）"),
    ("rule.off", "{rule}: off ([retention] in voxdash.toml)", "{rule}: 꺼짐 (voxdash.toml의 [retention])", "{rule}：已关闭（voxdash.toml 的 [retention]）"),
    ("rule.inactive_users", "inactive users to purge", "삭제할 비활성 사용자", "待清除的不活跃用户"),
    // Error pages.
    ("error.400", "This request has a mistake", "요청에 잘못된 부분이 있습니다", "请求有误"),
    ("error.401", "Please sign in", "로그인해 주세요", "请登录"),
    ("error.403", "You are not allowed to see this", "이 페이지를 볼 권한이 없습니다", "你无权查看此页面"),
    ("error.404", "This page does not exist", "페이지가 없습니다", "页面不存在"),
    ("error.405", "This method is not allowed here", "허용되지 않는 요청 방식입니다", "不允许此请求方法"),
    ("error.408", "The request took too long", "요청 시간이 초과되었습니다", "请求超时"),
    ("error.413", "The request is too large", "요청이 너무 큽니다", "请求过大"),
    ("error.429", "Too many attempts", "시도가 너무 많습니다", "尝试次数过多"),
    ("error.500", "Something went wrong on the server", "서버에서 문제가 생겼습니다", "服务器出错了"),
    ("error.503", "The server is busy", "서버가 바쁩니다", "服务器繁忙"),
    ("error.database", "The database cannot be reached", "데이터베이스에 연결할 수 없습니다", "无法连接数据库"),
    ("error.detail", "Details", "자세한 내용", "详细信息"),
    ("error.back", "Back to the corpus dashboard", "코퍼스 대시보드로 돌아가기", "返回语料库仪表板"),
    ("error.retry", "Try again in {n} s.", "{n}초 후에 다시 시도하세요.", "请在 {n} 秒后重试。"),
    // Drill-down.
    ("drill.speakers", "Speakers", "화자", "说话人"),
    ("drill.speaker", "Speaker", "화자", "说话人"),
    ("drill.code", "Code", "코드", "编号"),
    ("drill.category", "Category", "범주", "类别"),
    ("drill.gender", "Gender", "성별", "性别"),
    ("drill.diagnosis", "Diagnosis", "진단", "诊断"),
    ("drill.birth_year", "Born", "출생 연도", "出生年份"),
    ("drill.uploads", "Uploads", "업로드", "上传"),
    ("drill.uploaded_at", "Uploaded", "업로드 시각", "上传时间"),
    ("drill.region", "Region", "지역", "地区"),
    ("drill.ip", "Address", "주소", "地址"),
    (
        "drill.recordings_by_month",
        "Recordings by month",
        "월별 녹음",
        "每月录音",
    ),
    ("drill.previous", "Previous", "이전", "上一页"),
    ("drill.next", "Next", "다음", "下一页"),
    ("range.label", "Dates", "기간", "日期范围"),
    ("rec.title", "Recordings", "녹음", "录音"),
    ("rec.manifest", "Download the whole list (CSV manifest)", "전체 목록 내려받기 (CSV 매니페스트)", "下载完整列表（CSV 清单）"),
    ("rec.none", "No recording matches these filters.", "이 조건에 맞는 녹음이 없습니다.", "没有符合这些条件的录音。"),
    ("rec.any", "any", "전체", "全部"),
    ("rec.speaker_id", "Speaker id", "화자 ID", "说话人 ID"),
    ("rec.snr_min", "SNR from (dB)", "SNR 최소 (dB)", "SNR 下限 (dB)"),
    ("rec.sample_rate_hz", "Sample rate (Hz)", "샘플링 레이트 (Hz)", "采样率（Hz）"),
    ("rec.length_min", "Length from (s)", "길이 최소 (초)", "时长下限（秒）"),
    ("rec.length_max", "Length under (s)", "길이 미만 (초)", "时长上限（秒）"),
    ("rec.snr_max", "SNR below (dB)", "SNR 미만 (dB)", "SNR 上限 (dB)"),
    ("rec.file", "File", "파일", "文件"),
    ("rec.recorded_at", "Recorded", "녹음 시각", "录制时间"),
    ("rec.duration", "Seconds", "초", "秒"),
    ("rec.sample_rate", "Sample rate", "샘플링 레이트", "采样率"),
    ("nav.recordings", "Recordings", "녹음", "录音"),
    ("nav.search", "Search", "검색", "搜索"),
    ("search.placeholder", "Speaker code, login, name", "화자 코드, 아이디, 이름", "说话人编号、账号、姓名"),
    ("search.users", "Learners and staff", "학습자와 직원", "学员和工作人员"),
    ("search.nothing", "Nothing found.", "찾은 것이 없습니다.", "没有找到。"),
    ("range.this_month", "This month", "이번 달", "本月"),
    ("range.last_month", "Last month", "지난달", "上月"),
    ("range.this_quarter", "This quarter", "이번 분기", "本季度"),
    ("range.last_12_months", "Last 12 months", "최근 12개월", "最近 12 个月"),
    ("range.all", "All", "전체", "全部"),
    ("range.from", "From", "시작", "从"),
    ("range.to", "To", "끝", "到"),
    ("range.apply", "Show", "보기", "显示"),
    ("drill.page", "Page", "페이지", "第"),
    ("drill.of", "of", "/", "页，共"),
    (
        "drill.none",
        "Nothing here.",
        "항목이 없습니다.",
        "没有内容。",
    ),
    (
        "drill.mean_snr",
        "Mean SNR (dB)",
        "평균 SNR (dB)",
        "平均信噪比 (dB)",
    ),
    // Navigation and common words.
    ("nav.dashboard", "Corpus", "코퍼스", "语料库"),
    ("nav.locations", "Locations", "위치", "位置"),
    ("nav.learning", "Learning", "학습", "学习"),
    ("nav.cache", "Cache", "캐시", "缓存"),
    ("nav.maintenance", "Maintenance", "유지 관리", "维护"),
    ("nav.accounts", "Accounts", "계정", "账户"),
    ("accounts.title", "Accounts", "계정", "账户"),
    ("accounts.hint", "The same changes as voxdash user. Disabling signs the account out everywhere at once and stops its tokens; enabling brings them back. Removing a sign-in keeps the profile and the learner's data.", "voxdash user와 같은 변경입니다. 비활성화하면 모든 곳에서 즉시 로그아웃되고 토큰이 멈춥니다. 다시 활성화하면 토큰이 돌아옵니다. 로그인 제거는 프로필과 학습 데이터를 남깁니다.", "与 voxdash user 相同的操作。停用会立即在所有地方退出该账户并停用其令牌；重新启用后令牌恢复。移除登录会保留资料和学习数据。"),
    ("accounts.accounts", "Accounts", "계정", "账户"),
    ("accounts.username", "Username", "사용자 이름", "用户名"),
    ("accounts.display_name", "Display name", "표시 이름", "显示名称"),
    ("accounts.staff", "Staff", "스태프", "工作人员"),
    ("accounts.sign_in", "Sign-in", "로그인", "登录方式"),
    ("accounts.sign_in.password", "password", "비밀번호", "密码"),
    ("accounts.sign_in.none", "none", "없음", "无"),
    ("accounts.state", "State", "상태", "状态"),
    ("accounts.active", "active", "활성", "启用"),
    ("accounts.disabled", "disabled", "비활성", "已停用"),
    ("accounts.tokens", "Active tokens", "활성 토큰", "有效令牌"),
    ("accounts.tokens_title", "API tokens", "API 토큰", "API 令牌"),
    ("accounts.token", "Token", "토큰", "令牌"),
    ("accounts.created", "Created", "생성", "创建时间"),
    ("accounts.revoked", "Revoked", "폐기", "撤销时间"),
    ("accounts.disable", "Disable", "비활성화", "停用"),
    ("accounts.enable", "Enable", "활성화", "启用"),
    ("accounts.staff_on", "Make staff", "스태프로 지정", "设为工作人员"),
    ("accounts.staff_off", "Remove staff", "스태프 해제", "取消工作人员"),
    ("accounts.remove", "Remove sign-in", "로그인 제거", "移除登录"),
    ("accounts.remove_confirm", "Remove the sign-in of {user}?", "{user}의 로그인을 제거할까요?", "移除 {user} 的登录？"),
    ("accounts.remove_what", "Its password, staff right, browser sessions and API tokens go; its profile and its learning data stay. voxdash user add gives it a sign-in again.", "비밀번호, 스태프 권한, 브라우저 세션과 API 토큰이 사라지고 프로필과 학습 데이터는 남습니다. voxdash user add로 다시 로그인을 만들 수 있습니다.", "其密码、工作人员权限、浏览器会话和 API 令牌将被移除；资料和学习数据保留。可用 voxdash user add 重新设置登录。"),
    ("accounts.done.disabled", "Account disabled: signed out everywhere; its tokens stop working.", "계정을 비활성화했습니다. 모든 곳에서 로그아웃되고 토큰이 멈춥니다.", "账户已停用：已在所有地方退出，其令牌失效。"),
    ("accounts.done.enabled", "Account enabled.", "계정을 활성화했습니다.", "账户已启用。"),
    ("accounts.done.staff_on", "The account is staff now.", "이제 스태프 계정입니다.", "该账户现在是工作人员。"),
    ("accounts.done.staff_off", "The account is no longer staff.", "더 이상 스태프 계정이 아닙니다.", "该账户不再是工作人员。"),
    ("accounts.done.removed", "Sign-in removed; the profile and its data stay.", "로그인을 제거했습니다. 프로필과 데이터는 남습니다.", "登录已移除；资料和数据保留。"),
    ("accounts.refused", "Not changed: that is the last staff account that can sign in. Make another account staff first.", "변경하지 않았습니다. 로그인할 수 있는 마지막 스태프 계정입니다. 먼저 다른 계정을 스태프로 지정하세요.", "未更改：这是最后一个可以登录的工作人员账户。请先把另一个账户设为工作人员。"),
    ("word.yes", "yes", "예", "是"),
    ("word.no", "no", "아니요", "否"),
    ("nav.login", "Sign in", "로그인", "登录"),
    ("nav.logout", "Sign out", "로그아웃", "退出"),
    (
        "action.refresh",
        "Refresh data",
        "데이터 새로 고침",
        "刷新数据",
    ),
    ("action.clear", "Clear", "지우기", "清除"),
    ("word.none", "none", "없음", "无"),
    ("word.unknown", "unknown", "알 수 없음", "未知"),
    ("word.not_given", "not given", "정보 없음", "未提供"),
    (
        "drill.full_addresses",
        "Show whole addresses",
        "전체 주소 보기",
        "显示完整地址",
    ),
    (
        "drill.mask_addresses",
        "Mask addresses",
        "주소 가리기",
        "隐藏地址",
    ),
    ("gender.F", "female", "여성", "女"),
    ("gender.M", "male", "남성", "男"),
    ("gender.U", "not stated", "밝히지 않음", "未说明"),
    ("word.other", "other", "기타", "其他"),
    ("word.total", "Total", "합계", "合计"),
    // Dashboard.
    ("dash.title", "Voice corpus", "음성 코퍼스", "语音语料库"),
    ("dash.speakers", "Speakers", "화자", "说话人"),
    ("card.speakers.one", "Speaker", "화자", "说话人"),
    ("table.folded.one", "Table (1 row)", "표 (1행)", "表格（1 行）"),
    ("table.folded.other", "Table ({n} rows)", "표 ({n}행)", "表格（{n} 行）"),
    ("card.speakers.other", "Speakers", "화자", "说话人"),
    ("card.recordings.one", "Recording", "녹음", "录音"),
    ("card.recordings.other", "Recordings", "녹음", "录音"),
    ("dash.recordings", "Recordings", "녹음", "录音"),
    ("dash.hours", "Hours", "시간", "小时"),
    ("dash.by_category", "By category", "범주별", "按类别"),
    ("dash.by_gender", "By gender", "성별", "按性别"),
    (
        "dash.snr",
        "Recording quality (SNR)",
        "녹음 품질 (SNR)",
        "录音质量 (SNR)",
    ),
    ("dash.measured", "measured", "측정됨", "已测量"),
    ("dash.unmeasured", "not measured", "측정 안 됨", "未测量"),
    ("dash.mean", "mean", "평균", "平均"),
    ("dash.median", "median", "중앙값", "中位数"),
    ("dash.monthly", "Monthly trend", "월별 추이", "月度趋势"),
    ("dash.new_speakers", "New speakers", "신규 화자", "新说话人"),
    ("dash.by_diagnosis", "By diagnosis", "진단별", "按诊断"),
    (
        "dash.mean_snr",
        "Mean SNR (dB)",
        "평균 SNR (dB)",
        "平均 SNR (dB)",
    ),
    ("dash.snr_band", "Band", "구간", "区间"),
    ("dash.snr_range", "SNR (dB)", "SNR (dB)", "信噪比 (dB)"),
    (
        "dash.by_sample_rate",
        "By sample rate",
        "샘플링 레이트별",
        "按采样率",
    ),
    ("dash.by_age", "By age", "연령대별", "按年龄段"),
    ("dash.age", "Age", "연령", "年龄"),
    (
        "dash.no_birth_year",
        "no birth year",
        "출생 연도 없음",
        "无出生年份",
    ),
    ("dash.lengths", "Recording lengths", "녹음 길이", "录音时长"),
    ("dash.length_s", "Length (s)", "길이 (초)", "时长 (秒)"),
    ("snr.poor", "poor", "나쁨", "差"),
    ("snr.fair", "fair", "보통", "一般"),
    ("snr.good", "good", "좋음", "良好"),
    ("snr.excellent", "excellent", "매우 좋음", "优秀"),
    // Locations.
    ("loc.title", "Upload locations", "업로드 위치", "上传位置"),
    ("loc.uploads", "Uploads", "업로드", "上传"),
    ("loc.regions", "Regions", "지역", "地区"),
    ("loc.by_region", "By region", "지역별", "按地区"),
    (
        "loc.by_ip_region",
        "By IP region",
        "IP 지역별",
        "按 IP 地区",
    ),
    ("loc.distinct_ips", "Distinct IPs", "고유 IP", "不同 IP"),
    (
        "loc.map",
        "Map of upload points",
        "업로드 지점 지도",
        "上传地点地图",
    ),
    ("loc.region", "Region", "지역", "地区"),
    // Learning.
    (
        "learn.title",
        "Learning platform",
        "학습 플랫폼",
        "学习平台",
    ),
    ("learn.total_users", "Learners with sessions", "세션이 있는 학습자", "有学习记录的学习者"),
    (
        "learn.active_7d",
        "Active in 7 days",
        "7일간 활동",
        "7 天内活跃",
    ),
    ("learn.today", "Sessions today", "오늘 세션", "今日学习"),
    (
        "learn.week",
        "Sessions in 7 days",
        "7일간 세션",
        "7 天内学习",
    ),
    (
        "learn.avg_duration",
        "Average duration (min)",
        "평균 시간 (분)",
        "平均时长 (分钟)",
    ),
    (
        "learn.environment",
        "Most popular place",
        "가장 많은 장소",
        "最常见地点",
    ),
    (
        "learn.device",
        "Most popular device",
        "가장 많은 기기",
        "最常见设备",
    ),
    ("user.title", "Learner", "학습자", "学习者"),
    ("user.today", "Day", "하루", "当日"),
    ("user.week", "Week", "주간", "本周"),
    ("user.analytics", "Last 30 days", "최근 30일", "最近 30 天"),
    ("user.courses", "Courses", "과정", "课程"),
    ("user.sessions", "Sessions", "세션", "学习次数"),
    ("user.minutes", "Minutes", "분", "分钟"),
    ("user.completed", "Completed", "완료", "已完成"),
    ("user.active", "Running now", "진행 중", "进行中"),
    ("user.day_hint", "Study sessions that started on this day. \"Running now\" counts those not finished yet.", "이날 시작한 학습 세션입니다. '진행 중'은 아직 끝나지 않은 세션 수입니다.", "当天开始的学习记录。“进行中”是尚未结束的记录数。"),
    ("user.courses_hint", "From course progress as each course reports it, not from the study sessions above: its hours can differ from their minutes.", "위의 학습 세션이 아니라 과정별 진도 기록에서 가져온 값이므로 시간이 세션의 분과 다를 수 있습니다.", "来自各课程上报的进度，而不是上面的学习记录，因此小时数可能与记录的分钟数不同。"),
    ("user.running_old", "unfinished for more than a day", "하루 넘게 끝나지 않음", "超过一天未结束"),
    ("user.discard", "Discard", "삭제", "丢弃"),
    ("user.productive", "Productive", "생산적", "高效"),
    (
        "user.effectiveness",
        "Average effectiveness",
        "평균 효과",
        "平均效果",
    ),
    ("user.focus", "Average focus", "평균 집중도", "平均专注度"),
    ("user.active_days", "Active days", "활동일", "活跃天数"),
    ("user.streak", "Longest streak", "최장 연속", "最长连续"),
    (
        "user.best_day",
        "Most productive day",
        "가장 생산적인 날",
        "最高效的一天",
    ),
    ("user.consistency", "Consistency", "꾸준함", "稳定性"),
    (
        "user.peak_hours",
        "Sessions by hour",
        "시간대별 세션",
        "按小时的学习",
    ),
    ("user.trend", "Trend", "추세", "趋势"),
    ("user.recommendations", "Recommendations", "추천", "建议"),
    (
        "user.proficiency",
        "Average proficiency",
        "평균 숙련도",
        "平均熟练度",
    ),
    ("user.hours_total", "Course hours in all", "과정 총 시간", "课程总小时"),
    (
        "user.hours_week",
        "Course hours this week",
        "이번 주 과정 시간",
        "本周课程小时",
    ),
    ("user.subjects", "Subjects", "주제", "科目"),
    ("user.environments", "Places", "장소", "地点"),
    ("user.devices", "Devices", "기기", "设备"),
    (
        "user.add_session",
        "Add a session",
        "세션 추가",
        "添加学习记录",
    ),
    ("user.finish", "Finish", "종료", "结束"),
    ("trend.improving", "improving", "향상", "进步"),
    ("trend.declining", "declining", "하락", "下降"),
    ("trend.stable", "stable", "안정", "稳定"),
    // Admin.
    ("admin.title", "Stats cache", "통계 캐시", "统计缓存"),
    ("admin.key", "Key", "키", "键"),
    ("admin.status", "Status", "상태", "状态"),
    ("admin.age", "Age", "경과", "时长"),
    ("admin.ttl", "TTL", "유효 시간", "有效期"),
    ("admin.size", "Size", "크기", "大小"),
    ("admin.changes", "Changes since", "이후 변경", "此后变更"),
    ("admin.hit_rates", "Hit rates", "적중률", "命中率"),
    ("admin.tables", "Tables", "테이블", "数据表"),
    ("admin.files", "Files", "파일", "文件"),
    ("admin.jobs", "Jobs", "작업", "任务"),
    ("admin.clear_all", "Clear all", "모두 지우기", "全部清除"),
    ("maint.title", "Maintenance", "유지 관리", "维护"),
    ("maint.run", "Run cleanup now", "지금 정리 실행", "立即清理"),
    (
        "maint.running",
        "A cleanup is running; its report appears below when it ends.",
        "정리 작업이 실행 중입니다. 끝나면 아래에 보고서가 표시됩니다.",
        "清理正在运行；结束后报告显示在下方。",
    ),
    ("maint.reload", "Reload", "새로 고침", "刷新"),
    ("login.title", "Sign in", "로그인", "登录"),
    ("login.username", "Username", "사용자 이름", "用户名"),
    ("login.password", "Password", "비밀번호", "密码"),
    (
        "login.failed",
        "Wrong username or password.",
        "사용자 이름 또는 비밀번호가 틀립니다.",
        "用户名或密码错误。",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_reads_in_the_page_language_whichever_spelling_the_data_has() {
        for name in ["Seoul", "서울", "首尔", " seoul "] {
            assert_eq!(region(Lang::En, name), "Seoul", "{name}");
            assert_eq!(region(Lang::Ko, name), "서울", "{name}");
            assert_eq!(region(Lang::Zh, name), "首尔", "{name}");
        }
        assert_eq!(region(Lang::Zh, "Atlantis"), "Atlantis");
    }

    #[test]
    fn accept_language_prefers_highest_q() {
        assert_eq!(
            Lang::from_accept_language("ko-KR,ko;q=0.9,en;q=0.8"),
            Lang::Ko
        );
        assert_eq!(
            Lang::from_accept_language("fr, zh;q=0.5, en;q=0.4"),
            Lang::Zh
        );
        assert_eq!(Lang::from_accept_language("fr"), Lang::En);
    }

    #[test]
    fn every_phrase_has_three_texts() {
        for (key, en, ko, zh) in PHRASES {
            assert!(!en.is_empty() && !ko.is_empty() && !zh.is_empty(), "{key}");
        }
        assert_eq!(t(Lang::Ko, "badge.cached"), "캐시 데이터");
        assert_eq!(t(Lang::Ko, "badge.fresh"), "최신 데이터");
    }

    /// Every literal key given to `t` or `fill` in the sources, with where.
    fn keys_used() -> Vec<(String, String)> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut used = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for call in ["t(", "fill("] {
                for (at, _) in text.match_indices(call) {
                    let before = text[..at].chars().next_back().unwrap_or(' ');
                    if before.is_alphanumeric() || before == '_' || before == '.' {
                        continue;
                    }
                    let rest = &text[at + call.len()..];
                    let Some((first, after)) = rest.split_once(',') else {
                        continue;
                    };
                    let plain = |c: char| c.is_ascii_alphanumeric() || "_.:&".contains(c);
                    let Some(literal) = after.trim_start().strip_prefix('"') else {
                        continue;
                    };
                    if first.trim().chars().all(plain) {
                        let key = literal.split('"').next().unwrap_or("");
                        used.push((key.to_string(), file.display().to_string()));
                    }
                }
            }
        }
        used
    }

    #[test]
    fn every_key_the_code_asks_for_has_its_phrase_and_keys_are_unique() {
        let used = keys_used();
        assert!(used.len() > 100, "the scan found the calls: {}", used.len());
        let missing: Vec<_> = used
            .iter()
            .filter(|(key, _)| !PHRASES.iter().any(|(k, ..)| k == key))
            .collect();
        assert!(
            missing.is_empty(),
            "phrases missing from the table: {missing:?}"
        );
        let mut keys: Vec<&str> = PHRASES.iter().map(|(k, ..)| *k).collect();
        keys.sort_unstable();
        let before = keys.len();
        keys.dedup();
        assert_eq!(keys.len(), before, "a key is in the table twice");
    }
}
