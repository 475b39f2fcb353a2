//! The workspace root on disk. [`WorkspacePath`] already refuses absolute and escaping paths
//! lexically; this resolves a path on disk and refuses symlinks that lead outside the root.

use std::io;
use std::path::{Path, PathBuf};

use dat_contracts::{PathOutsideWorkspace, WorkspacePath};

/// The workspace root, canonicalized once at startup.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

/// Why a workspace path cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// It resolves outside the workspace (through a symlink). HTTP 400 `path_outside_workspace`.
    #[error(transparent)]
    Outside(#[from] PathOutsideWorkspace),
    /// Nothing is there. HTTP 400 `path_not_found`: the user checks the path.
    #[error("`{0}` does not exist in the workspace")]
    NotFound(WorkspacePath),
    /// The file system refused (permissions). HTTP 400 with the path; nothing else is affected.
    #[error("`{path}` cannot be read: {source}")]
    Io {
        /// The path.
        path: WorkspacePath,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

impl Workspace {
    /// Opens the workspace at `root`.
    ///
    /// # Errors
    /// The I/O error when `root` does not exist or cannot be resolved.
    pub fn open(root: &Path) -> io::Result<Self> {
        Ok(Workspace { root: root.canonicalize()? })
    }

    /// The absolute root (never put into responses, events or artifacts).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolves `path` on disk, following symlinks, and checks it is still inside the root.
    ///
    /// # Errors
    /// [`WorkspaceError::NotFound`], [`WorkspaceError::Outside`] or [`WorkspaceError::Io`].
    pub fn resolve(&self, path: &WorkspacePath) -> Result<PathBuf, WorkspaceError> {
        let joined = path.segments().fold(self.root.clone(), |p, s| p.join(s));
        let real = joined.canonicalize().map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => WorkspaceError::NotFound(path.clone()),
            _ => WorkspaceError::Io { path: path.clone(), source },
        })?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(WorkspaceError::Outside(PathOutsideWorkspace {
                path: path.to_string(),
                reason: "a symlink resolves outside the workspace",
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_inside_and_refuses_symlinks_out() {
        let outside = tempfile::tempdir().unwrap();
        let ws_dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(ws_dir.path().join("data")).unwrap();
        std::os::unix::fs::symlink(outside.path(), ws_dir.path().join("escape")).unwrap();
        std::os::unix::fs::symlink(ws_dir.path().join("data"), ws_dir.path().join("alias")).unwrap();
        let ws = Workspace::open(ws_dir.path()).unwrap();
        let p = |s| WorkspacePath::parse(s).unwrap();
        assert!(ws.resolve(&p("data")).unwrap().ends_with("data"));
        assert!(ws.resolve(&p("alias")).is_ok(), "a symlink that stays inside is fine");
        assert!(matches!(ws.resolve(&p("escape")), Err(WorkspaceError::Outside(_))));
        assert!(matches!(ws.resolve(&p("nope")), Err(WorkspaceError::NotFound(_))));
    }
}
