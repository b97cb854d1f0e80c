//! Evaluation (好差评 §8.2): ratings, rectifications of bad reviews (差评整改) and appeals (申诉) — read by whom
//! they concern, worked by their assignee, filed by the staff concerned.

use bangban_contracts::{
    evaluation::{Assignee, EvaluationView, ListEvaluations, ListRectifications, RectificationView},
    office::CITY_OFFICE,
};
use uuid::Uuid;

use super::{Action, Principal, Problem, Role, actions::SPECIALISTS_AND_ADMINS, authorize_role};

/// The applicant whose rating this is: an applicant's token with a UUID in its `applicant` claim. Every
/// other role gets 403 (staff never rate in the applicant's name; a window enters the applicant's code).
pub fn rating_applicant(principal: &Principal, action: Action) -> Result<Uuid, Problem> {
    authorize_role(principal, action)?;
    principal
        .applicant
        .as_deref()
        .and_then(|a| Uuid::parse_str(a).ok())
        .ok_or_else(|| Problem::forbidden("令牌未指明服务对象", "the token names no applicant"))
}

/// Forces `asked` to `own`: asking for someone else's is 403.
fn force_own(
    asked: &mut Option<String>,
    own: &str,
    (what_zh, what_en): (&str, &str),
    (whose_zh, whose_en): (&str, &str),
) -> Result<(), Problem> {
    if let Some(other) = asked.as_deref()
        && other != own
    {
        return Err(Problem::forbidden(
            format!("只能查看{whose_zh}（{own}）的{what_zh}，无权查看 {other}"),
            format!("you may see the {what_en} of {whose_en} ({own}) only, not of {other}"),
        ));
    }
    *asked = Some(own.to_string());
    Ok(())
}

/// The unit claim of an officer's token (403 without one).
fn own_unit(principal: &Principal) -> Result<&str, Problem> {
    principal
        .unit
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Problem::forbidden("令牌未指明所属单位", "the token names no unit"))
}

/// The `(office, unit, specialist)` filters of a rating or rectification list `principal` may run, forced
/// by the gateway: a specialist (帮办员、代办员) sees the ratings of their own cases (`specialist` = their
/// sub); an officer their unit's; a county office's admins and experts their office's; the city office's and
/// supervisors everything, filtered as asked. Asking for someone else's is 403.
fn scope_rated(
    principal: &Principal,
    what: (&str, &str),
    office: &mut Option<String>,
    unit: &mut Option<String>,
    specialist: &mut Option<String>,
) -> Result<(), Problem> {
    match principal.role {
        Role::Assistant | Role::Agent => {
            force_own(specialist, &principal.sub, what, ("本人经办案件", "your own cases"))
        }
        Role::Officer => force_own(unit, own_unit(principal)?, what, ("本单位", "your own unit")),
        Role::Supervisor => Ok(()),
        _ if principal.office == CITY_OFFICE => Ok(()),
        _ => force_own(office, &principal.office, what, ("本机构", "your own office")),
    }
}

/// The rating list (`GET /api/v1/evaluations`) `principal` may run, forced by the gateway, never trusting
/// the client: an applicant their own ratings (`applicant_id` from the token); a specialist the ratings of
/// their cases; an officer their unit's; a county office's admins and experts their office's (the cases it
/// accepted and its units' tasks); the city office and supervisors everything. Asking for someone else's is
/// 403; integrators get 403.
pub fn scope_evaluations(principal: &Principal, mut filter: ListEvaluations) -> Result<ListEvaluations, Problem> {
    authorize_role(principal, Action::ReadEvaluations)?;
    let what = ("评价", "ratings");
    if principal.role == Role::Applicant {
        let own = rating_applicant(principal, Action::ReadEvaluations)?;
        if let Some(asked) = filter.applicant_id
            && asked != own
        {
            return Err(Problem::forbidden("只能查看本人的评价", "you may see your own ratings only"));
        }
        filter.applicant_id = Some(own);
        return Ok(filter);
    }
    scope_rated(principal, what, &mut filter.office, &mut filter.unit, &mut filter.specialist)?;
    Ok(filter)
}

/// The rectification list (`GET /api/v1/rectifications`) `principal` may run: scoped like the ratings
/// ([`scope_evaluations`]); applicants and integrators get 403.
pub fn scope_rectifications(
    principal: &Principal,
    mut filter: ListRectifications,
) -> Result<ListRectifications, Problem> {
    authorize_role(principal, Action::ReadRectifications)?;
    scope_rated(
        principal,
        ("差评整改", "rectifications"),
        &mut filter.office,
        &mut filter.unit,
        &mut filter.specialist,
    )?;
    Ok(filter)
}

/// Whether `principal` reaches the rating (the rules of [`scope_evaluations`], one by one).
pub fn sees_evaluation(principal: &Principal, rating: &EvaluationView) -> bool {
    match principal.role {
        Role::Applicant => {
            principal.applicant.as_deref().and_then(|a| Uuid::parse_str(a).ok()) == Some(rating.applicant_id)
        }
        Role::Assistant | Role::Agent => principal.sub == rating.specialist_id,
        Role::Officer => principal.unit.as_deref().is_some_and(|u| rating.unit_code.as_deref() == Some(u)),
        Role::OfficeAdmin | Role::Expert => {
            principal.office == CITY_OFFICE
                || principal.office == rating.office
                || rating.unit_office.as_deref() == Some(principal.office.as_str())
        }
        Role::Supervisor => true,
        Role::Integrator => false,
    }
}

