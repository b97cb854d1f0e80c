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

impl bangban_platform::service::ServiceSettings for PlanningSettings {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, days) in [
            ("whole_process_days", self.whole_process_days),
            ("main_flow_government_days", self.main_flow_government_days),
            ("main_flow_social_days", self.main_flow_social_days),
        ] {
            if days == 0 {
                problems.push(format!("{name} must be at least 1 working day"));
            }
        }
        for (name, days) in [
            ("main_flow_government_days", self.main_flow_government_days),
            ("main_flow_social_days", self.main_flow_social_days),
        ] {
            if days > self.whole_process_days {
                problems.push(format!(
                    "{name} ({days}) cannot exceed whole_process_days ({}): the main flow is part of the whole process",
                    self.whole_process_days
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use bangban_platform::service::ServiceSettings;

    use super::*;

    #[test]
    fn the_defaults_are_usable_and_impossible_targets_are_named() {
        assert!(PlanningSettings::default().problems().is_empty());
        let bad = PlanningSettings { whole_process_days: 40, main_flow_government_days: 0, main_flow_social_days: 45 };
        let problems = bad.problems();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("main_flow_government_days"));
        assert!(problems[1].starts_with("main_flow_social_days (45)"));
    }
}
