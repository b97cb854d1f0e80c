//! Settings of the deadline service (`BANGBAN__DEADLINE__…`): alarm thresholds, supervision and problem
//! time limits, and the engine's pacing.

use bangban_contracts::deadline::EscalationTarget;
use serde::Deserialize;

/// Clocks, alarms, supervision (督办) and problems (`BANGBAN__DEADLINE__…`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct DeadlineSettings {
    /// A warning (预警) when this many working days remain …
    pub warn_working_days: u32,
    /// … or this share (percent) of the time limit, whichever comes first.
    pub warn_percent: u32,
    /// Working hours (09:00–17:00 on working days) a unit has to receive a dispatched task; after that the
    /// clock counts from dispatch and a supervision notice for late feedback is issued.
    pub receipt_working_hours: u32,
    /// Issue a supervision notice when a clock becomes overdue, and when feedback is late.
    pub supervise: bool,
    /// Working days a unit has to answer a supervision notice (反馈期限).
    pub supervision_response_working_days: u32,
    /// Working days after issue after which a notice still unresolved is escalated (移送).
    pub escalate_after_working_days: u32,
    /// `discipline_inspection` (纪检监察) or `audit` (审计).
    pub escalation_target: String,
    /// Working days a specialist has to solve a problem before it goes to the office for a consultation.
    pub problem_working_days: u32,
    /// Longest an extension may be, in working days.
    pub max_extension_working_days: u32,
    /// The engine looks for due alarms at least this often (milliseconds of wall-clock time), besides waking
    /// at the next alarm it knows of.
    pub poll_interval_ms: u64,
    /// Alarms fired per transaction.
    pub batch_size: u64,
}

impl Default for DeadlineSettings {
    fn default() -> Self {
        Self {
            warn_working_days: 2,
            warn_percent: 20,
            receipt_working_hours: 8,
            supervise: true,
            supervision_response_working_days: 2,
            escalate_after_working_days: 5,
            escalation_target: "discipline_inspection".into(),
            problem_working_days: 3,
            max_extension_working_days: 60,
            poll_interval_ms: 250,
            batch_size: 500,
        }
    }
}

impl bangban_platform::service::ServiceSettings for DeadlineSettings {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.warn_percent > 100 {
            problems.push(format!("warn_percent must be at most 100, got {}", self.warn_percent));
        }
        if self.batch_size == 0 {
            problems.push("batch_size must be at least 1".to_string());
        }
        if self.poll_interval_ms == 0 {
            problems.push("poll_interval_ms must be at least 1".to_string());
        }
        if EscalationTarget::parse(&self.escalation_target).is_none() {
            let known: Vec<&str> = EscalationTarget::ALL.iter().map(|t| t.as_str()).collect();
            problems.push(format!(
                "escalation_target must be one of {}, got {:?}",
                known.join(", "),
                self.escalation_target
            ));
        }
        if self.max_extension_working_days == 0 {
            problems.push("max_extension_working_days must be at least 1".to_string());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use bangban_platform::service::ServiceSettings;

    use super::*;

    #[test]
    fn defaults_are_usable() {
        assert_eq!(DeadlineSettings::default().problems(), Vec::<String>::new());
    }

    #[test]
    fn each_unusable_value_is_named() {
        let s = DeadlineSettings {
            warn_percent: 101,
            batch_size: 0,
            poll_interval_ms: 0,
            escalation_target: "police".into(),
            max_extension_working_days: 0,
            ..Default::default()
        };
        let problems = s.problems();
        assert_eq!(problems.len(), 5, "{problems:?}");
        for name in
            ["warn_percent", "batch_size", "poll_interval_ms", "escalation_target", "max_extension_working_days"]
        {
            assert!(problems.iter().any(|p| p.starts_with(name)), "{name} missing from {problems:?}");
        }
        let audit = DeadlineSettings { escalation_target: "audit".into(), warn_percent: 100, ..Default::default() };
        assert!(audit.problems().is_empty());
    }
}
