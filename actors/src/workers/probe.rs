//! The probe pool: `ProbeWorker` actors on a `SyncArbiter`, one thread per core, each probing
//! or previewing one file at a time with its adapter. Stage executors (which run on tokio's
//! blocking pool) hand a whole batch over and wait for all results.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use dat_contracts::{TablePreview, TableProbe, TableStatus, WorkspacePath};
use futures_util::future::join_all;

use dat_readers::{preview_table, probe_file, AdapterRegistry, ReadOptions, SourceFile, TextHints};

/// Probe every table of one file.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Vec<TableProbe>")]
pub struct ProbeFile {
    /// Workspace-relative path (the table id).
    pub path: WorkspacePath,
    /// Where it is on disk.
    pub disk: PathBuf,
    /// What the user set about its layout (delimited text).
    pub text: TextHints,
}

/// Preview one table.
#[derive(Debug, Clone, Message)]
#[rtype(result = "Result<TablePreview, String>")]
pub struct PreviewTable {
    /// Workspace-relative path.
    pub path: WorkspacePath,
    /// Where it is on disk.
    pub disk: PathBuf,
    /// The sheet, for workbooks.
    pub sheet: Option<String>,
    /// Rows wanted.
    pub rows: usize,
    /// What table availability decided about its layout (delimited text).
    pub text: TextHints,
}

/// One worker thread.
pub struct ProbeWorker {
    adapters: AdapterRegistry,
    options: ReadOptions,
}

impl Actor for ProbeWorker {
    type Context = SyncContext<Self>;
}

fn unsupported(path: &WorkspacePath) -> String {
    format!("{path}: no adapter reads this file type")
}

impl Handler<ProbeFile> for ProbeWorker {
    type Result = Vec<TableProbe>;

    fn handle(&mut self, msg: ProbeFile, _: &mut SyncContext<Self>) -> Vec<TableProbe> {
        let name = msg.path.segments().last().unwrap_or_default().to_owned();
        match self.adapters.for_name(&name) {
            Some((adapter, compression)) => {
                let options = ReadOptions { text: msg.text, ..self.options.clone() };
                probe_file(adapter.as_ref(), &SourceFile::new(&msg.path, &msg.disk, compression), &options)
            }
            None => vec![TableProbe::failed(msg.path.as_str(), "none", TableStatus::Error, unsupported(&msg.path))],
        }
    }
}

impl Handler<PreviewTable> for ProbeWorker {
    type Result = Result<TablePreview, String>;

    fn handle(&mut self, msg: PreviewTable, _: &mut SyncContext<Self>) -> Self::Result {
        let name = msg.path.segments().last().unwrap_or_default().to_owned();
        let (adapter, compression) = self.adapters.for_name(&name).ok_or_else(|| unsupported(&msg.path))?;
        let file = SourceFile::new(&msg.path, &msg.disk, compression);
        let options = ReadOptions { text: msg.text, ..self.options.clone() };
        preview_table(adapter.as_ref(), &file, msg.sheet.as_deref(), msg.rows, &options).map_err(|e| e.to_string())
    }
}

/// The pool's address.
#[derive(Clone)]
pub struct ProbePool {
    addr: Addr<ProbeWorker>,
    /// Files sent to the workers and not yet probed, for the metrics.
    queued: Arc<AtomicU64>,
}

impl ProbePool {
    /// Starts `threads` workers reading within `options`; must be called inside an actix system.
    pub fn start(threads: usize, adapters: AdapterRegistry, options: ReadOptions) -> Self {
        let addr = SyncArbiter::start(threads.max(1), move || ProbeWorker {
            adapters: adapters.clone(),
            options: options.clone(),
        });
        ProbePool { addr, queued: Arc::default() }
    }

    /// Files waiting for (or being probed by) a worker.
    pub fn queue_depth(&self) -> u64 {
        self.queued.load(Ordering::Relaxed)
    }

    /// Probes every file, in parallel across the workers; results in the order of `jobs`.
    /// Blocks the calling thread (call it from a blocking task).
    pub fn probe_all(&self, jobs: Vec<ProbeFile>) -> Vec<Vec<TableProbe>> {
        self.queued.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let sends = jobs.into_iter().map(|job| {
            let path = job.path.clone();
            let reply = self.addr.send(job);
            let queued = self.queued.clone();
            async move {
                let reply = reply.await;
                queued.fetch_sub(1, Ordering::Relaxed);
                reply.unwrap_or_else(|_| {
                    let reason = "the probe worker stopped (the daemon is shutting down)";
                    vec![TableProbe::failed(path.as_str(), "none", TableStatus::Error, reason)]
                })
            }
        });
        futures_executor::block_on(join_all(sends))
    }

    /// Previews every table, in parallel; results in the order of `jobs`. Blocks like [`Self::probe_all`].
    pub fn preview_all(&self, jobs: Vec<PreviewTable>) -> Vec<Result<TablePreview, String>> {
        let sends = jobs.into_iter().map(|job| {
            let reply = self.addr.send(job);
            async move { reply.await.unwrap_or_else(|_| Err("the probe worker stopped".to_owned())) }
        });
        futures_executor::block_on(join_all(sends))
    }
}
