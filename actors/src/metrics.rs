//! The daemon's metrics (`GET /api/dat/metrics`, Prometheus text format), kept with
//! `prometheus-client`: counters and histograms the system moves as it works, and gauges the
//! scrape sets from what it reads at that moment (runs by state, NATS lag, probes queued).
//! One [`Metrics`] is made by the binary and handed down; nothing here is global.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// A label set of one label, e.g. `{stage="parse"}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabel {
    /// The stage.
    pub stage: String,
}

/// `{state="open"}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabel {
    /// The run state: open, running or completed.
    pub state: String,
}

/// `{route="/api/dat/runs/{run_id}", status="200"}`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The matched route pattern (never the path itself: ids would make every path a series).
    pub route: String,
    /// The HTTP status code.
    pub status: String,
}

/// Every metric of the daemon.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Runs by state (set at each scrape).
    pub runs: Family<StateLabel, Gauge>,
    /// How long stages took to do their work, by stage.
    pub stage_duration: Family<StageLabel, Histogram>,
    /// Rows written to datasets.
    pub rows_parsed: Counter,
    /// Input bytes of the tables parsed.
    pub bytes_parsed: Counter,
    /// Records rejected by parse.
    pub rejects: Counter,
    /// Events appended to run logs.
    pub event_appends: Counter,
    /// How long each flush of the event log (one write, one fdatasync) took.
    pub fsync: Histogram,
    /// Events not yet acknowledged by NATS (set at each scrape; 0 without NATS).
    pub nats_lag: Gauge,
    /// NATS publishing sessions that failed (set at each scrape from the bridge's count).
    pub nats_publish_errors: Counter,
    /// Files waiting for a probe worker (set at each scrape).
    pub probe_queue_depth: Gauge,
    /// HTTP requests by route and status.
    pub http_requests: Family<RequestLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            runs: Family::default(),
            // 10 ms to about 3 hours.
            stage_duration: Family::new_with_constructor(|| Histogram::new(exponential_buckets(0.01, 3.0, 12))),
            rows_parsed: Counter::default(),
            bytes_parsed: Counter::default(),
            rejects: Counter::default(),
            event_appends: Counter::default(),
            // 20 µs to about 1.3 s.
            fsync: Histogram::new(exponential_buckets(0.00002, 3.0, 11)),
            nats_lag: Gauge::default(),
            nats_publish_errors: Counter::default(),
            probe_queue_depth: Gauge::default(),
            http_requests: Family::default(),
        }
    }
}

impl Metrics {
    /// A registry holding every metric under its `dat_` name.
    pub fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("dat");
        r.register("runs", "Runs by state", self.runs.clone());
        r.register("stage_duration_seconds", "Time stages took to do their work", self.stage_duration.clone());
        r.register("rows_parsed", "Rows written to datasets", self.rows_parsed.clone());
        r.register("bytes_parsed", "Input bytes of the tables parsed", self.bytes_parsed.clone());
        r.register("rejects", "Records rejected by parse", self.rejects.clone());
        r.register("event_appends", "Events appended to run logs", self.event_appends.clone());
        r.register("fsync_seconds", "Time of each event log flush (write and fdatasync)", self.fsync.clone());
        r.register("nats_lag", "Events not yet acknowledged by NATS", self.nats_lag.clone());
        r.register("nats_publish_errors", "NATS publishing sessions that failed", self.nats_publish_errors.clone());
        r.register("probe_queue_depth", "Files waiting for a probe worker", self.probe_queue_depth.clone());
        r.register("http_requests", "HTTP requests by route and status", self.http_requests.clone());
        r
    }

    /// Records how long `stage` took.
    pub fn stage_took(&self, stage: dat_contracts::Stage, seconds: f64) {
        self.stage_duration.get_or_create(&StageLabel { stage: stage.to_string() }).observe(seconds);
    }

    /// The text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_are_exposed_under_their_names_with_their_types() {
        let m = Metrics::default();
        m.rows_parsed.inc_by(5);
        m.stage_took(dat_contracts::Stage::Parse, 1.5);
        m.http_requests.get_or_create(&RequestLabels { route: "/api/dat/health".into(), status: "200".into() }).inc();
        let text = m.encode();
        assert!(
            text.contains("# TYPE dat_rows_parsed_total counter") || text.contains("# TYPE dat_rows_parsed counter"),
            "{text}"
        );
        assert!(text.contains("dat_rows_parsed_total 5"), "{text}");
        assert!(text.contains("dat_stage_duration_seconds_count{stage=\"parse\"} 1"), "{text}");
        assert!(text.contains("dat_http_requests_total{route=\"/api/dat/health\",status=\"200\"} 1"), "{text}");
    }
}
