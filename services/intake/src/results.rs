//! Results delivery and the archive (告知结果 §7.6, 资料归档 §7.7): the operations of
//! [`bangban_contracts::intake::results::ops`].
//!
//! - **Deliveries (结果送达)**: each result document (certificate or written approval) with how it
//!   reached the applicant: mailed (邮寄), collected by the specialist (代取) or by the applicant (自取).
//!   Recorded while the case is `in_progress`.
//! - **Custody list (代管材料清单)**: in a commission the agent holds original materials and returns them
//!   with the results; every item received is listed with its return.
//! - **Declaring the results delivered (告知结果)** moves the case `in_progress → results_delivered`
//!   (the lifecycle's 409 otherwise), needs at least one delivery and, in a commission, every material
//!   returned (422 naming `custody`), and publishes `case.results_delivered` in the same transaction.
//! - **Archive (案卷)**: documents filed by type in the [`DocumentStore`] under
//!   `cases/<case id>/<doc_type>/<sha256>`, recorded with hash, size, media type, who filed and when.
//!   Completing the archive moves `results_delivered → archived`, needs a filed `result` document (422
//!   naming `result`) and publishes `case.archived`. Nothing can be filed into an archived case.
//!
//! Large documents cross the bus in chunks (see [`bangban_contracts::intake::results`]); staged
//! chunks live in `archive_upload_chunk` until the document is filed, or an hour at most.

use bangban_contracts::{
    events,
    intake::{
        Actor, CaseStatus, SERVICE, ServiceType,
        results::{
            ARCHIVE_MEDIA_TYPES, ArchiveDocType, ArchiveDocument, ArchiveView, ArchivedDocumentRef, CaseArchived,
            CaseResultsDelivered, ChunkStaged, CompleteArchive, CustodyItem, DeclareDelivered, DeliveredDocument,
            Delivery, DeliveryMethod, DeliveryRecord, DocumentChunk, DocumentContent, FileDocument, FiledDocument,
            MAX_DELIVERIES_PER_REQUEST, MAX_DOCUMENT_BYTES, MAX_TRANSFER_CHUNK, MAX_UPLOAD_CHUNKS, NewCustodyItem,
            NewDelivery, ReadDocument, ReceiveCustody, RecordDeliveries, ResultDocument, ResultsView, ReturnCustody,
            STAGED_CHUNK_TTL_SECS, UploadChunk, archive_media_type, base64,
        },
    },
};
use bangban_platform::{
    clock,
    objects::{DocumentStore, StoreError},
    outbox,
    problem::FieldError,
};
use chrono::{NaiveDate, SubsecRound, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, Value, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    IntakeService,
    domain::{
        identity,
        lifecycle::{self, Transition},
        validation,
    },
    entity::{archive_document, archive_upload_chunk, cases, custody_item, result_delivery},
    error::{self, IntakeError, archived_conflict, invalid, state_conflict},
    parse_uuid,
};

type Result<T, E = IntakeError> = std::result::Result<T, E>;

/// Checks of requests that need no database (校验规则).
pub mod rules {
    use super::*;

    /// A trimmed text of `min..=max` characters without control characters.
    pub fn text(field: &str, value: &str, min: usize, max: usize) -> Result<String, FieldError> {
        let t = value.trim();
        let n = t.chars().count();
        if n < min || n > max || t.chars().any(char::is_control) {
            let (zh, en) = if n == 0 && min > 0 {
                ("不能为空".to_string(), "must not be empty".to_string())
            } else {
                (
                    format!("须为 {min}–{max} 个字符且不含控制字符"),
                    format!("must be {min}–{max} characters without control characters"),
                )
            };
            return Err(FieldError::new(field, zh, en));
        }
        Ok(t.to_string())
    }

