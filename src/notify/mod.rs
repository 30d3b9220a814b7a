//! Notifications: topic-based subscriptions (the FHIR R4 Subscriptions backport) delivered to each
//! subscribed system, exactly as the person consented, durably.
//!
//! The pieces, in the order a change travels:
//! - `crate::subscription::topic`: the topics the gateway serves and which change of which
//!   resource triggers them.
//! - `crate::subscription`: a `Subscription` as a subscriber writes it, checked against the
//!   topics, the channel rules and the subscriber's role; its signing secret taken out and kept.
//!   Both sit below the REST engine, which checks a Subscription when it is written and leaves an
//!   outbox row for each watched change; this module is the delivery built on top of it.
//! - The outbox (`crate::store::outbox`): every committed change of a watched type leaves a row
//!   in the same transaction, so a committed change always has its row and a rolled-back one
//!   never does.
//! - [`fanout`]: each change matched to the live subscriptions it concerns, as their next
//!   numbered events, once, across every gateway process.
//! - [`deliver`]: a handshake first, then each subscription's events in order, decided by consent
//!   when sent, signed, retried, audited; heartbeats.
//! - [`query`]: `$status` and `$events`, for a subscriber to see where it stands and recover what
//!   it missed.
//! - [`worker`]: the background tasks that match and send, in every process.
//!
//! Decisions:
//! - A subscriber is an organisation: its token's organisation owns the Subscriptions it creates
//!   (`crate::access::subscriber`), and only its systems see them.
//! - Topics are matched on the version before and after a change, read back from the store when
//!   the outbox row is handled, so the write path pays one small insert and nothing more.
//! - Delivery is at least once: a request whose answer is lost is sent again; each carries its
//!   event numbers (`X-Carebridge-Event`), by which a receiver drops a repeat.

pub mod deliver;
pub mod fanout;
pub mod query;
pub mod worker;
