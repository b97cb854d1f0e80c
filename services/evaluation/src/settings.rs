//! Settings of the evaluation service (`BANGBAN__EVALUATION__…`): rectification time limits, the optional
//! default rating, and where the evaluation links point.

use serde::Deserialize;

/// Ratings, rectifications and appeals (`BANGBAN__EVALUATION__…`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default)]
pub struct EvaluationSettings {
    /// Working days the assignee has to contact the applicant after a bad review (联系服务对象).
    pub contact_working_days: u32,
    /// Working days for the fix and the answer (整改答复期限).
    pub rectification_working_days: u32,
    /// When set, a matter not rated this many working days after the invitation gets the default rating
    /// (默认评价); unset (the default): silence is not counted.
    pub default_rating_after_working_days: Option<u32>,
    /// The default rating's level (1–5), `4` (满意) as the provinces that use one do.
    pub default_level: u8,
    /// Base of the links in invitations (`<base>/e/<code>`); unset: `http.public_url`, else the listen address.
    pub link_base: Option<String>,
    /// The scan for due rectifications and default ratings runs at least this often (milliseconds, wall clock).
    pub poll_interval_ms: u64,
}

impl Default for EvaluationSettings {
    fn default() -> Self {
        Self {
            contact_working_days: 1,
            rectification_working_days: 15,
            default_rating_after_working_days: None,
            default_level: 4,
            link_base: None,
            poll_interval_ms: 1000,
        }
    }
}

impl bangban_platform::service::ServiceSettings for EvaluationSettings {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !(1..=5).contains(&self.default_level) {
            problems.push(format!("DEFAULT_LEVEL must be 1 to 5, not {}", self.default_level));
        }
        if self.contact_working_days == 0 {
            problems.push("CONTACT_WORKING_DAYS must be at least 1".to_string());
        }
        if self.rectification_working_days == 0 {
            problems.push("RECTIFICATION_WORKING_DAYS must be at least 1".to_string());
        }
        if self.rectification_working_days < self.contact_working_days {
            problems.push(format!(
                "RECTIFICATION_WORKING_DAYS ({}) must not be shorter than CONTACT_WORKING_DAYS ({})",
                self.rectification_working_days, self.contact_working_days
            ));
        }
        if let Some(base) = &self.link_base
            && !(base.starts_with("https://") || base.starts_with("http://"))
        {
            problems.push(format!("LINK_BASE must be an absolute http(s) URL, not {base:?}"));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use bangban_platform::service::ServiceSettings;

    use super::*;

    #[test]
    fn the_defaults_are_usable_and_wrong_values_are_named() {
        assert!(EvaluationSettings::default().problems().is_empty());
        let s = EvaluationSettings {
            default_level: 6,
            contact_working_days: 0,
            rectification_working_days: 0,
            link_base: Some("bangban.example.invalid".into()),
            ..Default::default()
        };
        let problems = s.problems().join("; ");
        for name in ["DEFAULT_LEVEL", "CONTACT_WORKING_DAYS", "RECTIFICATION_WORKING_DAYS", "LINK_BASE"] {
            assert!(problems.contains(name), "{name} in {problems}");
        }
        let s = EvaluationSettings { contact_working_days: 3, rectification_working_days: 2, ..Default::default() };
        assert_eq!(s.problems().len(), 1, "{:?}", s.problems());
        let s =
            EvaluationSettings { default_level: 1, link_base: Some("https://x.invalid/".into()), ..Default::default() };
        assert!(s.problems().is_empty());
    }
}