    fn optional_text(field: &str, value: &Option<String>, max: usize) -> Result<Option<String>, FieldError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => text(field, v, 1, max).map(Some),
        }
    }

    /// A date that is not after `today` (and not before `earliest`, when given).
    pub fn date(
        field: &str,
        value: NaiveDate,
        earliest: Option<(NaiveDate, &str)>,
        today: NaiveDate,
    ) -> Result<NaiveDate, FieldError> {
        if value > today {
            return Err(FieldError::new(field, "日期不能晚于今天", "must not be in the future"));
        }
        if let Some((min, what)) = earliest
            && value < min
        {
            return Err(FieldError::new(
                field,
                format!("日期不能早于{what}（{min}）"),
                format!("must not be before {} ({min})", what_en(what)),
            ));
        }
        Ok(value)
    }

    fn what_en(what: &str) -> &str {
        match what {
            "发证日期" => "the date of issue",
            "接收日期" => "the date of receipt",
            _ => "the earliest possible date",
        }
    }

    /// A tracking number (运单号): 6–40 letters, digits or `-`.
    pub fn tracking_number(field: &str, value: &str) -> Result<String, FieldError> {
        let t = value.trim();
        if t.is_empty() {
            return Err(FieldError::new(field, "邮寄须填写运单号", "a mail delivery needs its tracking number"));
        }
        if !(6..=40).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(FieldError::new(
                field,
                "运单号须为 6–40 位字母、数字或“-”",
                "must be 6–40 letters, digits or '-'",
            ));
        }
        Ok(t.to_ascii_uppercase())
    }

    /// Checks deliveries and returns them normalised (trimmed, a mail's `mailed_on` filled with today),
    /// or every field that is wrong.
    pub fn deliveries(list: &[NewDelivery], today: NaiveDate) -> Result<Vec<NewDelivery>, Vec<FieldError>> {
        let mut errors = Vec::new();
        if list.is_empty() {
            errors.push(FieldError::new("deliveries", "至少登记一份结果文书的送达", "record at least one delivery"));
        }
        if list.len() > MAX_DELIVERIES_PER_REQUEST {
            errors.push(FieldError::new(
                "deliveries",
                format!("一次最多登记 {MAX_DELIVERIES_PER_REQUEST} 份"),
                format!("at most {MAX_DELIVERIES_PER_REQUEST} deliveries per request"),
            ));
        }
        let mut out = Vec::with_capacity(list.len());
        let mut seen = std::collections::HashSet::new();
        for (i, d) in list.iter().enumerate() {
            let at = |f: &str| format!("deliveries[{i}].{f}");
            let mut take = |r: Result<String, FieldError>| r.map_err(|e| errors.push(e)).unwrap_or_default();
            let document = ResultDocument {
                kind: take(text(&at("document.kind"), &d.document.kind, 2, 100)),
                number: take(text(&at("document.number"), &d.document.number, 1, 100)),
                issued_by: take(text(&at("document.issued_by"), &d.document.issued_by, 2, 100)),
                issued_on: d.document.issued_on,
            };
            let issued = Some((d.document.issued_on, "发证日期"));
            let check_date = |field: &str, v: NaiveDate, errors: &mut Vec<FieldError>| {
                if let Err(e) = date(&at(field), v, issued, today) {
                    errors.push(e);
                }
            };
            let delivery = match &d.delivery {
                Delivery::Mail { carrier, tracking_number: number, mailed_on } => {
                    let mailed_on = mailed_on.unwrap_or(today);
                    let carrier = text(&at("delivery.carrier"), carrier, 2, 50);
                    let number = tracking_number(&at("delivery.tracking_number"), number);
                    check_date("delivery.mailed_on", mailed_on, &mut errors);
                    Delivery::Mail {
                        carrier: carrier.map_err(|e| errors.push(e)).unwrap_or_default(),
                        tracking_number: number.map_err(|e| errors.push(e)).unwrap_or_default(),
                        mailed_on: Some(mailed_on),
                    }
                }
                Delivery::AssistantCollection { collected_by, collected_on }
                | Delivery::ApplicantCollection { collected_by, collected_on } => {
                    let by = text(&at("delivery.collected_by"), collected_by, 1, 50);
                    check_date("delivery.collected_on", *collected_on, &mut errors);
                    let collected_by = by.map_err(|e| errors.push(e)).unwrap_or_default();
                    if matches!(d.delivery, Delivery::AssistantCollection { .. }) {
                        Delivery::AssistantCollection { collected_by, collected_on: *collected_on }
                    } else {
                        Delivery::ApplicantCollection { collected_by, collected_on: *collected_on }
                    }
                }
            };
            if let Err(e) = date(&at("document.issued_on"), d.document.issued_on, None, today) {
                errors.push(e);
            }
            let note = optional_text(&at("note"), &d.note, 500).map_err(|e| errors.push(e)).unwrap_or_default();
            if !document.kind.is_empty() && !seen.insert((document.kind.clone(), document.number.clone())) {
                errors.push(FieldError::new(
                    at("document.number"),
                    "同一结果文书在本次请求中重复",
                    "the same document appears twice in this request",
                ));
            }
            out.push(NewDelivery { document, delivery, note });
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }

    /// Checks a material taken into custody.
    pub fn custody_item(item: &NewCustodyItem, today: NaiveDate) -> Result<NewCustodyItem, Vec<FieldError>> {
        let mut errors = Vec::new();
        let material = text("material", &item.material, 1, 200).map_err(|e| errors.push(e)).unwrap_or_default();
        let received_from =
            text("received_from", &item.received_from, 1, 100).map_err(|e| errors.push(e)).unwrap_or_default();
        if let Err(e) = date("received_on", item.received_on, None, today) {
            errors.push(e);
        }
        let note = optional_text("note", &item.note, 500).map_err(|e| errors.push(e)).unwrap_or_default();
        if errors.is_empty() {
            Ok(NewCustodyItem { material, received_on: item.received_on, received_from, note })
        } else {
            Err(errors)
        }
    }

    /// A media type the archive takes (归档资料格式): well-formed (`type/subtype[; parameters]`, printable
    /// ASCII, at most 127 characters, token characters) and one of [`ARCHIVE_MEDIA_TYPES`]; returned as that
    /// type, in lower case and without parameters. Anything else — HTML, SVG, scripts — is refused by name.
    pub fn media_type(value: &str) -> Result<String, FieldError> {
        let essence = well_formed_media_type(value)?;
        archive_media_type(&essence).map(str::to_string).ok_or_else(|| {
            let accepted: Vec<&str> = ARCHIVE_MEDIA_TYPES.iter().map(|(t, _)| *t).collect();
            FieldError::new(
                "media_type",
                format!(
                    "不接受 {essence} 类型的资料；归档资料须为 PDF、OFD、JPEG、PNG、TIFF、Word、Excel 或 ZIP：{}",
                    accepted.join("、")
                ),
                format!("{essence} is not accepted; archived documents must be one of: {}", accepted.join(", ")),
            )
        })
    }

    /// A media type's syntax (`type/subtype[; parameters]`): printable ASCII, at most 127 characters, the
    /// type and subtype made of token characters; returned with type and subtype in lower case.
    fn well_formed_media_type(value: &str) -> Result<String, FieldError> {
        let bad = || {
            FieldError::new(
                "media_type",
                "须为形如 application/pdf 的媒体类型",
                "must be a media type such as application/pdf",
            )
        };
        let v = value.trim();
        if v.is_empty() || v.len() > 127 || !v.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Err(bad());
        }
        let (essence, params) = match v.split_once(';') {
            Some((e, p)) => (e.trim(), Some(p.trim())),
            None => (v, None),
        };
        let token =
            |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b));
        match essence.split_once('/') {
            Some((t, s)) if token(t) && token(s) => {
                let essence = essence.to_ascii_lowercase();
                Ok(match params {
                    Some(p) if !p.is_empty() => format!("{essence}; {p}"),
                    _ => essence,
                })
            }
            _ => Err(bad()),
        }
    }

    /// The 422 of a commission whose materials are not all back with the applicant (代管材料未归还).
    pub fn outstanding_custody(materials: &[String]) -> FieldError {
        FieldError::new(
            "custody",
            format!("代办案件须随结果一并退还代管材料，尚未归还：{}", materials.join("、")),
            format!(
                "a commission returns the original materials with its results; not yet returned: {}",
                materials.join(", ")
            ),
        )
    }
}

