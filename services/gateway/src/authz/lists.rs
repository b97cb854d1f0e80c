//! Deadline lists and figures (clocks, supervision notices, problems, consultations, monitoring), and the
//! register of applicants (服务对象名录): scoped by the gateway — an officer sees their unit, a county office its
//! own, the city office and supervisors everything.

use bangban_contracts::office::CITY_OFFICE;

use super::{Action, Principal, Problem, Role, authorize_role};

/// The office and unit of a deadline list or figure (clocks, supervision notices, problems, consultations,
/// monitoring) `principal` may ask for, forced by the gateway, never trusting the client. `what` names the
/// data in both languages for the refusal.
///
/// - an officer: their own unit's (asking for another unit is 403);
/// - supervisors and the city office's staff: everything, filtered as asked;
/// - a county office's staff: their own office's (asking for another office is 403).
///
/// Roles that never take `action` get 403.
pub fn scope_deadline(
    principal: &Principal,
    action: Action,
    (what_zh, what_en): (&str, &str),
    office: Option<String>,
    unit: Option<String>,
) -> Result<(Option<String>, Option<String>), Problem> {
    authorize_role(principal, action)?;
    if principal.role == Role::Officer {
        let Some(own) = principal.unit.clone() else {
            return Err(Problem::forbidden("令牌未指明所属单位", "the token names no unit"));
        };
        if let Some(asked) = unit.as_deref()
            && asked != own
        {
            return Err(Problem::forbidden(
                format!("只能查看本单位（{own}）的{what_zh}，无权查看 {asked}"),
                format!("you may see the {what_en} of your own unit ({own}) only, not of {asked}"),
            ));
        }
        return Ok((office, Some(own)));
    }
    if principal.role == Role::Supervisor || principal.office == CITY_OFFICE {
        return Ok((office, unit));
    }
    if let Some(asked) = office.as_deref()
        && asked != principal.office
    {
        return Err(Problem::forbidden(
            format!("只能查看本机构（{}）的{what_zh}，无权查看 {asked}", principal.office),
            format!("you may see the {what_en} of your own office ({}) only, not of {asked}", principal.office),
        ));
    }
    Ok((Some(principal.office.clone()), unit))
}

/// The office of an applicant list (服务对象名录, `GET /api/v1/applicants`) `principal` may ask for, forced by
/// the gateway: supervisors and the city office's staff see every office's applicants, or those of the office
/// they ask for; a county office's staff their own office's (asking for another is 403). Applicants (who see
/// themselves on their cases), officers, experts and integrators get 403. Intake scopes the list again itself.
pub fn scope_applicants(principal: &Principal, office: Option<String>) -> Result<Option<String>, Problem> {
    let (office, _) = scope_deadline(principal, Action::ReadRegistry, ("服务对象", "applicants"), office, None)?;
    Ok(office)
}
