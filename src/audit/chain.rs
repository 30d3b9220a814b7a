//! The hash chain that makes the audit log tamper-evident: every event's hash covers the previous
//! event's hash, its own sequence number, its recording time and its exact stored text, so
//! changing, removing, inserting or reordering any stored event breaks every hash from there on.
//!
//! `hash(n) = SHA-256(hash(n-1) || seq(n) as 8 bytes big-endian || recorded(n) as 8 bytes
//! big-endian || body(n))`, hex-encoded; the first event links to [`GENESIS`]. Sequence numbers
//! start at 1 and have no gaps.
//!
//! What a chain cannot show on its own is a truncated tail (the newest events removed, the rest
//! intact): [`Verified`] reports the head (last sequence number and hash) so that it can be
//! anchored outside the database (kept by information governance, compared at the next check).

use sha2::{Digest, Sha256};

/// The hash the first event links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One stored event, as the chain sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link<'a> {
    /// Sequence number, from 1.
    pub seq: u64,
    /// Recording time, epoch milliseconds.
    pub recorded: i64,
    /// The stored hash.
    pub hash: &'a str,
    /// The stored event text.
    pub body: &'a str,
}

/// The hash of an event following `prev`.
pub fn hash(prev: &str, seq: u64, recorded: i64, body: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(seq.to_be_bytes());
    h.update(recorded.to_be_bytes());
    h.update(body.as_bytes());
    hex(&h.finalize())
}

/// The 32 bytes of a hash as [`hash`] writes it (64 lower-case hex digits); `None` for any other
/// text, so that [`hex`] gives the text back exactly.
pub fn digest(hash: &str) -> Option<[u8; 32]> {
    let b = hash.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = (nibble(b[2 * i])? << 4) | nibble(b[2 * i + 1])?;
    }
    Some(out)
}

/// Lower-case hex of `bytes`: how hashes are written.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    /// Sequence numbers skip: events `expected` up to `found - 1` were removed (or, in the
    /// journal, whose lines are in the order written, moved further on).
    #[error("{}", missing(*.expected, *.found))]
    Missing {
        /// The sequence number that should have come next.
        expected: u64,
        /// The one found instead.
        found: u64,
    },
    /// A sequence number at or below one already seen: inserted or reordered.
    #[error("event {found} comes after event {after} (inserted or reordered)")]
    OutOfOrder {
        /// The sequence number found.
        found: u64,
        /// The one before it.
        after: u64,
    },
    /// The stored hash does not cover this event and its predecessor: it, or the link to it, was
    /// altered (or an event was put in its place).
    #[error("event {seq} was altered (its hash does not match its content and predecessor)")]
    Altered {
        /// The first event whose hash fails.
        seq: u64,
    },
    /// A journal line that is not sequence number, time, hash and text (or a segment that ends
    /// in the middle of a line while a newer segment follows): it was altered.
    #[error("event {seq} was altered (its journal line is not a well-formed event)")]
    Unreadable {
        /// The sequence number the line should have had.
        seq: u64,
    },
}

fn missing(expected: u64, found: u64) -> String {
    if found == expected + 1 {
        format!("event {expected} is missing (removed, or moved after event {found})")
    } else {
        format!(
            "events {expected} to {} are missing (removed, or moved later)",
            found - 1
        )
    }
}

impl Break {
    /// The sequence number of the first event at fault.
    pub fn seq(&self) -> u64 {
        match self {
            Break::Missing { expected, .. } => *expected,
            Break::OutOfOrder { found, .. } => *found,
            Break::Altered { seq } | Break::Unreadable { seq } => *seq,
        }
    }
}

/// A chain checked so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Events checked.
    pub count: u64,
    /// The last sequence number (0 for an empty log).
    pub head_seq: u64,
    /// The last hash ([`GENESIS`] for an empty log).
    pub head_hash: String,
}

/// Checks links in order, one at a time (a log may be far larger than memory).
#[derive(Debug, Clone)]
pub struct Verifier {
    state: Verified,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            state: Verified {
                count: 0,
                head_seq: 0,
                head_hash: GENESIS.to_owned(),
            },
        }
    }
}

impl Verifier {
    /// A verifier that continues a chain verified up to `state` (the journal's lines continue
    /// the stored events).
    pub fn resume(state: Verified) -> Verifier {
        Verifier { state }
    }

    /// What has been verified so far.
    pub fn verified(&self) -> &Verified {
        &self.state
    }

    /// Checks the next link.
    pub fn check(&mut self, link: &Link<'_>) -> Result<(), Break> {
        let expected = self.state.head_seq + 1;
        if link.seq < expected {
            return Err(Break::OutOfOrder {
                found: link.seq,
                after: self.state.head_seq,
            });
        }
        if link.seq > expected {
            return Err(Break::Missing {
                expected,
                found: link.seq,
            });
        }
        if hash(&self.state.head_hash, link.seq, link.recorded, link.body) != link.hash {
            return Err(Break::Altered { seq: link.seq });
        }
        self.state.count += 1;
        self.state.head_seq = link.seq;
        link.hash.clone_into(&mut self.state.head_hash);
        Ok(())
    }

    /// What has been verified.
    pub fn finish(self) -> Verified {
        self.state
    }
}

#[cfg(test)]
mod tests;
