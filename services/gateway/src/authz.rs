//! Authorization (授权): the one helper every handler calls before it reads or writes anything.
//!
//! Least privilege: an applicant sees only their own cases; specialists and office admins act
//! within their office's jurisdiction (the city office over every county); supervisors read
//! everything; a responsible unit's officer reaches cases only through the tasks routed to the
//! unit; an integrator reads the bus, not the API.
//!
//! Routed tasks (推送事项): the unit's officer and the staff of the unit's office work them; the case's
//! specialist (or an admin of the accepting office) follows them up; in linked handling (联动帮办代办)
//! the unit's office acknowledges and reports back, and both offices see the task.
//!
//! Deadlines (限时办结): a task's clock is read like the task; the people who work the task pause it for
//! a statutory exclusion; only an office admin of the unit's office (or of the city) approves an
//! extension. Supervision notices (督办单) are read within the same reach, answered by the unit's
//! officers or the admins of its office, decided by supervisors. Problems are recorded by the case's
//! specialist or the accepting office's staff; consultations (会商/联席会议) by office admins.
//! Lists and monitoring are scoped by the gateway: an officer sees their unit, a county office its own,
//! the city office and supervisors everything.
//!
//! Notifications (短信与站内通知): everyone but an integrator reads their own in-app inbox, whose owners
//! the gateway derives from the token ([`inbox_owners`]); the SMS log is the offices' staff's and the
//! supervisors', scoped like the deadline lists ([`scope_messages`]).
//!
//! Evaluation (好差评 §8.2): only an applicant rates in their own name (the `applicant` claim); the window
//! staff enter a rating with the applicant's one-time code. Ratings are read by whom they concern
//! ([`sees_evaluation`], [`scope_evaluations`]): the applicant, the case's specialist, the unit's officers,
//! the office (a county its own, the city everything) and supervisors. A bad review's rectification
//! (差评整改) is worked by its assignee ([`works_rectification`]) and rated by the applicant; appeals (申诉)
//! are filed by the staff concerned ([`may_appeal`]) and decided by office admins — never by the one who filed
//! the appeal nor the specialist it rates (回避; evaluation enforces it, knowing who filed); the assessment (考核)
//! and statistics are the office admins' and the supervisors'.
//!
//! The register (服务对象名录) is scoped like the ledger: a county's staff list their own office's applicants
//! ([`scope_applicants`]), the city office and supervisors everyone's.

use bangban_contracts::{
    evaluation::{Assignee, EvaluationView, ListEvaluations, ListRectifications, RectificationView},
    notification::{Recipient, inbox_owner},
    office::CITY_OFFICE,
    routing::ListTasks,
};
use bangban_platform::{
    auth::{Principal, Role},
    problem::Problem,
};
use uuid::Uuid;

/// What is being done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Accept a new case (受理).
    CreateCase,
    /// Read one case, or list cases.
    ReadCase,
    /// Change a case's specialist (§4.2.3).
    ChangeSpecialist,
    /// Terminate a case (§7.8).
    TerminateCase,
    /// Record results delivery (§7.6) and custody of materials.
    DeliverResults,
    /// File documents and archive a case (§7.7).
    ArchiveCase,
    /// Read a case's archive.
    ReadArchive,
    /// Record a consultation (对接需求, §7.1) or a joint meeting.
    RecordConsultation,
    /// Read consultations.
    ReadConsultation,
    /// Read applicants and projects (masked).
    ReadRegistry,
    /// See an applicant's personal data in full (audited).
    RevealPersonalData,
    /// List the offices.
    ReadOffices,
    /// List the staff directory.
    ReadStaff,
    /// Read the working-day calendar (工作日历) and compute with it.
    ReadCalendar,
    /// Load a year's holiday schedule or set and remove overrides (city-wide).
    ManageCalendar,
    /// Read the approval-item catalog (事项库) and its versions.
    ReadCatalog,
    /// Add, change or remove catalog items (city-wide): each edit is a new catalog version.
    EditCatalog,
    /// Change a case's service plan (代办方案): regenerate, add, change or remove items, publish.
    EditPlan,
    /// Read the responsible-unit directory (责任单位名录).
    ReadUnits,
    /// List a unit's or an office's routed tasks (待办箱).
    ListTasks,
    /// Read one routed task, or a case's tasks.
    ReadTask,
    /// The unit's own steps on a task (`receive`, `start_review`, `request_supplement`, `approve`, `reject`).
    WorkTask,
    /// The case side's steps on a task (`supplement`, `collect_result`, `withdraw`).
    FollowTask,
    /// The linked office's steps (联动响应与反馈: `acknowledge_link`, `report_link`).
    LinkTask,
    /// List clocks or supervision notices (a unit's, an office's, or all).
    ListClocks,
    /// Approve an extension of a task's time limit (延期): an office admin of the unit's office or the city's.
    ExtendClock,
    /// Read a supervision notice (督办单).
    ReadSupervision,
    /// Answer a supervision notice (督办反馈): the unit's officers or the admins of the unit's office.
    AnswerSupervision,
    /// Record the outcome of an escalated notice (警告、通报批评、问责): supervisors.
    DecideSupervision,
    /// Record a problem on a task (§7.5.2): the case's specialist or the staff of the accepting office.
    RecordProblem,
    /// Solve a problem or refer it to the office: the case's specialist or an admin of the accepting office.
    HandleProblem,
    /// List problems.
    ReadProblems,
    /// Record a consultation (会商) or a joint meeting (联席会议) on problems: office admins.
    RecordMeeting,
    /// List consultations and joint meetings.
    ReadMeetings,
    /// Business monitoring (业务监控 §6.2): warnings, overdue, on-time rate.
    ReadMonitoring,
    /// Read and mark one's own in-app notices (站内通知).
    ReadInbox,
    /// Read the SMS messages sent (短信记录, numbers masked).
    ReadMessages,
    /// Rate a matter in one's own name (一事一评): the applicant.
    RateMatter,
    /// Enter a rating at a window terminal with the applicant's one-time code (窗口评价).
    RateAtWindow,
    /// Read ratings (评价), scoped to whom they concern.
    ReadEvaluations,
    /// Read a case's invitations to rate (评价邀请).
    ReadInvitations,
    /// Read rectifications of bad reviews (差评整改).
    ReadRectifications,
    /// Contact the applicant and answer a bad review (整改): the assignee.
    WorkRectification,
    /// Rate the fix of a bad review (整改评价): the applicant.
    RateRectification,
    /// Appeal a rating (申诉): the staff it concerns.
    FileAppeal,
    /// Decide an appeal (申诉裁定): office admins.
    DecideAppeal,
    /// List appeals.
    ReadAppeals,
    /// The staff assessment (考核) and the rating statistics.
    ReadAssessment,
}

impl Action {
    /// The action a task step (`TaskAction::name()`) is; `None` for a name no step has.
    pub fn for_task_step(name: &str) -> Option<Action> {
        match name {
            "receive" | "start_review" | "request_supplement" | "approve" | "reject" => Some(Action::WorkTask),
            "supplement" | "collect_result" | "withdraw" => Some(Action::FollowTask),
            "acknowledge_link" | "report_link" => Some(Action::LinkTask),
            _ => None,
        }
    }
}

