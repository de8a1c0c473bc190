//! `/metrics` in the Prometheus text format: requests by route and status, a latency
//! histogram, and the index generation. Written by hand: three series need a few atomics and
//! a mutex, not a metrics registry and its exporter.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0002, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum of latencies in microseconds.
    sum_us: AtomicU64,
    generation: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: Mutex::new(BTreeMap::new()),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
            generation: AtomicU64::new(1),
        }
    }
}

impl Metrics {
    pub fn observe(&self, route: &str, status: u16, took: Duration) {
        if let Ok(mut m) = self.requests.lock() {
            *m.entry((route.to_string(), status)).or_default() += 1;
        }
        let secs = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn set_generation(&self, g: u64) {
        self.generation.store(g, Ordering::Relaxed);
    }

    fn text(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP kb_requests_total HTTP requests answered, by route and status.\n");
        out.push_str("# TYPE kb_requests_total counter\n");
        if let Ok(m) = self.requests.lock() {
            for ((route, status), n) in m.iter() {
                out.push_str(&format!(
                    "kb_requests_total{{route=\"{}\",status=\"{status}\"}} {n}\n",
                    route.replace(['\\', '"', '\n'], "_")
                ));
            }
        }
        out.push_str("# HELP kb_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE kb_request_duration_seconds histogram\n");
        for (i, b) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "kb_request_duration_seconds_bucket{{le=\"{b}\"}} {}\n",
                self.buckets[i].load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        out.push_str(&format!(
            "kb_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "kb_request_duration_seconds_sum {}\n",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str(&format!("kb_request_duration_seconds_count {count}\n"));
        out.push_str(
            "# HELP kb_index_generation Index generation served (1 at start, +1 per reload).\n",
        );
        out.push_str("# TYPE kb_index_generation gauge\n");
        out.push_str(&format!(
            "kb_index_generation {}\n",
            self.generation.load(Ordering::Relaxed)
        ));
        out
    }
}

pub async fn render(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.text(),
    )
        .into_response()
}
