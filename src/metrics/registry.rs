//! The process's counters and histograms.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

/// Upper bounds of the request latency histogram, seconds.
pub const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Upper bounds of the journal sync histogram, seconds: a sync costs tens of microseconds on a
/// local disk and milliseconds on a network volume.
pub const SYNC_BUCKETS: [f64; 10] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0,
];

/// Observations of one series against `N` bucket bounds.
#[derive(Debug, Clone)]
struct Histogram<const N: usize> {
    count: u64,
    seconds: f64,
    /// Observations at or under each bound (cumulative when rendered).
    buckets: [u64; N],
}

impl<const N: usize> Default for Histogram<N> {
    fn default() -> Self {
        Histogram {
            count: 0,
            seconds: 0.0,
            buckets: [0; N],
        }
    }
}

impl<const N: usize> Histogram<N> {
    fn observe(&mut self, bounds: &[f64; N], took: Duration) {
        let secs = took.as_secs_f64();
        self.count += 1;
        self.seconds += secs;
        if let Some(i) = bounds.iter().position(|b| secs <= *b) {
            self.buckets[i] += 1;
        }
    }

    /// The series' lines: `name_bucket{labels,le=..}`, `name_sum`, `name_count`.
    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64; N]) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut seen = 0;
        for (b, n) in bounds.iter().zip(self.buckets) {
            seen += n;
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {seen}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}\n\
             {name}_sum{{{labels}}} {}\n\
             {name}_count{{{labels}}} {}",
            self.count, self.seconds, self.count
        );
    }
}

type Requests = Histogram<{ BUCKETS.len() }>;

/// What the process has counted.
#[derive(Debug, Default)]
pub struct Registry {
    requests: Mutex<BTreeMap<(&'static str, &'static str, u16), Requests>>,
    decisions: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    notifications: Mutex<BTreeMap<&'static str, u64>>,
    journal_syncs: Mutex<Histogram<{ SYNC_BUCKETS.len() }>>,
}

/// The process's registry.
pub fn global() -> &'static Registry {
    static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);
    &REGISTRY
}

impl Registry {
    /// One FHIR request: its interaction code, resource type (`-` for none), status and duration.
    pub fn request(
        &self,
        interaction: &'static str,
        rtype: &'static str,
        status: u16,
        took: Duration,
    ) {
        if let Ok(mut m) = self.requests.lock() {
            m.entry((interaction, rtype, status))
                .or_default()
                .observe(&BUCKETS, took);
        }
    }

    /// One write and sync of the audit journal (a batch of events).
    pub fn journal_sync(&self, took: Duration) {
        if let Ok(mut h) = self.journal_syncs.lock() {
            h.observe(&SYNC_BUCKETS, took);
        }
    }

    /// One consent decision: `permit`, `redact` or `deny`, and the rule that decided.
    pub fn decision(&self, outcome: &'static str, rule: &'static str) {
        if let Ok(mut m) = self.decisions.lock() {
            *m.entry((outcome, rule)).or_default() += 1;
        }
    }

    /// One notification attempt's outcome (`delivered`, `failed`).
    pub fn notification(&self, outcome: &'static str) {
        if let Ok(mut m) = self.notifications.lock() {
            *m.entry(outcome).or_default() += 1;
        }
    }

    /// The counted families in the text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let requests = self.requests.lock().map(|m| m.clone()).unwrap_or_default();
        out.push_str(
            "# HELP carebridge_requests_total FHIR requests by interaction, resource type and status.\n\
             # TYPE carebridge_requests_total counter\n",
        );
        for ((i, t, s), r) in &requests {
            let _ = writeln!(
                out,
                "carebridge_requests_total{{interaction=\"{i}\",type=\"{t}\",status=\"{s}\"}} {}",
                r.count
            );
        }
        out.push_str(
            "# HELP carebridge_request_duration_seconds FHIR request latency, audit included.\n\
             # TYPE carebridge_request_duration_seconds histogram\n",
        );
        for ((i, t, s), r) in &requests {
            let labels = format!("interaction=\"{i}\",type=\"{t}\",status=\"{s}\"");
            r.render(
                &mut out,
                "carebridge_request_duration_seconds",
                &labels,
                &BUCKETS,
            );
        }
        out.push_str(
            "# HELP carebridge_audit_journal_sync_seconds Time to write and sync one batch of audit events.\n\
             # TYPE carebridge_audit_journal_sync_seconds histogram\n",
        );
        if let Ok(h) = self.journal_syncs.lock() {
            h.render(
                &mut out,
                "carebridge_audit_journal_sync_seconds",
                "",
                &SYNC_BUCKETS,
            );
        }
        out.push_str(
            "# HELP carebridge_consent_decisions_total Consent decisions by outcome and deciding rule.\n\
             # TYPE carebridge_consent_decisions_total counter\n",
        );
        for ((o, rule), n) in self.decisions.lock().map(|m| m.clone()).unwrap_or_default() {
            let _ = writeln!(
                out,
                "carebridge_consent_decisions_total{{outcome=\"{o}\",rule=\"{rule}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP carebridge_notifications_total Notification requests by outcome.\n\
             # TYPE carebridge_notifications_total counter\n",
        );
        for (o, n) in self
            .notifications
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default()
        {
            let _ = writeln!(out, "carebridge_notifications_total{{outcome=\"{o}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_histogram_is_cumulative_and_ends_at_its_count() {
        let r = Registry::default();
        r.request("read", "Patient", 200, Duration::from_micros(700));
        r.request("read", "Patient", 200, Duration::from_millis(30));
        r.request("read", "Patient", 200, Duration::from_secs(20));
        let page = r.render();
        let l = "interaction=\"read\",type=\"Patient\",status=\"200\"";
        assert!(
            page.contains(&format!("carebridge_requests_total{{{l}}} 3")),
            "{page}"
        );
        assert!(
            page.contains(&format!("_bucket{{{l},le=\"0.001\"}} 1")),
            "{page}"
        );
        assert!(
            page.contains(&format!("_bucket{{{l},le=\"0.05\"}} 2")),
            "{page}"
        );
        assert!(
            page.contains(&format!("_bucket{{{l},le=\"10\"}} 2")),
            "{page}"
        );
        assert!(
            page.contains(&format!("_bucket{{{l},le=\"+Inf\"}} 3")),
            "{page}"
        );
    }
}
