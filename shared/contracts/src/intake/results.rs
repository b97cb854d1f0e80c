//! Results delivery and the archive (告知结果 §7.6, 资料归档 §7.7): the operations
//! `bb.svc.intake.results.*` and `bb.svc.intake.archive.*`, their requests and replies, and the events
//! `case.results_delivered` and `case.archived`.
//!
//! # Moving documents over the bus (资料传输)
//!
//! An archived document may be up to [`MAX_DOCUMENT_BYTES`] (10 MiB), but a NATS message is limited by
//! the server's `max_payload` (1 MiB by default). Documents therefore travel in chunks, each one
//! base64 text inside a JSON message of at most `max_payload` bytes ([`transfer_chunk_bytes`]):
//!
//! - **Filing** (归档): content that fits one chunk goes inline in [`FileDocument`]. Larger content is
//!   first staged chunk by chunk with [`ops::ArchiveChunk`] (intake keeps staged chunks in its own
//!   database, so any replica can take any chunk), then [`ops::ArchiveFile`] names the upload, and
//!   intake joins the chunks, checks the size, stores the document and removes the staged chunks.
//!   Staged chunks of an upload that is never filed are removed after [`STAGED_CHUNK_TTL_SECS`].
//! - **Reading** (调阅): [`ops::ArchiveRead`] returns one chunk at an offset with the document's
//!   record; the reader asks again until it has `size` bytes, and checks the SHA-256 of the whole.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Actor, CaseStatus, ServiceType};

/// Operations of `bb.svc.intake.<operation>` for results and the archive.
pub mod ops {
    crate::operations! { service = super::super::SERVICE, module = "intake", path = "intake::results";
        /// Deliveries and the custody list of a case
        ResultsGet = "results.get": super::GetResults => super::ResultsView;
        /// Record deliveries of result documents
        ResultsRecord = "results.record": super::RecordDeliveries => super::ResultsView;
        /// Declare the results delivered: `in_progress → results_delivered`
        ResultsDelivered = "results.delivered": super::DeclareDelivered => super::ResultsView;
        /// Take an original material into custody
        CustodyReceive = "results.custody.receive": super::ReceiveCustody => super::CustodyItem;
        /// Return a material in custody
        CustodyReturn = "results.custody.return": super::ReturnCustody => super::CustodyItem;
        /// The archive of a case
        ArchiveList = "archive.list": super::ListArchive => super::ArchiveView;
        /// Stage one chunk of a large document
        ArchiveChunk = "archive.chunk": super::UploadChunk => super::ChunkStaged;
        /// File a document
        ArchiveFile = "archive.file": super::FileDocument => super::FiledDocument;
        /// Read one chunk of a filed document
        ArchiveRead = "archive.read": super::ReadDocument => super::DocumentChunk;
        /// Archive the case: `results_delivered → archived`
        ArchiveComplete = "archive.complete": super::CompleteArchive => super::ArchiveView;
    }
}

/// Largest document the archive takes (单份归档资料上限): 10 MiB of content, before base64.
pub const MAX_DOCUMENT_BYTES: u64 = 10 * 1024 * 1024;

/// The media types the archive takes (归档资料格式白名单), each with its usual file extension: the
/// documents and scans of an approvals file — PDF, OFD (版式文档, GB/T 33190, the format of electronic
/// licences 电子证照), JPEG, PNG, TIFF, Word and Excel, and ZIP for a set of drawings. Anything else
/// (HTML, SVG, scripts, executables…) is refused, so that nothing filed can run in a browser from the
/// platform's origin.
pub const ARCHIVE_MEDIA_TYPES: &[(&str, &str)] = &[
    ("application/pdf", "pdf"),
    ("application/ofd", "ofd"),
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/tiff", "tif"),
    ("application/msword", "doc"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    ("application/vnd.ms-excel", "xls"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    ("application/zip", "zip"),
];

/// The accepted media type (one of [`ARCHIVE_MEDIA_TYPES`]) that `value` names, ignoring case, spaces and
/// parameters (`Application/PDF; x=1` is `application/pdf`); `None` for any other.
pub fn archive_media_type(value: &str) -> Option<&'static str> {
    let essence = value.split(';').next().unwrap_or_default().trim();
    ARCHIVE_MEDIA_TYPES.iter().map(|(t, _)| *t).find(|t| t.eq_ignore_ascii_case(essence))
}

/// The file extension of an accepted media type ([`ARCHIVE_MEDIA_TYPES`]), for a downloaded file's name.
pub fn archive_extension(media_type: &str) -> Option<&'static str> {
    let accepted = archive_media_type(media_type)?;
    ARCHIVE_MEDIA_TYPES.iter().find(|(t, _)| *t == accepted).map(|(_, ext)| *ext)
}