fn now() -> chrono::DateTime<Utc> {
    // Microseconds: what both databases keep, so a reply equals what a later read returns.
    clock::now().trunc_subsecs(6)
}

fn delivery_record(r: result_delivery::Model) -> Result<DeliveryRecord> {
    let delivery = match r.method {
        DeliveryMethod::Mail => Delivery::Mail {
            carrier: r.carrier.unwrap_or_default(),
            tracking_number: r.tracking_number.unwrap_or_default(),
            mailed_on: Some(r.delivered_on),
        },
        DeliveryMethod::AssistantCollection => Delivery::AssistantCollection {
            collected_by: r.collected_by.unwrap_or_default(),
            collected_on: r.delivered_on,
        },
        DeliveryMethod::ApplicantCollection => Delivery::ApplicantCollection {
            collected_by: r.collected_by.unwrap_or_default(),
            collected_on: r.delivered_on,
        },
    };
    Ok(DeliveryRecord {
        id: parse_uuid(&r.id)?,
        document: ResultDocument {
            kind: r.document_kind,
            number: r.document_number,
            issued_by: r.issued_by,
            issued_on: r.issued_on,
        },
        delivery,
        note: r.note,
        recorded_by: r.recorded_by,
        recorded_at: r.recorded_at,
    })
}

fn custody_view(m: custody_item::Model) -> Result<CustodyItem> {
    Ok(CustodyItem {
        id: parse_uuid(&m.id)?,
        case_id: parse_uuid(&m.case_id)?,
        material: m.material,
        received_on: m.received_on,
        received_from: m.received_from,
        received_by: m.received_by,
        note: m.note,
        returned_on: m.returned_on,
        returned_to: m.returned_to,
        returned_by: m.returned_by,
        recorded_at: m.recorded_at,
    })
}

fn document_view(d: archive_document::Model) -> Result<ArchiveDocument> {
    Ok(ArchiveDocument {
        id: parse_uuid(&d.id)?,
        case_id: parse_uuid(&d.case_id)?,
        doc_type: d.doc_type,
        title: d.title,
        media_type: d.media_type,
        size: u64::try_from(d.size).map_err(|_| IntakeError::Corrupt(format!("size {}", d.size)))?,
        sha256: d.sha256,
        filed_by: d.filed_by,
        filed_at: d.filed_at,
    })
}

fn decode_content(data: &str) -> Result<Vec<u8>> {
    base64::decode(data).map_err(|e| {
        invalid(FieldError::new(
            "content",
            format!("不是合法的 Base64 编码（{e}）"),
            format!("is not valid base64 ({e})"),
        ))
    })
}

impl IntakeService {
    /// The document store of the archive (案卷存储): set when the service is built from its settings.
    fn store(&self) -> Result<&DocumentStore> {
        self.store.as_ref().ok_or_else(|| IntakeError::Unavailable("no document store is configured".into()))
    }

    /// The case, locked (`SELECT … FOR UPDATE` on PostgreSQL) when read in a transaction that changes it.
    async fn case_row<C: ConnectionTrait>(&self, conn: &C, id: Uuid, lock: bool) -> Result<cases::Model> {
        let mut q = cases::Entity::find_by_id(id.to_string());
        if lock && conn.get_database_backend() == DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        q.one(conn).await?.ok_or_else(|| error::case_not_found(id))
    }

    /// The actor's office must reach the case's (the gateway checks too; this is the service's own guard).
    fn may_act(actor: &Actor, c: &cases::Model) -> Result<()> {
        if validation::may_accept_for(actor, &c.office) { Ok(()) } else { Err(error::case_office_forbidden(&c.office)) }
    }

    /// Moves the case from `from` to `to`, only if nobody moved it meanwhile.
    async fn set_status(
        txn: &DatabaseTransaction,
        c: &cases::Model,
        from: CaseStatus,
        to: CaseStatus,
        at: chrono::DateTime<Utc>,
    ) -> Result<()> {
        let done = cases::Entity::update_many()
            .col_expr(cases::Column::Status, Expr::value(to.as_str()))
            .col_expr(cases::Column::UpdatedAt, Expr::value(at))
            .filter(cases::Column::Id.eq(c.id.clone()))
            .filter(cases::Column::Status.eq(from.as_str()))
            .exec(txn)
            .await?;
        if done.rows_affected != 1 {
            return Err(IntakeError::Conflict(
                "案件状态已被他人修改，请刷新后重试".into(),
                "the case changed meanwhile; reload it and try again".into(),
            ));
        }
        Ok(())
    }

    /// Emits `E` about the case in the transaction.
    async fn emit<E: events::Event>(
        txn: &DatabaseTransaction,
        office: &str,
        case_id: &str,
        data: &E::Data,
    ) -> Result<()> {
        outbox::emit::<E, _>(txn, SERVICE, office, None, case_id, data).await
    }

    /// Deliveries and the custody list of a case (办理结果).
    #[tracing::instrument(skip_all, fields(case.id = %case_id))]
    pub async fn results(&self, case_id: Uuid) -> Result<ResultsView> {
        let c = self.case_row(self.db(), case_id, false).await?;
        self.results_of(self.db(), &c).await
    }

