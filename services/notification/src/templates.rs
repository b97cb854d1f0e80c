//! The SMS templates (短信模板): zh-CN, versioned, with named parameters; rendering, with the length and
//! segment count the carriers bill.
//!
//! # Templates
//!
//! A [`Template`] is one version of one [`TemplateId`]: a body independent of the signature, with
//! placeholders `${name}` (the syntax Aliyun's templates use too), the names of its parameters in the
//! order they first appear in the body (Tencent's templates are positional: `{1}`, `{2}`, … in that
//! order, see [`Template::tencent_body`]), and its codes at the providers. A message stores the template id
//! **and** version it was rendered from, so a wording change is a new version beside the old one, never an
//! edit: the old version keeps rendering for messages created before it ([`Catalog::get`]), new messages
//! use [`Catalog::latest`].
//!
//! # Urgency
//!
//! [`TemplateId::is_urgent`]: urgent messages bypass the per-number limits and quiet hours
//! ([`crate::limits::decide`]); the caller logs why. Only two notices are urgent, both statutory and
//! with effects that run from the notice itself:
//! - `supervision_issued` (督办单, §7.5): the responsible unit's response period runs from the notice,
//!   and ignoring it leads to discipline inspection; a notice held back overnight shortens it.
//! - `case_terminated` (终止服务, §7.8): the service ends; the applicant must not learn it later than
//!   the units do.
//!
//! Everything else waits: a supplement request (补正) gives a due date days away and the waiting time
//! does not count against the unit; warnings and overdue reminders repeat; results, evaluations and
//! contact cards are information.
//!
//! # Length and segments (计费条数)
//!
//! Rule (Alibaba Cloud, 短信发送规则 <https://help.aliyun.com/document_detail/44335.htm>, and
//! Tencent Cloud, Billing Overview <https://www.tencentcloud.com/document/product/382/18052>):
//! the length of a message is the signature's characters, **including** the 【】 the platform adds,
//! plus the characters of the text as received; every Chinese character, letter, digit, punctuation
//! mark (full- or half-width) and space counts 1. A message of at most 70 characters is one SMS
//! (billed once); a longer one is a long SMS (长短信) split into parts of 67 characters (the 6-octet
//! concatenation header takes the room of 3), e.g. 160 = 67 + 67 + 26, three SMS. Huawei Cloud's page states the
//! same boundaries with examples (134 → 2, 135 → 3:
//! <https://support.huaweicloud.com/smn_faq/smn_faq_0009.md>). A message may not exceed 500 characters
//! (Aliyun and Tencent alike). Domestic messages always carry a Chinese signature, so they are always
//! UCS-2 and the GSM-7 rule (160/153) never applies.
//!
//! Characters are counted as Unicode scalar values. Characters outside the Basic Multilingual Plane
//! (emoji, rare CJK Extension B characters in a name) take two UCS-2 units on the air and some
//! gateways count them twice; our bodies have none, and for parameters the count may then be one low.

use std::fmt;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use crate::providers::TemplateParams;

/// The signature (短信签名) approved for the platform, shown as 【滨州帮办代办】.
pub const DEFAULT_SIGN_NAME: &str = "滨州帮办代办";

/// A message of at most this many characters (signature included) is one SMS.
pub const SINGLE_SEGMENT_CHARS: usize = 70;

/// Each part of a longer message (concatenated SMS) holds this many characters.
pub const CONCATENATED_SEGMENT_CHARS: usize = 67;

/// The longest message the providers accept, signature included.
pub const MAX_MESSAGE_CHARS: usize = 500;

bangban_contracts::labelled_enum! {
    /// What a template is for; one notice of the list each (短信模板编号). Its spelling (`case_accepted` …)
    /// is stored with a message and sent to the webhook; every template id is in [`TemplateId::ALL`], in the order
    /// of the issue.
    #[derive(PartialOrd, Ord)]
    pub enum TemplateId {
        /// 受理通知: to the applicant; the specialist's contact card (联系卡) and the ledger number (台账编号).
        CaseAccepted = "case_accepted", "受理通知";
        /// 帮办代办员变更: to the applicant; the new contact card and the recorded reason (§4.2.3).
        SpecialistChanged = "specialist_changed", "帮办代办员变更";
        /// 补正通知: to the applicant; which materials, by when, for which task at which unit.
        SupplementRequested = "supplement_requested", "补正通知";
        /// 临期预警: to the specialist and the unit officer; task, unit, due date, working days left.
        TaskWarning = "task_warning", "临期预警";
        /// 超期提醒: to the specialist and the unit officer; task, unit, due date, working days overdue.
        TaskOverdue = "task_overdue", "超期提醒";
        /// 督办通知: to the unit head; the supervision notice (督办单) number, task, days overdue, response due.
        SupervisionIssued = "supervision_issued", "督办通知";
        /// 结果领取: to the applicant; the item, how its result reaches them (邮寄/代取/自取) and where.
        ResultReady = "result_ready", "结果领取";
        /// 评价邀请: to the applicant; the item and a link to evaluate it (一事一评).
        EvaluationInvitation = "evaluation_invitation", "评价邀请";
        /// 终止服务: to the applicant; the reason (§7.8 a–f) and a note.
        CaseTerminated = "case_terminated", "终止服务";
    }
}

