//! End-to-end tests: each starts the real `dat` binary on a fresh temp data dir and drives it
//! over HTTP and the CLI, as a user or another tool would. One test binary keeps link time down.

mod support;

mod bad_input;
mod cli;
mod concurrency;
mod console;
mod crash_recovery;
mod export;
mod lifecycle;
mod nats;
mod operations;
mod parquet_types;
mod parse;
mod probe;
mod profiles;
mod real_world;
mod source_changed;
mod stages;
mod stress;
