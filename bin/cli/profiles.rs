//! `dat profiles list|show|create|validate|delete`: the extraction profiles, from the data dir's
//! log (and `--profiles-dir`) or from the daemon that holds the data dir. `validate` needs
//! neither: it checks a file, and with `--sample` shows the tables it would extract.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Subcommand;
use comfy_table::{presets::UTF8_BORDERS_ONLY, Table};
use dat_actors::profiles::ProfileCatalog;
use dat_actors::readers::profile::sample_tables;
use dat_contracts::profile::Profile;
use serde_json::{json, Value};

use crate::cli::source::Source;
use crate::cli::SourceArgs;

/// The `dat profiles` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProfilesCommand {
    /// The profiles: id, title, version, source.
    List {
        #[command(flatten)]
        source: SourceArgs,
        /// Folder of directory profiles (offline only).
        #[arg(long, env = "DAT_PROFILES_DIR")]
        profiles_dir: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One profile, as JSON.
    Show {
        /// Profile id.
        id: String,
        #[command(flatten)]
        source: SourceArgs,
        /// Folder of directory profiles (offline only).
        #[arg(long, env = "DAT_PROFILES_DIR")]
        profiles_dir: Option<PathBuf>,
    },
    /// Store a profile (YAML or JSON file): a `ProfileCreated` event.
    Create {
        /// The profile file.
        file: PathBuf,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Check a profile file: every problem by path; with --sample, the tables it would extract.
    Validate {
        /// The profile file.
        file: PathBuf,
        /// A JSON file to extract the profile's tables from.
        #[arg(long)]
        sample: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a stored profile (runs made with it keep their version).
    Delete {
        /// Profile id.
        id: String,
        #[command(flatten)]
        source: SourceArgs,
    },
}

/// Runs a `dat profiles` command.
///
/// # Errors
/// When the profile is invalid (exit 1 after printing the problems), unknown, or the log or
/// daemon cannot be reached.
pub fn run(command: ProfilesCommand) -> anyhow::Result<()> {
    match command {
        ProfilesCommand::List { source, profiles_dir, json } => {
            let list = match open(&source, profiles_dir.as_deref())? {
                Either::Catalog(catalog) => serde_json::to_value(catalog.list())?,
                Either::Server(server) => server.request("GET", "/api/dat/profiles", None)?["profiles"].take(),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
                return Ok(());
            }
            let mut t = Table::new();
            t.load_preset(UTF8_BORDERS_ONLY).set_header(vec!["PROFILE", "TITLE", "VERSION", "SOURCE", "TABLES"]);
            for p in list.as_array().into_iter().flatten() {
                let text = |k: &str| {
                    p.get(k).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned)).unwrap_or_default()
                };
                let version = text("content_hash").chars().take(12).collect::<String>();
                t.add_row(vec![text("profile_id"), text("title"), version, text("source"), text("tables")]);
            }
            println!("{t}");
            Ok(())
        }
        ProfilesCommand::Show { id, source, profiles_dir } => {
            let shown = match open(&source, profiles_dir.as_deref())? {
                Either::Catalog(catalog) => {
                    let (p, source) = catalog.get(&id)?;
                    json!({ "profile_id": p.id, "content_hash": p.content_hash, "source": source, "profile": p.content })
                }
                Either::Server(server) => server.request("GET", &format!("/api/dat/profiles/{id}"), None)?,
            };
            println!("{}", serde_json::to_string_pretty(&shown)?);
            Ok(())
        }
        ProfilesCommand::Create { file, source } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let created = match open(&source, None)? {
                Either::Catalog(catalog) => {
                    let p = catalog.create(&text).map_err(|e| anyhow::anyhow!(problems_text(&e.to_string())))?;
                    json!({ "profile_id": p.id, "content_hash": p.content_hash })
                }
                Either::Server(server) => server.request("POST", "/api/dat/profiles", Some(&text))?,
            };
            println!(
                "created {} (version {})",
                created["profile_id"].as_str().unwrap_or_default(),
                created["content_hash"].as_str().unwrap_or_default()
            );
            Ok(())
        }
        ProfilesCommand::Validate { file, sample, json } => validate(&file, sample.as_deref(), json),
        ProfilesCommand::Delete { id, source } => {
            match open(&source, None)? {
                Either::Catalog(catalog) => catalog.delete(&id)?,
                Either::Server(server) => {
                    server.request("DELETE", &format!("/api/dat/profiles/{id}"), None)?;
                }
            }
            println!("deleted {id}");
            Ok(())
        }
    }
}

fn problems_text(message: &str) -> String {
    message.replace("; ", "\n  ")
}

fn validate(file: &Path, sample: Option<&Path>, json: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let profile = match Profile::parse(&text) {
        Ok(profile) => profile,
        Err(e) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&json!({ "valid": false, "problems": e.problems }))?);
            } else {
                for p in &e.problems {
                    println!("{}: {}", if p.path.is_empty() { "(profile)" } else { &p.path }, p.message);
                }
            }
            bail!("{} problem(s) in {}", e.problems.len(), file.display());
        }
    };
    let tables = match sample {
        Some(sample) => {
            let bytes = std::fs::read(sample).with_context(|| format!("cannot read {}", sample.display()))?;
            Some(sample_tables(&profile, &bytes).map_err(anyhow::Error::msg)?)
        }
        None => None,
    };
    if json {
        let tables: Option<Vec<Value>> = tables.map(|ts| {
            ts.into_iter()
                .map(|(table, rows)| match rows {
                    Ok(rows) => json!({ "table": table, "rows": rows }),
                    Err(error) => json!({ "table": table, "error": error }),
                })
                .collect()
        });
        let out = json!({ "valid": true, "profile_id": profile.id, "content_hash": profile.content_hash,
                          "warnings": profile.warnings, "tables": tables });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("{} is valid: profile {} (version {})", file.display(), profile.id, profile.content_hash);
    for w in &profile.warnings {
        println!("warning: {}: {}", w.path, w.message);
    }
    for (table, rows) in tables.into_iter().flatten() {
        match rows {
            Ok(rows) => println!("  {table}: {rows} row(s)"),
            Err(error) => println!("  {table}: {error}"),
        }
    }
    Ok(())
}

/// The catalog of the data dir, or the daemon that holds it.
enum Either {
    Catalog(ProfileCatalog),
    Server(Source),
}

fn open(args: &SourceArgs, profiles_dir: Option<&Path>) -> anyhow::Result<Either> {
    let data_dir = args.data_dir.clone().unwrap_or_else(|| PathBuf::from(".dat"));
    match Source::open(args)? {
        Source::Local(log) => Ok(Either::Catalog(ProfileCatalog::open(Arc::new(*log), &data_dir, profiles_dir)?)),
        server => Ok(Either::Server(server)),
    }
}
