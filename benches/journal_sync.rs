//! What the audit journal's durable write costs on this disk: 32 tasks (`JOURNAL_BENCH_TASKS`)
//! append 20,000 events (`JOURNAL_BENCH_EVENTS`) of about 1 kB (a real event's size) and the
//! journal's own sync metrics are read back. Run it on the disk to measure (`TMPDIR`):
//!
//!     cargo bench --bench journal_sync
//!     JOURNAL_BENCH_TASKS=1 cargo bench --bench journal_sync   # the latency of one event's sync
//!
//! One task gives the latency of a sync of one event; eight give batches of about 9 kB.

use carebridge::audit::journal::{Head, Journal, complete_lines, segments};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

/// The journal's sync seconds and sync count so far, from the metrics registry.
fn syncs() -> (f64, f64) {
    let text = carebridge::metrics::global().render();
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    (
        value("carebridge_audit_journal_sync_seconds_sum{}"),
        value("carebridge_audit_journal_sync_seconds_count{}"),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let tasks = setting("JOURNAL_BENCH_TASKS", 32);
    let events = setting("JOURNAL_BENCH_EVENTS", 20_000) / tasks * tasks;
    let dir = tempfile::tempdir().expect("tmp");
    let journal = Journal::open(dir.path(), "gw", Head::default()).expect("open");
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(1_000));
    let (seconds_before, count_before) = syncs();
    let start = std::time::Instant::now();
    let running: Vec<_> = (0..tasks)
        .map(|_| {
            let (journal, body) = (journal.clone(), body.clone());
            tokio::spawn(async move {
                for _ in 0..events / tasks {
                    journal.append(0, &body).await.expect("appended");
                }
            })
        })
        .collect();
    for t in running {
        t.await.expect("task");
    }
    let took = start.elapsed();
    let (seconds, count) = syncs();
    let (seconds, count) = (seconds - seconds_before, count - count_before);
    let bytes: u64 = segments(dir.path(), "gw")
        .expect("segments")
        .iter()
        .map(|(_, p)| {
            let text = std::fs::read(p).expect("read");
            complete_lines(&text).1 as u64
        })
        .sum();
    println!(
        "{tasks} tasks, {events} events in {took:.2?}: {:.0} events/s, {count} syncs, {:.0} events and {:.1} kB a sync, mean write+sync {:.1} us",
        events as f64 / took.as_secs_f64(),
        events as f64 / count,
        bytes as f64 / count / 1000.0,
        seconds / count * 1e6,
    );
    journal.close();
}