/// What it is done to.
#[derive(Debug, Clone, Copy)]
pub enum Resource<'a> {
    /// An office's ledger or register, for creating or listing.
    Office(&'a str),
    /// One case: its accepting office, its applicant's id, its specialist and the responsible units
    /// its tasks went to.
    Case { office: &'a str, applicant: &'a str, specialist: &'a str, units: &'a [String] },
    /// The directory of offices and staff, the same for everyone allowed to read it.
    Directory,
    /// Reference data kept once for the whole city (全市统一): the working-day calendar and the
    /// approval-item catalog. Everyone allowed reads it; only the city office changes it.
    CityWide,
    /// One routed task: its unit, the unit's office, the accepting office of its case, the case's
    /// specialist and applicant.
    Task { unit: &'a str, unit_office: &'a str, case_office: &'a str, specialist: &'a str, applicant: &'a str },
}

/// Does `principal`'s office reach `office`? Its own, or every office for the city office.
fn in_jurisdiction(principal: &Principal, office: &str) -> bool {
    principal.office == office || principal.office == CITY_OFFICE
}

const SPECIALISTS_AND_ADMINS: &[Role] = &[Role::Assistant, Role::Agent, Role::OfficeAdmin];
const TASK_READERS: &[Role] =
    &[Role::Applicant, Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin, Role::Supervisor];
/// Who works with deadlines inside the platform: the offices' staff, the units' officers, supervisors.
const DEADLINE_READERS: &[Role] = &[Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin, Role::Supervisor];
const STAFF_AND_SUPERVISORS: &[Role] = &[Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor];

/// Which roles may take an action at all.
fn roles_for(action: Action) -> &'static [Role] {
    match action {
        Action::CreateCase
        | Action::TerminateCase
        | Action::DeliverResults
        | Action::ArchiveCase
        | Action::RecordConsultation => SPECIALISTS_AND_ADMINS,
        Action::ChangeSpecialist => &[Role::OfficeAdmin],
        Action::RevealPersonalData => SPECIALISTS_AND_ADMINS,
        Action::ReadCase => &[Role::Applicant, Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor],
        // The departments involved read the archive too (§7.7).
        Action::ReadArchive => {
            &[Role::Applicant, Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor, Role::Officer]
        }
        Action::ReadConsultation | Action::ReadRegistry => {
            &[Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor]
        }
        Action::ReadOffices => &Role::ALL,
        // Applicants read the catalog too: it says what they will need.
        Action::ReadCalendar | Action::ReadCatalog => &Role::ALL,
        Action::ManageCalendar | Action::EditCatalog => &[Role::OfficeAdmin],
        Action::EditPlan => SPECIALISTS_AND_ADMINS,
        // Public directory information (names, unit types, published office phones): everyone signed in,
        // like the offices and the catalog; applicants see where their items go.
        Action::ReadUnits => &Role::ALL,
        Action::ListTasks => &[Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin, Role::Supervisor],
        Action::ReadTask => TASK_READERS,
        Action::WorkTask => &[Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin],
        Action::FollowTask | Action::LinkTask => SPECIALISTS_AND_ADMINS,
        Action::ListClocks | Action::ReadSupervision | Action::ReadProblems => DEADLINE_READERS,
        Action::ExtendClock | Action::RecordMeeting => &[Role::OfficeAdmin],
        Action::AnswerSupervision => &[Role::Officer, Role::OfficeAdmin],
        Action::DecideSupervision => &[Role::Supervisor],
        Action::RecordProblem | Action::HandleProblem => SPECIALISTS_AND_ADMINS,
        Action::ReadMeetings | Action::ReadMonitoring | Action::ReadMessages => STAFF_AND_SUPERVISORS,
        // Everyone signed in has an inbox; an integrator reads the bus, not notices.
        Action::ReadInbox => &[
            Role::Applicant,
            Role::Assistant,
            Role::Agent,
            Role::Expert,
            Role::Officer,
            Role::OfficeAdmin,
            Role::Supervisor,
        ],
        Action::RateMatter | Action::RateRectification => &[Role::Applicant],
        Action::RateAtWindow => SPECIALISTS_AND_ADMINS,
        Action::ReadEvaluations => &[
            Role::Applicant,
            Role::Assistant,
            Role::Agent,
            Role::Expert,
            Role::Officer,
            Role::OfficeAdmin,
            Role::Supervisor,
        ],
        Action::ReadInvitations => &[Role::Applicant, Role::Assistant, Role::Agent, Role::OfficeAdmin],
        Action::ReadRectifications => {
            &[Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::OfficeAdmin, Role::Supervisor]
        }
        Action::WorkRectification | Action::FileAppeal => {
            &[Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin]
        }
        Action::DecideAppeal => &[Role::OfficeAdmin],
        Action::ReadAppeals | Action::ReadAssessment => &[Role::OfficeAdmin, Role::Supervisor],
        // People who work cases find each other; applicants see their own specialist on the contact card.
        Action::ReadStaff => {
            &[Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::OfficeAdmin, Role::Supervisor]
        }
    }
}

fn is_read(action: Action) -> bool {
    matches!(
        action,
        Action::ReadCase
            | Action::ReadArchive
            | Action::ReadConsultation
            | Action::ReadRegistry
            | Action::ReadOffices
            | Action::ReadStaff
            | Action::ReadCalendar
            | Action::ReadCatalog
            | Action::ReadUnits
            | Action::ListTasks
            | Action::ReadTask
            | Action::ListClocks
            | Action::ReadSupervision
            | Action::ReadProblems
            | Action::ReadMeetings
            | Action::ReadMonitoring
            | Action::ReadInbox
            | Action::ReadMessages
            | Action::ReadEvaluations
            | Action::ReadInvitations
            | Action::ReadRectifications
            | Action::ReadAppeals
            | Action::ReadAssessment
    )
}

/// May `principal`'s role take `action` at all? 403 naming the roles that may, otherwise. Handlers call
/// it before looking anything up when the answer cannot depend on what they would find.
pub fn authorize_role(principal: &Principal, action: Action) -> Result<(), Problem> {
    let allowed_roles = roles_for(action);
    if allowed_roles.contains(&principal.role) {
        return Ok(());
    }
    let names: Vec<&str> = allowed_roles.iter().map(|r| r.label_zh()).collect();
    let names_en: Vec<&str> = allowed_roles.iter().map(|r| r.as_str()).collect();
    Err(Problem::forbidden(
        format!("角色“{}”无权执行此操作；需要：{}", principal.role.label_zh(), names.join("、")),
        format!("role {} may not do this; it needs one of: {}", principal.role.as_str(), names_en.join(", ")),
    ))
}

/// Whether `principal` (whose role may take `action`) may take it on the task.
fn task_allowed(principal: &Principal, action: Action, resource: Resource<'_>) -> bool {
    let Resource::Task { unit, unit_office, case_office, specialist, applicant } = resource else {
        return false;
    };
    let own_unit = principal.unit.as_deref() == Some(unit);
    let staff = SPECIALISTS_AND_ADMINS.contains(&principal.role);
    match action {
        // A notice is read like its task, by everyone but the applicant (kept out by the role).
        Action::ReadTask | Action::ReadSupervision => match principal.role {
            Role::Supervisor => true,
            Role::Applicant => principal.applicant.as_deref() == Some(applicant),
            Role::Officer => own_unit,
            _ => {
                staff
                    && (principal.sub == specialist
                        || in_jurisdiction(principal, unit_office)
                        || in_jurisdiction(principal, case_office))
            }
        },
        // The unit's officer, or the staff of the unit's office acting for it (the city office for city units only).
        Action::WorkTask => {
            if principal.role == Role::Officer {
                own_unit
            } else {
                staff && principal.office == unit_office
            }
        }
        // The case's specialist, or an admin of the accepting office (the city's admin for every case).
        Action::FollowTask => {
            principal.sub == specialist
                || (principal.role == Role::OfficeAdmin && in_jurisdiction(principal, case_office))
        }
        // The linked office: the staff of the unit's office.
        Action::LinkTask => staff && principal.office == unit_office,
        // The approver (批准人): an admin of the unit's office, or of the city office for every unit.
        Action::ExtendClock => principal.role == Role::OfficeAdmin && in_jurisdiction(principal, unit_office),
        // The unit answers for itself: its officers, or the admins of its office.
        Action::AnswerSupervision => {
            if principal.role == Role::Officer {
                own_unit
            } else {
                principal.role == Role::OfficeAdmin && principal.office == unit_office
            }
        }
        Action::DecideSupervision => principal.role == Role::Supervisor,
        // The case side records what blocks a task: its specialist, or the staff of the accepting office.
        Action::RecordProblem => principal.sub == specialist || (staff && in_jurisdiction(principal, case_office)),
        // … and solves it or takes it to the office: the specialist, or an admin of the accepting office.
        Action::HandleProblem => {
            principal.sub == specialist
                || (principal.role == Role::OfficeAdmin && in_jurisdiction(principal, case_office))
        }
        _ => false,
    }
}

/// The filter of a task list (待办箱) `principal` may run: the gateway forces it, never trusting the
/// client. An officer sees their own unit's tasks (asking for another unit is 403); the staff and
/// supervisors of a county office see the tasks of their office's units (asking for another office is
/// 403); the city office's staff see everything, filtered as asked. Applicants, experts and
/// integrators get 403.
pub fn scope_task_list(principal: &Principal, mut filter: ListTasks) -> Result<ListTasks, Problem> {
    authorize_role(principal, Action::ListTasks)?;
    if principal.role == Role::Officer {
        let Some(own) = principal.unit.clone() else {
            return Err(Problem::forbidden("令牌未指明所属单位", "the token names no unit"));
        };
        if let Some(asked) = filter.unit.as_deref()
            && asked != own
        {
            return Err(Problem::forbidden(
                format!("只能查看本单位（{own}）的待办事项，无权查看 {asked}"),
                format!("you may list the tasks of your own unit ({own}) only, not of {asked}"),
            ));
        }
        filter.unit = Some(own);
        return Ok(filter);
    }
    if principal.office == CITY_OFFICE {
        return Ok(filter);
    }
    if let Some(asked) = filter.office.as_deref()
        && asked != principal.office
    {
        return Err(Problem::forbidden(
            format!("只能查看本机构（{}）所属单位的待办事项，无权查看 {asked}", principal.office),
            format!("you may list the tasks of your own office's units ({}) only, not of {asked}", principal.office),
        ));
    }
    filter.office = Some(principal.office.clone());
    Ok(filter)
}

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

/// The office of an applicant list (服务对象名录, `GET /api/v1/applicants`) `principal` may ask for, forced by
/// the gateway: supervisors and the city office's staff see every office's applicants, or those of the office
/// they ask for; a county office's staff their own office's (asking for another is 403). Applicants (who see
/// themselves on their cases), officers, experts and integrators get 403. Intake scopes the list again itself.
pub fn scope_applicants(principal: &Principal, office: Option<String>) -> Result<Option<String>, Problem> {
    let (office, _) = scope_deadline(principal, Action::ReadRegistry, ("服务对象", "applicants"), office, None)?;
    Ok(office)
}

