//! What is sent, to whom (通知内容与对象): the notices an event makes, with their template parameters.
//!
//! | event | recipient | template |
//! |---|---|---|
//! | `case.accepted` | applicant | `case_accepted` (the specialist's contact card) |
//! | `case.specialist_changed` | applicant | `specialist_changed` (the new card, the reason) |
//! | `task.supplement_requested` | applicant | `supplement_requested` (what, by when) |
//! | `task.warning`, `task.overdue` | the case's specialist, the unit's officer | `task_warning`, `task_overdue` |
//! | `supervision.issued` | the unit's head | `supervision_issued` (urgent) |
//! | `task.approved` | applicant | `result_ready` (how the result reaches them) |
//! | `evaluation.invited` | applicant | `evaluation_invitation` (the link) |
//! | `case.terminated` | applicant | `case_terminated` (urgent) |

use bangban_contracts::{
    CloudEvent, EventType, events,
    intake::{ResolvedContacts, ServiceType, StaffContact},
    notification::Recipient,
};
use bangban_platform::consumer::HandlerError;
use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use crate::{contacts::Directory, error::Result, providers::TemplateParams, templates::TemplateId};

/// The events notification follows.
pub const FOLLOWED: [EventType; 9] = [
    EventType::CASE_ACCEPTED,
    EventType::CASE_SPECIALIST_CHANGED,
    EventType::CASE_TERMINATED,
    EventType::TASK_SUPPLEMENT_REQUESTED,
    EventType::TASK_APPROVED,
    EventType::TASK_WARNING,
    EventType::TASK_OVERDUE,
    EventType::SUPERVISION_ISSUED,
    EventType::EVALUATION_INVITED,
];

/// One notice to one recipient: an SMS and the same notice in their inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub recipient: Recipient,
    pub template: TemplateId,
    pub params: TemplateParams,
    /// The inbox title (站内通知标题).
    pub title: &'static str,
    pub case_id: Option<Uuid>,
    pub task_id: Option<Uuid>,
    /// The office whose bus subjects carry the message's `sms.*` events.
    pub office: String,
}

/// `2026年3月18日`.
pub fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

fn params<const N: usize>(pairs: [(&str, String); N]) -> TemplateParams {
    pairs.into_iter().collect()
}

/// Values must not be blank (the template refuses them): a dash stands for what is not known.
fn or_dash(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() { "—".into() } else { t.replace(['\n', '\r'], " ") }
}

fn card(staff: Option<StaffContact>) -> (String, String, String) {
    match staff {
        Some(s) => (or_dash(&s.name), or_dash(&s.position), or_dash(&s.office_phone)),
        None => ("—".into(), "帮办代办员".into(), "—".into()),
    }
}

async fn unit_name(dir: &Directory, given: Option<&str>, code: &str) -> Result<String> {
    if let Some(n) = given.filter(|n| !n.trim().is_empty()) {
        return Ok(n.to_string());
    }
    Ok(dir.unit(code).await?.map_or_else(|| code.to_string(), |u| u.name))
}

/// How a result reaches the applicant (§7.6): in 代办 the agent collects it and returns it with the
/// application materials (7.6.2); in 帮办 the unit mails it, the assistant collects it or the applicant does
/// (7.6.1), as agreed with the assistant. An unknown service type reads as 帮办.
fn collection(service_type: Option<ServiceType>, unit: &str) -> (String, String) {
    match service_type {
        Some(ServiceType::Commission) => ("代办员代取".into(), format!("{unit}，代办员将连同申请材料一并返还您")),
        _ => ("邮寄、帮办员代取或本人自取".into(), format!("发证单位{unit}，请与您的帮办员确认")),
    }
}

