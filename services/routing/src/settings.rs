//! Settings of the routing service (`BANGBAN__ROUTING__…`).

use serde::Deserialize;

/// Routed tasks and linked handling (联动帮办代办).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RoutingSettings {
    /// Working hours (09:00–17:00 on working days) the linked office has to acknowledge a linked task.
    pub link_ack_working_hours: u32,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        Self { link_ack_working_hours: 8 }
    }
}

impl bangban_platform::service::ServiceSettings for RoutingSettings {}
