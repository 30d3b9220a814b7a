//! Verification covers the journal on both backends: lines not yet copied continue the stored
//! chain and are counted; a line altered, removed or reordered before its copy is reported (chain,
//! sequence number, reason, segment and line), is never copied, and stops every later copy, while
//! recording goes on; reading the journal changes nothing.

use carebridge::audit::chain::Break;
use carebridge::audit::ingest::IngestError;
use carebridge::audit::journal::{Head, Journal, LineAt};
use carebridge::audit::verify;
use carebridge::audit::verify::{Fault, Place};

use crate::harness::Db;
use crate::journal_support::{Tamper, copy, record, segment, stored_seqs};

/// Three events copied, three more only in the journal: six verify, three of them in the journal,
/// and the head is the journal's.
pub async fn journal_lines_not_yet_copied_verify_and_count(db: Db) {
    let store = db.open().await;
    let dir = tempfile::tempdir().expect("tmp");
    record(&store, dir.path(), "gw", 3).await;
    assert_eq!(copy(&store, dir.path(), "gw").await.expect("copied"), 3);
    record(&store, dir.path(), "gw", 3).await;
    let before = std::fs::read(segment(dir.path(), "gw")).expect("segment");

    let stored_only = carebridge::audit::verify::stored(&store)
        .await
        .expect("verify");
    assert_eq!(stored_only.count(), 3);
    let report = verify::all(&store, Some(dir.path())).await.expect("verify");
    assert_eq!(report.broken, None);
    assert_eq!(report.count(), 6);
    assert_eq!(report.journal, vec![("gw".to_owned(), 3)]);
    let (_, gw) = report
        .chains
        .iter()
        .find(|(c, _)| c == "gw")
        .expect("the chain");
    assert_eq!(gw.head_seq, 6);
    assert_eq!(
        std::fs::read(segment(dir.path(), "gw")).expect("segment"),
        before,
        "reading the journal changes nothing"
    );
    assert_eq!(stored_seqs(&store, "gw").await, vec![1, 2, 3]);
}

/// Each way of tampering with line 5 (event 5; events 1-3 copied before) is reported in the
/// journal at that line, both by the verification and by the copy, which stores event 4 and
/// nothing after it, and stops there for good; recording goes on.
pub async fn a_journal_line_changed_before_its_copy_is_reported_and_never_copied(db: Db) {
    let store = db.open().await;
    for tamper in Tamper::ALL {
        let chain = format!("gw-{tamper:?}").to_lowercase();
        let dir = tempfile::tempdir().expect("tmp");
        record(&store, dir.path(), &chain, 3).await;
        copy(&store, dir.path(), &chain).await.expect("copied");
        record(&store, dir.path(), &chain, 4).await;
        tamper.apply(dir.path(), &chain, 5);

        let report = verify::all(&store, Some(dir.path())).await.expect("verify");
        let (broken_chain, fault) = report.broken.clone().expect("a break");
        assert_eq!(broken_chain, chain, "{tamper:?}");
        let at = LineAt {
            segment: segment(dir.path(), &chain),
            line: 5,
        };
        let expected = match tamper {
            Tamper::Body | Tamper::Hash => Break::Altered { seq: 5 },
            Tamper::Delete | Tamper::Swap => Break::Missing {
                expected: 5,
                found: 6,
            },
        };
        assert_eq!(
            fault,
            Fault {
                at: expected.clone(),
                place: Place::Journal(at.clone())
            },
            "{tamper:?}"
        );
        let text = fault.to_string();
        assert!(text.contains(tamper.reason()), "{tamper:?}: {text}");
        assert!(text.contains("in the journal"), "{text}");
        assert!(text.contains("line 5"), "{text}");
        let (_, verified) = report
            .chains
            .iter()
            .find(|(c, _)| *c == chain)
            .expect("the chain");
        assert_eq!(verified.count, 4, "events 1-4 verified before it");

        // The copy checks each line first: event 4 is stored, the changed line is not.
        let head = crate::journal_support::stored_head(&store, &chain).await;
        let journal = Journal::open(dir.path(), &chain, head.clone()).expect("journal");
        let ingester =
            carebridge::audit::ingest::Ingester::new(journal.clone(), store.clone(), head);
        for _ in 0..2 {
            match ingester.catch_up().await {
                Err(IngestError::Broken(b)) => {
                    assert_eq!(
                        (b.chain.as_str(), &b.at, &b.line),
                        (chain.as_str(), &expected, &at)
                    );
                }
                other => panic!("{tamper:?}: {other:?}"),
            }
            assert_eq!(
                stored_seqs(&store, &chain).await,
                vec![1, 2, 3, 4],
                "{tamper:?}"
            );
        }
        // Recording goes on (in the journal, after the break).
        assert!(journal.append(0, "{}").await.expect("recorded") > 7);
        journal.close();
        // Verifying the store alone finds nothing: the break was not copied.
        let stored = carebridge::audit::verify::stored(&store)
            .await
            .expect("verify");
        assert_eq!(stored.broken, None, "{tamper:?}");
    }
}

/// A gateway appending and copying while the journal is verified: a last line still being
/// written is left for the next time, and segments copied and removed meanwhile are found in the
/// store; no verification reports a break.
pub async fn verifying_while_a_gateway_records_and_copies_finds_no_break(db: Db) {
    let store = db.open().await;
    let dir = tempfile::tempdir().expect("tmp");
    let journal = Journal::open_with(dir.path(), "gw", Head::default(), 300).expect("the journal");
    let ingester =
        carebridge::audit::ingest::Ingester::new(journal.clone(), store.clone(), Head::default());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let journal = journal.clone();
            tokio::spawn(async move {
                for i in 0..150u64 {
                    let body = crate::journal_support::body(w * 1000 + i);
                    journal.append(0, &body).await.expect("recorded");
                }
            })
        })
        .collect();
    let copier = {
        let ingester = ingester.clone();
        tokio::spawn(async move {
            for _ in 0..2_000 {
                ingester.catch_up().await.expect("copied");
                tokio::task::yield_now().await;
            }
        })
    };
    let mut checks = 0;
    while !writers.iter().all(|w| w.is_finished()) && checks < 1_000 {
        let report = verify::all(&store, Some(dir.path())).await.expect("verify");
        assert_eq!(report.broken, None, "{report:?}");
        checks += 1;
    }
    for w in writers {
        w.await.expect("writer");
    }
    copier.await.expect("copier");
    ingester.catch_up().await.expect("copied");
    let report = verify::all(&store, Some(dir.path())).await.expect("verify");
    assert_eq!((report.count(), report.broken), (600, None));
    assert!(checks > 0);
    journal.close();
}

/// An incomplete last line (a gateway writing, or a write cut short) is not an error, and is left
/// as it is.
pub async fn an_incomplete_last_line_is_left_alone(db: Db) {
    let store = db.open().await;
    let dir = tempfile::tempdir().expect("tmp");
    record(&store, dir.path(), "gw", 3).await;
    let path = segment(dir.path(), "gw");
    let mut text = std::fs::read(&path).expect("segment");
    let end = crate::journal_support::written_end(&text);
    let torn = b"4\t1790000000004\tabc";
    text[end..end + torn.len()].copy_from_slice(torn);
    std::fs::write(&path, &text).expect("torn");
    let report = verify::all(&store, Some(dir.path())).await.expect("verify");
    assert_eq!((report.count(), report.broken), (3, None));
    assert_eq!(std::fs::read(&path).expect("segment"), text);
}
