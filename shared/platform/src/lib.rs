//! Infrastructure every Bangban service stands on (平台): configuration, database, NATS, the
//! transactional outbox, the idempotent inbox consumer, service endpoints, HTTP problems and graceful
//! shutdown. No domain logic lives here: product roles, tokens and OIDC are the gateway's
//! (`bangban_gateway::auth`).

pub mod bus;
pub mod config;
pub mod consumer;
pub mod db;
pub mod due;
pub mod error;
pub mod health;
pub mod metrics;
pub mod migration;
pub mod net;
pub mod objects;
pub mod outbox;
pub mod pii;
pub mod problem;
pub mod rpc;
pub mod runtime;
pub mod service;
pub mod shutdown;
pub mod webhook;

pub use bangban_contracts as contracts;
pub use bangban_contracts::clock;
pub use config::Settings;