fn no_rating() -> Problem {
    Problem::not_found("评价不存在", "rating not found")
}

fn no_rectification() -> Problem {
    Problem::not_found("差评整改单不存在", "rectification not found")
}

/// Reading one rating: 403 for a role that never reads ratings, 404 for one out of reach (nothing leaks).
pub fn authorize_evaluation(principal: &Principal, rating: &EvaluationView) -> Result<(), Problem> {
    authorize_role(principal, Action::ReadEvaluations)?;
    if sees_evaluation(principal, rating) { Ok(()) } else { Err(no_rating()) }
}

/// Whether `principal` is the rectification's assignee: for a unit, its officers or the staff of its office;
/// for a specialist, that specialist or an admin of their office.
pub fn works_rectification(principal: &Principal, rectification: &RectificationView) -> bool {
    let staff = SPECIALISTS_AND_ADMINS.contains(&principal.role);
    match &rectification.assignee {
        Assignee::Unit { unit_code, unit_office } => match principal.role {
            Role::Officer => principal.unit.as_deref() == Some(unit_code.as_str()),
            _ => staff && principal.office == *unit_office,
        },
        Assignee::Specialist { specialist_id, office } => {
            (staff && principal.sub == *specialist_id)
                || (principal.role == Role::OfficeAdmin && principal.office == *office)
        }
    }
}

/// Whether `principal` reaches the rectification of `rating`: whoever reaches the rating, and its assignee.
pub fn sees_rectification(principal: &Principal, rectification: &RectificationView, rating: &EvaluationView) -> bool {
    sees_evaluation(principal, rating)
        || (principal.role != Role::Applicant && works_rectification(principal, rectification))
}

/// May `principal` take `action` on the rectification of `rating`? `None` to read it
/// ([`Action::ReadRectifications`]: staff within reach, and the rating's applicant, who rates the fix),
/// [`Action::WorkRectification`] (contact, answer: the assignee) or [`Action::RateRectification`] (the
/// applicant, whose id is returned). 403 for a role that never takes it, 404 out of reach, 403 within reach.
pub fn authorize_rectification(
    principal: &Principal,
    action: Action,
    rectification: &RectificationView,
    rating: &EvaluationView,
) -> Result<Option<Uuid>, Problem> {
    let applicant = match (action, principal.role) {
        (Action::ReadRectifications, Role::Applicant) => Some(rating_applicant(principal, Action::RateRectification)?),
        (Action::RateRectification, _) => Some(rating_applicant(principal, action)?),
        _ => {
            authorize_role(principal, action)?;
            None
        }
    };
    if !sees_rectification(principal, rectification, rating) {
        return Err(no_rectification());
    }
    match action {
        Action::ReadRectifications | Action::RateRectification => Ok(applicant),
        Action::WorkRectification if works_rectification(principal, rectification) => Ok(None),
        Action::WorkRectification => Err(match &rectification.assignee {
            Assignee::Unit { unit_code, .. } => Problem::forbidden(
                format!("只有责任单位（{unit_code}）的审批人员或该单位所在机构的工作人员可以办理整改"),
                format!(
                    "only an officer of the unit ({unit_code}) or the staff of its office may work the rectification"
                ),
            ),
            Assignee::Specialist { specialist_id, .. } => Problem::forbidden(
                format!("只有帮办（代办）员 {specialist_id} 或其所在机构的机构管理员可以办理整改"),
                format!(
                    "only the specialist {specialist_id} or an office admin of their office may work the rectification"
                ),
            ),
        }),
        _ => Err(Problem::forbidden("无权处理此差评整改单", "you may not act on this rectification")),
    }
}

/// Whether `principal` is concerned by the rating and may appeal it (申诉): the case's specialist, the
/// unit's officers (a rated task), an office admin of the accepting office or of the unit's office.
pub fn may_appeal(principal: &Principal, rating: &EvaluationView) -> bool {
    match principal.role {
        Role::Assistant | Role::Agent => principal.sub == rating.specialist_id,
        Role::Officer => {
            rating.task_id.is_some()
                && principal.unit.as_deref().is_some_and(|u| rating.unit_code.as_deref() == Some(u))
        }
        Role::OfficeAdmin => {
            principal.sub == rating.specialist_id
                || principal.office == rating.office
                || rating.unit_office.as_deref() == Some(principal.office.as_str())
        }
        _ => false,
    }
}

/// Filing an appeal: 403 for a role that never appeals, 404 for a rating out of reach, 403 for one within
/// reach that does not concern the caller (another office's case the city office sees).
pub fn authorize_appeal(principal: &Principal, rating: &EvaluationView) -> Result<(), Problem> {
    authorize_role(principal, Action::FileAppeal)?;
    if !sees_evaluation(principal, rating) {
        return Err(no_rating());
    }
    if may_appeal(principal, rating) {
        return Ok(());
    }
    Err(Problem::forbidden(
        "只有本案的帮办（代办）员、被评事项责任单位的审批人员或受理机构、责任单位所在机构的机构管理员可以申诉",
        "only the case's specialist, the rated unit's officers or an office admin of the accepting office or of the unit's office may appeal",
    ))
}
