//! Results delivery (告知结果, §7.6) and the archive (资料归档, §7.7) over HTTP.
//!
//! - `GET  /api/v1/cases/{id}/results` — deliveries and the custody list (readers of the case).
//! - `POST /api/v1/cases/{id}/results` — record deliveries of result documents (`in_progress` only).
//! - `POST /api/v1/cases/{id}/results/delivered` — declare the results delivered (no body):
//!   `in_progress → results_delivered`, `case.results_delivered`. A separate call rather than a flag
//!   on the recording call, so that the lifecycle step is explicit, has its own 409, and recording a
//!   late delivery can never move the case by accident.
//! - `POST /api/v1/cases/{id}/custody`, `POST /api/v1/cases/{id}/custody/{item}/return` — the custody
//!   list of a commission (代管材料清单).
//! - `GET  /api/v1/cases/{id}/archive`, `POST /api/v1/cases/{id}/archive` (file a document, base64, at
//!   most 10 MiB decoded: this route alone takes bodies up to [`ARCHIVE_BODY_LIMIT`]),
//!   `GET /api/v1/cases/{id}/archive/{doc}` (download), `POST /api/v1/cases/{id}/archive/complete`.
//!
//! Documents cross the bus to intake in chunks that fit the NATS server's `max_payload`
//! ([`transfer_chunk_bytes`]); a download is checked against its recorded SHA-256 before it is sent.

