//! Daemon settings, layered: defaults < TOML config file (`--config`) < `DAT_*` environment <
//! command-line flags. Everything is validated here, before anything binds or opens, and an
//! error says what is wrong, where it came from and how to fix it (exit code 2).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use dat_actors::bridge::NatsUrl;
use dat_actors::readers::ReadOptions;
use dat_contracts::StageGraphConfig;
use serde::Deserialize;

/// Default bind address (SPEC §11).
pub const DEFAULT_BIND: &str = "127.0.0.1:8400";
/// Default request body limit: lock bodies are small; 1 MiB leaves room for long file lists.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Default interval between saves of the NATS bridge's cursor: each save is an fsync, and a
/// crash re-publishes at most this much (JetStream drops the copies by message id).
pub const DEFAULT_NATS_CURSOR_SAVE_MS: u64 = 200;

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `dat serve` flags. Every field is optional so that an absent flag does not mask the config
/// file; `env` gives each its `DAT_*` variable.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// TOML config file with any of the settings below.
    #[arg(long, env = "DAT_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8400]; port 0 picks a free port.
    #[arg(long, env = "DAT_BIND")]
    pub bind: Option<SocketAddr>,
    /// Workspace root: every path in requests and responses is relative to it [default: .].
    #[arg(long, env = "DAT_WORKSPACE")]
    pub workspace: Option<PathBuf>,
    /// Where the event log and artifacts live [default: <workspace>/.dat].
    #[arg(long, env = "DAT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// File holding a bearer token every route but health requires.
    #[arg(long, env = "DAT_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// Stage graph (JSON or TOML) replacing the default gates and cascades.
    #[arg(long, env = "DAT_STAGE_GRAPH")]
    pub stage_graph: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, env = "DAT_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Largest accepted request body in bytes [default: 1048576].
    #[arg(long, env = "DAT_BODY_LIMIT")]
    pub body_limit: Option<usize>,
    /// NATS server to publish every event (JetStream) and live progress to, e.g.
    /// nats://127.0.0.1:4222 [default: none, the bridge is off].
    #[arg(long, env = "DAT_NATS_URL")]
    pub nats: Option<String>,
    /// How often the NATS bridge saves its acknowledged position, in milliseconds [default: 200].
    #[arg(long, env = "DAT_NATS_CURSOR_SAVE_MS")]
    pub nats_cursor_save_ms: Option<u64>,
    /// Folder of extraction profiles (`.yaml`, `.yml`, `.json`) loaded at start, read-only
    /// through the API [default: none].
    #[arg(long, env = "DAT_PROFILES_DIR")]
    pub profiles_dir: Option<PathBuf>,
    /// Leave background work found interrupted at start (running when the daemon last
    /// stopped) unlocked, with `interrupted: true`, instead of resuming it from its checkpoints.
    #[arg(long, env = "DAT_NO_RESUME")]
    pub no_resume: bool,
    /// Limits of the file readers.
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// The readers' limits (`dat serve` and `dat run`): what keeps memory bounded on any file.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitArgs {
    /// Longest record (a delimited row, a JSON line or element, a sheet row) in MiB; a longer
    /// one is a reject and reading resumes after it [default: 16].
    #[arg(long, env = "DAT_RECORD_CAP_MIB")]
    pub record_cap_mib: Option<u64>,
    /// Most bytes, in MiB, a compressed file may inflate to before it is an error table
    /// [default: no limit].
    #[arg(long, env = "DAT_DECOMPRESSED_LIMIT_MIB")]
    pub decompressed_limit_mib: Option<u64>,
    /// Largest .xls/.ods file in MiB (they are read whole; xlsx is streamed) [default: 16].
    #[arg(long, env = "DAT_WHOLE_WORKBOOK_LIMIT_MIB")]
    pub whole_workbook_limit_mib: Option<u64>,
    /// Most columns a table may have; a record that would add more is a reject [default: 16384].
    #[arg(long, env = "DAT_MAX_COLUMNS")]
    pub max_columns: Option<usize>,
}