/// Most deliveries in one request.
pub const MAX_DELIVERIES_PER_REQUEST: usize = 50;

/// Room left in a bus message for the JSON around a chunk and the headers (trace context).
pub const TRANSFER_OVERHEAD: usize = 16 * 1024;

/// Smallest chunk, whatever the server's `max_payload` (a server this small cannot carry documents anyway).
pub const MIN_TRANSFER_CHUNK: usize = 3 * 1024;

/// Largest chunk, even with a very large `max_payload`.
pub const MAX_TRANSFER_CHUNK: usize = 3 * 1024 * 1024;

/// Most chunks of one upload: enough for [`MAX_DOCUMENT_BYTES`] at [`MIN_TRANSFER_CHUNK`].
pub const MAX_UPLOAD_CHUNKS: u32 = 4096;

/// Staged chunks of an upload that was never filed are removed after this long (一小时).
pub const STAGED_CHUNK_TTL_SECS: i64 = 3600;

/// Bytes of content per chunk for a server with this `max_payload`: what fits, base64-encoded, with
/// [`TRANSFER_OVERHEAD`] to spare; a multiple of 3 (so only the last chunk's base64 is padded).
pub fn transfer_chunk_bytes(max_payload: usize) -> usize {
    let room = max_payload.saturating_sub(TRANSFER_OVERHEAD);
    (room / 4 * 3).clamp(MIN_TRANSFER_CHUNK, MAX_TRANSFER_CHUNK) / 3 * 3
}

/// Base64 as the archive's JSON carries content (RFC 4648 §4: standard alphabet, padded, no line
/// breaks), strict on decoding: a wrong symbol, a wrong length or non-zero padding bits are errors.
pub mod base64 {
    use ::base64::{DecodeError, Engine, engine::general_purpose::STANDARD};

    /// Why text is not base64.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
    pub enum Base64Error {
        /// The length is not a multiple of 4.
        #[error("the length {0} is not a multiple of 4")]
        Length(usize),
        /// A character outside the alphabet (or `=` before the end), at this byte offset.
        #[error("invalid character at offset {0}")]
        Symbol(usize),
        /// The padding hides non-zero bits (not the canonical encoding), in the last quantum.
        #[error("non-canonical padding")]
        Padding,
    }

    /// Encodes bytes.
    pub fn encode(bytes: &[u8]) -> String {
        STANDARD.encode(bytes)
    }

