//! The journal: concurrent appends form one gapless chain, a reopened journal continues it, an
//! incomplete last line is cleared (zeros) or, in a segment from before preallocation, cut off,
//! full segments roll over into ones made ahead, and a segment that cannot be made is a failure
//! the journal recovers from.

use super::*;
use crate::audit::chain::{Link, Verifier};

/// Every line of every segment, checking that nothing but zeros follows the complete lines.
fn read_all(dir: &Path, chain: &str) -> Vec<Line> {
    let mut all = Vec::new();
    for (_, path) in segments(dir, chain).expect("segments") {
        let text = std::fs::read(path).expect("read");
        let (lines, used) = complete_lines(&text);
        assert!(text[used..].iter().all(|b| *b == 0), "no partial lines");
        all.extend(lines.into_iter().map(|(l, _)| l));
    }
    all
}

/// The newest segment of `gw` in `dir`.
fn newest(dir: &Path) -> PathBuf {
    segments(dir, "gw")
        .expect("segments")
        .pop()
        .expect("a segment")
        .1
}

/// Where the written data of the segment at `path` ends.
fn data_end(path: &Path) -> u64 {
    byte_count(written(&std::fs::read(path).expect("read")).len())
}

/// Journals `n` events of `gw` in `dir` (segments of `segment_bytes`) and closes it.
async fn record(dir: &Path, segment_bytes: u64, n: u64) {
    let j = Journal::open_with(dir, "gw", Head::default(), segment_bytes).expect("open");
    for i in 0..n {
        j.append(i.cast_signed(), "{}").await.expect("appended");
    }
    j.close();
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
    // A write cut short (never acknowledged): part of a line over the zeros, and a later page of
    // the same batch that reached the disk before the one between.
    let path = newest(dir.path());
    let end = data_end(&path);
    let f = OpenOptions::new().write(true).open(&path).expect("open");
    f.write_all_at(b"4\t9\tabc", end).expect("torn write");
    f.write_all_at(b"d\n5\t9\tef", end + 5000)
        .expect("a later page");
    drop(f);

    let j = Journal::open(dir.path(), "gw", Head::default()).expect("reopen");
    assert_eq!(j.append(10, "{}").await.expect("appended"), 4);
    j.close();
    let lines = read_all(dir.path(), "gw");
    assert_eq!(lines.len(), 4);
    verifies(&lines);
    assert_eq!(
        std::fs::metadata(&path).expect("metadata").len(),
        SEGMENT_BYTES,
        "still preallocated"
    );
}

/// A NUL that corruption put inside an acknowledged line makes the rest of the segment look
/// unwritten, and start-up clears it; it first keeps those bytes beside the segment, exactly as
/// they were, in a file no reader takes for a segment.
#[tokio::test]
async fn bytes_cleared_at_start_are_kept_beside_the_segment() {
    let dir = tempfile::tempdir().expect("tmp");
    record(dir.path(), SEGMENT_BYTES, 5).await;
    let path = newest(dir.path());
    let end = usize::try_from(data_end(&path)).expect("small");
    let mut text = std::fs::read(&path).expect("read");
    let second = text.iter().position(|b| *b == b'\n').expect("a line") + 1;
    text[second + 3] = 0;
    std::fs::write(&path, &text).expect("corrupted");

    let j = Journal::open(dir.path(), "gw", Head::default()).expect("reopen");
    j.close();
    let name = path.file_name().and_then(|n| n.to_str()).expect("name");
    let kept = dir.path().join(format!("{name}.{second}.discarded"));
    assert_eq!(
        std::fs::read(&kept).expect("kept"),
        text[second..end],
        "the four later lines, with the NUL"
    );
    assert!(
        std::fs::read(&path).expect("read")[second..end]
            .iter()
            .all(|b| *b == 0),
        "cleared in the segment"
    );
    assert_eq!(segments(dir.path(), "gw").expect("segments").len(), 1);
    assert_eq!(chains(dir.path()).expect("chains"), vec!["gw".to_owned()]);
}

