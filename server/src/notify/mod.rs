//! Telling people: the dispatcher that sends the outbox's deliveries, and
//! the Standard Webhooks signature they carry. (The outbox itself, written
//! with each event, is `domain::outbox`.)

pub mod dispatcher;
pub mod email;
pub mod signing;
pub mod slack;
