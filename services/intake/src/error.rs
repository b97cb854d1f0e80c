//! Intake's errors: the platform's [`ServiceError`] (one mapping to problems and to event-handler outcomes for
//! every service), with intake's own texts — cases, results and the archive, consultations.

use bangban_contracts::intake::{CaseStatus, results::MAX_DOCUMENT_BYTES};
pub use bangban_platform::error::ServiceError;
use bangban_platform::{objects::StoreError, problem::Problem};

use crate::domain::lifecycle::TransitionError;

/// Everything that can go wrong in intake.
pub type IntakeError = ServiceError;

pub type Result<T, E = IntakeError> = std::result::Result<T, E>;

/// No such case (404).
pub fn case_not_found(id: impl std::fmt::Display) -> IntakeError {
    IntakeError::NotFound(format!("案件 {id} 不存在"), format!("case {id} does not exist"))
}

/// The actor may not act for the office (403).
pub fn office_forbidden(office: &str) -> IntakeError {
    IntakeError::Forbidden(
        format!("无权为机构 {office} 受理案件"),
        format!("you may not accept cases for office {office}"),
    )
}

impl From<TransitionError> for ServiceError {
    /// A step the case's state does not allow: 409, naming the state and the states the step needs.
    fn from(e: TransitionError) -> Self {
        ServiceError::Refused(Box::new(Problem::from(e)))
    }
}

// -------------------------------------------------------------------------------------------------
// Results and the archive (告知结果与资料归档)
// -------------------------------------------------------------------------------------------------

/// The actor may not act on the office's cases (403).
pub fn case_office_forbidden(office: &str) -> IntakeError {
    IntakeError::Forbidden(
        format!("无权办理机构 {office} 的案件"),
        format!("you may not act on cases of office {office}"),
    )
}

/// The 413 of a document over [`MAX_DOCUMENT_BYTES`] (资料超过大小上限).
pub fn document_too_large() -> IntakeError {
    let mut p = Problem::payload_too_large(MAX_DOCUMENT_BYTES as usize);
    p.detail = Some(format!("单份归档资料不得超过 10 MiB（{MAX_DOCUMENT_BYTES} 字节）"));
    p.detail_en = Some(format!("an archived document must not exceed 10 MiB ({MAX_DOCUMENT_BYTES} bytes)"));
    IntakeError::Refused(Box::new(p))
}

/// The document store failed (500): the cause is logged, the client learns only that it was our fault.
pub fn store_failed(e: StoreError) -> IntakeError {
    IntakeError::Corrupt(format!("document store: {e}"))
}

/// “the case is in state X; … is possible only in …”: a 409 naming the current state.
pub fn state_conflict(status: CaseStatus, what_zh: &str, what_en: &str, allowed: &[CaseStatus]) -> IntakeError {
    let zh: Vec<String> = allowed.iter().map(|s| format!("“{}”（{}）", s.label_zh(), s.as_str())).collect();
    let en: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
    IntakeError::Conflict(
        format!(
            "案件当前状态为“{}”（{}），不能{what_zh}；仅{}状态可以",
            status.label_zh(),
            status.as_str(),
            zh.join("、")
        ),
        format!(
            "the case is in state {} ({}); {what_en} is only possible in state {}",
            status.as_str(),
            status.label_zh(),
            en.join(", ")
        ),
    )
}

/// The archive of an archived case takes nothing more (409).
pub fn archived_conflict(status: CaseStatus) -> IntakeError {
    IntakeError::Conflict(
        format!("案件当前状态为“{}”（{}），案卷已封存，不能再归档资料", status.label_zh(), status.as_str()),
        format!("the case is in state {}; its archive is closed to new documents", status.as_str()),
    )
}

// -------------------------------------------------------------------------------------------------
// Consultations and joint meetings (对接需求与联席会议)
// -------------------------------------------------------------------------------------------------

/// No such consultation, or not in the caller's jurisdiction (404).
pub fn consultation_not_found(id: impl std::fmt::Display) -> IntakeError {
    IntakeError::NotFound(format!("咨询记录 {id} 不存在"), format!("consultation {id} does not exist"))
}

/// The caller may not record consultations for this office (403).
pub fn consultation_office_forbidden(office: &str) -> IntakeError {
    IntakeError::Forbidden(
        format!("无权为机构 {office} 登记咨询"),
        format!("you may not record consultations for office {office}"),
    )
}

/// A joint meeting is only for a newly settled project (409).
pub fn not_newly_settled() -> IntakeError {
    IntakeError::Conflict(
        "该咨询的项目不是新落户项目，联席会议仅适用于新落户项目".into(),
        "the project is not newly settled; joint meetings are for newly settled projects only".into(),
    )
}

/// The joint meeting is already scheduled (409).
pub fn meeting_already_scheduled() -> IntakeError {
    IntakeError::Conflict(
        "该咨询已安排联席会议，不能重复安排".into(),
        "a joint meeting is already scheduled for this consultation".into(),
    )
}

/// Minutes without a scheduled meeting (409).
pub fn no_meeting() -> IntakeError {
    IntakeError::Conflict(
        "该咨询尚未安排联席会议，请先安排会议再记录纪要".into(),
        "no joint meeting is scheduled for this consultation; schedule one before recording minutes".into(),
    )
}

/// The minutes are already recorded (409).
pub fn minutes_recorded() -> IntakeError {
    IntakeError::Conflict(
        "该联席会议的纪要已记录，不能重复记录".into(),
        "the minutes of this joint meeting are already recorded".into(),
    )
}

/// The channel's reference is already recorded (409).
pub fn duplicate_external_id(channel: &str, external_id: &str) -> IntakeError {
    IntakeError::Conflict(
        format!("渠道 {channel} 的工单号 {external_id} 已登记"),
        format!("{channel} reference {external_id} is already recorded"),
    )
}

/// A signed webhook request (or delivery) already processed (409).
pub fn replayed_delivery(consultation_id: &str) -> IntakeError {
    IntakeError::Conflict(
        format!("重复投递：该请求已处理（咨询记录 {consultation_id}），未重复登记"),
        format!(
            "replayed delivery: this request was already processed (consultation {consultation_id}); nothing was \
             recorded again"
        ),
    )
}

/// One wrong field (422).
pub fn invalid(e: bangban_platform::problem::FieldError) -> IntakeError {
    IntakeError::Validation(vec![e])
}