impl TemplateId {
    /// Whether the notice may bypass the per-number limits and quiet hours: statutory notices whose
    /// effect runs from the notice (see the module documentation). The same for every version.
    pub fn is_urgent(&self) -> bool {
        matches!(self, Self::SupervisionIssued | Self::CaseTerminated)
    }
}

/// A template's codes as registered at each provider (the text there is [`Template::body`] for Aliyun,
/// [`Template::tencent_body`] for Tencent). The built-in ones are placeholders until the templates are
/// approved; the deployment's configuration will override them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderCodes {
    /// Aliyun Dysmsapi `TemplateCode` (`SMS_…`).
    pub aliyun: &'static str,
    /// Tencent Cloud `TemplateId` (digits, as a string).
    pub tencent: &'static str,
}

/// One version of one template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    pub id: TemplateId,
    /// From 1; a new wording is a new version, the old one stays.
    pub version: u32,
    /// The text without the signature, with `${name}` placeholders.
    pub body: &'static str,
    /// The parameters, all required, in the order they first appear in `body`.
    pub params: &'static [&'static str],
    pub codes: ProviderCodes,
}

impl Template {
    /// Whether messages from this template may bypass limits and quiet hours ([`TemplateId::is_urgent`]).
    pub fn is_urgent(&self) -> bool {
        self.id.is_urgent()
    }

    /// The body as Tencent Cloud templates write it: `${name}` becomes `{n}`, `n` its 1-based position
    /// in [`Template::params`].
    pub fn tencent_body(&self) -> String {
        let mut out = String::with_capacity(self.body.len());
        for piece in pieces(self.body) {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Param(name) => {
                    let position = self.params.iter().position(|p| *p == name).map_or(0, |i| i + 1);
                    out.push_str(&format!("{{{position}}}"));
                }
            }
        }
        out
    }
}

/// The built-in templates. Parameters are plain text the caller formats: dates as `2025年3月18日`,
/// numbers of days as digits.
pub static TEMPLATES: &[Template] = &[
    Template {
        id: TemplateId::CaseAccepted,
        version: 1,
        body: "您的帮办代办申请已受理，台账编号${ledger_no}。您的专属帮办代办员：${specialist_name}，\
               ${specialist_position}，办公电话${office_phone}。",
        params: &["ledger_no", "specialist_name", "specialist_position", "office_phone"],
        codes: ProviderCodes { aliyun: "SMS_BB_CASE_ACCEPTED_V1", tencent: "910101" },
    },
    Template {
        id: TemplateId::SpecialistChanged,
        version: 1,
        body: "您的项目（台账编号${ledger_no}）帮办代办员已变更为${specialist_name}，${specialist_position}，\
               办公电话${office_phone}。变更原因：${reason}。",
        params: &["ledger_no", "specialist_name", "specialist_position", "office_phone", "reason"],
        codes: ProviderCodes { aliyun: "SMS_BB_SPECIALIST_CHANGED_V1", tencent: "910201" },
    },
    Template {
        id: TemplateId::SupplementRequested,
        version: 1,
        body: "${unit_name}办理“${task_name}”需补正材料：${materials}。请于${due_date}前提交，\
               如有疑问请联系您的帮办代办员。",
        params: &["unit_name", "task_name", "materials", "due_date"],
        codes: ProviderCodes { aliyun: "SMS_BB_SUPPLEMENT_REQUESTED_V1", tencent: "910301" },
    },
    Template {
        id: TemplateId::TaskWarning,
        version: 1,
        body: "临期预警：${unit_name}承办的“${task_name}”将于${due_date}到期，剩余${remaining_days}个工作日，\
               请抓紧办理。",
        params: &["unit_name", "task_name", "due_date", "remaining_days"],
        codes: ProviderCodes { aliyun: "SMS_BB_TASK_WARNING_V1", tencent: "910401" },
    },
    Template {
        id: TemplateId::TaskOverdue,
        version: 1,
        body: "超期提醒：${unit_name}承办的“${task_name}”已于${due_date}到期，现已超期${overdue_days}个工作日，\
               请尽快办结。",
        params: &["unit_name", "task_name", "due_date", "overdue_days"],
        codes: ProviderCodes { aliyun: "SMS_BB_TASK_OVERDUE_V1", tencent: "910501" },
    },
    Template {
        id: TemplateId::SupervisionIssued,
        version: 1,
        body: "督办通知：贵单位承办的“${task_name}”已超期${overdue_days}个工作日，现发出督办单（${notice_no}），\
               请于${response_due}前反馈办理情况。",
        params: &["task_name", "overdue_days", "notice_no", "response_due"],
        codes: ProviderCodes { aliyun: "SMS_BB_SUPERVISION_ISSUED_V1", tencent: "910601" },
    },
    Template {
        id: TemplateId::ResultReady,
        version: 1,
        body: "您申请的“${item_name}”已办结，领取方式：${collection_method}（${collection_place}）。",
        params: &["item_name", "collection_method", "collection_place"],
        codes: ProviderCodes { aliyun: "SMS_BB_RESULT_READY_V1", tencent: "910701" },
    },
    Template {
        id: TemplateId::EvaluationInvitation,
        version: 1,
        // The link comes last, so no punctuation sticks to it when a phone detects it.
        body: "诚邀您对“${item_name}”的帮办代办服务作出评价，评价入口：${link}",
        params: &["item_name", "link"],
        codes: ProviderCodes { aliyun: "SMS_BB_EVALUATION_INVITATION_V1", tencent: "910801" },
    },
    Template {
        id: TemplateId::CaseTerminated,
        version: 1,
        body: "您的帮办代办服务（台账编号${ledger_no}）已终止，终止原因：${reason}。说明：${note}",
        params: &["ledger_no", "reason", "note"],
        codes: ProviderCodes { aliyun: "SMS_BB_CASE_TERMINATED_V1", tencent: "910901" },
    },
];