/// The office of an SMS list (短信记录) `principal` may ask for, forced by the gateway: supervisors and the
/// city office's staff see every office, or the one they ask for; a county office's staff their own
/// (asking for another is 403). Applicants, officers, experts and integrators get 403.
pub fn scope_messages(principal: &Principal, office: Option<String>) -> Result<Option<String>, Problem> {
    let (office, _) = scope_deadline(principal, Action::ReadMessages, ("短信记录", "SMS messages"), office, None)?;
    Ok(office)
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation (好差评): ratings, rectifications, appeals
// ---------------------------------------------------------------------------------------------------------

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

/// Which of a case's tasks `principal` may see: every one when they may read the case; otherwise
/// those they may read one by one (an officer its unit's, a linked office its own units'). Someone who
/// sees none learns nothing: 404, as for the case (403 for a role that never reads tasks).
pub fn visible_case_tasks(
    principal: &Principal,
    case: Resource<'_>,
    tasks: &[Resource<'_>],
) -> Result<Vec<bool>, Problem> {
    if authorize(principal, Action::ReadCase, case).is_ok() {
        return Ok(vec![true; tasks.len()]);
    }
    authorize_role(principal, Action::ReadTask)?;
    let visible: Vec<bool> = tasks.iter().map(|t| task_allowed(principal, Action::ReadTask, *t)).collect();
    if visible.contains(&true) { Ok(visible) } else { Err(Problem::not_found("案件不存在", "case not found")) }
}

/// Allows or refuses. A role that may never take the action gets 403; a principal whose role may
/// act but not on this case gets 404, so that the existence of others' cases does not leak.
///
/// On a task, someone who may read it but not take this step gets 403; someone who may not even read
/// it (an officer of another unit, another county's staff) gets 404.
pub fn authorize(principal: &Principal, action: Action, resource: Resource<'_>) -> Result<(), Problem> {
    authorize_role(principal, action)?;
    let ok = match (principal.role, resource) {
        (_, Resource::Task { .. }) => task_allowed(principal, action, resource),
        (_, Resource::Directory) => true,
        (_, Resource::CityWide) => is_read(action) || principal.office == CITY_OFFICE,
        (Role::Supervisor, _) => is_read(action),
        (Role::Applicant, Resource::Case { applicant, .. }) => principal.applicant.as_deref() == Some(applicant),
        (Role::Applicant, Resource::Office(_)) => false,
        (Role::Officer, Resource::Case { units, .. }) => principal.unit.as_ref().is_some_and(|u| units.contains(u)),
        (Role::Officer, Resource::Office(_)) => false,
        // Full personal data: the case's own specialist, or an admin of its office.
        (role, Resource::Case { office, specialist, .. })
            if matches!(action, Action::RevealPersonalData | Action::EditPlan) =>
        {
            (role == Role::OfficeAdmin && in_jurisdiction(principal, office)) || principal.sub == specialist
        }
        (_, Resource::Case { office, .. }) => in_jurisdiction(principal, office),
        (_, Resource::Office(office)) => in_jurisdiction(principal, office),
    };
    if ok {
        return Ok(());
    }
    match resource {
        Resource::Task { .. } if !task_allowed(principal, Action::ReadTask, resource) => {
            Err(Problem::not_found("事项不存在", "task not found"))
        }
        Resource::Task { unit, .. } => Err(match action {
            Action::WorkTask => Problem::forbidden(
                format!("只有责任单位（{unit}）的审批人员或该单位所在机构的工作人员可以办理此步骤"),
                format!("only an officer of the unit ({unit}) or the staff of its office may take this step"),
            ),
            Action::FollowTask => Problem::forbidden(
                "只有本案的帮办（代办）员或受理机构的管理员可以办理此步骤",
                "only the case's specialist or an admin of the accepting office may take this step",
            ),
            Action::LinkTask => Problem::forbidden(
                "只有联动机构（责任单位所在机构）的工作人员可以响应或反馈联动事项",
                "only the staff of the linked office (the unit's office) may acknowledge or report on linked handling",
            ),
            Action::ExtendClock => Problem::forbidden(
                format!("只有责任单位（{unit}）所在机构或市级机构（{CITY_OFFICE}）的机构管理员可以批准延期"),
                format!(
                    "only an office admin of the unit's ({unit}) office or of the city office ({CITY_OFFICE}) may approve an extension"
                ),
            ),
            Action::AnswerSupervision => Problem::forbidden(
                format!("只有责任单位（{unit}）的审批人员或该单位所在机构的机构管理员可以反馈督办单"),
                format!("only an officer of the unit ({unit}) or an office admin of its office may answer the notice"),
            ),
            Action::RecordProblem => Problem::forbidden(
                "只有本案的帮办（代办）员或受理机构的工作人员可以记录问题",
                "only the case's specialist or the staff of the accepting office may record a problem",
            ),
            Action::HandleProblem => Problem::forbidden(
                "只有本案的帮办（代办）员或受理机构的机构管理员可以处理问题",
                "only the case's specialist or an office admin of the accepting office may solve or refer a problem",
            ),
            _ => Problem::forbidden("无权处理此事项", "you may not act on this task"),
        }),
        Resource::Case { .. } if is_read(action) || matches!(principal.role, Role::Applicant | Role::Officer) => {
            Err(Problem::not_found("案件不存在", "case not found"))
        }
        // Someone who may not even read the case does not learn that it exists.
        Resource::Case { office, .. } if action == Action::EditPlan && !in_jurisdiction(principal, office) => {
            Err(Problem::not_found("案件不存在", "case not found"))
        }
        Resource::Case { .. } if action == Action::EditPlan => Err(Problem::forbidden(
            "只有本案的帮办（代办）员或本机构管理员可以修改代办方案",
            "only the case's specialist or an admin of its office may change its plan",
        )),
        Resource::Case { .. } => Err(Problem::forbidden("无权处理此案件", "you may not act on this case")),
        Resource::CityWide => {
            let (zh, en) = match action {
                Action::ManageCalendar => ("工作日历", "the working-day calendar"),
                _ => ("事项库", "the approval-item catalog"),
            };
            Err(Problem::forbidden(
                format!("{zh}全市统一，只有市级机构（{CITY_OFFICE}）的机构管理员可以修改"),
                format!("{en} is city-wide; only an office admin of the city office ({CITY_OFFICE}) may change it"),
            ))
        }
        Resource::Directory => Err(Problem::forbidden("无权查看", "you may not read this")),
        Resource::Office(office) => {
            Err(Problem::forbidden(format!("无权在机构 {office} 办理"), format!("you may not act for office {office}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(role: Role, office: &str, applicant: Option<&str>) -> Principal {
        Principal { sub: "u".into(), role, office: office.into(), unit: None, applicant: applicant.map(Into::into) }
    }

    const CASE: Resource<'static> =
        Resource::Case { office: "371625", applicant: "a-1", specialist: "s-1", units: &[] };

    #[test]
    fn applicant_sees_only_own_case() {
        assert!(authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::ReadCase, CASE).is_ok());
        let other = authorize(&p(Role::Applicant, "371625", Some("a-2")), Action::ReadCase, CASE).unwrap_err();
        assert_eq!(other.status, 404);
        let create =
            authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::CreateCase, Resource::Office("371625"));
        assert_eq!(create.unwrap_err().status, 403);
    }

    #[test]
    fn staff_act_within_jurisdiction() {
        assert!(authorize(&p(Role::Assistant, "371625", None), Action::CreateCase, Resource::Office("371625")).is_ok());
        assert!(authorize(&p(Role::Assistant, "371600", None), Action::CreateCase, Resource::Office("371625")).is_ok());
        assert_eq!(
            authorize(&p(Role::Assistant, "371681", None), Action::CreateCase, Resource::Office("371625"))
                .unwrap_err()
                .status,
            403
        );
        assert!(authorize(&p(Role::Supervisor, "371625", None), Action::ReadCase, CASE).is_ok());
        assert_eq!(authorize(&p(Role::Agent, "371681", None), Action::ReadCase, CASE).unwrap_err().status, 404);
    }

    #[test]
    fn supervisors_read_everything_and_change_nothing() {
        assert!(authorize(&p(Role::Supervisor, "371681", None), Action::ReadCase, CASE).is_ok());
        assert_eq!(
            authorize(&p(Role::Supervisor, "371600", None), Action::TerminateCase, CASE).unwrap_err().status,
            403
        );
    }

    #[test]
    fn personal_data_only_for_the_specialist_or_an_admin() {
        let mut own = p(Role::Assistant, "371625", None);
        own.sub = "s-1".into();
        assert!(authorize(&own, Action::RevealPersonalData, CASE).is_ok());
        assert_eq!(
            authorize(&p(Role::Assistant, "371625", None), Action::RevealPersonalData, CASE).unwrap_err().status,
            403
        );
        assert!(authorize(&p(Role::OfficeAdmin, "371625", None), Action::RevealPersonalData, CASE).is_ok());
        assert_eq!(
            authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::RevealPersonalData, CASE).unwrap_err().status,
            403
        );
    }

    #[test]
    fn integrator_only_reads_and_officer_has_no_case_access() {
        assert_eq!(authorize(&p(Role::Integrator, "371600", None), Action::ReadCase, CASE).unwrap_err().status, 403);
        assert_eq!(
            authorize(&p(Role::Integrator, "371600", None), Action::CreateCase, Resource::Office("371600"))
                .unwrap_err()
                .status,
            403
        );
        assert_eq!(authorize(&p(Role::Officer, "371625", None), Action::ReadCase, CASE).unwrap_err().status, 403);
        assert_eq!(
            authorize(&p(Role::Supervisor, "371600", None), Action::CreateCase, Resource::Office("371600"))
                .unwrap_err()
                .status,
            403
        );
    }

    #[test]
    fn everyone_reads_the_calendar_and_the_catalog() {
        for role in Role::ALL {
            for action in [Action::ReadCalendar, Action::ReadCatalog] {
                let who = p(role, "371625", Some("a-1"));
                assert!(authorize(&who, action, Resource::CityWide).is_ok(), "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn only_a_city_office_admin_changes_the_calendar_and_the_catalog() {
        for action in [Action::ManageCalendar, Action::EditCatalog] {
            assert!(authorize(&p(Role::OfficeAdmin, "371600", None), action, Resource::CityWide).is_ok());
            let county = authorize(&p(Role::OfficeAdmin, "371625", None), action, Resource::CityWide).unwrap_err();
            assert_eq!(county.status, 403);
            assert!(county.detail.as_deref().unwrap().contains("全市统一"), "{county}");
            assert!(county.detail_en.as_deref().unwrap().contains("city-wide"), "{county}");
            for role in [Role::Assistant, Role::Agent, Role::Supervisor, Role::Applicant, Role::Integrator] {
                let refused = authorize(&p(role, "371600", Some("a-1")), action, Resource::CityWide).unwrap_err();
                assert_eq!(refused.status, 403, "{role:?} {action:?}");
            }
        }
        let catalog = authorize(&p(Role::OfficeAdmin, "371681", None), Action::EditCatalog, Resource::CityWide);
        assert!(catalog.unwrap_err().detail.unwrap().contains("事项库"));
        let calendar = authorize(&p(Role::OfficeAdmin, "371681", None), Action::ManageCalendar, Resource::CityWide);
        assert!(calendar.unwrap_err().detail.unwrap().contains("工作日历"));
    }

    #[test]
    fn the_plan_is_edited_by_the_specialist_or_an_admin_in_jurisdiction() {
        let mut own = p(Role::Assistant, "371625", None);
        own.sub = "s-1".into();
        assert!(authorize(&own, Action::EditPlan, CASE).is_ok());
        let mut own_agent = p(Role::Agent, "371625", None);
        own_agent.sub = "s-1".into();
        assert!(authorize(&own_agent, Action::EditPlan, CASE).is_ok());
        assert!(authorize(&p(Role::OfficeAdmin, "371625", None), Action::EditPlan, CASE).is_ok());
        assert!(authorize(&p(Role::OfficeAdmin, "371600", None), Action::EditPlan, CASE).is_ok(), "the city's admin");

        // A colleague of the same office reads the case but may not change its plan.
        let colleague = authorize(&p(Role::Assistant, "371625", None), Action::EditPlan, CASE).unwrap_err();
        assert_eq!(colleague.status, 403);
        assert!(colleague.detail.unwrap().contains("代办方案"));
        assert_eq!(authorize(&p(Role::Assistant, "371600", None), Action::EditPlan, CASE).unwrap_err().status, 403);
        // Outside the jurisdiction the case does not exist.
        assert_eq!(authorize(&p(Role::Assistant, "371681", None), Action::EditPlan, CASE).unwrap_err().status, 404);
        assert_eq!(authorize(&p(Role::OfficeAdmin, "371681", None), Action::EditPlan, CASE).unwrap_err().status, 404);
        // Roles that never edit a plan, the case's own applicant included.
        for role in [Role::Applicant, Role::Supervisor, Role::Expert, Role::Officer, Role::Integrator] {
            let mut who = p(role, "371625", Some("a-1"));
            who.sub = "s-1".into();
            assert_eq!(authorize(&who, Action::EditPlan, CASE).unwrap_err().status, 403, "{role:?}");
        }
        assert!(authorize(&p(Role::Applicant, "371625", Some("a-1")), Action::ReadCase, CASE).is_ok());
    }

    fn officer(unit: &str, office: &str) -> Principal {
        Principal {
            sub: "o".into(),
            role: Role::Officer,
            office: office.into(),
            unit: Some(unit.into()),
            applicant: None,
        }
    }

    fn named(sub: &str, role: Role, office: &str) -> Principal {
        Principal { sub: sub.into(), role, office: office.into(), unit: None, applicant: None }
    }

    /// A task at a unit of 博兴县 (371625) of a case accepted there, specialist s-1, applicant a-1.
    const TASK: Resource<'static> = Resource::Task {
        unit: "371625-XZSP",
        unit_office: "371625",
        case_office: "371625",
        specialist: "s-1",
        applicant: "a-1",
    };

    /// A linked task: the case accepted by the city office (371600), the unit in 博兴县 (371625).
    const LINKED: Resource<'static> = Resource::Task {
        unit: "371625-ZRZY",
        unit_office: "371625",
        case_office: "371600",
        specialist: "s-city",
        applicant: "a-1",
    };

    const UNIT_STEPS: [&str; 5] = ["receive", "start_review", "request_supplement", "approve", "reject"];
    const CASE_STEPS: [&str; 3] = ["supplement", "collect_result", "withdraw"];
    const LINK_STEPS: [&str; 2] = ["acknowledge_link", "report_link"];

    fn step(name: &str) -> Action {
        Action::for_task_step(name).unwrap_or_else(|| panic!("{name} is a step"))
    }

    fn status(principal: &Principal, action: Action, resource: Resource<'_>) -> u16 {
        authorize(principal, action, resource).err().map(|p| p.status).unwrap_or(200)
    }

    #[test]
    fn every_step_name_is_one_action() {
        for name in UNIT_STEPS {
            assert_eq!(step(name), Action::WorkTask);
        }
        for name in CASE_STEPS {
            assert_eq!(step(name), Action::FollowTask);
        }
        for name in LINK_STEPS {
            assert_eq!(step(name), Action::LinkTask);
        }
        assert_eq!(Action::for_task_step("approve_all"), None);
    }

    #[test]
    fn everyone_reads_the_unit_directory() {
        for role in Role::ALL {
            assert!(
                authorize(&p(role, "371625", Some("a-1")), Action::ReadUnits, Resource::Directory).is_ok(),
                "{role:?}"
            );
        }
    }

    #[test]
    fn the_units_officer_or_its_offices_staff_work_the_task() {
        for name in UNIT_STEPS {
            let action = step(name);
            assert_eq!(status(&officer("371625-XZSP", "371625"), action, TASK), 200, "{name}");
            for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
                assert_eq!(status(&p(role, "371625", None), action, TASK), 200, "{name} {role:?} of the unit's office");
                // Another county's staff do not even see the task; the city's see it but act for city units only.
                assert_eq!(status(&p(role, "371621", None), action, TASK), 404, "{name} {role:?} of 371621");
                assert_eq!(status(&p(role, "371600", None), action, TASK), 403, "{name} {role:?} of the city");
            }
            // An officer of another unit learns nothing, even of the same office.
            assert_eq!(status(&officer("371625-ZRZY", "371625"), action, TASK), 404, "{name}");
            assert_eq!(status(&officer("371621-XZSP", "371621"), action, TASK), 404, "{name}");
            // The applicant sees the task but does not work it; supervisors, experts, integrators never do.
            assert_eq!(status(&p(Role::Applicant, "371625", Some("a-1")), action, TASK), 403, "{name}");
            for role in [Role::Supervisor, Role::Expert, Role::Integrator] {
                assert_eq!(status(&p(role, "371625", None), action, TASK), 403, "{name} {role:?}");
            }
        }
        // City staff act for city units (and the provincial ones routed via the city).
        let city_unit = Resource::Task {
            unit: "371600-ZRZY",
            unit_office: "371600",
            case_office: "371625",
            specialist: "s-1",
            applicant: "a-1",
        };
        assert_eq!(status(&p(Role::Assistant, "371600", None), Action::WorkTask, city_unit), 200);
        // The accepting county's staff see the city unit's task but do not act for the city's unit.
        assert_eq!(status(&p(Role::Assistant, "371625", None), Action::WorkTask, city_unit), 403);
    }

    #[test]
    fn the_case_side_follows_the_task_up() {
        for name in CASE_STEPS {
            let action = step(name);
            assert_eq!(status(&named("s-1", Role::Assistant, "371625"), action, TASK), 200, "{name} the specialist");
            assert_eq!(status(&named("s-1", Role::Agent, "371625"), action, TASK), 200, "{name} an agent specialist");
            assert_eq!(status(&p(Role::OfficeAdmin, "371625", None), action, TASK), 200, "{name} the office's admin");
            assert_eq!(status(&p(Role::OfficeAdmin, "371600", None), action, TASK), 200, "{name} the city's admin");
            // A colleague who is not the specialist sees the task but does not follow it up.
            assert_eq!(status(&p(Role::Assistant, "371625", None), action, TASK), 403, "{name} a colleague");
            assert_eq!(status(&p(Role::OfficeAdmin, "371681", None), action, TASK), 404, "{name} another county");
            // The unit's officer works the task but does not follow up the case; nor does the applicant.
            assert_eq!(status(&officer("371625-XZSP", "371625"), action, TASK), 403, "{name} the officer");
            assert_eq!(status(&p(Role::Applicant, "371625", Some("a-1")), action, TASK), 403, "{name}");
            // Linked handling: the city's specialist follows up; the linked county's admin does not.
            assert_eq!(status(&named("s-city", Role::Assistant, "371600"), action, LINKED), 200, "{name}");
            assert_eq!(status(&p(Role::OfficeAdmin, "371625", None), action, LINKED), 403, "{name}");
        }
    }

    #[test]
    fn the_linked_office_acknowledges_and_reports() {
        for name in LINK_STEPS {
            let action = step(name);
            for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
                assert_eq!(
                    status(&p(role, "371625", None), action, LINKED),
                    200,
                    "{name} {role:?} of the linked office"
                );
                assert_eq!(status(&p(role, "371621", None), action, LINKED), 404, "{name} {role:?} of 371621");
            }
            // The initiating side sees the task and does not answer for the linked office.
            assert_eq!(status(&named("s-city", Role::Assistant, "371600"), action, LINKED), 403, "{name}");
            assert_eq!(status(&officer("371625-ZRZY", "371625"), action, LINKED), 403, "{name} an officer");
            assert_eq!(status(&officer("371625-XZSP", "371625"), action, LINKED), 403, "{name} another unit's officer");
        }
    }

    #[test]
    fn who_reads_a_task() {
        let read = |who: &Principal, resource| status(who, Action::ReadTask, resource);
        assert_eq!(read(&officer("371625-XZSP", "371625"), TASK), 200);
        assert_eq!(read(&officer("371625-ZRZY", "371625"), TASK), 404);
        assert_eq!(read(&p(Role::Applicant, "371625", Some("a-1")), TASK), 200);
        assert_eq!(read(&p(Role::Applicant, "371625", Some("a-2")), TASK), 404);
        assert_eq!(read(&p(Role::Supervisor, "371681", None), TASK), 200);
        assert_eq!(read(&p(Role::Assistant, "371625", None), TASK), 200);
        assert_eq!(read(&p(Role::Assistant, "371600", None), TASK), 200, "the city sees all");
        assert_eq!(read(&p(Role::Assistant, "371621", None), TASK), 404);
        // Both sides of a linked task.
        assert_eq!(read(&named("s-city", Role::Assistant, "371600"), LINKED), 200);
        assert_eq!(read(&p(Role::Agent, "371625", None), LINKED), 200);
        assert_eq!(read(&p(Role::Agent, "371621", None), LINKED), 404);
        for role in [Role::Expert, Role::Integrator] {
            assert_eq!(read(&p(role, "371600", None), TASK), 403, "{role:?}");
        }
    }

    #[test]
    fn a_case_s_tasks_are_seen_with_the_case_or_one_by_one() {
        let case = Resource::Case { office: "371600", applicant: "a-1", specialist: "s-city", units: &[] };
        let at_city = Resource::Task {
            unit: "371600-FGW",
            unit_office: "371600",
            case_office: "371600",
            specialist: "s-city",
            applicant: "a-1",
        };
        let tasks = [at_city, LINKED];
        let seen = |who: &Principal| visible_case_tasks(who, case, &tasks).map_err(|p| p.status);
        assert_eq!(seen(&named("s-city", Role::Assistant, "371600")), Ok(vec![true, true]));
        assert_eq!(seen(&p(Role::Applicant, "371625", Some("a-1"))), Ok(vec![true, true]));
        assert_eq!(seen(&p(Role::Supervisor, "371681", None)), Ok(vec![true, true]));
        // The linked county sees its own units' tasks of the city's case; an officer their unit's.
        assert_eq!(seen(&p(Role::Assistant, "371625", None)), Ok(vec![false, true]));
        assert_eq!(seen(&officer("371625-ZRZY", "371625")), Ok(vec![false, true]));
        assert_eq!(seen(&officer("371600-FGW", "371600")), Ok(vec![true, false]));
        // Nobody else learns that the case exists.
        assert_eq!(seen(&officer("371621-ZRZY", "371621")), Err(404));
        assert_eq!(seen(&p(Role::Assistant, "371621", None)), Err(404));
        assert_eq!(seen(&p(Role::Applicant, "371621", Some("a-2"))), Err(404));
        assert_eq!(seen(&p(Role::Integrator, "371600", None)), Err(403));
        // Before any task is routed, reading the case's tasks is reading the case.
        assert_eq!(visible_case_tasks(&officer("371600-FGW", "371600"), case, &[]).map_err(|p| p.status), Err(404));
        assert_eq!(visible_case_tasks(&p(Role::Agent, "371600", None), case, &[]).map_err(|p| p.status), Ok(vec![]));
    }

    #[test]
    fn the_inbox_is_scoped_by_the_gateway() {
        let ask = |unit: Option<&str>, office: Option<&str>| ListTasks {
            unit: unit.map(Into::into),
            office: office.map(Into::into),
            ..Default::default()
        };
        // An officer: their unit, whatever they ask; another unit is refused.
        let own = scope_task_list(&officer("371625-XZSP", "371625"), ask(None, None)).unwrap();
        assert_eq!(own.unit.as_deref(), Some("371625-XZSP"));
        let own = scope_task_list(&officer("371625-XZSP", "371625"), ask(Some("371625-XZSP"), None)).unwrap();
        assert_eq!(own.unit.as_deref(), Some("371625-XZSP"));
        let other = scope_task_list(&officer("371625-XZSP", "371625"), ask(Some("371625-ZRZY"), None)).unwrap_err();
        assert_eq!(other.status, 403);
        // County staff and supervisors: their office, forced; another office is refused.
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor] {
            let own = scope_task_list(&p(role, "371625", None), ask(Some("371625-ZRZY"), None)).unwrap();
            assert_eq!((own.office.as_deref(), own.unit.as_deref()), (Some("371625"), Some("371625-ZRZY")), "{role:?}");
            let own = scope_task_list(&p(role, "371625", None), ask(None, Some("371625"))).unwrap();
            assert_eq!(own.office.as_deref(), Some("371625"), "{role:?}");
            let other = scope_task_list(&p(role, "371625", None), ask(None, Some("371621"))).unwrap_err();
            assert_eq!(other.status, 403, "{role:?}");
            // The city office: everything, or what it asks for.
            let all = scope_task_list(&p(role, "371600", None), ask(None, None)).unwrap();
            assert_eq!((all.office, all.unit), (None, None), "{role:?}");
            let some = scope_task_list(&p(role, "371600", None), ask(None, Some("371621"))).unwrap();
            assert_eq!(some.office.as_deref(), Some("371621"), "{role:?}");
        }
        for role in [Role::Applicant, Role::Integrator, Role::Expert] {
            let refused = scope_task_list(&p(role, "371600", Some("a-1")), ask(None, None)).unwrap_err();
            assert_eq!(refused.status, 403, "{role:?}");
        }
    }

    // -----------------------------------------------------------------------------------------------------
    // Deadlines: clocks, supervision, problems, consultations, monitoring
    // -----------------------------------------------------------------------------------------------------

    #[test]
    fn a_clock_is_read_like_its_task() {
        let read = |who: &Principal| status(who, Action::ReadTask, TASK);
        assert_eq!(read(&p(Role::Applicant, "371625", Some("a-1"))), 200, "the case's applicant");
        assert_eq!(read(&p(Role::Applicant, "371625", Some("a-2"))), 404, "another applicant");
        assert_eq!(read(&named("s-1", Role::Assistant, "371681")), 200, "the case's specialist, wherever they sit");
        assert_eq!(read(&officer("371625-XZSP", "371625")), 200, "the unit's officer");
        assert_eq!(read(&officer("371625-ZRZY", "371625")), 404, "another unit's officer");
        assert_eq!(read(&p(Role::OfficeAdmin, "371625", None)), 200, "the office");
        assert_eq!(read(&p(Role::Agent, "371621", None)), 404, "another county");
        assert_eq!(read(&p(Role::Agent, "371600", None)), 200, "the city");
        assert_eq!(read(&p(Role::Supervisor, "371621", None)), 200, "supervisors");
        // Both sides of a linked task: the accepting city office and the unit's county.
        assert_eq!(status(&p(Role::Assistant, "371625", None), Action::ReadTask, LINKED), 200);
        assert_eq!(status(&p(Role::Assistant, "371600", None), Action::ReadTask, LINKED), 200);
    }

    #[test]
    fn those_who_work_the_task_pause_its_clock_and_admins_approve_extensions() {
        // Pauses are the unit's work (WorkTask), tested above; extensions are the approver's.
        let extend = |who: &Principal, task| status(who, Action::ExtendClock, task);
        assert_eq!(extend(&p(Role::OfficeAdmin, "371625", None), TASK), 200, "an admin of the unit's office");
        assert_eq!(extend(&p(Role::OfficeAdmin, "371600", None), TASK), 200, "the city's admin");
        assert_eq!(extend(&p(Role::OfficeAdmin, "371621", None), TASK), 404, "another county's admin sees nothing");
        // The accepting county's admin sees a linked task at another office's unit but does not approve.
        let at_other = Resource::Task {
            unit: "371621-ZRZY",
            unit_office: "371621",
            case_office: "371625",
            specialist: "s-1",
            applicant: "a-1",
        };
        let refused = authorize(&p(Role::OfficeAdmin, "371625", None), Action::ExtendClock, at_other).unwrap_err();
        assert_eq!(refused.status, 403);
        assert!(refused.detail.as_deref().unwrap().contains("批准延期"), "{refused}");
        // Nobody else, however close to the task: the officer asks, the admin approves.
        for who in [
            officer("371625-XZSP", "371625"),
            named("s-1", Role::Assistant, "371625"),
            p(Role::Agent, "371600", None),
            p(Role::Supervisor, "371600", None),
            p(Role::Applicant, "371625", Some("a-1")),
            p(Role::Integrator, "371600", None),
        ] {
            assert_eq!(extend(&who, TASK), 403, "{who:?}");
        }
    }

    /// A notice is a task's: no applicant, no specialist on it.
    const NOTICE: Resource<'static> = Resource::Task {
        unit: "371625-XZSP",
        unit_office: "371625",
        case_office: "371625",
        specialist: "",
        applicant: "",
    };

    #[test]
    fn notices_are_read_within_reach_answered_by_the_unit_and_decided_by_supervisors() {
        let read = |who: &Principal| status(who, Action::ReadSupervision, NOTICE);
        assert_eq!(read(&officer("371625-XZSP", "371625")), 200);
        assert_eq!(read(&officer("371625-ZRZY", "371625")), 404);
        assert_eq!(read(&p(Role::Assistant, "371625", None)), 200);
        assert_eq!(read(&p(Role::Assistant, "371621", None)), 404);
        assert_eq!(read(&p(Role::OfficeAdmin, "371600", None)), 200);
        assert_eq!(read(&p(Role::Supervisor, "371681", None)), 200);
        for role in [Role::Applicant, Role::Expert, Role::Integrator] {
            assert_eq!(read(&p(role, "371625", Some("a-1"))), 403, "{role:?}");
        }

        let answer = |who: &Principal| status(who, Action::AnswerSupervision, NOTICE);
        assert_eq!(answer(&officer("371625-XZSP", "371625")), 200, "the unit's officer");
        assert_eq!(answer(&p(Role::OfficeAdmin, "371625", None)), 200, "an admin of the unit's office");
        assert_eq!(answer(&p(Role::OfficeAdmin, "371600", None)), 403, "the city answers for city units only");
        assert_eq!(answer(&p(Role::OfficeAdmin, "371621", None)), 404);
        assert_eq!(answer(&officer("371625-ZRZY", "371625")), 404);
        for role in [Role::Assistant, Role::Agent, Role::Supervisor, Role::Applicant] {
            assert_eq!(answer(&p(role, "371625", Some("a-1"))), 403, "{role:?}");
        }

        let decide = |who: &Principal| status(who, Action::DecideSupervision, NOTICE);
        assert_eq!(decide(&p(Role::Supervisor, "371600", None)), 200);
        assert_eq!(decide(&p(Role::Supervisor, "371621", None)), 200);
        for role in [Role::OfficeAdmin, Role::Assistant, Role::Officer, Role::Applicant] {
            assert_eq!(decide(&p(role, "371600", Some("a-1"))), 403, "{role:?}");
        }
    }

    #[test]
    fn the_case_side_records_and_handles_problems() {
        let record = |who: &Principal| status(who, Action::RecordProblem, TASK);
        assert_eq!(record(&named("s-1", Role::Assistant, "371625")), 200, "the specialist");
        assert_eq!(record(&p(Role::Agent, "371625", None)), 200, "the accepting office's staff");
        assert_eq!(record(&p(Role::OfficeAdmin, "371600", None)), 200, "the city's staff");
        assert_eq!(record(&p(Role::Assistant, "371621", None)), 404);
        // The unit's office sees a linked task but does not record the case side's problems.
        assert_eq!(status(&p(Role::Assistant, "371625", None), Action::RecordProblem, LINKED), 403);
        assert_eq!(record(&officer("371625-XZSP", "371625")), 403);
        assert_eq!(record(&p(Role::Supervisor, "371625", None)), 403);

        let handle = |who: &Principal| status(who, Action::HandleProblem, TASK);
        assert_eq!(handle(&named("s-1", Role::Assistant, "371625")), 200, "the specialist");
        assert_eq!(handle(&p(Role::OfficeAdmin, "371625", None)), 200, "an admin of the accepting office");
        assert_eq!(handle(&p(Role::OfficeAdmin, "371600", None)), 200, "the city's admin");
        let colleague = authorize(&p(Role::Assistant, "371625", None), Action::HandleProblem, TASK).unwrap_err();
        assert_eq!(colleague.status, 403, "a colleague who is not the specialist");
        assert!(colleague.detail.as_deref().unwrap().contains("处理问题"), "{colleague}");
        assert_eq!(handle(&p(Role::OfficeAdmin, "371621", None)), 404);
        assert_eq!(handle(&officer("371625-XZSP", "371625")), 403);
    }

    #[test]
    fn office_admins_record_meetings_for_their_own_office_the_city_for_any() {
        let record = |who: &Principal, office| status(who, Action::RecordMeeting, Resource::Office(office));
        assert_eq!(record(&p(Role::OfficeAdmin, "371625", None), "371625"), 200);
        assert_eq!(record(&p(Role::OfficeAdmin, "371625", None), "371621"), 403);
        assert_eq!(record(&p(Role::OfficeAdmin, "371600", None), "371621"), 200);
        for role in [Role::Assistant, Role::Agent, Role::Supervisor, Role::Officer, Role::Applicant] {
            assert_eq!(record(&p(role, "371625", Some("a-1")), "371625"), 403, "{role:?}");
        }
    }

    #[test]
    fn deadline_lists_and_monitoring_are_scoped_by_the_gateway() {
        let scope = |who: &Principal, action, office: Option<&str>, unit: Option<&str>| {
            scope_deadline(who, action, ("x", "x"), office.map(Into::into), unit.map(Into::into))
                .map(|(o, u)| (o.map(|o| o.to_string()), u.map(|u| u.to_string())))
                .map_err(|p| p.status)
        };
        let s = |v: &str| Some(v.to_string());
        // An officer: their unit, forced; another unit is refused; no monitoring, no meetings.
        let own = officer("371625-XZSP", "371625");
        assert_eq!(scope(&own, Action::ListClocks, None, None), Ok((None, s("371625-XZSP"))));
        assert_eq!(scope(&own, Action::ListClocks, None, Some("371625-ZRZY")), Err(403));
        assert_eq!(scope(&own, Action::ReadProblems, None, None), Ok((None, s("371625-XZSP"))));
        assert_eq!(scope(&own, Action::ReadMonitoring, None, None), Err(403));
        assert_eq!(scope(&own, Action::ReadMeetings, None, None), Err(403));
        // County staff: their office, forced; another office is refused.
        for action in [Action::ListClocks, Action::ReadProblems, Action::ReadMeetings, Action::ReadMonitoring] {
            for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
                let county = p(role, "371625", None);
                assert_eq!(scope(&county, action, None, None), Ok((s("371625"), None)), "{role:?} {action:?}");
                assert_eq!(scope(&county, action, s("371625").as_deref(), None), Ok((s("371625"), None)));
                assert_eq!(scope(&county, action, Some("371621"), None), Err(403), "{role:?} {action:?}");
                // The city's staff: everything, or what they ask for.
                let city = p(role, "371600", None);
                assert_eq!(scope(&city, action, None, None), Ok((None, None)), "{role:?} {action:?}");
                assert_eq!(scope(&city, action, Some("371621"), None), Ok((s("371621"), None)));
            }
            // Supervisors, wherever they sit: everything.
            let supervisor = p(Role::Supervisor, "371625", None);
            assert_eq!(scope(&supervisor, action, None, None), Ok((None, None)), "{action:?}");
            assert_eq!(scope(&supervisor, action, Some("371621"), None), Ok((s("371621"), None)));
            for role in [Role::Applicant, Role::Expert, Role::Integrator] {
                assert_eq!(scope(&p(role, "371600", Some("a-1")), action, None, None), Err(403), "{role:?}");
            }
        }
        let refused = scope_deadline(
            &p(Role::OfficeAdmin, "371625", None),
            Action::ReadMonitoring,
            ("业务监控数据", "monitoring figures"),
            Some("371621".into()),
            None,
        )
        .unwrap_err();
        assert!(refused.detail.as_deref().unwrap().contains("371621"), "{refused}");
        assert!(refused.detail_en.as_deref().unwrap().contains("monitoring figures"), "{refused}");
    }

    // -----------------------------------------------------------------------------------------------------
    // Notifications: the inbox and the SMS log
    // -----------------------------------------------------------------------------------------------------

    #[test]
    fn inbox_owners_come_from_the_token() {
        let applicant_id = "0195f39f-1a2b-7c3d-8e4f-5a6b7c8d9e0f";
        let applicant = p(Role::Applicant, "371625", Some(applicant_id));
        assert_eq!(inbox_owners(&applicant).unwrap(), [format!("applicant:{applicant_id}")]);
        // An applicant's token without (or with a malformed) applicant id reads nobody's inbox.
        for claim in [None, Some("a-1"), Some("")] {
            let refused = inbox_owners(&p(Role::Applicant, "371625", claim)).unwrap_err();
            assert_eq!(refused.status, 403, "{claim:?}");
        }
        // Staff of every other role: their own.
        for role in [Role::Assistant, Role::Agent, Role::Expert, Role::OfficeAdmin, Role::Supervisor] {
            let who = named("staff-371625-1", role, "371625");
            assert_eq!(inbox_owners(&who).unwrap(), ["staff:staff-371625-1"], "{role:?}");
            // A stray claim on a staff token changes nothing.
            let stray = Principal { unit: Some("371625-XZSP".into()), applicant: Some(applicant_id.into()), ..who };
            assert_eq!(inbox_owners(&stray).unwrap(), ["staff:staff-371625-1"], "{role:?}");
        }
        // A unit's officer: their own and their unit's.
        assert_eq!(inbox_owners(&officer("371625-XZSP", "371625")).unwrap(), ["staff:o", "unit:371625-XZSP"]);
        let no_unit = Principal { unit: None, ..officer("x", "371625") };
        assert_eq!(inbox_owners(&no_unit).unwrap_err().status, 403);
        // Integrators read the bus.
        let integrator = inbox_owners(&p(Role::Integrator, "371600", None)).unwrap_err();
        assert_eq!(integrator.status, 403);
        assert!(integrator.detail.as_deref().unwrap().contains("系统对接方"), "{integrator}");
    }

    #[test]
    fn the_applicant_register_is_scoped_to_the_office() {
        let county = p(Role::Assistant, "371625", None);
        assert_eq!(scope_applicants(&county, None).unwrap(), Some("371625".into()));
        assert_eq!(scope_applicants(&county, Some("371625".into())).unwrap(), Some("371625".into()));
        assert_eq!(scope_applicants(&county, Some("371681".into())).unwrap_err().status, 403);
        assert_eq!(scope_applicants(&p(Role::OfficeAdmin, "371600", None), None).unwrap(), None);
        assert_eq!(
            scope_applicants(&p(Role::Supervisor, "371625", None), Some("371681".into())).unwrap(),
            Some("371681".into())
        );
        for role in [Role::Applicant, Role::Officer, Role::Expert, Role::Integrator] {
            assert_eq!(scope_applicants(&p(role, "371600", Some("a-1")), None).unwrap_err().status, 403, "{role:?}");
        }
    }

    #[test]
    fn the_sms_log_is_scoped_to_the_office() {
        let s = |v: &str| Some(v.to_string());
        let scope =
            |who: &Principal, office: Option<&str>| scope_messages(who, office.map(Into::into)).map_err(|p| p.status);
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
            // County staff: their own office, forced; another is refused.
            let county = p(role, "371625", None);
            assert_eq!(scope(&county, None), Ok(s("371625")), "{role:?}");
            assert_eq!(scope(&county, Some("371625")), Ok(s("371625")), "{role:?}");
            assert_eq!(scope(&county, Some("371621")), Err(403), "{role:?}");
            assert_eq!(scope(&county, Some("371600")), Err(403), "{role:?}");
            // The city office's staff: every office, or the one asked for.
            let city = p(role, "371600", None);
            assert_eq!(scope(&city, None), Ok(None), "{role:?}");
            assert_eq!(scope(&city, Some("371621")), Ok(s("371621")), "{role:?}");
        }
        // Supervisors, wherever they sit: every office.
        let supervisor = p(Role::Supervisor, "371625", None);
        assert_eq!(scope(&supervisor, None), Ok(None));
        assert_eq!(scope(&supervisor, Some("371621")), Ok(s("371621")));
        // Nobody else.
        assert_eq!(scope(&officer("371625-XZSP", "371625"), None), Err(403));
        for role in [Role::Applicant, Role::Expert, Role::Integrator] {
            assert_eq!(scope(&p(role, "371600", Some("a-1")), None), Err(403), "{role:?}");
        }
        let refused = scope_messages(&p(Role::Agent, "371625", None), s("371621")).unwrap_err();
        assert!(refused.detail.as_deref().unwrap().contains("短信记录"), "{refused}");
        assert!(refused.detail_en.as_deref().unwrap().contains("371621"), "{refused}");
    }
    // -----------------------------------------------------------------------------------------------------
    // Evaluation: ratings, rectifications, appeals
    // -----------------------------------------------------------------------------------------------------

    const APPLICANT: &str = "0195f39e-0a1b-7c2d-8e3f-4a5b6c7d8e9f";

    /// A rating of the item of 371625-XZSP (博兴县) of a case accepted at `office`, specialist s-1.
    fn rating(office: &str, task: bool) -> EvaluationView {
        use bangban_contracts::evaluation::{Channel, Level, Matter};
        let task_id = Uuid::now_v7();
        EvaluationView {
            id: Uuid::now_v7(),
            matter: if task { Matter::Task { task_id } } else { Matter::Case { case_id: Uuid::nil() } },
            case_id: Uuid::nil(),
            task_id: task.then_some(task_id),
            ledger_no: "BB-1".into(),
            office: office.into(),
            item_name: "建设工程规划许可证核发".into(),
            unit_code: task.then(|| "371625-XZSP".into()),
            unit_office: task.then(|| "371625".into()),
            specialist_id: "s-1".into(),
            applicant_id: Uuid::parse_str(APPLICANT).unwrap(),
            level: Level::Dissatisfied,
            level_label: "不满意".into(),
            comment: None,
            tags: vec![],
            channel: Channel::Platform,
            entered_by: None,
            submitted_at: chrono::Utc::now(),
            bad: true,
            rectification_id: None,
            appeal: None,
            counts: true,
        }
    }

    fn rectification(assignee: Assignee, office: &str) -> RectificationView {
        use bangban_contracts::evaluation::{Level, RectificationStatus};
        let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 20).unwrap();
        RectificationView {
            id: Uuid::now_v7(),
            evaluation_id: Uuid::now_v7(),
            case_id: Uuid::nil(),
            task_id: None,
            item_name: "x".into(),
            level: Level::VeryDissatisfied,
            comment: None,
            assignee,
            office: office.into(),
            status: RectificationStatus::Opened,
            opened_at: chrono::Utc::now(),
            contact_due: day,
            due: day,
            contacted_at: None,
            contact_note: None,
            fix: None,
            answer: None,
            answered_at: None,
            fix_rating: None,
            closed_at: None,
            escalated_at: None,
            escalation_reason: None,
            on_time: None,
        }
    }

    fn unit_assignee() -> Assignee {
        Assignee::Unit { unit_code: "371625-XZSP".into(), unit_office: "371625".into() }
    }

    fn specialist_assignee() -> Assignee {
        Assignee::Specialist { specialist_id: "s-1".into(), office: "371625".into() }
    }

    #[test]
    fn only_an_applicant_with_an_id_rates_in_their_own_name() {
        let own = rating_applicant(&p(Role::Applicant, "371625", Some(APPLICANT)), Action::RateMatter).unwrap();
        assert_eq!(own.to_string(), APPLICANT);
        for claim in [None, Some("a-1"), Some("")] {
            let refused = rating_applicant(&p(Role::Applicant, "371625", claim), Action::RateMatter).unwrap_err();
            assert_eq!(refused.status, 403, "{claim:?}");
        }
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Applicant) {
            let refused = rating_applicant(&p(role, "371625", Some(APPLICANT)), Action::RateMatter).unwrap_err();
            assert_eq!(refused.status, 403, "{role:?}");
        }
        // The window's staff enter the applicant's code; nobody else does.
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
            assert!(authorize_role(&p(role, "371625", None), Action::RateAtWindow).is_ok(), "{role:?}");
        }
        for role in [Role::Applicant, Role::Officer, Role::Integrator, Role::Supervisor, Role::Expert] {
            assert_eq!(authorize_role(&p(role, "371625", None), Action::RateAtWindow).unwrap_err().status, 403);
        }
    }

    #[test]
    fn rating_lists_are_narrowed_to_the_caller() {
        let s = |v: &str| Some(v.to_string());
        let scope = |who: &Principal, filter: ListEvaluations| scope_evaluations(who, filter).map_err(|p| p.status);
        let none = ListEvaluations::default;
        // An applicant: their own, whatever else they ask.
        let applicant = p(Role::Applicant, "371625", Some(APPLICANT));
        let own = scope(&applicant, none()).unwrap();
        assert_eq!(own.applicant_id.map(|a| a.to_string()).as_deref(), Some(APPLICANT));
        let other = ListEvaluations { applicant_id: Some(Uuid::now_v7()), ..none() };
        assert_eq!(scope(&applicant, other), Err(403));
        assert_eq!(scope(&p(Role::Applicant, "371625", None), none()), Err(403), "no applicant claim");
        // Specialists: the ratings of their cases, wherever they sit.
        for role in [Role::Assistant, Role::Agent] {
            for office in ["371625", "371600"] {
                let who = named("s-1", role, office);
                assert_eq!(scope(&who, none()).unwrap().specialist, s("s-1"), "{role:?} {office}");
                let asked = ListEvaluations { specialist: s("s-2"), ..none() };
                assert_eq!(scope(&who, asked), Err(403), "{role:?} {office}");
                let office_filter = ListEvaluations { office: s("371621"), ..none() };
                assert_eq!(scope(&who, office_filter).unwrap().specialist, s("s-1"));
            }
        }
        // An officer: their unit.
        let own = officer("371625-XZSP", "371625");
        assert_eq!(scope(&own, none()).unwrap().unit, s("371625-XZSP"));
        assert_eq!(scope(&own, ListEvaluations { unit: s("371625-ZRZY"), ..none() }), Err(403));
        assert_eq!(scope(&Principal { unit: None, ..own.clone() }, none()), Err(403));
        // A county office's admins and experts: their office; another is 403.
        for role in [Role::OfficeAdmin, Role::Expert] {
            let county = p(role, "371625", None);
            assert_eq!(scope(&county, none()).unwrap().office, s("371625"), "{role:?}");
            assert_eq!(scope(&county, ListEvaluations { office: s("371621"), ..none() }), Err(403), "{role:?}");
            // The city's: as asked.
            let city = p(role, "371600", None);
            assert_eq!(scope(&city, none()).unwrap(), none(), "{role:?}");
            let asked = ListEvaluations { office: s("371621"), bad: Some(true), ..none() };
            assert_eq!(scope(&city, asked.clone()).unwrap(), asked);
        }
        let supervisor = p(Role::Supervisor, "371625", None);
        let asked = ListEvaluations { unit: s("371621-ZRZY"), ..none() };
        assert_eq!(scope(&supervisor, asked.clone()).unwrap(), asked);
        assert_eq!(scope(&p(Role::Integrator, "371600", None), none()), Err(403));
    }

    #[test]
    fn one_rating_is_seen_by_whom_it_concerns() {
        let task = rating("371625", true);
        let read = |who: &Principal, r: &EvaluationView| authorize_evaluation(who, r).err().map_or(200, |p| p.status);
        assert_eq!(read(&p(Role::Applicant, "371625", Some(APPLICANT)), &task), 200);
        assert_eq!(read(&p(Role::Applicant, "371625", Some(&Uuid::now_v7().to_string())), &task), 404);
        assert_eq!(read(&named("s-1", Role::Assistant, "371681"), &task), 200, "the specialist");
        assert_eq!(read(&named("s-2", Role::Assistant, "371625"), &task), 404, "a colleague");
        assert_eq!(read(&officer("371625-XZSP", "371625"), &task), 200);
        assert_eq!(read(&officer("371625-ZRZY", "371625"), &task), 404);
        assert_eq!(read(&p(Role::OfficeAdmin, "371625", None), &task), 200);
        assert_eq!(read(&p(Role::Expert, "371625", None), &task), 200);
        assert_eq!(read(&p(Role::OfficeAdmin, "371621", None), &task), 404);
        assert_eq!(read(&p(Role::OfficeAdmin, "371600", None), &task), 200);
        assert_eq!(read(&p(Role::Supervisor, "371681", None), &task), 200);
        assert_eq!(read(&p(Role::Integrator, "371600", None), &task), 403);
        // A city case's item at a county unit: the unit's county sees it too.
        let linked = rating("371600", true);
        assert_eq!(read(&p(Role::OfficeAdmin, "371625", None), &linked), 200);
        // The whole service of a case: no unit, so no officer.
        let whole = rating("371625", false);
        assert_eq!(read(&officer("371625-XZSP", "371625"), &whole), 404);
    }

    #[test]
    fn rectifications_are_worked_by_their_assignee_and_rated_by_the_applicant() {
        let r = rating("371625", true);
        let work = |who: &Principal, rect: &RectificationView| {
            authorize_rectification(who, Action::WorkRectification, rect, &r).err().map_or(200, |p| p.status)
        };
        let unit = rectification(unit_assignee(), "371625");
        assert_eq!(work(&officer("371625-XZSP", "371625"), &unit), 200, "the unit's officer");
        for role in [Role::Assistant, Role::Agent, Role::OfficeAdmin] {
            assert_eq!(work(&named("x", role, "371625"), &unit), 200, "{role:?} of the unit's office");
            assert_eq!(work(&named("x", role, "371621"), &unit), 404, "{role:?} of another county");
        }
        assert_eq!(work(&officer("371625-ZRZY", "371625"), &unit), 404, "another unit's officer");
        // The city sees it but does not work a county unit's rectification; the case's specialist neither.
        assert_eq!(work(&p(Role::OfficeAdmin, "371600", None), &unit), 403);
        assert_eq!(work(&named("s-1", Role::Assistant, "371600"), &unit), 403);
        assert_eq!(work(&p(Role::Supervisor, "371625", None), &unit), 403);
        assert_eq!(work(&p(Role::Applicant, "371625", Some(APPLICANT)), &unit), 403);

        let whole = rating("371625", false);
        let spec = rectification(specialist_assignee(), "371625");
        let work = |who: &Principal| {
            authorize_rectification(who, Action::WorkRectification, &spec, &whole).err().map_or(200, |p| p.status)
        };
        assert_eq!(work(&named("s-1", Role::Assistant, "371625")), 200, "the specialist");
        assert_eq!(work(&p(Role::OfficeAdmin, "371625", None)), 200, "an admin of their office");
        assert_eq!(work(&named("s-2", Role::Agent, "371625")), 404, "a colleague sees nothing");
        assert_eq!(work(&p(Role::OfficeAdmin, "371600", None)), 403, "the city sees but does not work it");
        assert_eq!(work(&p(Role::OfficeAdmin, "371621", None)), 404);

        // The applicant reads and rates it, and their id goes with it.
        let applicant = p(Role::Applicant, "371625", Some(APPLICANT));
        for action in [Action::ReadRectifications, Action::RateRectification] {
            let id = authorize_rectification(&applicant, action, &unit, &r).unwrap();
            assert_eq!(id.map(|i| i.to_string()).as_deref(), Some(APPLICANT), "{action:?}");
            let other = p(Role::Applicant, "371625", Some(&Uuid::now_v7().to_string()));
            assert_eq!(authorize_rectification(&other, action, &unit, &r).unwrap_err().status, 404);
        }
        let officer_rates =
            authorize_rectification(&officer("371625-XZSP", "371625"), Action::RateRectification, &unit, &r);
        assert_eq!(officer_rates.unwrap_err().status, 403);
        // Staff read within reach.
        let read = |who: &Principal| {
            authorize_rectification(who, Action::ReadRectifications, &unit, &r).err().map_or(200, |p| p.status)
        };
        assert_eq!(read(&named("s-1", Role::Agent, "371681")), 200, "the case's specialist");
        assert_eq!(read(&p(Role::Supervisor, "371681", None)), 200);
        assert_eq!(read(&p(Role::Expert, "371621", None)), 404);
        assert_eq!(read(&p(Role::Integrator, "371600", None)), 403);

        let s = |v: &str| Some(v.to_string());
        let scope = |who: &Principal| scope_rectifications(who, ListRectifications::default()).map_err(|p| p.status);
        assert_eq!(scope(&officer("371625-XZSP", "371625")).unwrap().unit, s("371625-XZSP"));
        assert_eq!(scope(&named("s-1", Role::Assistant, "371625")).unwrap().specialist, s("s-1"));
        assert_eq!(scope(&p(Role::OfficeAdmin, "371625", None)).unwrap().office, s("371625"));
        assert_eq!(scope(&p(Role::OfficeAdmin, "371600", None)).unwrap(), ListRectifications::default());
        assert_eq!(scope(&p(Role::Applicant, "371625", Some(APPLICANT))), Err(403));
        assert_eq!(scope(&p(Role::Integrator, "371600", None)), Err(403));
    }

    #[test]
    fn the_staff_concerned_appeal_and_office_admins_decide() {
        let task = rating("371625", true);
        let appeal = |who: &Principal, r: &EvaluationView| authorize_appeal(who, r).err().map_or(200, |p| p.status);
        assert_eq!(appeal(&named("s-1", Role::Assistant, "371625"), &task), 200, "the specialist");
        assert_eq!(appeal(&named("s-2", Role::Assistant, "371625"), &task), 404, "a colleague");
        assert_eq!(appeal(&officer("371625-XZSP", "371625"), &task), 200, "the unit's officer");
        assert_eq!(appeal(&officer("371625-ZRZY", "371625"), &task), 404);
        assert_eq!(appeal(&p(Role::OfficeAdmin, "371625", None), &task), 200);
        assert_eq!(appeal(&p(Role::OfficeAdmin, "371600", None), &task), 403, "the city sees, does not appeal");
        assert_eq!(appeal(&p(Role::OfficeAdmin, "371621", None), &task), 404);
        // The unit's county appeals a city case's item at its unit.
        assert_eq!(appeal(&p(Role::OfficeAdmin, "371625", None), &rating("371600", true)), 200);
        for role in [Role::Applicant, Role::Supervisor, Role::Expert, Role::Integrator] {
            assert_eq!(appeal(&p(role, "371625", Some(APPLICANT)), &task), 403, "{role:?}");
        }
        assert!(authorize_role(&p(Role::OfficeAdmin, "371625", None), Action::DecideAppeal).is_ok());
        for role in [Role::Assistant, Role::Supervisor, Role::Officer, Role::Applicant] {
            assert_eq!(authorize_role(&p(role, "371625", None), Action::DecideAppeal).unwrap_err().status, 403);
        }
    }

    #[test]
    fn appeals_assessment_and_statistics_are_the_admins_and_supervisors() {
        let s = |v: &str| Some(v.to_string());
        for action in [Action::ReadAppeals, Action::ReadAssessment] {
            let scope = |who: &Principal, office: Option<&str>| {
                scope_deadline(who, action, ("x", "x"), office.map(Into::into), None)
                    .map(|(o, _)| o)
                    .map_err(|p| p.status)
            };
            let county = p(Role::OfficeAdmin, "371625", None);
            assert_eq!(scope(&county, None), Ok(s("371625")));
            assert_eq!(scope(&county, Some("371621")), Err(403));
            assert_eq!(scope(&p(Role::OfficeAdmin, "371600", None), None), Ok(None));
            assert_eq!(scope(&p(Role::Supervisor, "371625", None), Some("371621")), Ok(s("371621")));
            for role in [Role::Applicant, Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::Integrator] {
                assert_eq!(scope(&p(role, "371600", Some(APPLICANT)), None), Err(403), "{role:?} {action:?}");
            }
        }
    }
}
