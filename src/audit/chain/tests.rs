//! Every kind of tampering with a stored chain is found, at the first event it touches.

use super::*;

struct Row {
    seq: u64,
    recorded: i64,
    hash: String,
    body: String,
}

fn chain(n: u64) -> Vec<Row> {
    let mut prev = GENESIS.to_owned();
    (1..=n)
        .map(|seq| {
            let body = format!("{{\"resourceType\":\"AuditEvent\",\"n\":{seq}}}");
            let recorded = 1_790_000_000_000 + i64::try_from(seq).unwrap_or(0);
            let h = hash(&prev, seq, recorded, &body);
            prev.clone_from(&h);
            Row {
                seq,
                recorded,
                hash: h,
                body,
            }
        })
        .collect()
}

fn verify(rows: &[Row]) -> Result<Verified, Break> {
    let mut v = Verifier::default();
    for r in rows {
        v.check(&Link {
            seq: r.seq,
            recorded: r.recorded,
            hash: &r.hash,
            body: &r.body,
        })?;
    }
    Ok(v.finish())
}

#[test]
fn an_untouched_chain_verifies_and_reports_its_head() {
    let rows = chain(5);
    let v = verify(&rows).expect("intact");
    assert_eq!((v.count, v.head_seq), (5, 5));
    assert_eq!(v.head_hash, rows[4].hash);
    assert_eq!(verify(&[]).expect("empty").head_hash, GENESIS);
}

#[test]
fn a_changed_field_is_found_at_its_event() {
    let mut rows = chain(5);
    rows[2].body = rows[2].body.replace("\"n\":3", "\"n\":33");
    assert_eq!(verify(&rows), Err(Break::Altered { seq: 3 }));
    let mut rows = chain(5);
    rows[1].recorded += 1;
    assert_eq!(verify(&rows), Err(Break::Altered { seq: 2 }));
}

#[test]
fn a_removed_event_is_found_even_when_the_rest_is_renumbered() {
    let mut rows = chain(5);
    rows.remove(2);
    assert_eq!(
        verify(&rows),
        Err(Break::Missing {
            expected: 3,
            found: 4
        })
    );
    // Renumbering to hide the gap breaks the hash of the first renumbered event.
    for r in rows.iter_mut().skip(2) {
        r.seq -= 1;
    }
    assert_eq!(verify(&rows), Err(Break::Altered { seq: 3 }));
}

#[test]
fn an_inserted_event_and_swapped_events_are_found() {
    let mut rows = chain(5);
    let forged = Row {
        seq: 3,
        recorded: 0,
        hash: "f".repeat(64),
        body: "{}".into(),
    };
    rows.insert(3, forged);
    assert_eq!(verify(&rows), Err(Break::OutOfOrder { found: 3, after: 3 }));
    let mut rows = chain(5);
    rows.swap(1, 2);
    assert_eq!(
        verify(&rows),
        Err(Break::Missing {
            expected: 2,
            found: 3
        })
    );
    // Swapping the contents but keeping the numbers in place.
    let mut rows = chain(5);
    let (a, b) = (rows[1].body.clone(), rows[2].body.clone());
    rows[1].body = b;
    rows[2].body = a;
    assert_eq!(verify(&rows), Err(Break::Altered { seq: 2 }));
}
