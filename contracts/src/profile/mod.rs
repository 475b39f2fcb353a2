//! Extraction profiles (SPEC §10): the format ([`ProfileSpec`]), a profile's identity (id and
//! content hash), validation that lists every problem by its path, the file filters and the
//! context rules that need no file content. Extraction itself (strategies over a document) is
//! the readers' work.
//!
//! # Layout
//! - `model`: [`ProfileSpec`] and its sections.
//! - `identity`: [`Profile`]: parsed content, id and content hash.
//! - `validate`: [`validate`], every problem with its path.
//! - `filter`: [`FileFacts`] and the datasource filters.
//! - `context`: context values from file names, and the order sources win in.
//! - `json_path`: placeholders and the JSONPath syntax the profile uses.

mod context;
mod filter;
mod identity;
mod json_path;
mod model;
mod validate;

pub use context::{file_context, merge_context, ContextSource, ContextValue};
pub use filter::{matches, FileFacts};
pub use identity::{Profile, ProfileError, ProfileId};
pub use json_path::{placeholders, substitute, JsonPath, Step};
pub use model::*;
pub use validate::{validate, Problem, Validation};
