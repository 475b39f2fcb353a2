//! Workspace-relative paths. Every path a user gives or dat returns is relative to the workspace
//! root, `/`-separated and normalized; absolute paths and `..` that would leave the workspace
//! are refused here. Symlinks need the file system, so the layer that touches files checks that
//! a resolved path is still inside (see the actors' workspace).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A normalized, `/`-separated path inside the workspace, e.g. `data/lot1/a.csv`.
/// The workspace root itself is `.`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkspacePath(String);

/// A path that is absolute or escapes the workspace. HTTP 400 `path_outside_workspace`; the
/// user gives a path relative to the workspace instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path `{path}` is outside the workspace: {reason}; give a path relative to the workspace root")]
pub struct PathOutsideWorkspace {
    /// The path as given.
    pub path: String,
    /// Why it was refused.
    pub reason: &'static str,
}

impl WorkspacePath {
    /// The workspace root.
    pub fn root() -> Self {
        WorkspacePath(".".to_owned())
    }

    /// Normalizes a user-given path: drops `.` and empty segments, resolves `..` lexically.
    ///
    /// # Errors
    /// [`PathOutsideWorkspace`] for absolute paths (`/x`, `C:\x`, `\\server`), a `..` that
    /// climbs above the root, or a NUL byte.
    pub fn parse(path: &str) -> Result<Self, PathOutsideWorkspace> {
        let refuse = |reason| Err(PathOutsideWorkspace { path: path.to_owned(), reason });
        if path.starts_with('/') || path.starts_with('\\') {
            return refuse("absolute path");
        }
        if path.as_bytes().get(1) == Some(&b':') && path.as_bytes()[0].is_ascii_alphabetic() {
            return refuse("absolute path");
        }
        if path.contains('\0') {
            return refuse("contains a NUL byte");
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return refuse("`..` leaves the workspace");
                    }
                }
                name => parts.push(name),
            }
        }
        if parts.is_empty() {
            Ok(Self::root())
        } else {
            Ok(WorkspacePath(parts.join("/")))
        }
    }

    /// The path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the workspace root.
    pub fn is_root(&self) -> bool {
        self.0 == "."
    }

    /// The path's segments (none for the root).
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/').filter(|s| *s != ".")
    }

    /// `self/name`, for building children of a scanned folder.
    ///
    /// # Errors
    /// [`PathOutsideWorkspace`] when `name` is not a plain relative name.
    pub fn join(&self, name: &str) -> Result<Self, PathOutsideWorkspace> {
        if self.is_root() {
            Self::parse(name)
        } else {
            Self::parse(&format!("{}/{name}", self.0))
        }
    }
}

impl fmt::Display for WorkspacePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for WorkspacePath {
    type Error = PathOutsideWorkspace;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<WorkspacePath> for String {
    fn from(p: WorkspacePath) -> Self {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_relative_paths() {
        let cases = [
            ("data", "data"),
            ("./data//a.csv", "data/a.csv"),
            ("a/b/../c", "a/c"),
            ("", "."),
            (".", "."),
            ("a/..", "."),
        ];
        for (given, normal) in cases {
            assert_eq!(WorkspacePath::parse(given).unwrap().as_str(), normal, "{given}");
        }
    }

    #[test]
    fn refuses_absolute_and_escaping_paths() {
        for bad in ["/etc/passwd", "..", "../x", "a/../../x", "C:\\data", "\\\\server\\share", "a\0b"] {
            assert!(WorkspacePath::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn join_stays_inside() {
        let dir = WorkspacePath::parse("data").unwrap();
        assert_eq!(dir.join("a.csv").unwrap().as_str(), "data/a.csv");
        assert_eq!(WorkspacePath::root().join("b").unwrap().as_str(), "b");
        assert!(WorkspacePath::root().join("../b").is_err());
    }
}
