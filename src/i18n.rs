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
                if best.map_or(true, |(bq, _)| q > bq) {
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

/// The sentence of a recommendation code in a language.
pub fn recommendation(lang: Lang, code: &str) -> String {
    t(lang, &format!("rec.{code}")).to_string()
}

/// (key, English, Korean, Chinese).
const PHRASES: &[(&str, &str, &str, &str)] = &[
    // Recommendations (stats.md codes).
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
    ("badge.changes", "changes since", "이후 변경", "此后变更"),
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
    ("drill.sort", "Sort by", "정렬", "排序"),
    ("drill.previous", "Previous", "이전", "上一页"),
    ("drill.next", "Next", "다음", "下一页"),
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
    ("word.total", "Total", "합계", "合计"),
    // Dashboard.
    ("dash.title", "Voice corpus", "음성 코퍼스", "语音语料库"),
    ("dash.speakers", "Speakers", "화자", "说话人"),
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
    ("learn.total_users", "Learners", "학습자", "学习者"),
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
    ("user.active", "Active", "진행 중", "进行中"),
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
    ("user.hours_total", "Hours in all", "총 시간", "总小时"),
    (
        "user.hours_week",
        "Hours this week",
        "이번 주 시간",
        "本周小时",
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
}
