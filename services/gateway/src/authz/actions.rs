//! The action table (操作表): for every [`Action`], one [`Rule`] — the roles that may take it at all, whether it
//! reads or writes, and what a refusal says when the role may take it but not on this resource. [`Action::rule`]
//! is a `match` without a wildcard: a new action does not compile until it is classified here.

use super::Role;

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

/// Whether an action reads or changes something. Supervisors read everything and change nothing; city-wide
/// reference data is read by everyone allowed and changed by the city office only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// A text in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub zh: &'static str,
    pub en: &'static str,
}

/// What the 403 says when the role may take the action but not on this resource (and the caller may read it;
/// otherwise it is a 404 and says nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The resource's general text (无权处理此案件、无权处理此事项 …).
    General,
    /// On a task: `{unit}` stands for the task's unit, `{city}` for the city office.
    Task(Text),
    /// On a case the caller reaches.
    Case(Text),
    /// On city-wide reference data: what the data is.
    CityWide(Text),
}

/// One row of the action table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The roles that may take the action at all; any other gets 403 naming these.
    pub roles: &'static [Role],
    pub access: Access,
    pub refusal: Refusal,
}

pub(super) const SPECIALISTS_AND_ADMINS: &[Role] = &[Role::Assistant, Role::Agent, Role::OfficeAdmin];
const TASK_READERS: &[Role] =
    &[Role::Applicant, Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin, Role::Supervisor];
/// Who works with deadlines inside the platform: the offices' staff, the units' officers, supervisors.
const DEADLINE_READERS: &[Role] = &[Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin, Role::Supervisor];
const STAFF_AND_SUPERVISORS: &[Role] = &[Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor];
const OFFICE_ADMINS: &[Role] = &[Role::OfficeAdmin];
/// Everyone signed in but an integrator (which reads the bus).
const PEOPLE: &[Role] =
    &[Role::Applicant, Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::OfficeAdmin, Role::Supervisor];
/// Everyone who works cases or tasks, and supervisors.
const STAFF_OFFICERS_AND_SUPERVISORS: &[Role] =
    &[Role::Assistant, Role::Agent, Role::Expert, Role::Officer, Role::OfficeAdmin, Role::Supervisor];
const TASK_WORKERS: &[Role] = &[Role::Assistant, Role::Agent, Role::Officer, Role::OfficeAdmin];

const fn read(roles: &'static [Role]) -> Rule {
    Rule { roles, access: Access::Read, refusal: Refusal::General }
}

const fn write(roles: &'static [Role]) -> Rule {
    Rule { roles, access: Access::Write, refusal: Refusal::General }
}

const fn write_on_task(roles: &'static [Role], zh: &'static str, en: &'static str) -> Rule {
    Rule { roles, access: Access::Write, refusal: Refusal::Task(Text { zh, en }) }
}

