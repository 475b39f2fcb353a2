//! Export tests on real files in temp dirs: a small Parquet dataset with every kind of value
//! (shared with the datasets catalogue tests), a reporter that records progress and stops on
//! demand, and the expected values as JSON.

mod job;
mod roundtrip;
mod xlsx_sheets;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use dat_contracts::bundle::DatasetColumn;
use dat_contracts::{ColumnType, RunId};
use dat_events::ArtifactRef;
use polars::prelude::*;
use serde_json::Value;

use super::cells::{normalize, DatasetRows};
use crate::progress::Progress;
use crate::stages::{Reporter, Stopped};

/// A run id for tests.
pub(crate) fn run_id() -> RunId {
    RunId::from_uuid(uuid::Uuid::now_v7()).expect("v7")
}

/// Days since 1970-01-01 of `y-m-d`.
fn days(y: i32, m: u32, d: u32) -> i32 {
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    (chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date") - epoch).num_days() as i32
}

/// Microseconds since the epoch of `y-m-d h:m:s.ms`.
fn micros(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32, ms: u32) -> i64 {
    let at = chrono::NaiveDate::from_ymd_opt(y, mo, d).expect("date").and_hms_milli_opt(h, mi, s, ms).expect("time");
    at.and_utc().timestamp_micros()
}

/// Six rows of int, float, text (commas, quotes, newline, tab, non-ASCII), bool, date and
/// datetime, with a null in each column; an int beyond 2^53 and a date before 1900 too.
pub(crate) fn sample() -> DataFrame {
    let day: Vec<Option<i32>> = vec![
        Some(days(2024, 5, 1)),
        Some(days(1999, 12, 31)),
        None,
        Some(days(1970, 1, 1)),
        Some(days(1850, 6, 15)),
        Some(days(2000, 2, 29)),
    ];
    let at: Vec<Option<i64>> = vec![
        Some(micros(2024, 5, 1, 12, 30, 0, 250)),
        Some(micros(2000, 1, 1, 0, 0, 0, 0)),
        None,
        Some(micros(1969, 12, 31, 23, 59, 59, 0)),
        Some(micros(2024, 2, 29, 23, 59, 59, 999)),
        Some(micros(1990, 6, 15, 8, 0, 0, 0)),
    ];
    let columns: Vec<Column> = vec![
        Series::new("id".into(), [Some(1i64), Some(-2), None, Some(9_007_199_254_740_993), Some(0), Some(42)]).into(),
        Series::new("value".into(), [Some(1.5f64), Some(-0.25), None, Some(1e10), Some(3.0), Some(2.0e-7)]).into(),
        Series::new(
            "text".into(),
            [
                Some("plain"),
                Some("comma, \"quote\"\nnew line\ttab"),
                None,
                Some("日本語 ünïcödé"),
                Some("x"),
                Some("  spaced  "),
            ],
        )
        .into(),
        Series::new("flag".into(), [Some(true), Some(false), None, Some(true), Some(false), Some(true)]).into(),
        Series::new("day".into(), day).cast(&DataType::Date).expect("date").into(),
        Series::new("at".into(), at).cast(&DataType::Datetime(TimeUnit::Microseconds, None)).expect("datetime").into(),
    ];
    DataFrame::new(6, columns).expect("frame")
}

/// The manifest columns of [`sample`].
pub(crate) fn sample_columns() -> Vec<DatasetColumn> {
    [
        ("id", ColumnType::Int),
        ("value", ColumnType::Float),
        ("text", ColumnType::String),
        ("flag", ColumnType::Bool),
        ("day", ColumnType::Date),
        ("at", ColumnType::Datetime),
    ]
    .into_iter()
    .map(|(name, dtype)| DatasetColumn { name: name.into(), dtype, nullable: true })
    .collect()
}

/// `n` rows of `row` (its index) and `label`.
pub(crate) fn numbered(n: usize) -> DataFrame {
    let rows: Vec<i64> = (0..n as i64).collect();
    let labels: Vec<String> = (0..n).map(|i| format!("row {i}")).collect();
    DataFrame::new(n, vec![Series::new("row".into(), rows).into(), Series::new("label".into(), labels).into()])
        .expect("frame")
}

/// Writes `df` as Parquet with row groups of `group_rows` rows (the parse dataset has many).
pub(crate) fn write_parquet(df: &DataFrame, path: &Path, group_rows: usize) {
    let mut df = df.clone();
    let file = std::fs::File::create(path).expect("create");
    ParquetWriter::new(file).with_row_group_size(Some(group_rows)).finish(&mut df).expect("write parquet");
}

/// The rows of `df` as JSON values: what every format must give back (dates and datetimes as
/// ISO text).
pub(crate) fn expected_rows(df: &DataFrame) -> Vec<Vec<Value>> {
    let columns = normalize(df).expect("normalize");
    let mut rows = DatasetRows::new(&columns).expect("rows");
    let mut row = Vec::new();
    let mut out = Vec::new();
    while rows.next_into(&mut row) {
        out.push(row.iter().map(|c| c.to_json()).collect());
    }
    out
}

/// Records progress; stops once `should_stop` was asked `stop_after` times.
pub(crate) struct TestReporter {
    stop_after: usize,
    asked: AtomicUsize,
    pub(crate) updates: Mutex<Vec<Progress>>,
}

impl TestReporter {
    /// Never stops.
    pub(crate) fn running() -> Self {
        Self::stopping_after(usize::MAX)
    }

    /// Answers `false` `n` times, then `true`.
    pub(crate) fn stopping_after(n: usize) -> Self {
        TestReporter { stop_after: n, asked: AtomicUsize::new(0), updates: Mutex::new(Vec::new()) }
    }
}

impl Reporter for TestReporter {
    fn checkpoint(&self, _: &str, _: u64, _: ArtifactRef) -> Result<(), Stopped> {
        Ok(())
    }

    fn progress(&self, progress: Progress) {
        self.updates.lock().expect("lock").push(progress);
    }

    fn should_stop(&self) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst) >= self.stop_after
    }
}
