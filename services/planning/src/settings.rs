//! Settings of the planning service (`BANGBAN__PLANNING__…`).

use serde::Deserialize;

/// Time targets a plan's schedule is compared with (审批时限目标), in working days.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PlanningSettings {
    /// The whole approval process (全流程), from 立项 to 竣工验收 with the utility connections.
    pub whole_process_days: u32,
    /// The main flow (主流程, the four stages) of a government-invested project.
    pub main_flow_government_days: u32,
    /// The main flow of a social-investment project.
    pub main_flow_social_days: u32,
}

impl Default for PlanningSettings {
    fn default() -> Self {
        Self { whole_process_days: 100, main_flow_government_days: 70, main_flow_social_days: 45 }
    }
}

impl bangban_platform::service::ServiceSettings for PlanningSettings {}