    /// The number of bytes `text` decodes to, if its length and padding allow it (symbols unchecked).
    pub fn decoded_len(text: &str) -> Option<u64> {
        let len = text.len();
        if !len.is_multiple_of(4) {
            return None;
        }
        let pad = text.bytes().rev().take_while(|&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        Some((len / 4 * 3 - pad) as u64)
    }

    /// Decodes text, strictly: padded, canonical, no line breaks.
    pub fn decode(text: &str) -> Result<Vec<u8>, Base64Error> {
        if !text.len().is_multiple_of(4) {
            return Err(Base64Error::Length(text.len()));
        }
        STANDARD.decode(text).map_err(|e| match e {
            DecodeError::InvalidByte(offset, _) => Base64Error::Symbol(offset),
            DecodeError::InvalidLength(len) => Base64Error::Length(len),
            DecodeError::InvalidLastSymbol(..) => Base64Error::Padding,
            DecodeError::InvalidPadding => Base64Error::Symbol(text.find('=').unwrap_or(0)),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Results delivery (告知结果, §7.6)
// ---------------------------------------------------------------------------------------------

/// A result document (办理结果文书): a certificate or written approval issued for the project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "kind": "建设用地规划许可证", "number": "地字第371625202600012号",
    "issued_by": "博兴县自然资源和规划局", "issued_on": "2026-11-20"
}))]
pub struct ResultDocument {
    /// Kind of document (结果文书名称), 2–100 characters.
    #[schema(example = "建设用地规划许可证")]
    pub kind: String,
    /// Its number (证书/文书编号), 1–100 characters.
    #[schema(example = "地字第371625202600012号")]
    pub number: String,
    /// The issuing unit (发证单位), 2–100 characters.
    #[schema(example = "博兴县自然资源和规划局")]
    pub issued_by: String,
    /// Date of issue (发证日期), not in the future.
    pub issued_on: NaiveDate,
}

/// How a result document reached the applicant (送达方式, §7.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "method", rename_all = "snake_case", deny_unknown_fields)]
pub enum Delivery {
    /// 邮寄: sent by post or courier; carrier and tracking number are required.
    #[schema(example = json!({"method": "mail", "carrier": "中国邮政 EMS", "tracking_number": "1180123456789"}))]
    Mail {
        /// 快递/邮政企业, 2–50 characters.
        carrier: String,
        /// 运单号: 6–40 letters, digits or `-`.
        tracking_number: String,
        /// 寄出日期; unset: today (China Standard Time).
        #[serde(default)]
        mailed_on: Option<NaiveDate>,
    },
    /// 代取: collected at the issuing unit by the assistant or agent (帮办代办员代取).
    AssistantCollection {
        /// Who collected it (代取人), 1–50 characters.
        collected_by: String,
        /// When (代取日期).
        collected_on: NaiveDate,
    },
    /// 自取: collected by the applicant in person.
    ApplicantCollection {
        /// Who collected it (领取人), 1–50 characters.
        collected_by: String,
        /// When (领取日期).
        collected_on: NaiveDate,
    },
}

impl Delivery {
    /// The method alone.
    pub fn method(&self) -> DeliveryMethod {
        match self {
            Self::Mail { .. } => DeliveryMethod::Mail,
            Self::AssistantCollection { .. } => DeliveryMethod::AssistantCollection,
            Self::ApplicantCollection { .. } => DeliveryMethod::ApplicantCollection,
        }
    }
}

crate::labelled_enum! {
    /// A delivery method without its details (送达方式), as events carry it.
    #[derive(ToSchema)]
    pub enum DeliveryMethod {
        /// 邮寄
        Mail = "mail", "邮寄";
        /// 代取
        AssistantCollection = "assistant_collection", "代取";
        /// 自取
        ApplicantCollection = "applicant_collection", "自取";
    }
}

/// One delivery to record: which document, and how it went out (结果送达登记).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDelivery {
    pub document: ResultDocument,
    pub delivery: Delivery,
    /// 备注, at most 500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `POST /api/v1/cases/{id}/results`: one or more deliveries (at most 50).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"deliveries": [
    {
        "document": {"kind": "建设用地规划许可证", "number": "地字第371625202600012号",
                     "issued_by": "博兴县自然资源和规划局", "issued_on": "2026-11-20"},
        "delivery": {"method": "mail", "carrier": "中国邮政 EMS", "tracking_number": "1180123456789",
                     "mailed_on": "2026-11-21"}
    },
    {
        "document": {"kind": "建筑工程施工许可证", "number": "371625202611250101",
                     "issued_by": "博兴县行政审批服务局", "issued_on": "2026-11-25"},
        "delivery": {"method": "applicant_collection", "collected_by": "王经理", "collected_on": "2026-11-26"}
    }
]}))]
pub struct NewDeliveries {
    pub deliveries: Vec<NewDelivery>,
}

/// A recorded delivery (送达记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub document: ResultDocument,
    /// As recorded; a mail delivery always carries its `mailed_on`.
    pub delivery: Delivery,
    pub note: Option<String>,
    /// Who recorded it (登记人).
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

/// An original material in the agent's custody (代管材料), to be returned with the results in a
/// commission (§7.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustodyItem {
    pub id: Uuid,
    pub case_id: Uuid,
    /// 材料名称
    #[schema(example = "营业执照（原件）")]
    pub material: String,
    /// 接收日期
    pub received_on: NaiveDate,
    /// 交付人 (from whom)
    pub received_from: String,
    /// Who recorded the receipt (接收登记人).
    pub received_by: String,
    pub note: Option<String>,
    /// 归还日期; unset while in custody.
    pub returned_on: Option<NaiveDate>,
    /// 接收人 (to whom it was returned).
    pub returned_to: Option<String>,
    /// Who recorded the return.
    pub returned_by: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl CustodyItem {
    /// Still in custody (未归还)?
    pub fn outstanding(&self) -> bool {
        self.returned_on.is_none()
    }
}