    async fn results_of<C: ConnectionTrait>(&self, conn: &C, c: &cases::Model) -> Result<ResultsView> {
        let deliveries = result_delivery::Entity::find()
            .filter(result_delivery::Column::CaseId.eq(c.id.clone()))
            .order_by_asc(result_delivery::Column::RecordedAt)
            .order_by_asc(result_delivery::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(delivery_record)
            .collect::<Result<Vec<_>>>()?;
        let custody = self.custody_of(conn, &c.id).await?;
        Ok(ResultsView {
            case_id: parse_uuid(&c.id)?,
            status: c.status,
            service_type: c.service_type,
            custody_outstanding: custody.iter().filter(|i| i.outstanding()).count(),
            deliveries,
            custody,
        })
    }

    async fn custody_of<C: ConnectionTrait>(&self, conn: &C, case_id: &str) -> Result<Vec<CustodyItem>> {
        custody_item::Entity::find()
            .filter(custody_item::Column::CaseId.eq(case_id))
            .order_by_asc(custody_item::Column::ReceivedOn)
            .order_by_asc(custody_item::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(custody_view)
            .collect()
    }

    /// Records deliveries of result documents (结果送达登记) while the case is `in_progress`.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id, n = req.deliveries.len()))]
    pub async fn record_deliveries(&self, req: RecordDeliveries) -> Result<ResultsView> {
        let deliveries =
            rules::deliveries(&req.deliveries, identity::today_in_china()).map_err(IntakeError::Validation)?;
        let at = now();
        let txn = bangban_platform::db::begin_write(self.db()).await?;
        let c = self.case_row(&txn, req.case_id, true).await?;
        Self::may_act(&req.actor, &c)?;
        let status = c.status;
        if status != CaseStatus::InProgress {
            return Err(state_conflict(status, "登记结果送达", "recording deliveries", &[CaseStatus::InProgress]));
        }
        let known: std::collections::HashSet<(String, String)> = result_delivery::Entity::find()
            .filter(result_delivery::Column::CaseId.eq(c.id.clone()))
            .all(&txn)
            .await?
            .into_iter()
            .map(|r| (r.document_kind, r.document_number))
            .collect();
        let again: Vec<FieldError> = deliveries
            .iter()
            .enumerate()
            .filter(|(_, d)| known.contains(&(d.document.kind.clone(), d.document.number.clone())))
            .map(|(i, _)| {
                FieldError::new(
                    format!("deliveries[{i}].document.number"),
                    "该结果文书的送达已登记",
                    "this document's delivery is already recorded",
                )
            })
            .collect();
        if !again.is_empty() {
            return Err(IntakeError::Validation(again));
        }
        for d in deliveries {
            let (method, carrier, tracking_number, collected_by, delivered_on) = match d.delivery {
                Delivery::Mail { carrier, tracking_number, mailed_on } => {
                    (DeliveryMethod::Mail, Some(carrier), Some(tracking_number), None, mailed_on.unwrap_or_default())
                }
                Delivery::AssistantCollection { collected_by, collected_on } => {
                    (DeliveryMethod::AssistantCollection, None, None, Some(collected_by), collected_on)
                }
                Delivery::ApplicantCollection { collected_by, collected_on } => {
                    (DeliveryMethod::ApplicantCollection, None, None, Some(collected_by), collected_on)
                }
            };
            result_delivery::Entity::insert(result_delivery::ActiveModel {
                id: Set(Uuid::now_v7().to_string()),
                case_id: Set(c.id.clone()),
                document_kind: Set(d.document.kind),
                document_number: Set(d.document.number),
                issued_by: Set(d.document.issued_by),
                issued_on: Set(d.document.issued_on),
                method: Set(method),
                carrier: Set(carrier),
                tracking_number: Set(tracking_number),
                collected_by: Set(collected_by),
                delivered_on: Set(delivered_on),
                note: Set(d.note),
                recorded_by: Set(req.actor.sub.clone()),
                recorded_at: Set(at),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        let view = self.results_of(&txn, &c).await?;
        txn.commit().await?;
        tracing::info!(recorded = req.deliveries.len(), "deliveries recorded");
        Ok(view)
    }

    /// Declares the results delivered (告知结果): `in_progress → results_delivered` and
    /// `case.results_delivered`, in one transaction.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id))]
    pub async fn declare_delivered(&self, req: DeclareDelivered) -> Result<ResultsView> {
        let at = now();
        let txn = bangban_platform::db::begin_write(self.db()).await?;
        let c = self.case_row(&txn, req.case_id, true).await?;
        Self::may_act(&req.actor, &c)?;
        let status = c.status;
        let next = lifecycle::transition(status, &Transition::DeliverResults)?.status_after(status);
        let view = self.results_of(&txn, &c).await?;
        if view.deliveries.is_empty() {
            return Err(invalid(FieldError::new(
                "deliveries",
                "尚未登记任何结果文书的送达",
                "no delivery of a result document is recorded yet",
            )));
        }
        if view.service_type == ServiceType::Commission && view.custody_outstanding > 0 {
            let open: Vec<String> =
                view.custody.iter().filter(|i| i.outstanding()).map(|i| i.material.clone()).collect();
            return Err(invalid(rules::outstanding_custody(&open)));
        }
        Self::set_status(&txn, &c, status, next, at).await?;
        let data = CaseResultsDelivered {
            case_id: view.case_id,
            ledger_no: c.ledger_no.clone(),
            office: c.office.clone(),
            service_type: view.service_type,
            documents: view
                .deliveries
                .iter()
                .map(|d| DeliveredDocument {
                    kind: d.document.kind.clone(),
                    number: d.document.number.clone(),
                    issued_by: d.document.issued_by.clone(),
                    issued_on: d.document.issued_on,
                    method: d.delivery.method(),
                })
                .collect(),
            materials_returned: view.custody.len() - view.custody_outstanding,
            delivered_by: req.actor.sub.clone(),
            delivered_at: at,
        };
        Self::emit::<events::CaseResultsDelivered>(&txn, &c.office, &c.id, &data).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(documents = data.documents.len(), "results delivered");
        Ok(ResultsView { status: next, ..view })
    }

    /// Takes an original material into custody (代管材料接收): commissions only, before the results.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id))]
    pub async fn receive_custody(&self, req: ReceiveCustody) -> Result<CustodyItem> {
        let item = rules::custody_item(&req.item, identity::today_in_china()).map_err(IntakeError::Validation)?;
        let at = now();
        let txn = bangban_platform::db::begin_write(self.db()).await?;
        let c = self.case_row(&txn, req.case_id, true).await?;
        Self::may_act(&req.actor, &c)?;
        if c.service_type != ServiceType::Commission {
            return Err(invalid(FieldError::new(
                "service_type",
                "代管材料清单仅适用于代办案件",
                "the custody list belongs to commission cases only",
            )));
        }
        let status = c.status;
        let open = [CaseStatus::Accepted, CaseStatus::Planned, CaseStatus::InProgress];
        if !open.contains(&status) {
            return Err(state_conflict(status, "接收代管材料", "taking materials into custody", &open));
        }
        let model = custody_item::Model {
            id: Uuid::now_v7().to_string(),
            case_id: c.id.clone(),
            material: item.material,
            received_on: item.received_on,
            received_from: item.received_from,
            received_by: req.actor.sub.clone(),
            note: item.note,
            returned_on: None,
            returned_to: None,
            returned_by: None,
            returned_at: None,
            recorded_at: at,
        };
        custody_item::Entity::insert(custody_item::ActiveModel::from(model.clone()).reset_all())
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        custody_view(model)
    }

    /// Returns a material from custody to the applicant (代管材料归还).
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id, item = %req.item_id))]
    pub async fn return_custody(&self, req: ReturnCustody) -> Result<CustodyItem> {
        let at = now();
        let txn = bangban_platform::db::begin_write(self.db()).await?;
        let c = self.case_row(&txn, req.case_id, true).await?;
        Self::may_act(&req.actor, &c)?;
        let item = custody_item::Entity::find_by_id(req.item_id.to_string())
            .filter(custody_item::Column::CaseId.eq(c.id.clone()))
            .one(&txn)
            .await?
            .ok_or_else(|| {
                IntakeError::NotFound(
                    format!("代管材料 {} 不存在", req.item_id),
                    format!("custody item {} does not exist", req.item_id),
                )
            })?;
        if let Some(on) = item.returned_on {
            return Err(IntakeError::Conflict(
                format!("代管材料“{}”已于 {on} 归还", item.material),
                format!("custody item {} was already returned on {on}", item.id),
            ));
        }
        let today = identity::today_in_china();
        let mut errors = Vec::new();
        if let Err(e) =
            rules::date("returned_on", req.returned.returned_on, Some((item.received_on, "接收日期")), today)
        {
            errors.push(e);
        }
        let to = rules::text("returned_to", &req.returned.returned_to, 1, 100).map_err(|e| errors.push(e));
        if !errors.is_empty() {
            return Err(IntakeError::Validation(errors));
        }
        let model = custody_item::Model {
            returned_on: Some(req.returned.returned_on),
            returned_to: to.ok(),
            returned_by: Some(req.actor.sub.clone()),
            returned_at: Some(at),
            ..item
        };
        custody_item::Entity::update_many()
            .col_expr(custody_item::Column::ReturnedOn, Expr::value(model.returned_on))
            .col_expr(custody_item::Column::ReturnedTo, Expr::value(model.returned_to.clone()))
            .col_expr(custody_item::Column::ReturnedBy, Expr::value(model.returned_by.clone()))
            .col_expr(custody_item::Column::ReturnedAt, Expr::value(model.returned_at))
            .filter(custody_item::Column::Id.eq(model.id.clone()))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        custody_view(model)
    }

    /// The archive of a case (案卷): every filed document, in order of filing.
    #[tracing::instrument(skip_all, fields(case.id = %case_id))]
    pub async fn archive(&self, case_id: Uuid) -> Result<ArchiveView> {
        let c = self.case_row(self.db(), case_id, false).await?;
        self.archive_of(self.db(), &c).await
    }

    async fn archive_of<C: ConnectionTrait>(&self, conn: &C, c: &cases::Model) -> Result<ArchiveView> {
        let documents = archive_document::Entity::find()
            .filter(archive_document::Column::CaseId.eq(c.id.clone()))
            .order_by_asc(archive_document::Column::FiledAt)
            .order_by_asc(archive_document::Column::Id)
            .all(conn)
            .await?
            .into_iter()
            .map(document_view)
            .collect::<Result<Vec<_>>>()?;
        let status = c.status;
        Ok(ArchiveView { case_id: parse_uuid(&c.id)?, status, archived: status == CaseStatus::Archived, documents })
    }

    /// Stages one chunk of a large document (分片暂存); chunks of uploads older than an hour are dropped.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id, upload = %req.upload_id, index = req.index))]
    pub async fn stage_chunk(&self, req: UploadChunk) -> Result<ChunkStaged> {
        let at = now();
        archive_upload_chunk::Entity::delete_many()
            .filter(archive_upload_chunk::Column::CreatedAt.lt(at - chrono::Duration::seconds(STAGED_CHUNK_TTL_SECS)))
            .exec(self.db())
            .await?;
        let c = self.case_row(self.db(), req.case_id, false).await?;
        Self::may_act(&req.actor, &c)?;
        let status = c.status;
        if status == CaseStatus::Archived {
            return Err(archived_conflict(status));
        }
        if req.index >= MAX_UPLOAD_CHUNKS {
            return Err(invalid(FieldError::new(
                "index",
                format!("分片序号须小于 {MAX_UPLOAD_CHUNKS}"),
                format!("must be below {MAX_UPLOAD_CHUNKS}"),
            )));
        }
        let data = decode_content(&req.data)?;
        if data.is_empty() || data.len() > MAX_TRANSFER_CHUNK {
            return Err(invalid(FieldError::new(
                "content",
                format!("分片须为 1–{MAX_TRANSFER_CHUNK} 字节"),
                format!("a chunk must be 1–{MAX_TRANSFER_CHUNK} bytes"),
            )));
        }
        let upload = req.upload_id.to_string();
        let txn = bangban_platform::db::begin_write(self.db()).await?;
        let backend = txn.get_database_backend();
        let p = |n: usize| if backend == DbBackend::Postgres { format!("${n}") } else { "?".into() };
        let staged = txn
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT COALESCE(SUM(LENGTH(data)), 0) AS bytes, \
                     COUNT(CASE WHEN case_id <> {} THEN 1 END) AS foreign_rows \
                     FROM archive_upload_chunk WHERE upload_id = {} AND idx <> {}",
                    p(1),
                    p(2),
                    p(3)
                ),
                [Value::from(c.id.clone()), Value::from(upload.clone()), Value::from(req.index as i32)],
            ))
            .await?
            .ok_or_else(|| IntakeError::Corrupt("aggregate without a row".into()))?;
        let bytes: i64 = staged.try_get("", "bytes")?;
        let foreign: i64 = staged.try_get("", "foreign_rows")?;
        if foreign > 0 {
            return Err(invalid(FieldError::new(
                "upload_id",
                "该上传属于其他案件",
                "this upload belongs to another case",
            )));
        }
        if bytes as u64 + data.len() as u64 > MAX_DOCUMENT_BYTES {
            return Err(error::document_too_large());
        }
        // A retried chunk replaces the earlier copy.
        archive_upload_chunk::Entity::delete_many()
            .filter(archive_upload_chunk::Column::UploadId.eq(upload.clone()))
            .filter(archive_upload_chunk::Column::Idx.eq(req.index as i32))
            .exec(&txn)
            .await?;
        let size = data.len() as u64;
        archive_upload_chunk::Entity::insert(archive_upload_chunk::ActiveModel {
            upload_id: Set(upload),
            idx: Set(req.index as i32),
            case_id: Set(c.id.clone()),
            data: Set(data),
            created_by: Set(req.actor.sub.clone()),
            created_at: Set(at),
        })
        .exec_without_returning(&txn)
        .await?;
        txn.commit().await?;
        Ok(ChunkStaged { upload_id: req.upload_id, index: req.index, size })
    }

    /// Joins the staged chunks `0..chunks` of an upload, in order.
    async fn staged_content(&self, case_id: &str, upload_id: Uuid, chunks: u32) -> Result<Vec<u8>> {
        let rows = archive_upload_chunk::Entity::find()
            .filter(archive_upload_chunk::Column::UploadId.eq(upload_id.to_string()))
            .filter(archive_upload_chunk::Column::CaseId.eq(case_id))
            .order_by_asc(archive_upload_chunk::Column::Idx)
            .all(self.db())
            .await?;
        let complete = rows.len() == chunks as usize && rows.iter().enumerate().all(|(i, r)| r.idx == i as i32);
        if chunks == 0 || !complete {
            return Err(invalid(FieldError::new(
                "content",
                format!("分片上传不完整：应有 {chunks} 片，收到 {} 片", rows.len()),
                format!("incomplete upload: {chunks} chunks expected, {} staged", rows.len()),
            )));
        }
        let mut out = Vec::with_capacity(rows.iter().map(|r| r.data.len()).sum());
        for r in rows {
            out.extend_from_slice(&r.data);
        }
        Ok(out)
    }

    /// Files a document (资料归档): stored under `cases/<case id>/<doc_type>/<sha256>` and recorded.
    /// The same content under the same type of the same case is one record (`created: false`).
    /// A refused upload does not wait out the hour: its staged chunks are removed at once.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id, doc_type = req.doc_type.as_str(), size = req.size))]
    pub async fn file_document(&self, req: FileDocument) -> Result<FiledDocument> {
        let staged = match &req.content {
            DocumentContent::Staged { upload_id, .. } => Some((*upload_id, req.case_id)),
            DocumentContent::Inline { .. } => None,
        };
        let filed = self.file(req).await;
        if let (Err(_), Some((upload, case_id))) = (&filed, staged) {
            let dropped = archive_upload_chunk::Entity::delete_many()
                .filter(archive_upload_chunk::Column::UploadId.eq(upload.to_string()))
                .filter(archive_upload_chunk::Column::CaseId.eq(case_id.to_string()))
                .exec(self.db())
                .await;
            if let Err(e) = dropped {
                tracing::warn!(error = %e, "staged chunks of a refused upload stay until they expire");
            }
        }
        filed
    }

    async fn file(&self, req: FileDocument) -> Result<FiledDocument> {
        let mut errors = Vec::new();
        let title = rules::text("title", &req.title, 1, 200).map_err(|e| errors.push(e));
        let media_type = rules::media_type(&req.media_type).map_err(|e| errors.push(e));
        let (Ok(title), Ok(media_type)) = (title, media_type) else {
            return Err(IntakeError::Validation(errors));
        };
        if req.size > MAX_DOCUMENT_BYTES {
            return Err(error::document_too_large());
        }
        let c = self.case_row(self.db(), req.case_id, false).await?;
        Self::may_act(&req.actor, &c)?;
        if c.status == CaseStatus::Archived {
            return Err(archived_conflict(CaseStatus::Archived));
        }
        let (content, upload) = match &req.content {
            DocumentContent::Inline { data } => (decode_content(data)?, None),
            DocumentContent::Staged { upload_id, chunks } => {
                (self.staged_content(&c.id, *upload_id, *chunks).await?, Some(*upload_id))
            }
        };
        if content.is_empty() {
            return Err(invalid(FieldError::new("content", "资料内容为空", "the document is empty")));
        }
        if content.len() as u64 > MAX_DOCUMENT_BYTES {
            return Err(error::document_too_large());
        }
        if content.len() as u64 != req.size {
            return Err(invalid(FieldError::new(
                "content",
                format!("收到 {} 字节，与声明的 {} 字节不符", content.len(), req.size),
                format!("{} bytes arrived, {} were announced", content.len(), req.size),
            )));
        }
        // Bytes first: a record never names an object that is not there. An object whose record
        // fails to commit is harmless (content-addressed; filing it again finds it).
        let stored = self
            .store()?
            .put(&format!("cases/{}/{}", c.id, req.doc_type.as_str()), content.into(), &media_type)
            .await
            .map_err(error::store_failed)?;
        let at = now();
        let txn = bangban_platform::db::begin_write(self.db()).await?;
        let c = self.case_row(&txn, req.case_id, true).await?;
        let status = c.status;
        if status == CaseStatus::Archived {
            return Err(archived_conflict(status));
        }
        if let Some(upload) = upload {
            archive_upload_chunk::Entity::delete_many()
                .filter(archive_upload_chunk::Column::UploadId.eq(upload.to_string()))
                .exec(&txn)
                .await?;
        }
        let existing = archive_document::Entity::find()
            .filter(archive_document::Column::CaseId.eq(c.id.clone()))
            .filter(archive_document::Column::DocType.eq(req.doc_type.as_str()))
            .filter(archive_document::Column::Sha256.eq(stored.sha256.clone()))
            .one(&txn)
            .await?;
        if let Some(found) = existing {
            txn.commit().await?;
            return Ok(FiledDocument { document: document_view(found)?, created: false });
        }
        let model = archive_document::Model {
            id: Uuid::now_v7().to_string(),
            case_id: c.id.clone(),
            doc_type: req.doc_type,
            title,
            media_type,
            size: stored.size as i64,
            sha256: stored.sha256,
            object_key: stored.key,
            filed_by: req.actor.sub.clone(),
            filed_at: at,
        };
        archive_document::Entity::insert(archive_document::ActiveModel::from(model.clone()).reset_all())
            .exec_without_returning(&txn)
            .await?;
        txn.commit().await?;
        tracing::info!(document = %model.id, "document filed");
        Ok(FiledDocument { document: document_view(model)?, created: true })
    }

    /// Reads up to `length` bytes of a filed document from `offset` (调阅); the store checks the
    /// content against its hash on every read.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id, document = %req.document_id, offset = req.offset))]
    pub async fn read_document(&self, req: ReadDocument) -> Result<DocumentChunk> {
        let d = archive_document::Entity::find_by_id(req.document_id.to_string())
            .filter(archive_document::Column::CaseId.eq(req.case_id.to_string()))
            .one(self.db())
            .await?
            .ok_or_else(|| {
                IntakeError::NotFound(
                    format!("归档资料 {} 不存在", req.document_id),
                    format!("archived document {} does not exist", req.document_id),
                )
            })?;
        let bytes = self.store()?.get(&d.object_key).await.map_err(|e| match e {
            StoreError::NotFound { key } => {
                IntakeError::Corrupt(format!("the object of a filed document is missing: {key}"))
            }
            e => error::store_failed(e),
        })?;
        let size = bytes.len() as u64;
        let start = req.offset.min(size) as usize;
        let length = req.length.clamp(1, MAX_TRANSFER_CHUNK as u64);
        let end = req.offset.saturating_add(length).min(size) as usize;
        let data = base64::encode(&bytes[start..end]);
        Ok(DocumentChunk { document: document_view(d)?, offset: req.offset, data })
    }

    /// Archives the case (资料归档完成): `results_delivered → archived` and `case.archived`, once a
    /// `result` document is filed.
    #[tracing::instrument(skip_all, fields(case.id = %req.case_id))]
    pub async fn complete_archive(&self, req: CompleteArchive) -> Result<ArchiveView> {
        let at = now();
        let txn = bangban_platform::db::begin_write(self.db()).await?;
        let c = self.case_row(&txn, req.case_id, true).await?;
        Self::may_act(&req.actor, &c)?;
        let status = c.status;
        let next = lifecycle::transition(status, &Transition::Archive)?.status_after(status);
        let view = self.archive_of(&txn, &c).await?;
        if !view.documents.iter().any(|d| d.doc_type == ArchiveDocType::Result) {
            return Err(invalid(FieldError::new(
                "result",
                "归档须至少包含一份办理结果（result）资料",
                "the archive needs at least one result document (doc_type result)",
            )));
        }
        Self::set_status(&txn, &c, status, next, at).await?;
        let data = CaseArchived {
            case_id: view.case_id,
            ledger_no: c.ledger_no.clone(),
            office: c.office.clone(),
            documents: view
                .documents
                .iter()
                .map(|d| ArchivedDocumentRef { id: d.id, doc_type: d.doc_type, sha256: d.sha256.clone(), size: d.size })
                .collect(),
            archived_by: req.actor.sub.clone(),
            archived_at: at,
        };
        Self::emit::<events::CaseArchived>(&txn, &c.office, &c.id, &data).await?;
        txn.commit().await?;
        self.notifier.notify();
        tracing::info!(documents = data.documents.len(), "case archived");
        Ok(ArchiveView { status: next, archived: true, ..view })
    }
}