/// How a result reaches the applicant, as the `collection_method` parameter of `result_ready` words it
/// (送达方式, §7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectionMethod {
    /// 邮寄: `collection_place` is where it is mailed to.
    Mail,
    /// 代取: the specialist collects it; `collection_place` is where they hand it over.
    AssistantCollection,
    /// 自取: `collection_place` is the window where the applicant collects it.
    ApplicantCollection,
}

impl CollectionMethod {
    /// The wording in the message.
    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::Mail => "邮寄送达",
            Self::AssistantCollection => "帮办代办员代取",
            Self::ApplicantCollection => "本人自取",
        }
    }
}

/// The signature (短信签名) a message is sent with; the brackets 【】 are added by the platform and count
/// in the length.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignName(String);

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("短信签名须非空，且不含【】、[]或换行 / an SMS signature must be non-empty, without 【】, [] or line breaks")]
pub struct InvalidSignName;

impl SignName {
    /// A signature as approved at the provider, without brackets.
    pub fn new(name: &str) -> Result<Self, InvalidSignName> {
        let forbidden = |c: char| matches!(c, '【' | '】' | '[' | ']') || is_line_break(c);
        if name.trim().is_empty() || name.trim() != name || name.chars().any(forbidden) {
            return Err(InvalidSignName);
        }
        Ok(Self(name.to_string()))
    }

    /// The name as the providers take it (`SignName`), without brackets.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in a message: the name and the two brackets.
    pub fn chars(&self) -> usize {
        self.0.chars().count() + 2
    }
}

impl Default for SignName {
    fn default() -> Self {
        Self(DEFAULT_SIGN_NAME.to_string())
    }
}

impl fmt::Display for SignName {
    /// `【滨州帮办代办】`, as the recipient reads it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "【{}】", self.0)
    }
}

/// A rendered message: what to store (template id and version, the text) and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub template_id: TemplateId,
    pub version: u32,
    /// The text as the recipient reads it after the signature.
    pub text: String,
    /// The parameters in the template's order (what Tencent's positional `TemplateParamSet` needs).
    pub params: TemplateParams,
    /// Signature (with its brackets) plus text, in characters.
    pub chars: usize,
    /// How many SMS the carriers bill for it ([`segments`]).
    pub segments: usize,
}