/// A segment written before preallocation (no zeros after its lines) opens as it always did: an
/// incomplete last line is cut off, and the chain goes on at its end.
#[tokio::test]
async fn a_segment_from_before_preallocation_still_opens() {
    let dir = tempfile::tempdir().expect("tmp");
    record(dir.path(), SEGMENT_BYTES, 3).await;
    let path = newest(dir.path());
    let mut text = std::fs::read(&path).expect("read");
    text.truncate(usize::try_from(data_end(&path)).expect("small"));
    let lines = text.len();
    text.extend_from_slice(b"4\t9\tabc");
    std::fs::write(&path, &text).expect("an old segment, cut short");

    let j = Journal::open(dir.path(), "gw", Head::default()).expect("reopen");
    assert_eq!(j.append(10, "{}").await.expect("appended"), 4);
    j.close();
    let after = std::fs::read(&path).expect("read");
    assert_eq!(
        after[..lines],
        text[..lines],
        "nothing before the tail changed"
    );
    assert!(!after.contains(&0), "no zeros added");
    let (complete, used) = complete_lines(&after);
    assert_eq!((complete.len(), used), (4, after.len()));
    let all = read_all(dir.path(), "gw");
    assert_eq!(all.len(), 4);
    verifies(&all);
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
    let path = newest(dir.path());
    let mut text = std::fs::read(&path).expect("read");
    let end = usize::try_from(data_end(&path)).expect("small");
    // The third line's sequence number loses its tab.
    let third = text[..end]
        .split(|b| *b == b'\n')
        .take(2)
        .map(|l| l.len() + 1)
        .sum::<usize>();
    let tab = third
        + text[third..]
            .iter()
            .position(|b| *b == b'\t')
            .expect("a tab");
    text[tab] = b' ';
    std::fs::write(&path, &text).expect("changed");
    let j = Journal::open(dir.path(), "gw", Head::default()).expect("reopen");
    assert_eq!(j.append(10, "{}").await.expect("appended"), 6);
    j.close();
    let after = std::fs::read(&path).expect("read");
    assert_eq!(after[..end], text[..end], "nothing cut off");
    assert_eq!(
        written(&after).split(|b| *b == b'\n').count(),
        7,
        "six lines"
    );
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

/// A batch waits for the requests already under way when the flusher began gathering it, and
/// not for those announced after: in a closed loop a client's next request is always under way,
/// and waiting for it held every batch for the whole window.
#[tokio::test]
async fn a_batch_waits_for_requests_under_way_but_not_for_later_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let window = std::time::Duration::from_secs(60);
    let journal = Journal::open_windowed(dir.path(), "gw", Head::default(), SEGMENT_BYTES, window)
        .expect("open");
    let early = journal.expect();
    let first = tokio::spawn({
        let journal = journal.clone();
        async move { journal.append(1, "{}").await }
    });
    let gathering = || {
        journal
            .inner
            .state
            .lock()
            .expect("state")
            .announced
            .generation
            > 0
    };
    while !gathering() {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let late = journal.expect();
    let mut first = first;
    let waited = tokio::time::timeout(std::time::Duration::from_millis(200), &mut first).await;
    assert!(waited.is_err(), "the batch waits for the request under way");
    let own = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        journal.append_expected(2, "{}", Some(early)),
    )
    .await;
    assert_eq!(
        own,
        Ok(Ok(2)),
        "synced without waiting for the later request"
    );
    assert_eq!(first.await.expect("task"), Ok(1));
    assert_eq!(journal.durable(), 2);
    drop(late);
    journal.close();
}

/// A new segment is made of zeros at its full size before anything is written to it; the next is
/// made (under another name) while the current one fills, and is the segment rolled into.
#[tokio::test]
async fn segments_are_preallocated_with_zeros_and_made_ahead() {
    let dir = tempfile::tempdir().expect("tmp");
    let bytes = 4096;
    let j = Journal::open_with(dir.path(), "gw", Head::default(), bytes).expect("open");
    let first = newest(dir.path());
    let text = std::fs::read(&first).expect("read");
    assert_eq!(text.len(), 4096, "made at its full size");
    assert!(text.iter().all(|b| *b == 0), "of zeros");
    let next = next_path(dir.path(), "gw");
    assert!(
        !next.exists(),
        "nothing made ahead while the segment is nearly empty"
    );

    let body = format!("{{\"pad\":\"{}\"}}", "x".repeat(400));
    let mut appended = 0;
    while data_end(&first) < bytes / 2 {
        j.append(0, &body).await.expect("appended");
        appended += 1;
    }
    j.append(0, &body).await.expect("appended");
    appended += 1;
    let made = async {
        while std::fs::metadata(&next).map(|m| m.len()).unwrap_or(0) < bytes {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), made)
        .await
        .expect("the next segment is made once the current one is half full");
    assert_eq!(
        segments(dir.path(), "gw").expect("segments").len(),
        1,
        "not a segment before it is rolled into"
    );
    assert!(std::fs::read(&next).expect("read").iter().all(|b| *b == 0));

    while segments(dir.path(), "gw").expect("segments").len() == 1 {
        j.append(0, &body).await.expect("appended");
        appended += 1;
    }
    assert!(!next.exists(), "renamed into place");
    let second = newest(dir.path());
    assert_eq!(std::fs::metadata(&second).expect("metadata").len(), 4096);
    j.append(0, &body).await.expect("appended");
    appended += 1;
    j.close();
    let lines = read_all(dir.path(), "gw");
    assert_eq!(lines.len(), appended);
    verifies(&lines);
}

