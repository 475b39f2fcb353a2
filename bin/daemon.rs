//! `dat serve`: wires the store, the registry and the HTTP server together, and shuts them down
//! in order when the shutdown future resolves: HTTP stops accepting and finishes in-flight
//! requests, then run actors stop after their current append, then the NATS bridge publishes
//! what is left (for up to [`BRIDGE_GRACE`]) and saves its cursor, then the log is flushed.

use std::future::Future;
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context;
use dat_actors::bridge::{self, AppendSignal, BridgeConfig, BridgeSettings, BridgeStatus};
use dat_actors::datasets::Datasets;
use dat_actors::metrics::Metrics;
use dat_actors::profiles::ProfileCatalog;
use dat_actors::readers::AdapterRegistry;
use dat_actors::workers::ProbePool;
use dat_actors::{ProgressHub, Registry, RegistryConfig, Stages, Workspace};
use dat_store::{ArtifactStore, Durability, SledLog};
use utoipa_actix_web::AppExt;

use crate::config::{ConfigError, Settings};
use crate::http;

/// Where a running daemon announces itself, so offline commands can say who holds the data dir.
pub const DAEMON_FILE: &str = "daemon.json";

/// How long the NATS bridge may take at shutdown to publish what is left and await its acks.
/// Short: whatever it does not publish now it publishes after the next start.
pub const BRIDGE_GRACE: Duration = Duration::from_secs(3);

/// The event log's folder inside a data dir.
pub fn log_dir(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("log")
}

/// Runs the daemon on `listener` until `shutdown` resolves.
///
/// # Errors
/// When the data dir cannot be opened (another daemon holds it) or the server fails.
pub async fn run(listener: TcpListener, settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create data dir {}", settings.data_dir.display()))?;
    let log = Arc::new(SledLog::open(&log_dir(&settings.data_dir), Durability::Flush)?);
    let metrics = Arc::new(Metrics::default());
    let fsync = metrics.fsync.clone();
    log.on_flush(Box::new(move |took| fsync.observe(took.as_secs_f64())));
    let workspace = Workspace::open(&settings.workspace)
        .with_context(|| format!("cannot open workspace {}", settings.workspace.display()))?;
    // The profile routes read sample files from the workspace too.
    let workspace_handle = workspace.clone();
    let adapters = AdapterRegistry::default();
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = ProbePool::start(cores, adapters.clone(), settings.read_options.clone());
    let probes = pool.clone();
    // Exported datasets: written by the export stage, served by `/api/datasets`.
    let datasets_dir = settings.data_dir.join("datasets");
    let progress = ProgressHub::default();
    // Started before the registry, so nothing appends while it counts its backlog.
    let appended = AppendSignal::default();
    let bridge = match &settings.nats {
        Some(url) => Some(
            bridge::start(BridgeConfig {
                url: url.clone(),
                log: log.clone(),
                signal: appended.clone(),
                progress: Some(progress.clone()),
                settings: BridgeSettings { cursor_save: settings.nats_cursor_save, ..Default::default() },
            })
            .await
            .context("cannot start the NATS bridge")?,
        ),
        None => None,
    };
    let nats_status = web::Data::new(bridge.as_ref().map_or_else(BridgeStatus::disabled, |b| b.status()));
    let scrape = web::Data::new(http::metrics::Scrape {
        metrics: metrics.clone(),
        pool: probes,
        nats: nats_status.get_ref().clone(),
    });
    let profiles = Arc::new(
        ProfileCatalog::open(log.clone(), &settings.data_dir, settings.profiles_dir.as_deref())
            .map_err(|e| {
                let dir = settings
                    .profiles_dir
                    .as_deref()
                    .map_or_else(|| "the event log".into(), |d| d.display().to_string());
                ConfigError::new(
                    "profiles_dir",
                    dir,
                    e,
                    "fix the profile (every problem is listed), or remove it from the folder",
                )
            })?
            .with_append_signal(appended.clone()),
    );
    let registry = web::Data::new(Registry::with_append_signal(
        RegistryConfig {
            log: log.clone(),
            artifacts: ArtifactStore::new(&settings.data_dir),
            workspace,
            stages: Stages::standard(adapters.clone(), log.clone(), pool, datasets_dir.clone(), settings.read_options),
            stage_graph: settings.stage_graph.clone(),
            progress,
            profiles: profiles.clone(),
            resume: !settings.no_resume,
            fingerprints: log,
            metrics: metrics.clone(),
        },
        appended,
    ));
    // Before serving anything: record the work the last stop interrupted, and resume it.
    let recovered = registry.recover_interrupted().await.context("cannot recover interrupted work")?;
    if recovered > 0 {
        tracing::warn!(
            runs = recovered,
            resume = !settings.no_resume,
            "background work was interrupted when the daemon last stopped"
        );
    }
    let token = web::Data::new(settings.token.clone());
    let datasets = web::Data::new(Datasets::new(datasets_dir));
    let body_limit = settings.body_limit;
    let app_registry = registry.clone();
    let server = HttpServer::new(move || {
        let (app, api) = App::new()
            .into_utoipa_app()
            .app_data(app_registry.clone())
            .app_data(token.clone())
            .app_data(datasets.clone())
            .app_data(nats_status.clone())
            .app_data(scrape.clone())
            .app_data(web::Data::new(adapters.clone()))
            .app_data(web::Data::new(profiles.clone()))
            .app_data(web::Data::new(workspace_handle.clone()))
            .app_data(web::PayloadConfig::new(body_limit))
            .configure(http::routes)
            .split_for_parts();
        app.service(web::resource("/api/dat/openapi.json").app_data(web::Data::new(api)).get(http::openapi_json))
            .service(http::console::index)
            .service(http::console::asset)
            .service(web::resource("/favicon.ico").to(HttpResponse::NoContent))
            .default_service(web::to(http::not_found))
            .wrap(from_fn(http::auth::require_token))
            .wrap(from_fn(http::metrics::count_requests))
    })
    .disable_signals()
    // Long-lived progress streams must not hold shutdown up: they are cut after this grace.
    .shutdown_timeout(3)
    .workers(2)
    .listen(listener)?;
    let address = server.addrs().first().copied().context("the server is not bound to any address")?;
    let url = format!("http://{address}");
    let daemon_file = settings.data_dir.join(DAEMON_FILE);
    std::fs::write(&daemon_file, serde_json::json!({ "url": url, "pid": std::process::id() }).to_string())
        .with_context(|| format!("cannot write {}", daemon_file.display()))?;
    // The one line tests and scripts wait for; logs go to stderr.
    println!("dat listening on {url}");
    tracing::info!(%url, workspace = %settings.workspace.display(), data_dir = %settings.data_dir.display(), nats = ?settings.nats, "daemon started");

    let server = server.run();
    let handle = server.handle();
    let serving = actix_web::rt::spawn(server);
    shutdown.await;
    tracing::info!("shutting down: finishing in-flight requests");
    handle.stop(true).await;
    let _ = serving.await;
    registry.shutdown().await.context("final flush of the event log failed")?;
    if let Some(bridge) = bridge {
        tracing::info!("NATS bridge: publishing what is left and saving the cursor");
        if let Err(e) = bridge.shutdown(BRIDGE_GRACE).await {
            tracing::error!(error = %e, "NATS bridge cursor not saved; the next start re-publishes (de-duplicated)");
        }
    }
    let _ = std::fs::remove_file(&daemon_file);
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the daemon");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
