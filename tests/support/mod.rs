//! Helpers shared by the end-to-end tests.

pub mod daemon;
pub mod nats;

pub use daemon::{dat, wait_for, Daemon, Dirs};

/// The parse bundle of the run `dat run … --out out --data-dir data_dir` made, found through
/// the exported dataset's manifest (its run and its parse stage ID).
pub fn parse_bundle(data_dir: &std::path::Path, out: &std::path::Path) -> std::path::PathBuf {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("the exported manifest"))
            .expect("JSON");
    data_dir
        .join("runs")
        .join(manifest["run_id"].as_str().expect("run_id"))
        .join(manifest["stage_ids"]["parse"].as_str().expect("the parse stage id"))
}