/// Body of `POST /api/v1/cases/{id}/custody`: a material taken into custody (代管材料接收).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"material": "营业执照（原件）", "received_on": "2026-11-02", "received_from": "王经理"}))]
pub struct NewCustodyItem {
    /// 材料名称, 1–200 characters.
    pub material: String,
    /// 接收日期, not in the future.
    pub received_on: NaiveDate,
    /// 交付人, 1–100 characters.
    pub received_from: String,
    /// 备注, at most 500 characters.
    #[serde(default)]
    pub note: Option<String>,
}

/// Body of `POST /api/v1/cases/{id}/custody/{item}/return`: the material handed back (代管材料归还).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"returned_on": "2026-11-26", "returned_to": "王经理"}))]
pub struct CustodyReturn {
    /// 归还日期: not before receipt, not in the future.
    pub returned_on: NaiveDate,
    /// 接收人, 1–100 characters.
    pub returned_to: String,
}

/// The results of a case (办理结果): deliveries and the custody list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResultsView {
    pub case_id: Uuid,
    pub status: CaseStatus,
    pub service_type: ServiceType,
    pub deliveries: Vec<DeliveryRecord>,
    /// 代管材料清单, in order of receipt.
    pub custody: Vec<CustodyItem>,
    /// Items received and not yet returned; a commission's results can be declared delivered only at 0.
    pub custody_outstanding: usize,
}

/// Request of [`ops::ResultsGet`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetResults {
    pub case_id: Uuid,
}

/// Request of [`ops::ResultsRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDeliveries {
    pub actor: Actor,
    pub case_id: Uuid,
    pub deliveries: Vec<NewDelivery>,
}

/// Request of [`ops::ResultsDelivered`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclareDelivered {
    pub actor: Actor,
    pub case_id: Uuid,
}

/// Request of [`ops::CustodyReceive`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiveCustody {
    pub actor: Actor,
    pub case_id: Uuid,
    pub item: NewCustodyItem,
}

/// Request of [`ops::CustodyReturn`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnCustody {
    pub actor: Actor,
    pub case_id: Uuid,
    pub item_id: Uuid,
    pub returned: CustodyReturn,
}

/// One delivered document in `case.results_delivered`: no personal data (no collector, no tracking number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeliveredDocument {
    pub kind: String,
    pub number: String,
    pub issued_by: String,
    pub issued_on: NaiveDate,
    pub method: DeliveryMethod,
}

/// Data of `case.results_delivered` (结果已告知).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseResultsDelivered {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub service_type: ServiceType,
    pub documents: Vec<DeliveredDocument>,
    /// Materials returned from custody (commission), counted.
    pub materials_returned: usize,
    pub delivered_by: String,
    pub delivered_at: DateTime<Utc>,
}

// ---------------------------------------------------------------------------------------------
// Archive (资料归档, §7.7)
// ---------------------------------------------------------------------------------------------

crate::labelled_enum! {
    /// What an archived document is (归档资料类别, §7.7), in the order of §7.7; its spelling is also the folder
    /// of its storage keys.
    #[derive(ToSchema)]
    pub enum ArchiveDocType {
        /// 代办方案 — the service plan.
        ServicePlan = "service_plan", "代办方案";
        /// 申请材料 — application materials.
        ApplicationMaterial = "application_material", "申请材料";
        /// 过程材料 — process materials (notices, minutes, supplements…).
        ProcessMaterial = "process_material", "过程材料";
        /// 办理结果 — results: certificates and written approvals.
        Result = "result", "办理结果";
    }
}

