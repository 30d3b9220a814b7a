//! Notifications: topic-based subscriptions (the FHIR R4 Subscriptions backport) delivered to each
//! subscribed system, exactly as the person consented, durably.
//!
//! The pieces, in the order a change travels:
//! - [`topic`]: the topics the gateway serves and which change of which resource triggers them.
//! - [`subscription`]: a `Subscription` as a subscriber writes it, checked against the topics,
//!   the channel rules and the subscriber's role.
//! - The outbox (`crate::store::outbox`): every committed change of a watched type leaves a row
//!   in the same transaction, so a committed change always has its event and a rolled-back one
//!   never does.
//!
//! Decisions:
//! - A subscriber is an organisation: its token's organisation owns the Subscriptions it creates.
//! - Topics are matched on the version before and after a change, read back from the store when
//!   the outbox row is handled, so the write path pays one small insert and nothing more.

pub mod deliver;
pub mod fanout;
pub mod query;
pub mod subscription;
pub mod topic;
pub mod worker;