use axum::{
    Json,
    extract::{DefaultBodyLimit, Path, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use bangban_contracts::intake::results::{
    self as contract, ArchiveDocument, ArchiveView, ChunkStaged, CompleteArchive, CustodyItem, CustodyReturn,
    DeclareDelivered, DocumentChunk, DocumentContent, FileDocument, FiledDocument, GetResults, ListArchive,
    MAX_DOCUMENT_BYTES, NewArchiveDocument, NewCustodyItem, NewDeliveries, ReadDocument, ReceiveCustody,
    RecordDeliveries, ResultsView, ReturnCustody, UploadChunk, base64, transfer_chunk_bytes,
};
use bangban_platform::{objects::sha256_hex, problem::Problem};
use uuid::Uuid;

use crate::{
    AppState,
    auth::Principal,
    authz::Action,
    extract::{ApiJson, BodyLimit},
    handlers::{
        cases::actor,
        load::{self, RoleCheck},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Body limit of `POST /api/v1/cases/{id}/archive` (归档请求体上限): a 10 MiB document in base64 and
/// 64 KiB for the rest of the JSON.
pub const ARCHIVE_BODY_LIMIT: usize = (MAX_DOCUMENT_BYTES as usize).div_ceil(3) * 4 + 64 * 1024;

/// The routes of results and the archive. Filing a document takes bodies up to [`ARCHIVE_BODY_LIMIT`].
pub fn router() -> OpenApiRouter<AppState> {
    let (schemas, paths, archive) = routes!(list_archive, file_document);
    let archive =
        archive.layer(DefaultBodyLimit::max(ARCHIVE_BODY_LIMIT)).layer(middleware::from_fn(archive_body_limit));
    OpenApiRouter::new()
        .routes(routes!(get_results, record_deliveries))
        .routes(routes!(declare_delivered))
        .routes(routes!(receive_custody))
        .routes(routes!(return_custody))
        .routes((schemas, paths, archive))
        .routes(routes!(complete_archive))
        .routes(routes!(download_document))
}

/// States this route's own limit in its 413 problems (the gateway-wide one is set further out).
async fn archive_body_limit(mut req: Request, next: Next) -> Response {
    req.extensions_mut().insert(BodyLimit(ARCHIVE_BODY_LIMIT));
    next.run(req).await
}

fn parse_id(field: &str, value: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(value).map_err(|_| {
        Problem::malformed(Some(field.into()), format!("{field} 须为 UUID"), format!("{field} must be a UUID"))
    })
}

/// Bytes per bus message with the connected server's `max_payload`.
fn chunk_bytes(state: &AppState) -> usize {
    transfer_chunk_bytes(state.client.server_info().max_payload)
}

/// The 413 of a document over 10 MiB.
fn document_too_large() -> Problem {
    let mut p = Problem::payload_too_large(MAX_DOCUMENT_BYTES as usize);
    p.detail = Some(format!("单份归档资料不得超过 10 MiB（{MAX_DOCUMENT_BYTES} 字节，Base64 解码后）"));
    p.detail_en = Some(format!("an archived document must not exceed 10 MiB ({MAX_DOCUMENT_BYTES} bytes, decoded)"));
    p
}

/// Reads the deliveries and the custody list of a case (办理结果).
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/results", tag = "results",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "送达记录与代管材料清单 / deliveries and custody list", body = ResultsView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn get_results(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ResultsView>, Problem> {
    let case = load::case(&state, &principal, &id, Action::ReadCase, RoleCheck::WithResource).await?;
    Ok(Json(state.call::<contract::ops::ResultsGet>(&GetResults { case_id: case.id }).await?))
}

/// Records deliveries of result documents (结果送达登记): mailed (carrier and tracking number
/// required), collected by the specialist (代取) or by the applicant (自取). The case must be `in_progress`.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/results", tag = "results",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = NewDeliveries, description = "送达记录 / deliveries"),
    responses(
        (status = 201, description = "已登记 / recorded", body = ResultsView),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件不存在 / case not found", body = Problem),
        (status = 409, description = "案件状态不允许（含当前状态）/ not in progress, naming the state", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（逐字段）/ invalid content, field by field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn record_deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<NewDeliveries>,
) -> Result<impl IntoResponse, Problem> {
    let case = load::case(&state, &principal, &id, Action::DeliverResults, RoleCheck::WithResource).await?;
    let ApiJson(body) = body;
    let req = RecordDeliveries { actor: actor(&principal), case_id: case.id, deliveries: body.deliveries };
    let view: ResultsView = state.call::<contract::ops::ResultsRecord>(&req).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Declares the results delivered (告知结果): `in_progress → results_delivered`, publishing
/// `case.results_delivered`. Needs at least one recorded delivery and, in a commission, every
/// material in custody returned (422 naming `custody`). No body.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/results/delivered", tag = "results",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "结果已告知 / results delivered", body = ResultsView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件不存在 / case not found", body = Problem),
        (status = 409, description = "生命周期不允许（含当前状态）/ lifecycle conflict naming the state", body = Problem),
        (status = 422, description = "无送达记录（deliveries）或代管材料未归还（custody）/ no delivery, or materials not returned", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn declare_delivered(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ResultsView>, Problem> {
    let case = load::case(&state, &principal, &id, Action::DeliverResults, RoleCheck::WithResource).await?;
    let req = DeclareDelivered { actor: actor(&principal), case_id: case.id };
    Ok(Json(state.call::<contract::ops::ResultsDelivered>(&req).await?))
}

/// Takes an original material into custody (代管材料接收): commissions only, from acceptance until
/// the results are delivered.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/custody", tag = "results",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = NewCustodyItem, description = "接收的材料 / the material received"),
    responses(
        (status = 201, description = "已登记接收 / received", body = CustodyItem),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件不存在 / case not found", body = Problem),
        (status = 409, description = "案件状态不允许 / case state does not allow it", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误，或非代办案件（service_type）/ invalid, or not a commission", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn receive_custody(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<NewCustodyItem>,
) -> Result<impl IntoResponse, Problem> {
    let case = load::case(&state, &principal, &id, Action::DeliverResults, RoleCheck::WithResource).await?;
    let ApiJson(item) = body;
    let req = ReceiveCustody { actor: actor(&principal), case_id: case.id, item };
    let item: CustodyItem = state.call::<contract::ops::CustodyReceive>(&req).await?;
    let location = format!("/api/v1/cases/{}/custody/{}", case.id, item.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(item)))
}

/// Returns a material from custody to the applicant (代管材料归还).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/custody/{item}/return", tag = "results",
    params(
        ("id" = Uuid, Path, description = "案件编号 / case id"),
        ("item" = Uuid, Path, description = "代管材料编号 / custody item id"),
    ),
    request_body(content = CustodyReturn, description = "归还 / the return"),
    responses(
        (status = 200, description = "已归还 / returned", body = CustodyItem),
        (status = 400, description = "请求体或编号格式错误 / malformed body or id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件或材料不存在 / case or item not found", body = Problem),
        (status = 409, description = "已归还 / already returned", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id, item = %item))]
pub async fn return_custody(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, item)): Path<(String, String)>,
    body: ApiJson<CustodyReturn>,
) -> Result<Json<CustodyItem>, Problem> {
    let item_id = parse_id("item", &item)?;
    let case = load::case(&state, &principal, &id, Action::DeliverResults, RoleCheck::WithResource).await?;
    let ApiJson(returned) = body;
    let req = ReturnCustody { actor: actor(&principal), case_id: case.id, item_id, returned };
    Ok(Json(state.call::<contract::ops::CustodyReturn>(&req).await?))
}

/// Lists the archive of a case (案卷). Readers: the case's applicant, the staff of its office, supervisors.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/archive", tag = "archive",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "案卷 / the archive", body = ArchiveView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn list_archive(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ArchiveView>, Problem> {
    let case = load::case(&state, &principal, &id, Action::ReadArchive, RoleCheck::WithResource).await?;
    Ok(Json(state.call::<contract::ops::ArchiveList>(&ListArchive { case_id: case.id }).await?))
}

/// Files a document into the archive (资料归档): `service_plan`, `application_material`,
/// `process_material` or `result`; content in base64, at most 10 MiB decoded; a media type the archive
/// accepts (PDF, OFD, JPEG, PNG, TIFF, Word, Excel, ZIP — others 422 naming `media_type`). Filing the same
/// content under the same type again returns the existing record with 200.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/archive", tag = "archive",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    request_body(content = NewArchiveDocument, description = "归档资料（请求体上限约 13.4 MiB）/ the document (body limit about 13.4 MiB)"),
    responses(
        (status = 201, description = "已归档 / filed", body = ArchiveDocument),
        (status = 200, description = "相同内容已归档 / the same content was already filed", body = ArchiveDocument),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件不存在 / case not found", body = Problem),
        (status = 409, description = "案卷已封存 / the case is archived", body = Problem),
        (status = 413, description = "资料超过 10 MiB 或请求体过大 / document over 10 MiB or body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误（如 content 非 Base64、不接受的 media_type）/ invalid content (e.g. not base64, a media type not accepted)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn file_document(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: ApiJson<NewArchiveDocument>,
) -> Result<impl IntoResponse, Problem> {
    let case = load::case(&state, &principal, &id, Action::ArchiveCase, RoleCheck::WithResource).await?;
    let ApiJson(mut doc) = body;
    // Refused here before any chunk crosses the bus; intake checks the same list (and the syntax) again.
    if contract::archive_media_type(&doc.media_type).is_none() {
        let accepted: Vec<&str> = contract::ARCHIVE_MEDIA_TYPES.iter().map(|(t, _)| *t).collect();
        return Err(Problem::invalid_field(
            "media_type",
            format!("归档资料须为 PDF、OFD、JPEG、PNG、TIFF、Word、Excel 或 ZIP：{}", accepted.join("、")),
            format!("archived documents must be one of: {}", accepted.join(", ")),
        ));
    }
    doc.content.retain(|c| !c.is_ascii_whitespace());
    if base64::decoded_len(&doc.content).is_some_and(|n| n > MAX_DOCUMENT_BYTES) {
        return Err(document_too_large());
    }
    let bytes = base64::decode(&doc.content).map_err(|e| {
        Problem::invalid_field(
            "content",
            format!("不是合法的 Base64 编码（{e}）"),
            format!("is not valid base64 ({e})"),
        )
    })?;
    if bytes.is_empty() {
        return Err(Problem::invalid_field("content", "资料内容为空", "the document is empty"));
    }
    let chunk = chunk_bytes(&state);
    let actor = actor(&principal);
    let content = if bytes.len() <= chunk {
        DocumentContent::Inline { data: std::mem::take(&mut doc.content) }
    } else {
        let upload_id = Uuid::now_v7();
        let mut chunks = 0u32;
        for (index, part) in bytes.chunks(chunk).enumerate() {
            let staged = UploadChunk {
                actor: actor.clone(),
                case_id: case.id,
                upload_id,
                index: index as u32,
                data: base64::encode(part),
            };
            let _: ChunkStaged = state.call::<contract::ops::ArchiveChunk>(&staged).await?;
            chunks += 1;
        }
        DocumentContent::Staged { upload_id, chunks }
    };
    let req = FileDocument {
        actor,
        case_id: case.id,
        doc_type: doc.doc_type,
        title: doc.title,
        media_type: doc.media_type,
        size: bytes.len() as u64,
        content,
    };
    let filed: FiledDocument = state.call::<contract::ops::ArchiveFile>(&req).await?;
    let status = if filed.created { StatusCode::CREATED } else { StatusCode::OK };
    let location = format!("/api/v1/cases/{}/archive/{}", case.id, filed.document.id);
    Ok((status, [(header::LOCATION, location)], Json(filed.document)))
}

/// RFC 8187 encoding of a file name for `filename*=UTF-8''…`.
fn rfc8187(name: &str) -> String {
    let mut out = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The usual file extension of an accepted media type, for the downloaded file's name.
fn extension(media_type: &str) -> Option<&'static str> {
    contract::archive_extension(media_type)
}

/// The `Content-Type` a download is served with: the recorded media type when it is one the archive accepts
/// ([`contract::ARCHIVE_MEDIA_TYPES`]), otherwise (a record filed before the list existed) opaque bytes.
fn served_media_type(recorded: &str) -> HeaderValue {
    contract::archive_media_type(recorded)
        .map(HeaderValue::from_static)
        .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"))
}

/// The `Content-Security-Policy` of a download (下载内容安全策略): a sandbox without any script, style,
/// plugin or framing, should a browser ever render one in the platform's origin.
pub const DOWNLOAD_CONTENT_SECURITY_POLICY: &str = "sandbox; default-src 'none'; frame-ancestors 'none'";

/// `Content-Disposition` of a download: always an attachment (never rendered inline in the
/// platform's origin), an ASCII name from the id and the Chinese title in `filename*`.
fn disposition(doc: &ArchiveDocument) -> String {
    let ext = extension(&doc.media_type);
    let with_ext = |base: &str| match ext {
        Some(e) if !base.to_ascii_lowercase().ends_with(&format!(".{e}")) => format!("{base}.{e}"),
        _ => base.to_string(),
    };
    format!(
        "attachment; filename=\"{}\"; filename*=UTF-8''{}",
        with_ext(&doc.id.to_string()),
        rfc8187(&with_ext(&doc.title))
    )
}

/// Downloads an archived document (调阅): the content with the recorded media type, checked against
/// its recorded SHA-256 (also in `ETag`). Readers as for the archive. Always an attachment, with
/// `X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox; default-src 'none'` and
/// `Cache-Control: private, no-store`.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/archive/{doc}", tag = "archive",
    params(
        ("id" = Uuid, Path, description = "案件编号 / case id"),
        ("doc" = Uuid, Path, description = "归档资料编号 / document id"),
    ),
    responses(
        (status = 200, description = "资料内容（Content-Type 为归档时的媒体类型）/ the content, with its recorded media type",
         body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "不存在或无权查看 / not found", body = Problem),
        (status = 500, description = "内容校验失败 / integrity check failed", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id, document = %doc))]
pub async fn download_document(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let document_id = parse_id("doc", &doc)?;
    let case = load::case(&state, &principal, &id, Action::ReadArchive, RoleCheck::WithResource).await?;
    let length = chunk_bytes(&state) as u64;
    let mut content = Vec::new();
    let record = loop {
        let req = ReadDocument { case_id: case.id, document_id, offset: content.len() as u64, length };
        let part: DocumentChunk = state.call::<contract::ops::ArchiveRead>(&req).await?;
        let bytes = base64::decode(&part.data).map_err(|e| {
            tracing::error!(error = %e, "intake sent a chunk that is not base64");
            Problem::internal()
        })?;
        content.extend_from_slice(&bytes);
        if content.len() as u64 >= part.document.size || bytes.is_empty() {
            break part.document;
        }
    };
    if content.len() as u64 != record.size || sha256_hex(&content) != record.sha256 {
        tracing::error!(document = %record.id, "an archived document does not match its record");
        return Err(Problem::internal());
    }
    let mut res = content.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, served_media_type(&record.media_type));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(DOWNLOAD_CONTENT_SECURITY_POLICY));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", record.sha256)) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&disposition(&record)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

/// Completes the archive (资料归档完成): `results_delivered → archived`, publishing `case.archived`
/// with every document's type and hash. Needs a filed `result` document (422 naming `result`). No body.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/archive/complete", tag = "archive",
    params(("id" = Uuid, Path, description = "案件编号 / case id")),
    responses(
        (status = 200, description = "已归档 / archived", body = ArchiveView),
        (status = 400, description = "编号格式错误 / malformed id", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 404, description = "案件不存在 / case not found", body = Problem),
        (status = 409, description = "生命周期不允许（含当前状态）/ lifecycle conflict naming the state", body = Problem),
        (status = 422, description = "未归档办理结果（result）/ no result document filed", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(case.id = %id))]
pub async fn complete_archive(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ArchiveView>, Problem> {
    let case = load::case(&state, &principal, &id, Action::ArchiveCase, RoleCheck::WithResource).await?;
    let req = CompleteArchive { actor: actor(&principal), case_id: case.id };
    Ok(Json(state.call::<contract::ops::ArchiveComplete>(&req).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_body_limit_fits_a_full_document_in_base64() {
        let full = base64::encode(&vec![0u8; MAX_DOCUMENT_BYTES as usize]).len();
        assert!(full < ARCHIVE_BODY_LIMIT && ARCHIVE_BODY_LIMIT - full == 64 * 1024);
    }

    #[test]
    fn downloads_are_attachments_named_by_title() {
        let doc = ArchiveDocument {
            id: Uuid::nil(),
            case_id: Uuid::nil(),
            doc_type: contract::ArchiveDocType::Result,
            title: "建设用地规划许可证 (扫描件)".into(),
            media_type: "application/pdf".into(),
            size: 1,
            sha256: "0".repeat(64),
            filed_by: "s".into(),
            filed_at: chrono::Utc::now(),
        };
        let d = disposition(&doc);
        assert!(d.starts_with("attachment; filename=\"00000000-0000-0000-0000-000000000000.pdf\"; "), "{d}");
        assert!(d.ends_with("%E6%89%AB%E6%8F%8F%E4%BB%B6%29.pdf"), "{d}");
        assert!(d.contains("%20%28"), "spaces and brackets are encoded: {d}");
        assert!(HeaderValue::from_str(&d).is_ok());
        let scan = ArchiveDocument { title: "scan.JPG".into(), media_type: "image/jpeg".into(), ..doc.clone() };
        assert!(disposition(&scan).ends_with("UTF-8''scan.JPG"), "no second extension");
        let legacy = ArchiveDocument { title: "notes".into(), media_type: "text/javascript".into(), ..doc };
        assert!(disposition(&legacy).ends_with("UTF-8''notes"), "no extension for a type not accepted");
    }

    #[test]
    fn only_accepted_media_types_are_served_as_such() {
        assert_eq!(served_media_type("application/pdf"), "application/pdf");
        assert_eq!(served_media_type("Image/PNG; x=1"), "image/png");
        for legacy in ["text/javascript", "text/html; charset=utf-8", "image/svg+xml", "text/plain"] {
            assert_eq!(served_media_type(legacy), "application/octet-stream", "{legacy}");
        }
        assert!(HeaderValue::from_str(DOWNLOAD_CONTENT_SECURITY_POLICY).is_ok());
    }

    #[test]
    fn openapi_documents_every_route() {
        let doc = router().into_openapi();
        for path in [
            "/api/v1/cases/{id}/results",
            "/api/v1/cases/{id}/results/delivered",
            "/api/v1/cases/{id}/custody",
            "/api/v1/cases/{id}/custody/{item}/return",
            "/api/v1/cases/{id}/archive",
            "/api/v1/cases/{id}/archive/{doc}",
            "/api/v1/cases/{id}/archive/complete",
        ] {
            assert!(doc.paths.paths.contains_key(path), "{path} is not documented");
        }
        // Merged into the gateway's document, every operation keeps a distinct operationId.
        let whole = crate::openapi::document();
        let mut ids = std::collections::HashSet::new();
        for (path, item) in &whole.paths.paths {
            let ops = [&item.get, &item.post, &item.put, &item.patch, &item.delete];
            for op in ops.into_iter().flatten() {
                let id = op.operation_id.clone().unwrap_or_default();
                assert!(ids.insert(id.clone()), "operationId {id} of {path} is not unique");
            }
        }
        assert!(whole.paths.paths.contains_key("/api/v1/cases/{id}/archive/complete"));
        // The schemas of results and the archive, the events' payloads among them, are in the gateway's document.
        let schemas = whole.components.expect("components").schemas;
        for name in ["NewDeliveries", "Delivery", "ResultsView", "NewArchiveDocument", "ArchiveView", "CaseArchived"] {
            assert!(schemas.contains_key(name), "{name} missing");
        }
    }
}
