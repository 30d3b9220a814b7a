//! How long `carebridge audit verify` takes over a large log (issue 5: 1M events in under 5 s), and
//! over a large journal not yet copied into the store.
//!
//!     cargo bench --bench audit_verify             # 1,000,000 events, 100,000 journal lines
//!     AUDIT_EVENTS=100000 JOURNAL_LINES=10000 cargo bench --bench audit_verify
//!
//! Fills a fresh SQLite store with chained events of a realistic size (a BALP-shaped AuditEvent of
//! about 1.2 kB), in transactions of 10,000, then times the verification of the stored chains
//! (`audit::verify::stored`), three times, and prints each and the median. Then writes a journal of
//! `JOURNAL_LINES` lines of the same events (segments of `journal::SEGMENT_BYTES`, as a gateway
//! that stopped before copying them leaves it) beside an empty store and times its verification
//! (`audit::verify::all`) the same way.

use std::time::Instant;

use std::io::Write as _;

use carebridge::audit::chain::{GENESIS, hash};
use carebridge::audit::journal::SEGMENT_BYTES;
use carebridge::audit::verify::stored as verify;
use carebridge::store::Store;

const BATCH: u64 = 10_000;

fn event(n: u64) -> String {
    format!(
        concat!(
            r#"{{"resourceType":"AuditEvent","type":{{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest"}},"#,
            r#""subtype":[{{"system":"http://hl7.org/fhir/restful-interaction","code":"read"}}],"action":"R","recorded":"2026-11-24T10:00:00.{:03}Z","#,
            r#""outcome":"0","agent":[{{"type":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"IRCP"}}]}},"#,
            r#""who":{{"identifier":{{"system":"https://fhir.carebridge.uk/Id/subject","value":"user-{}"}}}},"requestor":true,"#,
            r#""role":[{{"coding":[{{"system":"https://fhir.carebridge.uk/CodeSystem/sharing-role","code":"gp"}}]}}],"#,
            r#""purposeOfUse":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-ActReason","code":"TREAT"}}]}}]}}],"#,
            r#""source":{{"observer":{{"display":"carebridge"}},"type":[{{"system":"http://terminology.hl7.org/CodeSystem/security-source-type","code":"4"}}]}},"#,
            r#""entity":[{{"what":{{"reference":"Patient/{}"}},"type":{{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"1"}}}},"#,
            r#"{{"what":{{"reference":"CarePlan/{}/_history/1"}},"type":{{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"2"}}}}]}}"#
        ),
        n % 1000,
        n % 5000,
        uuid::Uuid::from_u64_pair(n, 1).simple(),
        uuid::Uuid::from_u64_pair(n, 2).simple()
    )
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::var("AUDIT_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let store = Store::open(&url).await.expect("store");
    let fill = Instant::now();
    let mut n = 0;
    while n < total {
        let upto = (n + BATCH).min(total);
        store
            .transaction(move |tx| {
                for i in n..upto {
                    let recorded = 1_790_000_000_000 + i64::try_from(i).unwrap_or(0);
                    carebridge::audit::stored::append(
                        tx,
                        carebridge::store::STORE_CHAIN,
                        recorded,
                        &event(i),
                        &carebridge::store::AuditKeys::default(),
                    )?;
                }
                Ok::<_, carebridge::store::StoreError>(())
            })
            .await
            .expect("appended");
        n = upto;
    }
    println!(
        "filled {total} events ({} bytes each) in {:.1} s",
        event(0).len(),
        fill.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    for run in 1..=3 {
        let started = Instant::now();
        let verdict = verify(&store).await.expect("verified");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(verdict.broken, None, "the chain broke");
        assert_eq!(verdict.count(), total);
        println!("verify run {run}: {secs:.2} s");
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    println!("verify median: {:.2} s for {total} events", times[1]);
    journal().await;
}

/// Times verifying a journal of `JOURNAL_LINES` lines that are not in the store.
async fn journal() {
    let lines: u64 = std::env::var("JOURNAL_LINES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let audit = dir.path().join("audit");
    std::fs::create_dir_all(&audit).expect("the journal directory");
    let write = Instant::now();
    let mut prev = GENESIS.to_owned();
    let mut file: Option<std::io::BufWriter<std::fs::File>> = None;
    let mut written = 0u64;
    for seq in 1..=lines {
        if file.is_none() || written >= SEGMENT_BYTES {
            let path = audit.join(format!("gateway.{seq:020}.log"));
            let f = std::fs::File::create(path).expect("a segment");
            file = Some(std::io::BufWriter::with_capacity(1 << 20, f));
            written = 0;
        }
        let recorded = 1_790_000_000_000 + i64::try_from(seq).unwrap_or(0);
        let body = event(seq);
        let h = hash(&prev, seq, recorded, &body);
        let line = format!("{seq}\t{recorded}\t{h}\t{body}\n");
        written += line.len() as u64;
        if let Some(f) = file.as_mut() {
            f.write_all(line.as_bytes()).expect("written");
        }
        prev = h;
    }
    if let Some(mut f) = file.take() {
        f.flush().expect("flushed");
    }
    println!(
        "wrote a journal of {lines} lines in {:.1} s",
        write.elapsed().as_secs_f64()
    );
    let url = format!("sqlite://{}", dir.path().join("empty.db").display());
    let store = Store::open(&url).await.expect("store");
    let mut times = Vec::new();
    for run in 1..=3 {
        let started = Instant::now();
        let verdict = carebridge::audit::verify::all(&store, Some(&audit))
            .await
            .expect("verified");
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(verdict.broken, None, "the journal broke");
        assert_eq!(verdict.journal_count(), lines);
        println!("journal verify run {run}: {secs:.2} s");
        times.push(secs);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "journal verify median: {:.2} s for {lines} lines not yet in the store",
        times[1]
    );
}