#[cfg(test)]
mod tests {
    use bangban_contracts::intake::results::Delivery;

    use bangban_platform::problem::Problem;

    use super::{rules::*, *};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn permit(delivery: Delivery) -> NewDelivery {
        NewDelivery {
            document: ResultDocument {
                kind: " 建设用地规划许可证 ".into(),
                number: "地字第371625202600012号".into(),
                issued_by: "博兴县自然资源和规划局".into(),
                issued_on: d(2026, 11, 20),
            },
            delivery,
            note: Some("  ".into()),
        }
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    fn today() -> NaiveDate {
        d(2026, 11, 28)
    }

    #[test]
    fn a_mail_delivery_needs_carrier_and_tracking_number_and_gets_a_date() {
        let ok = deliveries(
            &[permit(Delivery::Mail {
                carrier: "EMS".into(),
                tracking_number: "ea123456789cn".into(),
                mailed_on: None,
            })],
            today(),
        )
        .unwrap();
        assert_eq!(ok[0].document.kind, "建设用地规划许可证", "trimmed");
        assert_eq!(ok[0].note, None, "a blank note is no note");
        assert_eq!(
            ok[0].delivery,
            Delivery::Mail { carrier: "EMS".into(), tracking_number: "EA123456789CN".into(), mailed_on: Some(today()) }
        );
        let errors = deliveries(
            &[permit(Delivery::Mail { carrier: " ".into(), tracking_number: "".into(), mailed_on: None })],
            today(),
        )
        .unwrap_err();
        assert_eq!(fields(&errors), ["deliveries[0].delivery.carrier", "deliveries[0].delivery.tracking_number"]);
        assert!(errors[1].reason.contains("运单号"));
        let errors = deliveries(
            &[permit(Delivery::Mail { carrier: "EMS".into(), tracking_number: "12 34".into(), mailed_on: None })],
            today(),
        )
        .unwrap_err();
        assert_eq!(fields(&errors), ["deliveries[0].delivery.tracking_number"]);
    }

    #[test]
    fn dates_follow_issue_and_today() {
        let early =
            permit(Delivery::ApplicantCollection { collected_by: "王经理".into(), collected_on: d(2026, 11, 19) });
        let errors = deliveries(&[early], today()).unwrap_err();
        assert_eq!(fields(&errors), ["deliveries[0].delivery.collected_on"]);
        assert!(errors[0].reason.contains("发证日期"), "{}", errors[0].reason);
        let mut future = permit(Delivery::AssistantCollection { collected_by: "李娜".into(), collected_on: today() });
        future.document.issued_on = d(2026, 12, 1);
        let errors = deliveries(&[future], today()).unwrap_err();
        assert_eq!(fields(&errors), ["deliveries[0].delivery.collected_on", "deliveries[0].document.issued_on"]);
    }

    #[test]
    fn empty_lists_and_duplicates_are_refused() {
        assert_eq!(fields(&deliveries(&[], today()).unwrap_err()), ["deliveries"]);
        let one = permit(Delivery::AssistantCollection { collected_by: "李娜".into(), collected_on: today() });
        let errors = deliveries(&[one.clone(), one], today()).unwrap_err();
        assert_eq!(fields(&errors), ["deliveries[1].document.number"]);
    }

    #[test]
    fn custody_items_are_checked() {
        let item = NewCustodyItem {
            material: "营业执照（原件）".into(),
            received_on: today(),
            received_from: "王经理".into(),
            note: None,
        };
        assert_eq!(custody_item(&item, today()).unwrap(), item);
        let bad = NewCustodyItem {
            material: "".into(),
            received_on: d(2026, 12, 1),
            received_from: "\u{7}".into(),
            note: None,
        };
        assert_eq!(fields(&custody_item(&bad, today()).unwrap_err()), ["material", "received_from", "received_on"]);
        let e = date("returned_on", d(2026, 11, 1), Some((d(2026, 11, 2), "接收日期")), today()).unwrap_err();
        assert!(e.reason.contains("接收日期") && e.reason_en.contains("receipt"), "{e:?}");
    }

    #[test]
    fn media_types_are_checked_and_normalised() {
        assert_eq!(media_type("Application/PDF").unwrap(), "application/pdf");
        assert_eq!(media_type("image/jpeg;quality=high").unwrap(), "image/jpeg", "parameters are dropped");
        assert_eq!(
            media_type("application/vnd.openxmlformats-officedocument.wordprocessingml.document").unwrap().len(),
            71
        );
        for bad in ["", "pdf", "application/", "/pdf", "text/html\r\nx-evil: 1", "图片/jpeg", "a b/c"] {
            assert_eq!(media_type(bad).unwrap_err().field, "media_type", "{bad:?}");
        }
        // Well formed, but nothing a browser could run from the platform's origin.
        for bad in ["text/javascript", "text/html", "image/svg+xml", "application/xhtml+xml", "text/plain"] {
            let e = media_type(bad).unwrap_err();
            assert_eq!(e.field, "media_type", "{bad:?}");
            assert!(e.reason.contains(bad) && e.reason_en.contains("application/pdf"), "{e:?}");
        }
    }

    #[test]
    fn outstanding_custody_names_the_field_and_the_materials() {
        let e = outstanding_custody(&["营业执照（原件）".into(), "土地证（原件）".into()]);
        assert_eq!(e.field, "custody");
        assert!(e.reason.contains("营业执照（原件）、土地证（原件）"));
    }

    #[test]
    fn conflicts_name_the_current_state() {
        let IntakeError::Conflict(zh, en) =
            state_conflict(CaseStatus::Accepted, "登记结果送达", "recording deliveries", &[CaseStatus::InProgress])
        else {
            panic!()
        };
        assert!(zh.contains("“已受理”（accepted）") && zh.contains("in_progress"), "{zh}");
        assert!(en.starts_with("the case is in state accepted"), "{en}");
        let p = Problem::from(crate::error::document_too_large());
        assert_eq!(p.status, 413);
        assert!(p.detail.unwrap().contains("10 MiB"));
    }
}
