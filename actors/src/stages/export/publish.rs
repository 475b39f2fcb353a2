//! Making a dataset folder visible only when complete: the export writes into a hidden staging
//! folder next to the datasets, then swaps it in for the old folder of the same id (if any).
//! Hidden names start with `.`, which no dataset id may, so the catalogue never lists them.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A staging folder, removed on drop unless published.
pub(crate) struct Staging {
    dir: PathBuf,
    target: PathBuf,
    published: bool,
}

impl Staging {
    /// Creates a fresh staging folder for `<datasets_dir>/<dataset_id>` (unique per export, so
    /// two exports of the same dataset never write into each other's files).
    ///
    /// # Errors
    /// The datasets folder cannot be created or written.
    pub(crate) fn create(datasets_dir: &Path, dataset_id: &str) -> io::Result<Self> {
        fs::create_dir_all(datasets_dir)?;
        let dir = datasets_dir.join(format!(".{dataset_id}.{}.staging", uuid::Uuid::now_v7().simple()));
        fs::create_dir(&dir)?;
        Ok(Staging { dir, target: datasets_dir.join(dataset_id), published: false })
    }

    /// The folder to write into.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the dataset folder with the staging folder. The old folder is first renamed
    /// aside, so a reader sees the old dataset or the new one, and (for an instant) none; never a
    /// mix of both.
    ///
    /// # Errors
    /// A rename failed; the old folder is put back when it can be.
    pub(crate) fn publish(mut self) -> io::Result<()> {
        let old = self.dir.with_extension("replaced");
        let had_old = match fs::rename(&self.target, &old) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        if let Err(e) = fs::rename(&self.dir, &self.target) {
            if had_old {
                let _ = fs::rename(&old, &self.target);
            }
            return Err(e);
        }
        self.published = true;
        if had_old {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(())
    }
}

impl Drop for Staging {
    /// A staging folder that was not published (failure, cancel) holds nothing worth keeping.
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