impl LimitArgs {
    /// The read options these give, each flag over `file`'s value over the default.
    ///
    /// # Errors
    /// [`ConfigError`] for a zero limit.
    pub fn options(&self, file: &LimitArgs, source_name: &str) -> Result<ReadOptions, ConfigError> {
        let defaults = ReadOptions::default();
        let mib = |v: u64, what: &str| {
            if v == 0 {
                return Err(config_error(what, source_name, "must be at least 1", "give a size in MiB, e.g. 16"));
            }
            usize::try_from(v.saturating_mul(1 << 20))
                .map_err(|e| config_error(what, source_name, e, "give a smaller size in MiB"))
        };
        let record_cap = match self.record_cap_mib.or(file.record_cap_mib) {
            Some(v) => mib(v, "record_cap_mib")?,
            None => defaults.record_cap,
        };
        let decompressed_limit = match self.decompressed_limit_mib.or(file.decompressed_limit_mib) {
            Some(v) => Some(mib(v, "decompressed_limit_mib")? as u64),
            None => defaults.decompressed_limit,
        };
        let whole_workbook_limit = match self.whole_workbook_limit_mib.or(file.whole_workbook_limit_mib) {
            Some(v) => mib(v, "whole_workbook_limit_mib")? as u64,
            None => defaults.whole_workbook_limit,
        };
        let max_columns = self.max_columns.or(file.max_columns).unwrap_or(defaults.max_columns);
        if max_columns == 0 {
            return Err(config_error(
                "max_columns",
                source_name,
                "must be at least 1",
                "give a column count, e.g. 16384",
            ));
        }
        Ok(ReadOptions { record_cap, decompressed_limit, whole_workbook_limit, max_columns, ..defaults })
    }
}

/// The config file: the same names as the flags, in snake_case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    bind: Option<SocketAddr>,
    workspace: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    token_file: Option<PathBuf>,
    stage_graph: Option<PathBuf>,
    log_format: Option<LogFormat>,
    body_limit: Option<usize>,
    nats: Option<String>,
    nats_cursor_save_ms: Option<u64>,
    profiles_dir: Option<PathBuf>,
    no_resume: Option<bool>,
    record_cap_mib: Option<u64>,
    decompressed_limit_mib: Option<u64>,
    whole_workbook_limit_mib: Option<u64>,
    max_columns: Option<usize>,
}

/// A bearer token. Never printed: `Debug` shows `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Whether `candidate` is this token.
    pub fn matches(&self, candidate: &str) -> bool {
        self.0 == candidate
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The daemon's validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub bind: SocketAddr,
    /// Workspace root.
    pub workspace: PathBuf,
    /// Data dir.
    pub data_dir: PathBuf,
    /// Bearer token, if required.
    pub token: Option<Token>,
    /// Gating and cascade rules for new runs.
    pub stage_graph: StageGraphConfig,
    /// Log format.
    pub log_format: LogFormat,
    /// Request body limit in bytes.
    pub body_limit: usize,
    /// The NATS server of the bridge; `None` turns the bridge off.
    pub nats: Option<NatsUrl>,
    /// How often the bridge saves its cursor.
    pub nats_cursor_save: Duration,
    /// The readers' limits.
    pub read_options: ReadOptions,
    /// Folder of profiles loaded at start.
    pub profiles_dir: Option<PathBuf>,
    /// Leave interrupted work unlocked instead of resuming it.
    pub no_resume: bool,
}

/// A setting that cannot be used. Printed as is; the process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{what} ({source_name}): {problem}\n  fix: {fix}")]
pub struct ConfigError {
    what: String,
    source_name: String,
    problem: String,
    fix: String,
}

impl ConfigError {
    /// A problem with setting `what`, taken from `source_name`, and how to fix it.
    pub fn new(what: impl Into<String>, source_name: impl fmt::Display, problem: impl fmt::Display, fix: &str) -> Self {
        ConfigError {
            what: what.into(),
            source_name: source_name.to_string(),
            problem: problem.to_string(),
            fix: fix.into(),
        }
    }
}

fn config_error(
    what: impl Into<String>,
    source_name: impl fmt::Display,
    problem: impl fmt::Display,
    fix: &str,
) -> ConfigError {
    ConfigError::new(what, source_name, problem, fix)
}

