//! Evaluation's contract (评价 §7.7), so far the data of the invitation notification sends on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The service's name on the bus (`bb.svc.evaluation.*`, `ce-source: /bangban/evaluation`).
pub const SERVICE: &str = "evaluation";

/// Data of `evaluation.invited` (on `bb.evt.<accepting office>.evaluation.invited`): the applicant is
/// invited to evaluate one matter (一事一评); notification texts them the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EvaluationInvited {
    pub evaluation_id: Uuid,
    pub case_id: Uuid,
    /// The matter evaluated: a task (an approval item), or the whole case when unset.
    pub task_id: Option<Uuid>,
    pub ledger_no: String,
    pub office: String,
    /// The item's name as the applicant knows it (e.g. `建设工程规划许可证核发`).
    pub item_name: String,
    /// The applicant by reference only.
    pub applicant_id: Uuid,
    /// Where to evaluate (评价入口): an absolute URL ending in the one-time code (`…/e/<code>`), **encrypted**
    /// under the platform's PII key (`v1:…`, as phone numbers travel): the code lets whoever holds it rate in the
    /// applicant's name, and county offices and integrators read this event. Notification decrypts it for the
    /// SMS; everything staff see shows it masked.
    pub link_enc: String,
    pub invited_at: DateTime<Utc>,
}
