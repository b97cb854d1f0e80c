//! Real dependencies for tests (测试工具): a `nats-server` on a random port and an isolated database.
//!
//! - [`NatsServer`] starts the `nats-server` binary with JetStream, `-p -1` and its own store
//!   directory, reads the chosen port from its log, and can stop and restart it on the same port
//!   (to test what happens while the broker is away).
//! - [`TestDatabase`] is a temporary SQLite file, or a fresh PostgreSQL schema when the environment
//!   variable `TEST_DATABASE_URL` is set; either is removed on drop.
//!
//! - [`Harness`] runs one service on both, through the shared service skeleton.
//!
//! No fixed ports, no sleeps as synchronisation: readiness is read from the server's own log.

mod database;
pub mod harness;
mod nats;

pub use database::{TEST_DATABASE_URL, TestDatabase};
pub use harness::Harness;
pub use nats::NatsServer;