/// A crash just after a roll leaves the newest segment without lines: the chain's head is the
/// last line of the one before, not the store's (which is behind until ingestion catches up).
#[tokio::test]
async fn a_segment_rolled_into_but_never_written_continues_the_chain_before_it() {
    let dir = tempfile::tempdir().expect("tmp");
    record(dir.path(), SEGMENT_BYTES, 3).await;
    std::fs::write(segment_path(dir.path(), "gw", 4), vec![0u8; 4096]).expect("a new segment");
    let j = Journal::open(dir.path(), "gw", Head::default()).expect("reopen");
    assert_eq!(j.append(10, "{}").await.expect("appended"), 4);
    j.close();
    let lines = read_all(dir.path(), "gw");
    assert_eq!(lines.len(), 4);
    verifies(&lines);
}

/// After a failed write, restoring puts zeros back over what it touched and keeps the
/// preallocated length; a segment from before preallocation is cut back instead.
#[test]
fn a_restored_segment_has_zeros_back_where_a_failed_write_went() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("gw.00000000000000000001.log");
    std::fs::write(&path, [b"1\tdone\n".as_slice(), &[0u8; 100]].concat()).expect("segment");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open");
    file.write_all_at(b"2\tpartly written", 7).expect("written");
    let mut segment = Segment {
        file,
        synced: 7,
        touched: 7 + 40,
        allocated: 107,
        next: None,
    };
    segment.restore().expect("restored");
    let after = std::fs::read(&path).expect("read");
    assert_eq!(after, [b"1\tdone\n".as_slice(), &[0u8; 100]].concat());

    std::fs::write(&path, b"1\tdone\n2\tpartly").expect("an old segment");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open");
    let mut segment = Segment {
        file,
        synced: 7,
        touched: 16,
        allocated: 7,
        next: None,
    };
    segment.restore().expect("restored");
    assert_eq!(std::fs::read(&path).expect("read"), b"1\tdone\n");
}

/// A next segment that cannot be made (a full disk; here its name is taken by a directory) is a
/// journal failure like a failed write: events are refused, and once it can be made the journal
/// writes again by itself and the chain goes on without a gap.
#[tokio::test]
async fn a_segment_that_cannot_be_made_fails_the_journal_until_it_can() {
    let dir = tempfile::tempdir().expect("tmp");
    let j = Journal::open_with(dir.path(), "gw", Head::default(), 1024).expect("open");
    let blocked = next_path(dir.path(), "gw");
    std::fs::create_dir(&blocked).expect("in the way");
    let mut acknowledged = Vec::new();
    for i in 0..100 {
        match j.append(i, "{\"some\":\"text of a record\"}").await {
            Ok(seq) => acknowledged.push(seq),
            Err(_) => break,
        }
    }
    assert!(j.failure().is_some(), "the roll failed the journal");
    assert!(j.append(0, "{}").await.is_err(), "refused while failed");
    std::fs::remove_dir(&blocked).expect("out of the way");
    let resumed = async {
        while j.failure().is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(RETRY_INTERVAL * 5, resumed)
        .await
        .expect("writes again by itself");
    for i in 0..5 {
        acknowledged.push(j.append(i, "{}").await.expect("appended"));
    }
    j.close();
    assert!(segments(dir.path(), "gw").expect("segments").len() > 1);
    let lines = read_all(dir.path(), "gw");
    let seqs: Vec<u64> = lines.iter().map(|l| l.seq).collect();
    assert_eq!(seqs, acknowledged, "exactly the acknowledged events");
    assert_eq!(seqs, (1..=byte_count(seqs.len())).collect::<Vec<_>>());
    verifies(&lines);
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