/// Why a message could not be rendered. Parameter values never appear in the text: they may be
/// personal data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("短信模板 {id} 第 {version} 版不存在 / no SMS template `{id}` version {version}")]
    UnknownTemplate { id: TemplateId, version: u32 },
    #[error("缺少参数 {name} / missing parameter `{name}`")]
    MissingParameter { name: String },
    #[error("参数 {name} 为空 / parameter `{name}` is empty")]
    EmptyParameter { name: String },
    #[error("模板不含参数 {name} / unknown parameter `{name}`")]
    UnknownParameter { name: String },
    #[error("参数 {name} 含换行 / parameter `{name}` contains a line break")]
    LineBreak { name: String },
    #[error("参数 {name} 含“${{” / parameter `{name}` contains `${{`")]
    PlaceholderInValue { name: String },
    #[error(
        "参数 {name} 含【或】（运营商视为签名）/ parameter `{name}` contains 【 or 】, which carriers read as a signature"
    )]
    SignatureBracket { name: String },
    #[error(
        "短信长度 {chars} 字超过上限 {max} 字 / the message is {chars} characters long, more than the {max} allowed"
    )]
    TooLong { chars: usize, max: usize },
}

impl TemplateError {
    /// The parameter the error is about, if any.
    pub fn parameter(&self) -> Option<&str> {
        match self {
            Self::MissingParameter { name }
            | Self::EmptyParameter { name }
            | Self::UnknownParameter { name }
            | Self::LineBreak { name }
            | Self::PlaceholderInValue { name }
            | Self::SignatureBracket { name } => Some(name),
            Self::UnknownTemplate { .. } | Self::TooLong { .. } => None,
        }
    }
}

/// Why a set of templates is not a valid catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("template {id} version {version} appears twice")]
    Duplicate { id: TemplateId, version: u32 },
    #[error("template {id}: versions start at 1")]
    VersionZero { id: TemplateId },
    #[error("template {id} version {version}: {problem}")]
    Body { id: TemplateId, version: u32, problem: String },
}

/// The templates a service renders from, every version of each.
#[derive(Debug, Clone)]
pub struct Catalog {
    templates: Vec<Template>,
}

static BUILTIN: LazyLock<Catalog> =
    LazyLock::new(|| Catalog::new(TEMPLATES.to_vec()).expect("the built-in templates are a valid catalog"));

impl Catalog {
    /// Checks the templates: versions from 1, each (id, version) once, bodies well-formed with
    /// exactly the declared parameters in order of first appearance and no 【】.
    pub fn new(templates: Vec<Template>) -> Result<Self, CatalogError> {
        for (i, t) in templates.iter().enumerate() {
            if t.version == 0 {
                return Err(CatalogError::VersionZero { id: t.id });
            }
            if templates[..i].iter().any(|o| o.id == t.id && o.version == t.version) {
                return Err(CatalogError::Duplicate { id: t.id, version: t.version });
            }
            check_body(t).map_err(|problem| CatalogError::Body { id: t.id, version: t.version, problem })?;
        }
        Ok(Self { templates })
    }

    /// [`TEMPLATES`].
    pub fn builtin() -> &'static Catalog {
        &BUILTIN
    }

    /// One version of a template: what a stored message is re-rendered or audited with.
    pub fn get(&self, id: TemplateId, version: u32) -> Option<&Template> {
        self.templates.iter().find(|t| t.id == id && t.version == version)
    }

    /// The newest version of a template: what new messages use.
    pub fn latest(&self, id: TemplateId) -> Option<&Template> {
        self.templates.iter().filter(|t| t.id == id).max_by_key(|t| t.version)
    }

    /// Every template, every version.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// Renders one version of a template with `params`, signed with `sign`: every parameter of the
    /// template must be given, non-blank, and none other; values may not contain line breaks, `${` or
    /// 【】; the message, signature included, may not exceed [`MAX_MESSAGE_CHARS`].
    pub fn render(
        &self,
        sign: &SignName,
        id: TemplateId,
        version: u32,
        params: &TemplateParams,
    ) -> Result<Rendered, TemplateError> {
        let template = self.get(id, version).ok_or(TemplateError::UnknownTemplate { id, version })?;
        if let Some((name, _)) = params.iter().find(|(name, _)| !template.params.iter().any(|p| p == name)) {
            return Err(TemplateError::UnknownParameter { name: name.to_string() });
        }
        let mut ordered = TemplateParams::new();
        for &name in template.params {
            let value = params.get(name).ok_or_else(|| TemplateError::MissingParameter { name: name.into() })?;
            check_value(name, value)?;
            ordered.insert(name, value);
        }
        let mut text = String::with_capacity(template.body.len() + 64);
        for piece in pieces(template.body) {
            match piece {
                Piece::Text(t) => text.push_str(t),
                // Present: the catalog checked the body's placeholders against `params`.
                Piece::Param(name) => text.push_str(ordered.get(name).unwrap_or_default()),
            }
        }
        let chars = message_chars(sign, &text);
        if chars > MAX_MESSAGE_CHARS {
            return Err(TemplateError::TooLong { chars, max: MAX_MESSAGE_CHARS });
        }
        Ok(Rendered { template_id: id, version, text, params: ordered, chars, segments: segments(chars) })
    }
}

