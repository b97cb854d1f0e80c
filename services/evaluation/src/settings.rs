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

impl bangban_platform::service::ServiceSettings for EvaluationSettings {}
