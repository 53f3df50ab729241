//! Placeholder until the demo generator lands.
/// Options of `voxdash demo`.
pub struct DemoOptions {
    pub scale: f64,
    pub seed: u64,
    pub now_micros: i64,
}
/// Rows written per file.
pub struct DemoSummary {
    pub files: Vec<(String, u64)>,
}
/// Demo errors.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{path}: {reason}")]
    Io {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("--scale must be > 0 (got {0})")]
    BadScale(f64),
}
/// Writes the demo.
pub fn write_demo(dir: &std::path::Path, _options: &DemoOptions) -> Result<DemoSummary, DemoError> {
    Err(DemoError::Io {
        path: dir.into(),
        reason: "not built".into(),
    })
}