/// Body of `POST /api/v1/cases/{id}/archive`: one document to file (归档).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "doc_type": "result", "title": "建设用地规划许可证（扫描件）", "media_type": "application/pdf",
    "content": "JVBERi0xLjcKJcTl8uXrp/Og0MTGCg=="
}))]
pub struct NewArchiveDocument {
    pub doc_type: ArchiveDocType,
    /// 资料名称, 1–200 characters.
    pub title: String,
    /// Media type, one of [`ARCHIVE_MEDIA_TYPES`]: `application/pdf`, `application/ofd`, `image/jpeg`,
    /// `image/png`, `image/tiff`, `application/msword`, `application/vnd.ms-excel`, the Office Open XML
    /// types of `.docx` and `.xlsx`, or `application/zip`; parameters are dropped. Others: 422 naming
    /// `media_type`.
    #[schema(example = "application/pdf")]
    pub media_type: String,
    /// The content in base64 (RFC 4648 §4, padded; line breaks are ignored), at most 10 MiB decoded.
    pub content: String,
}

/// A filed document (归档资料) as recorded: the content lives in the document store under
/// `cases/<case id>/<doc_type>/<sha256>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArchiveDocument {
    pub id: Uuid,
    pub case_id: Uuid,
    pub doc_type: ArchiveDocType,
    pub title: String,
    pub media_type: String,
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the content, lowercase hex (内容摘要).
    #[schema(example = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    pub sha256: String,
    /// Who filed it (归档人).
    pub filed_by: String,
    pub filed_at: DateTime<Utc>,
}

/// The archive of a case (案卷).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArchiveView {
    pub case_id: Uuid,
    pub status: CaseStatus,
    /// The case is archived (已归档): nothing more can be filed.
    pub archived: bool,
    /// In order of filing.
    pub documents: Vec<ArchiveDocument>,
}

/// Request of [`ops::ArchiveList`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListArchive {
    pub case_id: Uuid,
}

/// Request of [`ops::ArchiveChunk`]: chunk `index` (from 0) of upload `upload_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadChunk {
    pub actor: Actor,
    pub case_id: Uuid,
    pub upload_id: Uuid,
    pub index: u32,
    /// The chunk's bytes in base64.
    pub data: String,
}

/// Reply of [`ops::ArchiveChunk`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkStaged {
    pub upload_id: Uuid,
    pub index: u32,
    /// Bytes of this chunk.
    pub size: u64,
}

/// Where the content of a [`FileDocument`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DocumentContent {
    /// In this message, base64.
    Inline { data: String },
    /// Staged with [`ops::ArchiveChunk`] as chunks `0..chunks`.
    Staged { upload_id: Uuid, chunks: u32 },
}

/// Request of [`ops::ArchiveFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDocument {
    pub actor: Actor,
    pub case_id: Uuid,
    pub doc_type: ArchiveDocType,
    pub title: String,
    pub media_type: String,
    /// Bytes of the whole content (checked against what arrives).
    pub size: u64,
    pub content: DocumentContent,
}

/// Reply of [`ops::ArchiveFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FiledDocument {
    pub document: ArchiveDocument,
    /// `false`: the same content was already filed under this type for this case, and this is that record.
    pub created: bool,
}

/// Request of [`ops::ArchiveRead`]: up to `length` bytes from `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadDocument {
    pub case_id: Uuid,
    pub document_id: Uuid,
    pub offset: u64,
    pub length: u64,
}

/// Reply of [`ops::ArchiveRead`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentChunk {
    pub document: ArchiveDocument,
    pub offset: u64,
    /// The bytes from `offset` in base64 (empty at or past the end).
    pub data: String,
}

/// Request of [`ops::ArchiveComplete`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteArchive {
    pub actor: Actor,
    pub case_id: Uuid,
}

/// One document in `case.archived`: type and content hash, no title (titles may name people).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ArchivedDocumentRef {
    pub id: Uuid,
    pub doc_type: ArchiveDocType,
    pub sha256: String,
    pub size: u64,
}

