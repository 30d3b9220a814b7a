//! What only a journal can hold: a line that is not an event, a finished segment cut short, a
//! chain that is not in the store at all, and a segment that cannot be opened.

use super::*;
use crate::audit::journal::{Head, Journal, SEGMENT_BYTES, segments, written};

async fn store(dir: &Path) -> Store {
    Store::open(&format!("sqlite://{}", dir.join("s.db").display()))
        .await
        .expect("store")
}

async fn journal(dir: &Path, segment_bytes: u64, n: u64) {
    let j = Journal::open_with(dir, "gw", Head::default(), segment_bytes).expect("journal");
    for i in 1..=n {
        j.append(0, &format!("{{\"n\":{i}}}"))
            .await
            .expect("appended");
    }
    j.close();
}

fn fault(report: &Report) -> (Break, u64) {
    let (_, f) = report.broken.as_ref().expect("a break");
    match &f.place {
        Place::Journal(at) => (f.at.clone(), at.line),
        Place::Store => panic!("in the store: {f}"),
    }
}

#[tokio::test]
async fn a_journal_only_chain_verifies_from_its_first_event() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit");
    journal(&audit, u64::MAX, 4).await;
    let (_, path) = segments(&audit, "gw").expect("segments").remove(0);
    let text = std::fs::read(&path).expect("read");
    assert_eq!(text.len() as u64, SEGMENT_BYTES, "a preallocated segment");
    assert!(written(&text).len() < text.len());
    let report = all(&store(dir.path()).await, Some(&audit))
        .await
        .expect("verify");
    assert_eq!((report.count(), report.journal_count()), (4, 4));
    assert_eq!(report.broken, None);
    let none = all(&store(dir.path()).await, Some(&dir.path().join("nowhere")))
        .await
        .expect("verify");
    assert_eq!((none.count(), none.journal.len()), (0, 0));
}

#[tokio::test]
async fn a_line_that_is_not_an_event_is_an_altered_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit");
    journal(&audit, u64::MAX, 4).await;
    let (_, path) = segments(&audit, "gw").expect("segments").remove(0);
    let text = std::fs::read_to_string(&path).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    // The third line loses its hash field.
    let cut: Vec<&str> = lines[2].splitn(4, '\t').collect();
    let third = format!("{}\t{}\t{}", cut[0], cut[1], cut[3]);
    let edited = [lines[0], lines[1], &third, lines[3]].join("\n") + "\n";
    std::fs::write(&path, edited).expect("edited");
    let report = all(&store(dir.path()).await, Some(&audit))
        .await
        .expect("verify");
    assert_eq!(fault(&report), (Break::Unreadable { seq: 3 }, 3));
}

#[tokio::test]
async fn a_finished_segment_cut_short_is_a_break_and_the_newest_one_is_not() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit");
    journal(&audit, 60, 6).await;
    let all_segments = segments(&audit, "gw").expect("segments");
    assert!(all_segments.len() > 2, "{all_segments:?}");
    // The newest ends in the middle of a line: being written.
    let (_, newest) = all_segments.last().expect("newest");
    let mut text = std::fs::read(newest).expect("read");
    text.extend_from_slice(b"7\t0\tab");
    std::fs::write(newest, &text).expect("written");
    let s = store(dir.path()).await;
    let intact = all(&s, Some(&audit)).await.expect("verify");
    assert_eq!((intact.count(), intact.broken.clone()), (6, None));
    // The first loses its final newline: cut short after it was finished.
    let (_, first) = &all_segments[0];
    let text = std::fs::read(first).expect("read");
    let lines = text.iter().filter(|b| **b == b'\n').count() as u64;
    std::fs::write(first, &text[..text.len() - 1]).expect("cut");
    let report = all(&s, Some(&audit)).await.expect("verify");
    let (at, line) = fault(&report);
    assert_eq!(line, lines);
    assert!(matches!(at, Break::Unreadable { .. }), "{at:?}");
}

#[tokio::test]
async fn a_segment_that_cannot_be_opened_is_an_error_not_a_wait() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit");
    std::fs::create_dir_all(&audit).expect("dir");
    std::os::unix::fs::symlink(
        dir.path().join("gone"),
        audit.join("gw.00000000000000000001.log"),
    )
    .expect("link");
    let result = all(&store(dir.path()).await, Some(&audit)).await;
    assert!(matches!(result, Err(Error::Internal(_))), "{result:?}");
    // A device in a segment's place (as when a test makes the journal fail) reads as empty.
    std::fs::remove_file(audit.join("gw.00000000000000000001.log")).expect("removed");
    std::os::unix::fs::symlink("/dev/full", audit.join("gw.00000000000000000001.log"))
        .expect("link");
    let report = all(&store(dir.path()).await, Some(&audit))
        .await
        .expect("verify");
    assert_eq!((report.count(), report.broken), (0, None));
}

/// A finished segment with zeros after its lines (the journal was reopened with smaller
/// segments) verifies; with the newline of its last line gone (a zero in its place) it was cut
/// short, and that is a break.
#[tokio::test]
async fn a_finished_preallocated_segment_verifies_and_cut_short_is_a_break() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit");
    journal(&audit, 4096, 4).await;
    let j = Journal::open_with(&audit, "gw", Head::default(), 60).expect("journal");
    for i in 5..=6 {
        j.append(0, &format!("{{\"n\":{i}}}"))
            .await
            .expect("appended");
    }
    j.close();
    let all_segments = segments(&audit, "gw").expect("segments");
    assert!(all_segments.len() > 1, "{all_segments:?}");
    let (_, first) = &all_segments[0];
    let mut text = std::fs::read(first).expect("read");
    let end = written(&text).len();
    assert_eq!(text.len(), 4096, "zeros after its lines");
    let s = store(dir.path()).await;
    let intact = all(&s, Some(&audit)).await.expect("verify");
    assert_eq!((intact.count(), intact.broken.clone()), (6, None));
    text[end - 1] = 0;
    std::fs::write(first, &text).expect("cut");
    let report = all(&s, Some(&audit)).await.expect("verify");
    assert_eq!(fault(&report), (Break::Unreadable { seq: 5 }, 5));
}

/// Zeros after a segment's lines (the rest of a preallocated segment) are where its data ends,
/// not lines to verify, in the newest segment as in a finished one.
#[tokio::test]
async fn zeros_after_the_lines_are_where_a_segment_ends() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("audit");
    journal(&audit, 100, 3).await;
    let all_segments = segments(&audit, "gw").expect("segments");
    assert!(all_segments.len() > 1, "{all_segments:?}");
    for (_, path) in &all_segments {
        let mut text = std::fs::read(path).expect("read");
        text.truncate(written(&text).len());
        text.extend_from_slice(&[0; 1 << 20]);
        std::fs::write(path, &text).expect("zeros after the lines");
    }
    let report = all(&store(dir.path()).await, Some(&audit))
        .await
        .expect("verify");
    assert_eq!((report.count(), report.broken), (3, None));
}
