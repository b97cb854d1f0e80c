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

impl bangban_platform::service::ServiceSettings for RoutingSettings {
    fn problems(&self) -> Vec<String> {
        if self.link_ack_working_hours == 0 {
            vec!["link_ack_working_hours must be at least 1 (the linked office needs time to acknowledge)".into()]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use bangban_platform::service::ServiceSettings;

    use super::*;

    #[test]
    fn no_time_to_acknowledge_is_refused() {
        assert!(RoutingSettings::default().problems().is_empty());
        assert_eq!(RoutingSettings { link_ack_working_hours: 0 }.problems().len(), 1);
    }
}