/// Data of `case.archived` (已归档).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CaseArchived {
    pub case_id: Uuid,
    pub ledger_no: String,
    pub office: String,
    pub documents: Vec<ArchivedDocumentRef>,
    pub archived_by: String,
    pub archived_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn base64_matches_rfc_4648_test_vectors() {
        let vectors =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for (plain, encoded) in vectors.into_iter().chain([("foobar", "Zm9vYmFy")]) {
            assert_eq!(base64::encode(plain.as_bytes()), encoded);
            assert_eq!(base64::decode(encoded).unwrap(), plain.as_bytes());
            assert_eq!(base64::decoded_len(encoded), Some(plain.len() as u64));
        }
        assert_eq!(base64::encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn base64_is_strict() {
        use self::base64::Base64Error::*;
        assert_eq!(base64::decode("Zm9"), Err(Length(3)));
        assert_eq!(base64::decode("Zm9v\nYg=="), Err(Length(9)));
        assert_eq!(base64::decode("Zm-v"), Err(Symbol(2)));
        assert_eq!(base64::decode("Zg==Zm9v"), Err(Symbol(2)), "padding only at the end");
        assert_eq!(base64::decode("Z==="), Err(Symbol(1)));
        assert_eq!(base64::decode("Zh=="), Err(Padding), "non-zero bits under the padding");
        assert_eq!(base64::decode("Zm9="), Err(Padding));
        assert_eq!(base64::decoded_len("Zm9"), None);
        assert_eq!(base64::decoded_len("===="), None);
    }

    proptest! {
        #[test]
        fn base64_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let text = base64::encode(&bytes);
            prop_assert_eq!(base64::decoded_len(&text), Some(bytes.len() as u64));
            prop_assert_eq!(base64::decode(&text).unwrap(), bytes);
        }
    }

    #[test]
    fn chunks_fit_the_server_payload_limit() {
        for max_payload in [1024 * 1024, 8 * 1024 * 1024, 64 * 1024 * 1024, 64 * 1024, 1024, 0] {
            let chunk = transfer_chunk_bytes(max_payload);
            assert_eq!(chunk % 3, 0);
            assert!((MIN_TRANSFER_CHUNK..=MAX_TRANSFER_CHUNK).contains(&chunk));
            if max_payload >= 64 * 1024 {
                assert!(chunk / 3 * 4 + TRANSFER_OVERHEAD <= max_payload, "{max_payload}: {chunk}");
            }
        }
        // NATS's default of 1 MiB: chunks of 774 KiB, so a 10 MiB document is 14 messages.
        assert_eq!(transfer_chunk_bytes(1024 * 1024), 774_144);
        assert!(u64::from(MAX_UPLOAD_CHUNKS) * MIN_TRANSFER_CHUNK as u64 >= MAX_DOCUMENT_BYTES);
    }

    #[test]
    fn deliveries_are_tagged_by_method() {
        let mail: Delivery = serde_json::from_value(json!({
            "method": "mail", "carrier": "EMS", "tracking_number": "1180123456789"
        }))
        .unwrap();
        assert_eq!(mail.method(), DeliveryMethod::Mail);
        assert!(matches!(mail, Delivery::Mail { mailed_on: None, .. }));
        let err = serde_json::from_value::<Delivery>(json!({"method": "mail", "carrier": "EMS"})).unwrap_err();
        assert!(err.to_string().contains("tracking_number"), "{err}");
        assert!(serde_json::from_value::<Delivery>(json!({"method": "pigeon"})).is_err());
        assert!(
            serde_json::from_value::<Delivery>(json!({
                "method": "applicant_collection", "collected_by": "王经理", "collected_on": "2026-11-26", "x": 1
            }))
            .is_err(),
            "unknown fields are refused"
        );
        for m in [DeliveryMethod::Mail, DeliveryMethod::AssistantCollection, DeliveryMethod::ApplicantCollection] {
            assert_eq!(DeliveryMethod::parse(m.as_str()), Some(m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
    }

    #[test]
    fn doc_types_round_trip() {
        for &t in ArchiveDocType::ALL {
            assert_eq!(ArchiveDocType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(ArchiveDocType::parse("photo"), None);
    }

    #[test]
    fn only_document_and_image_media_types_are_archived() {
        assert_eq!(archive_media_type("Application/PDF"), Some("application/pdf"));
        assert_eq!(archive_media_type(" image/jpeg ; q=1"), Some("image/jpeg"));
        assert_eq!(
            archive_extension("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            Some("xlsx")
        );
        assert_eq!(archive_extension("application/ofd"), Some("ofd"));
        for bad in [
            "text/javascript",
            "application/javascript",
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/plain",
            "application/octet-stream",
            "application/pdfx",
            "",
        ] {
            assert_eq!(archive_media_type(bad), None, "{bad:?}");
        }
    }
}