impl Settings {
    /// Layers defaults, the config file, env and flags (clap has already merged the last two).
    ///
    /// # Errors
    /// [`ConfigError`] naming the setting, where it came from and how to fix it.
    pub fn load(args: ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => read_config_file(path)?,
            None => FileSettings::default(),
        };
        let bind = match args.bind.or(file.bind) {
            Some(bind) => bind,
            None => DEFAULT_BIND.parse().map_err(|e| config_error("bind", "default", e, "report this bug"))?,
        };
        let workspace = args.workspace.or(file.workspace).unwrap_or_else(|| PathBuf::from("."));
        if !workspace.is_dir() {
            return Err(config_error(
                "workspace",
                workspace.display(),
                "is not an existing folder",
                "pass --workspace with the folder that holds your data",
            ));
        }
        let data_dir = args.data_dir.or(file.data_dir).unwrap_or_else(|| workspace.join(".dat"));
        let token = match args.token_file.or(file.token_file) {
            Some(path) => Some(read_token(&path)?),
            None => None,
        };
        let stage_graph = match args.stage_graph.or(file.stage_graph) {
            Some(path) => load_stage_graph(&path)?,
            None => StageGraphConfig::default(),
        };
        let body_limit = args.body_limit.or(file.body_limit).unwrap_or(DEFAULT_BODY_LIMIT);
        let nats = match (args.nats, file.nats) {
            (Some(url), _) => Some(parse_nats(&url, "--nats / DAT_NATS_URL")?),
            (None, Some(url)) => Some(parse_nats(&url, "config file key nats")?),
            (None, None) => None,
        };
        let nats_cursor_save_ms =
            args.nats_cursor_save_ms.or(file.nats_cursor_save_ms).unwrap_or(DEFAULT_NATS_CURSOR_SAVE_MS);
        let from_file = LimitArgs {
            record_cap_mib: file.record_cap_mib,
            decompressed_limit_mib: file.decompressed_limit_mib,
            whole_workbook_limit_mib: file.whole_workbook_limit_mib,
            max_columns: file.max_columns,
        };
        let read_options = args.limits.options(&from_file, "flags, DAT_* or the config file")?;
        Ok(Settings {
            bind,
            workspace,
            data_dir,
            token,
            stage_graph,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            body_limit,
            nats,
            nats_cursor_save: Duration::from_millis(nats_cursor_save_ms),
            read_options,
            profiles_dir: args.profiles_dir.or(file.profiles_dir),
            no_resume: args.no_resume || file.no_resume.unwrap_or(false),
        })
    }
}

fn parse_nats(url: &str, source_name: &str) -> Result<NatsUrl, ConfigError> {
    NatsUrl::parse(url).map_err(|e| {
        config_error(
            "nats",
            source_name,
            e,
            "pass the NATS server as nats://HOST:PORT, or leave it out to run without NATS",
        )
    })
}

fn read_config_file(path: &Path) -> Result<FileSettings, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| config_error("config file", path.display(), e, "check the --config / DAT_CONFIG path"))?;
    toml::from_str(&text).map_err(|e| {
        config_error(
            "config file",
            path.display(),
            e,
            "use TOML with keys bind, workspace, data_dir, token_file, stage_graph, log_format, body_limit, nats, \
             nats_cursor_save_ms, profiles_dir, no_resume, record_cap_mib, decompressed_limit_mib, whole_workbook_limit_mib, max_columns",
        )
    })
}

fn read_token(path: &Path) -> Result<Token, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| config_error("token file", path.display(), e, "check the --token-file / DAT_TOKEN_FILE path"))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(config_error("token file", path.display(), "is empty", "write the bearer token into the file"));
    }
    Ok(Token(token.to_owned()))
}

/// Loads a stage graph file: `.toml` as TOML, anything else as JSON.
///
/// # Errors
/// [`ConfigError`] when the file cannot be read or the graph is invalid.
pub fn load_stage_graph(path: &Path) -> Result<StageGraphConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        config_error("stage graph", path.display(), e, "check the --stage-graph / DAT_STAGE_GRAPH path")
    })?;
    let is_toml = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let graph = if is_toml { StageGraphConfig::from_toml_str(&text) } else { StageGraphConfig::from_json_str(&text) };
    graph.map_err(|e| {
        config_error("stage graph", path.display(), e, "fix the file, or drop --stage-graph to use the default graph")
    })
}
