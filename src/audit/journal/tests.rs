//! The journal: concurrent appends form one gapless chain, a reopened journal continues it, an
//! incomplete last line is cut off, and full segments roll over.

use super::*;
use crate::audit::chain::{Link, Verifier};

fn read_all(dir: &Path, chain: &str) -> Vec<Line> {
    let mut all = Vec::new();
    for (_, path) in segments(dir, chain).expect("segments") {
        let text = std::fs::read(path).expect("read");
        let (lines, used) = complete_lines(&text);
        assert_eq!(used, text.len(), "no partial lines");
        all.extend(lines.into_iter().map(|(l, _)| l));
    }
    all
}

fn verifies(lines: &[Line]) {
    let mut v = Verifier::default();
    for l in lines {
        v.check(&Link {
            seq: l.seq,
            recorded: l.recorded,
            hash: &l.hash,
            body: &l.body,
        })
        .expect("chain holds");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_make_one_durable_chain() {
    let dir = tempfile::tempdir().expect("tmp");
    let journal = Journal::open(dir.path(), "gw", Head::default()).expect("open");
    let mut tasks = Vec::new();
    for i in 0..200 {
        let j = journal.clone();
        tasks.push(tokio::spawn(async move {
            j.append(1_000 + i, &format!("{{\"n\":{i}}}")).await
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.expect("task").expect("appended"));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    assert_eq!(journal.durable(), 200);
    let lines = read_all(dir.path(), "gw");
    assert_eq!(lines.len(), 200, "every acknowledged event is in the file");
    verifies(&lines);
}

#[tokio::test]
async fn a_reopened_journal_continues_the_chain_and_drops_a_torn_tail() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let j = Journal::open(dir.path(), "gw", Head::default()).expect("open");
        for i in 0..3 {
            j.append(i, "{}").await.expect("appended");
        }
        j.close();
    }
    // A write cut short (never acknowledged).
    let (_, path) = segments(dir.path(), "gw")
        .expect("segments")
        .pop()
        .expect("a segment");
    let mut f = OpenOptions::new().append(true).open(&path).expect("open");
    f.write_all(b"4\t9\tabc").expect("torn write");
    drop(f);

    let j = Journal::open(dir.path(), "gw", Head::default()).expect("reopen");
    assert_eq!(j.append(10, "{}").await.expect("appended"), 4);
    j.close();
    let lines = read_all(dir.path(), "gw");
    assert_eq!(lines.len(), 4);
    verifies(&lines);
}

#[tokio::test]
async fn the_chain_continues_from_the_store_when_the_journal_is_gone() {
    let dir = tempfile::tempdir().expect("tmp");
    let stored = Head {
        seq: 41,
        hash: crate::audit::chain::hash(GENESIS, 41, 0, "x"),
    };
    let j = Journal::open(dir.path(), "gw", stored.clone()).expect("open");
    assert_eq!(j.append(5, "{}").await.expect("appended"), 42);
    j.close();
    let line = read_all(dir.path(), "gw").pop().expect("a line");
    assert_eq!(
        line.hash,
        crate::audit::chain::hash(&stored.hash, 42, 5, "{}")
    );
}

#[tokio::test]
async fn full_segments_roll_over_without_breaking_the_chain() {
    let dir = tempfile::tempdir().expect("tmp");
    let j = Journal::open_with(dir.path(), "gw", Head::default(), 200).expect("open");
    for i in 0..10 {
        j.append(i, "{\"some\":\"text of a record\"}")
            .await
            .expect("appended");
    }
    j.close();
    assert!(segments(dir.path(), "gw").expect("segments").len() > 1);
    let lines = read_all(dir.path(), "gw");
    assert_eq!(lines.len(), 10);
    verifies(&lines);
}

#[tokio::test]
async fn a_closed_journal_refuses_events() {
    let dir = tempfile::tempdir().expect("tmp");
    let j = Journal::open(dir.path(), "gw", Head::default()).expect("open");
    j.close();
    assert_eq!(j.append(1, "{}").await, Err(JournalError::Closed));
}

#[test]
fn the_chains_of_a_directory_are_named_by_their_segments() {
    let dir = tempfile::tempdir().expect("tmp");
    for name in [
        "gw-b.00000000000000000001.log",
        "gw-a.00000000000000000001.log",
        "gw-a.00000000000000000040.log",
        "gw-c.1.log",
        "notes.txt",
    ] {
        std::fs::write(dir.path().join(name), "").expect("file");
    }
    assert_eq!(chains(dir.path()).expect("chains"), vec!["gw-a", "gw-b"]);
    assert!(chains(&dir.path().join("none")).expect("none").is_empty());
}

/// A complete line made unreadable is not taken for a torn write: reopening keeps it and every
/// line after it (acknowledged events), and continues the chain after the last line.
#[tokio::test]
async fn a_reopened_journal_keeps_a_changed_line_and_what_follows_it() {
    let dir = tempfile::tempdir().expect("tmp");
    {
        let j = Journal::open(dir.path(), "gw", Head::default()).expect("open");
        for i in 0..5 {
            j.append(i, "{}").await.expect("appended");
        }
        j.close();
    }
    let (_, path) = segments(dir.path(), "gw")
        .expect("segments")
        .pop()
        .expect("a segment");
    let text = std::fs::read_to_string(&path).expect("read");
    // The third line's sequence number loses its tab.
    let changed: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let l = if i == 2 {
                l.replacen('\t', " ", 1)
            } else {
                l.to_owned()
            };
            l + "\n"
        })
        .collect();
    std::fs::write(&path, &changed).expect("changed");
    let j = Journal::open(dir.path(), "gw", Head::default()).expect("reopen");
    assert_eq!(j.append(10, "{}").await.expect("appended"), 6);
    j.close();
    let after = std::fs::read_to_string(&path).expect("read");
    assert!(after.starts_with(&changed), "nothing cut off");
    assert_eq!(after.lines().count(), 6);
}

#[tokio::test]
async fn a_request_that_is_expected_never_holds_back_others_for_good() {
    let dir = tempfile::tempdir().expect("tmp");
    let journal = Journal::open(dir.path(), "gw", Head::default()).expect("open");
    // A request announced and still being served (or gone without recording).
    let slow = journal.expect();
    let appended =
        tokio::time::timeout(std::time::Duration::from_secs(5), journal.append(1, "{}")).await;
    assert_eq!(appended, Ok(Ok(1)), "synced once the window passed");
    // Its own event, when it comes, is synced too; a withdrawn announcement leaves nothing owed.
    let own = journal.append_expected(2, "{}", Some(slow)).await;
    assert_eq!(own, Ok(2));
    drop(journal.expect());
    assert_eq!(journal.append(3, "{}").await, Ok(3));
    assert_eq!(journal.durable(), 3);
}

/// Not a check but a measurement: 32 tasks (`JOURNAL_BENCH_TASKS`) append 20,000 events
/// (`JOURNAL_BENCH_EVENTS`) of about 1 kB (a real event's size), and the journal's sync time is read from the metrics. Run alone,
/// on the disk to measure (`TMPDIR`), so that no other test's syncs are counted:
/// `cargo test --lib journal_sync_latency -- --ignored --nocapture`. One task gives the latency
/// of a sync of one event; eight give batches of about 9 kB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a measurement, not a check"]
async fn journal_sync_latency() {
    let setting = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(default)
    };
    let tasks = setting("JOURNAL_BENCH_TASKS", 32);
    let events = setting("JOURNAL_BENCH_EVENTS", 20_000) / tasks * tasks;
    let dir = tempfile::tempdir().expect("tmp");
    let journal = Journal::open(dir.path(), "gw", Head::default()).expect("open");
    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(1_000));
    let syncs = || {
        let text = crate::metrics::global().render();
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
    };
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

/// Reading a segment's written data stops at the zeros, having read at most one chunk of them.
#[test]
fn reading_a_segment_stops_at_its_zeros() {
    struct Counted<'a>(&'a [u8], usize);
    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.read(buf)?;
            self.1 += n;
            Ok(n)
        }
    }
    let text = [b"1\ta\n2\tb\n".as_slice(), &vec![0u8; 8 * READ_CHUNK]].concat();
    let mut source = Counted(&text, 0);
    let mut data = Written::new(&mut source);
    let mut read = Vec::new();
    data.read_to_end(&mut read).expect("read");
    assert!(data.ended());
    assert_eq!(read, b"1\ta\n2\tb\n");
    assert!(source.1 <= READ_CHUNK, "{} bytes read", source.1);
    assert_eq!(written(&text), read);
    assert_eq!(written(b"1\ta\n2\tb"), b"1\ta\n2\tb", "no zeros: all of it");
    assert_eq!(entries(&text).count(), 2);
}
