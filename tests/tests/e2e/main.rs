//! End-to-end tests over real parts: nats-server, SQLite or PostgreSQL, intake, planning, routing, deadline,
//! notification, evaluation and the gateway.

mod acceptance;
mod api;
mod browser;
mod bus;
mod chart_boot;
mod clock;
mod console;
mod consultations;
mod deadline;
mod deployment;
mod directory;
mod dossier;
mod evaluation;
mod flood;
mod lifecycle;
mod migrations;
mod nats_cluster;
mod nats_permissions;
mod notification;
mod oidc_rules;
mod paging;
mod planning;
mod registry;
mod results;
mod routing;
mod secured_services;
mod stream;
mod support;
mod tenant_streams;
mod web;
