use super::*;

/// Hashes the gateway makes take 32 bytes; anything else (a tampered or test hash) comes back
/// exactly, whatever its length.
#[test]
fn every_hash_comes_back_exactly() {
    let digest = chain::hash(GENESIS, 1, 5, "{}");
    assert_eq!(hash_bytes(&digest).len(), 32);
    assert_eq!(hash_text(&hash_bytes(&digest)), digest);
    for text in [
        String::new(),
        "h1".to_owned(),
        digest.to_uppercase(),
        "x".repeat(31),
        "y".repeat(32),
        "z".repeat(33),
        format!("{}g", &digest[..63]),
    ] {
        let stored = hash_bytes(&text);
        assert_ne!(stored.len(), 32, "{text:?} must not look like a digest");
        assert_eq!(hash_text(&stored), text);
    }
}

/// A body that is not a record is stored as its text, and one that starts like the compact form
/// is escaped so it cannot be read as one.
#[test]
fn text_bodies_are_never_mistaken_for_compact_ones() {
    for text in ["{\"n\":1}", "", "\u{1}raw", "\u{0}nul"] {
        let stored = body_bytes(text);
        let row = AuditStored {
            id: 1,
            chain: 1,
            seq: 1,
            recorded: 0,
            hash: vec![0; 32],
            body: stored,
            agent: 0,
        };
        let d = AuditDictionary::default();
        assert_eq!(decode(&row, &d).body, text);
    }
}
