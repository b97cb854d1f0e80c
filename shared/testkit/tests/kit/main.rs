//! Tests of the test kit itself, against a real nats-server and real databases.

mod nats_server;
mod test_database;
