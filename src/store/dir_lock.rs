//! The lock of a data directory (`DATA_DIR/voxdash.lock`): every serving
//! node holds it shared, so several nodes may serve one directory, and a
//! restore needs it alone, so it never replaces the database under a node
//! that is writing to it. The kernel drops it when a process ends, however
//! it ends.

use std::fs::File;
use std::path::Path;

use super::{Result, StoreError};

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Holds the directory as one of its serving nodes. Fails while a
    /// restore holds it (after a second of retries: a command looking
    /// whether nodes serve holds it alone for a moment).
    pub fn serving(dir: &Path) -> Result<DirLock> {
        for _ in 0..20 {
            if let Some(lock) = DirLock::take(dir, Share::Shared)? {
                return Ok(lock);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err(StoreError::DataDir {
            path: dir.to_path_buf(),
            reason: "a restore is under way".into(),
        })
    }

    /// Whether some process serves the directory (or restores into it) now.
    pub fn in_use(dir: &Path) -> Result<bool> {
        Ok(DirLock::alone(dir)?.is_none())
    }

    /// Holds the directory alone; `None` while a node serves it.
    pub fn alone(dir: &Path) -> Result<Option<DirLock>> {
        DirLock::take(dir, Share::Alone)
    }

    fn take(dir: &Path, how: Share) -> Result<Option<DirLock>> {
        let path = dir.join("voxdash.lock");
        let failed = |e: std::io::Error| StoreError::DataDir {
            path: path.clone(),
            reason: e.to_string(),
        };
        super::create_private_file(&path).map_err(failed)?;
        let file = File::open(&path).map_err(failed)?;
        let taken = match how {
            Share::Shared => file.try_lock_shared(),
            Share::Alone => file.try_lock(),
        };
        match taken {
            Ok(()) => Ok(Some(DirLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(failed(e)),
        }
    }
}

/// How a [`DirLock`] holds the directory.
enum Share {
    /// With other serving nodes.
    Shared,
    /// Alone (a restore).
    Alone,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_share_the_directory_and_a_restore_waits_for_them() {
        let dir = tempfile::tempdir().unwrap();
        let a = DirLock::serving(dir.path()).unwrap();
        let b = DirLock::serving(dir.path()).unwrap();
        assert!(DirLock::alone(dir.path()).unwrap().is_none());
        drop((a, b));
        let alone = DirLock::alone(dir.path()).unwrap().expect("free");
        let err = DirLock::serving(dir.path()).unwrap_err().to_string();
        assert!(err.contains("a restore is under way"), "{err}");
        drop(alone);
    }
}
