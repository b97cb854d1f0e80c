//! End-to-end tests over real parts: nats-server, SQLite or PostgreSQL, intake, planning, routing, deadline,
//! notification, evaluation and the gateway.

mod acceptance;
mod api;
mod browser;
mod bus;
mod clock;
mod console;
mod consultations;
mod deadline;
mod directory;
mod dossier;
mod evaluation;
mod lifecycle;
mod nats_permissions;
mod notification;
mod planning;
mod registry;
mod results;
mod routing;
mod stream;
mod support;
mod web;