/// Renders from the built-in templates with the default signature ([`Catalog::render`]).
pub fn render(id: TemplateId, version: u32, params: &TemplateParams) -> Result<Rendered, TemplateError> {
    Catalog::builtin().render(&SignName::default(), id, version, params)
}

/// The length of a message as the carriers count it: the signature with its brackets, plus the text.
pub fn message_chars(sign: &SignName, text: &str) -> usize {
    sign.chars() + text.chars().count()
}

/// How many SMS a message of `chars` characters (signature included) is billed as: one up to 70, else
/// one per started 67 (see the module documentation for the source).
pub fn segments(chars: usize) -> usize {
    if chars <= SINGLE_SEGMENT_CHARS { 1 } else { chars.div_ceil(CONCATENATED_SEGMENT_CHARS) }
}

/// The characters a value may not contain because they break the message into lines: the phone shows
/// them, and the text stored would not be what the template was approved for.
fn is_line_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{0B}' | '\u{0C}' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn check_value(name: &str, value: &str) -> Result<(), TemplateError> {
    let named = || name.to_string();
    if value.trim().is_empty() {
        Err(TemplateError::EmptyParameter { name: named() })
    } else if value.chars().any(is_line_break) {
        Err(TemplateError::LineBreak { name: named() })
    } else if value.contains("${") {
        Err(TemplateError::PlaceholderInValue { name: named() })
    } else if value.contains(['【', '】']) {
        Err(TemplateError::SignatureBracket { name: named() })
    } else {
        Ok(())
    }
}

/// A part of a body: literal text or a placeholder's name.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Param(&'a str),
}