/// What a city-wide change refuses with when the action names no data of its own: the catalog.
pub(super) const CATALOG: Text = Text { zh: "事项库", en: "the approval-item catalog" };
const CALENDAR: Text = Text { zh: "工作日历", en: "the working-day calendar" };

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 48] = [
        Action::CreateCase,
        Action::ReadCase,
        Action::ChangeSpecialist,
        Action::TerminateCase,
        Action::DeliverResults,
        Action::ArchiveCase,
        Action::ReadArchive,
        Action::RecordConsultation,
        Action::ReadConsultation,
        Action::ReadRegistry,
        Action::RevealPersonalData,
        Action::ReadOffices,
        Action::ReadStaff,
        Action::ReadCalendar,
        Action::ManageCalendar,
        Action::ReadCatalog,
        Action::EditCatalog,
        Action::EditPlan,
        Action::ReadUnits,
        Action::ListTasks,
        Action::ReadTask,
        Action::WorkTask,
        Action::FollowTask,
        Action::LinkTask,
        Action::ListClocks,
        Action::ExtendClock,
        Action::ReadSupervision,
        Action::AnswerSupervision,
        Action::DecideSupervision,
        Action::RecordProblem,
        Action::HandleProblem,
        Action::ReadProblems,
        Action::RecordMeeting,
        Action::ReadMeetings,
        Action::ReadMonitoring,
        Action::ReadInbox,
        Action::ReadMessages,
        Action::RateMatter,
        Action::RateAtWindow,
        Action::ReadEvaluations,
        Action::ReadInvitations,
        Action::ReadRectifications,
        Action::WorkRectification,
        Action::RateRectification,
        Action::FileAppeal,
        Action::DecideAppeal,
        Action::ReadAppeals,
        Action::ReadAssessment,
    ];

    /// The action's row of the table.
    pub fn rule(self) -> Rule {
        match self {
            Action::CreateCase
            | Action::TerminateCase
            | Action::DeliverResults
            | Action::ArchiveCase
            | Action::RecordConsultation => write(SPECIALISTS_AND_ADMINS),
            Action::ChangeSpecialist => write(OFFICE_ADMINS),
            // Full personal data: the case's own specialist, or an admin of its office.
            Action::RevealPersonalData => write(SPECIALISTS_AND_ADMINS),
            Action::ReadCase => {
                read(&[Role::Applicant, Role::Assistant, Role::Agent, Role::OfficeAdmin, Role::Supervisor])
            }
            // The departments involved read the archive too (§7.7).
            Action::ReadArchive => read(&[
                Role::Applicant,
                Role::Assistant,
                Role::Agent,
                Role::OfficeAdmin,
                Role::Supervisor,
                Role::Officer,
            ]),
            Action::ReadConsultation | Action::ReadRegistry => read(STAFF_AND_SUPERVISORS),
            Action::ReadOffices => read(&Role::ALL),
            // People who work cases find each other; applicants see their own specialist on the contact card.
            Action::ReadStaff => read(STAFF_OFFICERS_AND_SUPERVISORS),
            // Applicants read the catalog too: it says what they will need.
            Action::ReadCalendar | Action::ReadCatalog => read(&Role::ALL),
            Action::ManageCalendar => Rule { refusal: Refusal::CityWide(CALENDAR), ..write(OFFICE_ADMINS) },
            Action::EditCatalog => Rule { refusal: Refusal::CityWide(CATALOG), ..write(OFFICE_ADMINS) },
            Action::EditPlan => Rule {
                refusal: Refusal::Case(Text {
                    zh: "只有本案的帮办（代办）员或本机构管理员可以修改代办方案",
                    en: "only the case's specialist or an admin of its office may change its plan",
                }),
                ..write(SPECIALISTS_AND_ADMINS)
            },
            // Public directory information (names, unit types, published office phones): everyone signed in,
            // like the offices and the catalog; applicants see where their items go.
            Action::ReadUnits => read(&Role::ALL),
            Action::ListTasks => read(DEADLINE_READERS),
            Action::ReadTask => read(TASK_READERS),
            Action::WorkTask => write_on_task(
                TASK_WORKERS,
                "只有责任单位（{unit}）的审批人员或该单位所在机构的工作人员可以办理此步骤",
                "only an officer of the unit ({unit}) or the staff of its office may take this step",
            ),
            Action::FollowTask => write_on_task(
                SPECIALISTS_AND_ADMINS,
                "只有本案的帮办（代办）员或受理机构的管理员可以办理此步骤",
                "only the case's specialist or an admin of the accepting office may take this step",
            ),
            Action::LinkTask => write_on_task(
                SPECIALISTS_AND_ADMINS,
                "只有联动机构（责任单位所在机构）的工作人员可以响应或反馈联动事项",
                "only the staff of the linked office (the unit's office) may acknowledge or report on linked handling",
            ),
            Action::ListClocks | Action::ReadSupervision | Action::ReadProblems => read(DEADLINE_READERS),
            Action::ExtendClock => write_on_task(
                OFFICE_ADMINS,
                "只有责任单位（{unit}）所在机构或市级机构（{city}）的机构管理员可以批准延期",
                "only an office admin of the unit's ({unit}) office or of the city office ({city}) may approve an extension",
            ),
            Action::RecordMeeting => write(OFFICE_ADMINS),
            Action::AnswerSupervision => write_on_task(
                &[Role::Officer, Role::OfficeAdmin],
                "只有责任单位（{unit}）的审批人员或该单位所在机构的机构管理员可以反馈督办单",
                "only an officer of the unit ({unit}) or an office admin of its office may answer the notice",
            ),
            Action::DecideSupervision => write(&[Role::Supervisor]),
            Action::RecordProblem => write_on_task(
                SPECIALISTS_AND_ADMINS,
                "只有本案的帮办（代办）员或受理机构的工作人员可以记录问题",
                "only the case's specialist or the staff of the accepting office may record a problem",
            ),
            Action::HandleProblem => write_on_task(
                SPECIALISTS_AND_ADMINS,
                "只有本案的帮办（代办）员或受理机构的机构管理员可以处理问题",
                "only the case's specialist or an office admin of the accepting office may solve or refer a problem",
            ),
            Action::ReadMeetings | Action::ReadMonitoring | Action::ReadMessages => read(STAFF_AND_SUPERVISORS),
            // Everyone signed in has an inbox; an integrator reads the bus, not notices.
            Action::ReadInbox => read(PEOPLE),
            Action::RateMatter | Action::RateRectification => write(&[Role::Applicant]),
            Action::RateAtWindow => write(SPECIALISTS_AND_ADMINS),
            Action::ReadEvaluations => read(PEOPLE),
            Action::ReadInvitations => read(&[Role::Applicant, Role::Assistant, Role::Agent, Role::OfficeAdmin]),
            Action::ReadRectifications => read(STAFF_OFFICERS_AND_SUPERVISORS),
            Action::WorkRectification | Action::FileAppeal => write(TASK_WORKERS),
            Action::DecideAppeal => write(OFFICE_ADMINS),
            Action::ReadAppeals | Action::ReadAssessment => read(&[Role::OfficeAdmin, Role::Supervisor]),
        }
    }

    /// Whether the action only reads.
    pub fn is_read(self) -> bool {
        self.rule().access == Access::Read
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    /// What `is_read` said before the table (a `matches!` with these actions; every other one a write).
    const READS_BEFORE_THE_TABLE: &[Action] = &[
        Action::ReadCase,
        Action::ReadArchive,
        Action::ReadConsultation,
        Action::ReadRegistry,
        Action::ReadOffices,
        Action::ReadStaff,
        Action::ReadCalendar,
        Action::ReadCatalog,
        Action::ReadUnits,
        Action::ListTasks,
        Action::ReadTask,
        Action::ListClocks,
        Action::ReadSupervision,
        Action::ReadProblems,
        Action::ReadMeetings,
        Action::ReadMonitoring,
        Action::ReadInbox,
        Action::ReadMessages,
        Action::ReadEvaluations,
        Action::ReadInvitations,
        Action::ReadRectifications,
        Action::ReadAppeals,
        Action::ReadAssessment,
    ];

    /// Every action once in [`Action::ALL`]: the `match` in [`Action::rule`] has no wildcard, so this and the
    /// compiler together make sure every action has its row.
    fn every_action() -> [Action; 48] {
        let all = Action::ALL;
        for (i, a) in all.iter().enumerate() {
            // An exhaustive match: adding a variant without adding it to ALL fails here too.
            match a {
                Action::CreateCase
                | Action::ReadCase
                | Action::ChangeSpecialist
                | Action::TerminateCase
                | Action::DeliverResults
                | Action::ArchiveCase
                | Action::ReadArchive
                | Action::RecordConsultation
                | Action::ReadConsultation
                | Action::ReadRegistry
                | Action::RevealPersonalData
                | Action::ReadOffices
                | Action::ReadStaff
                | Action::ReadCalendar
                | Action::ManageCalendar
                | Action::ReadCatalog
                | Action::EditCatalog
                | Action::EditPlan
                | Action::ReadUnits
                | Action::ListTasks
                | Action::ReadTask
                | Action::WorkTask
                | Action::FollowTask
                | Action::LinkTask
                | Action::ListClocks
                | Action::ExtendClock
                | Action::ReadSupervision
                | Action::AnswerSupervision
                | Action::DecideSupervision
                | Action::RecordProblem
                | Action::HandleProblem
                | Action::ReadProblems
                | Action::RecordMeeting
                | Action::ReadMeetings
                | Action::ReadMonitoring
                | Action::ReadInbox
                | Action::ReadMessages
                | Action::RateMatter
                | Action::RateAtWindow
                | Action::ReadEvaluations
                | Action::ReadInvitations
                | Action::ReadRectifications
                | Action::WorkRectification
                | Action::RateRectification
                | Action::FileAppeal
                | Action::DecideAppeal
                | Action::ReadAppeals
                | Action::ReadAssessment => (),
            }
            assert!(!all[..i].contains(a), "{a:?} twice in Action::ALL");
        }
        all
    }

    #[test]
    fn every_action_has_a_row_naming_some_roles() {
        for action in every_action() {
            assert!(!action.rule().roles.is_empty(), "{action:?}");
        }
    }

    #[test]
    fn reads_and_writes_are_as_before_the_table() {
        for action in every_action() {
            assert_eq!(action.is_read(), READS_BEFORE_THE_TABLE.contains(&action), "{action:?}");
        }
    }

    #[test]
    fn supervisors_and_integrators_take_no_write_but_a_supervisor_s_decision() {
        for action in every_action().into_iter().filter(|a| !a.is_read()) {
            assert!(!action.rule().roles.contains(&Role::Integrator), "{action:?}");
            let supervises = action.rule().roles.contains(&Role::Supervisor);
            assert_eq!(supervises, action == Action::DecideSupervision, "{action:?}");
        }
    }

    #[test]
    fn refusal_texts_belong_to_writes_and_name_their_placeholders_in_both_languages() {
        for action in every_action() {
            let text = match action.rule().refusal {
                Refusal::General => continue,
                Refusal::Task(t) | Refusal::Case(t) | Refusal::CityWide(t) => t,
            };
            assert!(!action.is_read(), "{action:?}");
            for placeholder in ["{unit}", "{city}"] {
                assert_eq!(text.zh.contains(placeholder), text.en.contains(placeholder), "{action:?} {placeholder}");
            }
        }
    }
}
