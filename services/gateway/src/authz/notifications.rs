//! Notifications (短信与站内通知): everyone but an integrator reads their own in-app inbox, whose owners the
//! gateway derives from the token ([`inbox_owners`]); the SMS log is the offices' staff's and the supervisors',
//! scoped like the deadline lists ([`scope_messages`]).

use bangban_contracts::notification::{Recipient, inbox_owner};
use uuid::Uuid;

use super::{Action, Principal, Problem, Role, authorize_role, scope_deadline};

/// The inbox owners (收件箱归属, [`inbox_owner`]) whose notices `principal` reads and marks, taken from the
/// token only, never from the client:
///
/// - an applicant: `applicant:<the applicant claim>` (a token without a UUID there is 403);
/// - a unit's officer: `staff:<sub>` and `unit:<the unit claim>` (the officer on duty and the unit's head
///   share the unit's inbox; a token without a unit is 403);
/// - any other member of staff (assistants, agents, experts, office admins, supervisors): `staff:<sub>`;
/// - an integrator: 403 (it reads bus events, not notices).
pub fn inbox_owners(principal: &Principal) -> Result<Vec<String>, Problem> {
    authorize_role(principal, Action::ReadInbox)?;
    let staff = inbox_owner(&Recipient::Staff { sub: principal.sub.clone() });
    match principal.role {
        Role::Applicant => {
            let Some(applicant_id) = principal.applicant.as_deref().and_then(|a| Uuid::parse_str(a).ok()) else {
                return Err(Problem::forbidden("令牌未指明服务对象", "the token names no applicant"));
            };
            Ok(vec![inbox_owner(&Recipient::Applicant { applicant_id })])
        }
        Role::Officer => {
            let Some(unit_code) = principal.unit.clone().filter(|u| !u.is_empty()) else {
                return Err(Problem::forbidden("令牌未指明所属单位", "the token names no unit"));
            };
            Ok(vec![staff, inbox_owner(&Recipient::UnitOfficer { unit_code })])
        }
        _ => Ok(vec![staff]),
    }
}

/// The office of an SMS list (短信记录) `principal` may ask for, forced by the gateway: supervisors and the
/// city office's staff see every office, or the one they ask for; a county office's staff their own
/// (asking for another is 403). Applicants, officers, experts and integrators get 403.
pub fn scope_messages(principal: &Principal, office: Option<String>) -> Result<Option<String>, Problem> {
    let (office, _) = scope_deadline(principal, Action::ReadMessages, ("短信记录", "SMS messages"), office, None)?;
    Ok(office)
}