/// Splits a body into text and placeholders. An unterminated `${` stays text (the catalog refuses it).
fn pieces(body: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else { break };
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        out.push(Piece::Param(&rest[start + 2..start + 2 + len]));
        rest = &rest[start + 2 + len + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

fn check_body(t: &Template) -> Result<(), String> {
    if t.body.contains(['【', '】']) {
        return Err("the body contains 【 or 】".into());
    }
    let mut seen: Vec<&str> = Vec::new();
    for piece in pieces(t.body) {
        match piece {
            Piece::Text(text) if text.contains("${") => return Err("an unterminated `${`".into()),
            Piece::Text(_) => {}
            Piece::Param(name) => {
                let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
                    && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    return Err(format!("placeholder `{name}` is not [a-z][a-z0-9_]*"));
                }
                if !seen.contains(&name) {
                    seen.push(name);
                }
            }
        }
    }
    if seen != t.params {
        return Err(format!("placeholders {seen:?} differ from the declared parameters {:?}", t.params));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plausible parameters for each template.
    fn sample(id: TemplateId) -> TemplateParams {
        let pairs: &[(&str, &str)] = match id {
            TemplateId::CaseAccepted => &[
                ("ledger_no", "BB-371600-2025-000123"),
                ("specialist_name", "张三"),
                ("specialist_position", "市行政审批服务局帮办代办员"),
                ("office_phone", "0543-3161234"),
            ],
            TemplateId::SpecialistChanged => &[
                ("ledger_no", "BB-371600-2025-000123"),
                ("specialist_name", "李四"),
                ("specialist_position", "帮办代办员"),
                ("office_phone", "0543-3165678"),
                ("reason", "原帮办代办员岗位调整"),
            ],
            TemplateId::SupplementRequested => &[
                ("unit_name", "市自然资源和规划局"),
                ("task_name", "建设用地规划许可证核发"),
                ("materials", "建设项目用地预审与选址意见书复印件"),
                ("due_date", "2025年3月18日"),
            ],
            TemplateId::TaskWarning => &[
                ("unit_name", "市住房和城乡建设局"),
                ("task_name", "建筑工程施工许可证核发"),
                ("due_date", "2025年3月18日"),
                ("remaining_days", "2"),
            ],
            TemplateId::TaskOverdue => &[
                ("unit_name", "市住房和城乡建设局"),
                ("task_name", "建筑工程施工许可证核发"),
                ("due_date", "2025年3月18日"),
                ("overdue_days", "3"),
            ],
            TemplateId::SupervisionIssued => &[
                ("task_name", "建筑工程施工许可证核发"),
                ("overdue_days", "3"),
                ("notice_no", "滨帮督〔2025〕12号"),
                ("response_due", "2025年3月25日"),
            ],
            TemplateId::ResultReady => &[
                ("item_name", "建设工程规划许可证核发"),
                ("collection_method", CollectionMethod::ApplicantCollection.label_zh()),
                ("collection_place", "市政务服务中心三楼A12窗口"),
            ],
            TemplateId::EvaluationInvitation => {
                &[("item_name", "建设工程规划许可证核发"), ("link", "https://bb.binzhou.gov.cn/e/Ab3dE9")]
            }
            TemplateId::CaseTerminated => &[
                ("ledger_no", "BB-371600-2025-000123"),
                ("reason", "（a）服务对象主动要求终止"),
                ("note", "如需再次申请，请联系市政务服务中心帮办代办窗口。"),
            ],
        };
        pairs.iter().copied().collect()
    }

    fn without(params: &TemplateParams, name: &str) -> TemplateParams {
        params.iter().filter(|(n, _)| *n != name).collect()
    }

    fn with(params: &TemplateParams, name: &str, value: &str) -> TemplateParams {
        let mut params = params.clone();
        params.insert(name, value);
        params
    }

    #[test]
    fn the_builtin_catalog_is_valid_and_has_version_1_of_every_template() {
        let catalog = Catalog::new(TEMPLATES.to_vec()).unwrap();
        for &id in TemplateId::ALL {
            assert_eq!(catalog.latest(id).map(|t| t.version), Some(1), "{id}");
        }
        assert_eq!(catalog.templates().len(), TemplateId::ALL.len());
    }

    #[test]
    fn every_template_renders_with_its_sample_parameters() {
        for &id in TemplateId::ALL {
            let params = sample(id);
            let rendered = render(id, 1, &params).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!((rendered.template_id, rendered.version), (id, 1));
            assert!(!rendered.text.contains("${"), "{id}: {}", rendered.text);
            for (name, value) in params.iter() {
                assert!(rendered.text.contains(value), "{id}: {name} missing from {}", rendered.text);
            }
            assert_eq!(rendered.chars, 8 + rendered.text.chars().count(), "{id}: 【滨州帮办代办】 is 8");
            assert_eq!(rendered.segments, segments(rendered.chars));
            // Parameters come back in the template's order, whatever order they were given in.
            let template = Catalog::builtin().get(id, 1).unwrap();
            assert_eq!(rendered.params.iter().map(|(n, _)| n).collect::<Vec<_>>(), template.params, "{id}");
            assert!(rendered.segments <= 2, "{id} is {} characters: {}", rendered.chars, rendered.text);
        }
    }

    #[test]
    fn a_rendered_text_reads_as_written() {
        let rendered = render(TemplateId::CaseAccepted, 1, &sample(TemplateId::CaseAccepted)).unwrap();
        assert_eq!(
            rendered.text,
            "您的帮办代办申请已受理，台账编号BB-371600-2025-000123。您的专属帮办代办员：张三，\
             市行政审批服务局帮办代办员，办公电话0543-3161234。"
        );
        assert_eq!(rendered.chars, 8 + rendered.text.chars().count());
    }

    #[test]
    fn given_order_does_not_matter() {
        let params = sample(TemplateId::TaskWarning);
        let reversed: TemplateParams = params.iter().collect::<Vec<_>>().into_iter().rev().collect();
        assert_eq!(render(TemplateId::TaskWarning, 1, &params), render(TemplateId::TaskWarning, 1, &reversed));
    }

    #[test]
    fn a_missing_parameter_is_named() {
        for &id in TemplateId::ALL {
            for &name in Catalog::builtin().get(id, 1).unwrap().params {
                let err = render(id, 1, &without(&sample(id), name)).unwrap_err();
                assert_eq!(err, TemplateError::MissingParameter { name: name.into() });
                assert_eq!(err.parameter(), Some(name));
                let text = err.to_string();
                assert!(
                    text.contains("缺少参数") && text.contains("missing parameter") && text.contains(name),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        let params = with(&sample(TemplateId::CaseAccepted), "specialist_photo", "x.jpg");
        let err = render(TemplateId::CaseAccepted, 1, &params).unwrap_err();
        assert_eq!(err, TemplateError::UnknownParameter { name: "specialist_photo".into() });
        assert!(err.to_string().contains("unknown parameter `specialist_photo`"), "{err}");
    }

    #[test]
    fn an_empty_or_blank_parameter_is_named() {
        for value in ["", "   ", "\u{3000}"] {
            let params = with(&sample(TemplateId::TaskOverdue), "task_name", value);
            let err = render(TemplateId::TaskOverdue, 1, &params).unwrap_err();
            assert_eq!(err, TemplateError::EmptyParameter { name: "task_name".into() }, "{value:?}");
            assert!(err.to_string().contains("参数 task_name 为空"), "{err}");
        }
    }

    #[test]
    fn line_breaks_and_placeholders_in_values_are_refused_by_name() {
        for value in ["第一行\n第二行", "a\r\nb", "a\u{2028}b", "a\u{85}b"] {
            let params = with(&sample(TemplateId::CaseTerminated), "note", value);
            let err = render(TemplateId::CaseTerminated, 1, &params).unwrap_err();
            assert_eq!(err, TemplateError::LineBreak { name: "note".into() }, "{value:?}");
            assert!(err.to_string().contains("line break") && err.to_string().contains("note"));
        }
        let params = with(&sample(TemplateId::CaseTerminated), "note", "见${ledger_no}");
        assert_eq!(
            render(TemplateId::CaseTerminated, 1, &params),
            Err(TemplateError::PlaceholderInValue { name: "note".into() })
        );
        let params = with(&sample(TemplateId::CaseTerminated), "note", "【其他平台】请回复");
        assert_eq!(
            render(TemplateId::CaseTerminated, 1, &params),
            Err(TemplateError::SignatureBracket { name: "note".into() })
        );
        // A lone `$` or `{` is ordinary text.
        let params = with(&sample(TemplateId::CaseTerminated), "note", "费用$0 {无}");
        assert!(render(TemplateId::CaseTerminated, 1, &params).unwrap().text.ends_with("说明：费用$0 {无}"));
    }

    #[test]
    fn an_unknown_version_is_an_error() {
        assert_eq!(
            render(TemplateId::ResultReady, 9, &sample(TemplateId::ResultReady)),
            Err(TemplateError::UnknownTemplate { id: TemplateId::ResultReady, version: 9 })
        );
    }

    #[test]
    fn segments_follow_the_70_67_rule() {
        for (chars, expected) in [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (160, 3), (201, 3), (202, 4)] {
            assert_eq!(segments(chars), expected, "{chars}");
        }
    }

    /// `case_terminated` with a note padded so that the whole message, signature included, is `total`
    /// characters long.
    fn terminated_of_length(total: usize) -> Rendered {
        let base = render(TemplateId::CaseTerminated, 1, &sample(TemplateId::CaseTerminated)).unwrap();
        let fixed = base.chars - sample(TemplateId::CaseTerminated).get("note").unwrap().chars().count();
        let note: String = "注".repeat(total - fixed);
        render(TemplateId::CaseTerminated, 1, &with(&sample(TemplateId::CaseTerminated), "note", &note)).unwrap()
    }

    #[test]
    fn segments_of_rendered_messages_at_the_boundaries_count_the_signature() {
        for (total, expected) in [(70, 1), (71, 2), (134, 2), (135, 3)] {
            let rendered = terminated_of_length(total);
            assert_eq!(rendered.chars, total);
            assert_eq!(format!("{}{}", SignName::default(), rendered.text).chars().count(), total);
            assert_eq!(rendered.segments, expected, "{total}");
        }
        // The same text under a shorter signature: 70 + 1 with 【滨州帮办代办】 is 69 + 1 with 【滨州帮办】 … 67.
        let text = terminated_of_length(71).text;
        assert_eq!(message_chars(&SignName::new("滨州帮办").unwrap(), &text), 69);
    }

    #[test]
    fn ascii_letters_and_chinese_characters_count_one_each() {
        let sign = SignName::default();
        assert_eq!(sign.chars(), 8);
        assert_eq!(message_chars(&sign, "abc中文1，,"), 8 + 8);
    }

    #[test]
    fn the_signature_is_configurable_and_checked() {
        let sign = SignName::new("滨城区帮办").unwrap();
        let rendered =
            Catalog::builtin().render(&sign, TemplateId::ResultReady, 1, &sample(TemplateId::ResultReady)).unwrap();
        assert_eq!(rendered.chars, 7 + rendered.text.chars().count());
        assert_eq!(sign.to_string(), "【滨城区帮办】");
        for bad in ["", " ", "【滨州】", "滨州\n", " 滨州"] {
            assert_eq!(SignName::new(bad), Err(InvalidSignName), "{bad:?}");
        }
    }

    #[test]
    fn a_message_over_500_characters_is_refused() {
        let note = "注".repeat(480);
        let params = with(&sample(TemplateId::CaseTerminated), "note", &note);
        assert!(matches!(
            render(TemplateId::CaseTerminated, 1, &params),
            Err(TemplateError::TooLong { max: 500, chars }) if chars > 500
        ));
    }

    /// A second wording of `case_accepted`, beside the first.
    const CASE_ACCEPTED_V2: Template = Template {
        id: TemplateId::CaseAccepted,
        version: 2,
        body: "已受理（台账${ledger_no}），帮办代办员${specialist_name}（${specialist_position}），电话${office_phone}。",
        params: &["ledger_no", "specialist_name", "specialist_position", "office_phone"],
        codes: ProviderCodes { aliyun: "SMS_BB_CASE_ACCEPTED_V2", tencent: "910102" },
    };

    #[test]
    fn versions_are_kept_side_by_side() {
        let mut templates = TEMPLATES.to_vec();
        templates.push(CASE_ACCEPTED_V2);
        let catalog = Catalog::new(templates).unwrap();
        let sign = SignName::default();
        let params = sample(TemplateId::CaseAccepted);

        assert_eq!(catalog.latest(TemplateId::CaseAccepted).map(|t| t.version), Some(2));
        let v1 = catalog.render(&sign, TemplateId::CaseAccepted, 1, &params).unwrap();
        let v2 = catalog.render(&sign, TemplateId::CaseAccepted, 2, &params).unwrap();
        assert_eq!((v1.version, v2.version), (1, 2));
        assert_ne!(v1.text, v2.text);
        assert_eq!(
            v2.text,
            "已受理（台账BB-371600-2025-000123），帮办代办员张三（市行政审批服务局帮办代办员），电话0543-3161234。"
        );
        // A message stored as (case_accepted, 1) renders as it did before v2 existed.
        assert_eq!(v1, render(TemplateId::CaseAccepted, 1, &params).unwrap());
        // Other templates are untouched.
        assert_eq!(catalog.latest(TemplateId::ResultReady).map(|t| t.version), Some(1));
    }

    #[test]
    fn the_catalog_refuses_inconsistent_templates() {
        let twice = vec![TEMPLATES[0], TEMPLATES[0]];
        assert!(matches!(Catalog::new(twice), Err(CatalogError::Duplicate { version: 1, .. })));

        let zero = Template { version: 0, ..CASE_ACCEPTED_V2 };
        assert!(matches!(Catalog::new(vec![zero]), Err(CatalogError::VersionZero { .. })));

        let undeclared = Template { params: &["ledger_no", "specialist_name", "office_phone"], ..CASE_ACCEPTED_V2 };
        assert!(matches!(Catalog::new(vec![undeclared]), Err(CatalogError::Body { .. })));

        let out_of_order = Template {
            params: &["specialist_name", "ledger_no", "specialist_position", "office_phone"],
            ..CASE_ACCEPTED_V2
        };
        assert!(matches!(Catalog::new(vec![out_of_order]), Err(CatalogError::Body { .. })));

        let unterminated = Template { body: "台账${ledger_no", params: &[], ..CASE_ACCEPTED_V2 };
        assert!(matches!(Catalog::new(vec![unterminated]), Err(CatalogError::Body { .. })));

        let signed = Template { body: "【滨州】${ledger_no}", params: &["ledger_no"], ..CASE_ACCEPTED_V2 };
        assert!(matches!(Catalog::new(vec![signed]), Err(CatalogError::Body { .. })));
    }

    #[test]
    fn tencent_bodies_are_positional() {
        let template = Catalog::builtin().get(TemplateId::CaseAccepted, 1).unwrap();
        assert_eq!(
            template.tencent_body(),
            "您的帮办代办申请已受理，台账编号{1}。您的专属帮办代办员：{2}，{3}，办公电话{4}。"
        );
        for template in TEMPLATES {
            assert!(!template.tencent_body().contains("${"), "{}", template.id);
        }
    }

    #[test]
    fn only_supervision_notices_and_terminations_are_urgent() {
        let urgent: Vec<_> = TemplateId::ALL.iter().copied().filter(TemplateId::is_urgent).collect();
        assert_eq!(urgent, [TemplateId::SupervisionIssued, TemplateId::CaseTerminated]);
    }

    #[test]
    fn ids_round_trip_through_text_and_json() {
        for &id in TemplateId::ALL {
            assert_eq!(id.as_str().parse::<TemplateId>(), Ok(id));
            assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{id}\""));
        }
        assert!("case.accepted".parse::<TemplateId>().is_err());
    }

    #[test]
    fn provider_codes_are_distinct() {
        let mut aliyun: Vec<_> = TEMPLATES.iter().map(|t| t.codes.aliyun).collect();
        let mut tencent: Vec<_> = TEMPLATES.iter().map(|t| t.codes.tencent).collect();
        aliyun.sort();
        aliyun.dedup();
        tencent.sort();
        tencent.dedup();
        assert_eq!((aliyun.len(), tencent.len()), (TEMPLATES.len(), TEMPLATES.len()));
        assert!(TEMPLATES.iter().all(|t| t.codes.aliyun.starts_with("SMS_")));
        assert!(TEMPLATES.iter().all(|t| t.codes.tencent.bytes().all(|b| b.is_ascii_digit())));
    }
}