/// The notices of one event (none for events that concern nobody's phone), with the contacts fetched on the
/// way (the applicant comes with the specialist's card: one call to intake). `service_type` is the case's, when
/// known (for `task.approved`). Data that does not decode as the registry says is a permanent failure.
pub async fn notices(
    dir: &Directory,
    event: &CloudEvent,
    service_type: Option<ServiceType>,
) -> Result<(Vec<Notice>, ResolvedContacts), HandlerError> {
    let mut out = Vec::new();
    let mut known = ResolvedContacts::default();
    // The applicant and a specialist's card, in one call.
    let mut card_of = async |applicant: Uuid, specialist: &str| -> Result<(String, String, String)> {
        known = dir.people(&[applicant], &[specialist.to_string()]).await?;
        Ok(card(known.staff.iter().find(|s| s.id == specialist).cloned()))
    };
    bangban_platform::dispatch!(event, {
    events::CaseAccepted => |d| {
        let (name, position, phone) = card_of(d.applicant_id, &d.specialist_id).await?;
        out.push(Notice {
            recipient: Recipient::Applicant { applicant_id: d.applicant_id },
            template: TemplateId::CaseAccepted,
            params: params([
                ("ledger_no", d.ledger_no.clone()),
                ("specialist_name", name),
                ("specialist_position", position),
                ("office_phone", phone),
            ]),
            title: "受理通知",
            case_id: Some(d.case_id),
            task_id: None,
            office: d.office,
        });
        Ok(())
    },
    events::CaseSpecialistChanged => |d| {
        let (name, position, phone) = card_of(d.applicant_id, &d.to_specialist).await?;
        out.push(Notice {
            recipient: Recipient::Applicant { applicant_id: d.applicant_id },
            template: TemplateId::SpecialistChanged,
            params: params([
                ("ledger_no", d.ledger_no.clone()),
                ("specialist_name", name),
                ("specialist_position", position),
                ("office_phone", phone),
                ("reason", or_dash(&d.reason)),
            ]),
            title: "帮办代办员变更",
            case_id: Some(d.case_id),
            task_id: None,
            office: d.office,
        });
        Ok(())
    },
    events::CaseTerminated => |d| {
        out.push(Notice {
            recipient: Recipient::Applicant { applicant_id: d.applicant_id },
            template: TemplateId::CaseTerminated,
            params: params([
                ("ledger_no", d.ledger_no.clone()),
                ("reason", format!("（{}）{}", d.reason_letter, d.reason.label_zh())),
                ("note", or_dash(&d.note)),
            ]),
            title: "终止服务通知",
            case_id: Some(d.case_id),
            task_id: None,
            office: d.office,
        });
        Ok(())
    },
    events::TaskSupplementRequested => |d| {
        let Some(notice) = &d.supplement else { return Ok((out, known)) };
        let materials: Vec<&str> = notice.items.iter().map(|i| i.material.as_str()).collect();
        let mut materials = materials.join("、");
        if materials.chars().count() > 120 {
            materials = format!("{}等{}项", materials.chars().take(100).collect::<String>(), notice.items.len());
        }
        out.push(Notice {
            recipient: Recipient::Applicant { applicant_id: d.applicant_id },
            template: TemplateId::SupplementRequested,
            params: params([
                ("unit_name", unit_name(dir, d.unit_name.as_deref(), &d.unit_code).await?),
                ("task_name", or_dash(&d.name)),
                ("materials", or_dash(&materials)),
                ("due_date", date_zh(notice.due_on)),
            ]),
            title: "补正材料通知",
            case_id: Some(d.case_id),
            task_id: Some(d.task_id),
            office: d.office,
        });
        Ok(())
    },
    events::TaskApproved => |d| {
        let unit = unit_name(dir, d.unit_name.as_deref(), &d.unit_code).await?;
        let item = match &d.result {
            Some(r) => format!("{}（{}）", d.name, r.kind),
            None => d.name.clone(),
        };
        let (method, place) = collection(service_type, &unit);
        out.push(Notice {
            recipient: Recipient::Applicant { applicant_id: d.applicant_id },
            template: TemplateId::ResultReady,
            params: params([("item_name", or_dash(&item)), ("collection_method", method), ("collection_place", place)]),
            title: "办理结果通知",
            case_id: Some(d.case_id),
            task_id: Some(d.task_id),
            office: d.office,
        });
        Ok(())
    },
    events::TaskWarning | events::TaskOverdue => |d, t| {
        let Some(due) = d.due_date else { return Ok((out, known)) };
        let unit = unit_name(dir, None, &d.unit_code).await?;
        let remaining = d.remaining_working_days.unwrap_or(0);
        let (template, title, count) = if t == EventType::TASK_WARNING {
            (TemplateId::TaskWarning, "临期预警", ("remaining_days", remaining.max(0).to_string()))
        } else {
            (TemplateId::TaskOverdue, "超期提醒", ("overdue_days", (-remaining).max(1).to_string()))
        };
        let p = params([
            ("unit_name", unit),
            ("task_name", or_dash(&d.name)),
            ("due_date", date_zh(due)),
            (count.0, count.1),
        ]);
        out.push(Notice {
            recipient: Recipient::Staff { sub: d.specialist_id.clone() },
            template,
            params: p.clone(),
            title,
            case_id: Some(d.case_id),
            task_id: Some(d.task_id),
            office: d.office.clone(),
        });
        out.push(Notice {
            recipient: Recipient::UnitOfficer { unit_code: d.unit_code.clone() },
            template,
            params: p,
            title,
            case_id: Some(d.case_id),
            task_id: Some(d.task_id),
            office: d.unit_office.clone(),
        });
        Ok(())
    },
    events::SupervisionIssued => |d| {
        let n = d.notice;
        out.push(Notice {
            recipient: Recipient::UnitHead { unit_code: n.unit_code.clone() },
            template: TemplateId::SupervisionIssued,
            params: params([
                ("task_name", or_dash(&n.task_name)),
                ("overdue_days", n.days_overdue.to_string()),
                ("notice_no", n.number.clone()),
                ("response_due", date_zh(n.response_due)),
            ]),
            title: "督办通知",
            case_id: Some(n.case_id),
            task_id: Some(n.task_id),
            office: n.unit_office.clone(),
        });
        Ok(())
    },
    events::EvaluationInvited => |d| {
        out.push(Notice {
            recipient: Recipient::Applicant { applicant_id: d.applicant_id },
            template: TemplateId::EvaluationInvitation,
            params: params([
                ("item_name", or_dash(&d.item_name)),
                ("link", dir.reveal(&d.link_enc)?.trim().to_string()),
            ]),
            title: "服务评价邀请",
            case_id: Some(d.case_id),
            task_id: d.task_id,
            office: d.office,
        });
        Ok(())
    },
    })?;
    Ok((out, known))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_people_write_them() {
        assert_eq!(date_zh(NaiveDate::from_ymd_opt(2026, 3, 8).unwrap()), "2026年3月8日");
        assert_eq!(or_dash("  "), "—");
        assert_eq!(or_dash("a\nb"), "a b");
    }

    #[test]
    fn results_reach_the_applicant_as_section_7_6_says() {
        let (method, place) = collection(Some(ServiceType::Commission), "博兴县自然资源局");
        assert_eq!(
            (method.as_str(), place.as_str()),
            ("代办员代取", "博兴县自然资源局，代办员将连同申请材料一并返还您")
        );
        for unknown_or_assist in [None, Some(ServiceType::Assist)] {
            let (method, _) = collection(unknown_or_assist, "博兴县自然资源局");
            assert_eq!(method, "邮寄、帮办员代取或本人自取");
        }
    }
}

/// Masks one-time codes in a text staff or logs see: every `/e/<code>` keeps its first two characters
/// (`https://…/e/Ab******`). The applicant's own inbox and SMS keep the link whole.
pub fn mask_codes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("/e/") {
        out.push_str(&rest[..i + 3]);
        rest = &rest[i + 3..];
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, '，' | '。' | '）' | ')')).unwrap_or(rest.len());
        let code: String = rest[..end].chars().collect();
        let keep: String = code.chars().take(2).collect();
        out.push_str(&keep);
        out.push_str(&"*".repeat(code.chars().count().saturating_sub(2)));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod mask_tests {
    #[test]
    fn one_time_codes_are_masked() {
        assert_eq!(
            super::mask_codes("评价入口：https://bangban.example.invalid/e/Ab3x9Kq"),
            "评价入口：https://bangban.example.invalid/e/Ab*****"
        );
        assert_eq!(super::mask_codes("无链接"), "无链接");
    }
}
