//! Invitations and ratings (评价邀请与评价): one invitation per matter with a one-time code, one rating per
//! matter, only by the case's applicant.

use bangban_contracts::{
    evaluation::{
        CaseInvitations, Channel, CodeLookup, EvaluationInvited, EvaluationPage, EvaluationSubmitted, EvaluationView,
        GetEvaluation, InvitationView, Level, ListEvaluations, Matter, NewRating, SubmitByCode, SubmitRating, Tag,
    },
    events,
};
use bangban_platform::{clock, db};
use chrono::{DateTime, Utc};
use rand::{Rng, distr::Alphanumeric};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseTransaction, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, sea_query::OnConflict,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    EvaluationService, emit,
    entity::{appeal, case_info, evaluation, invitation, task_info},
    error::{EvaluationError, Result},
    json, us, uuid,
};

/// Length of a one-time code: 16 characters of `[A-Za-z0-9]`, about 95 bits.
pub const CODE_LEN: usize = 16;

/// The stored form of a code: its SHA-256, hex (the code itself is never stored).
pub fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

fn new_code() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(CODE_LEN).map(char::from).collect()
}

pub(crate) fn matter_key(m: &Matter) -> String {
    match m {
        Matter::Task { task_id } => format!("task:{task_id}"),
        Matter::Case { case_id } => format!("case:{case_id}"),
    }
}

/// `帮办代办服务（整体）`: what a whole-case rating is about.
pub const WHOLE_SERVICE: &str = "帮办代办服务（整体评价）";

fn not_found_code() -> EvaluationError {
    EvaluationError::NotFound("评价码无效".into(), "no invitation has this code".into())
}

/// Checks a rating's comment and tags.
fn check_rating(r: &NewRating) -> Result<(Option<String>, Vec<Tag>)> {
    let comment = r.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_string);
    if comment.as_ref().is_some_and(|c| c.chars().count() > 500) {
        return Err(EvaluationError::field("comment", "评价内容最多 500 字", "the comment is at most 500 characters"));
    }
    let mut tags = r.tags.clone();
    tags.sort();
    tags.dedup();
    Ok((comment, tags))
}

impl EvaluationService {
    /// Invites the applicant to rate a concluded task (once per task).
    pub(crate) async fn invite_task(&self, txn: &DatabaseTransaction, t: &task_info::Model) -> Result<()> {
        let task_id = uuid(&t.task_id)?;
        self.invite(txn, Matter::Task { task_id }, uuid(&t.case_id)?, &t.name, t.unit_name.clone()).await
    }

    /// Invites the applicant to rate the whole service (once per case).
    pub(crate) async fn invite_case(&self, txn: &DatabaseTransaction, case_id: Uuid) -> Result<()> {
        self.invite(txn, Matter::Case { case_id }, case_id, WHOLE_SERVICE, None).await
    }

    async fn invite(
        &self,
        txn: &DatabaseTransaction,
        matter: Matter,
        case_id: Uuid,
        item_name: &str,
        unit_name: Option<String>,
    ) -> Result<()> {
        // The case comes from `case.accepted` on another consumer: until it is here, try again later.
        let Some(c) = case_info::Entity::find_by_id(case_id.to_string()).one(txn).await? else {
            return Err(EvaluationError::Unavailable(format!("case {case_id} not known yet")));
        };
        let now = clock::now();
        let code = new_code();
        let id = Uuid::now_v7();
        let key = matter_key(&matter);
        let inserted = invitation::Entity::insert(invitation::ActiveModel {
            id: Set(id.to_string()),
            matter_key: Set(key.clone()),
            code_hash: Set(code_hash(&code)),
            case_id: Set(case_id.to_string()),
            ledger_no: Set(c.ledger_no.clone()),
            task_id: Set(match matter {
                Matter::Task { task_id } => Some(task_id.to_string()),
                Matter::Case { .. } => None,
            }),
            item_name: Set(item_name.to_string()),
            unit_name: Set(unit_name),
            office: Set(c.office.clone()),
            applicant_id: Set(c.applicant_id.clone()),
            invited_at: Set(now),
            invited_us: Set(us(now)),
            rated_at: Set(None),
            evaluation_id: Set(None),
        })
        .on_conflict(OnConflict::column(invitation::Column::MatterKey).do_nothing().to_owned())
        .exec_without_returning(txn)
        .await?;
        if inserted == 0 {
            return Ok(());
        }
        let link = format!("{}/e/{code}", self.link_base);
        let data = EvaluationInvited {
            evaluation_id: id,
            case_id,
            task_id: match matter {
                Matter::Task { task_id } => Some(task_id),
                Matter::Case { .. } => None,
            },
            ledger_no: c.ledger_no.clone(),
            office: c.office.clone(),
            item_name: item_name.to_string(),
            applicant_id: uuid(&c.applicant_id)?,
            link_enc: self.pii.encrypt(&link),
            invited_at: now,
        };
        emit::<events::EvaluationInvited, _>(txn, &c.office, &id.to_string(), &data).await?;
        tracing::info!(invitation = %id, matter = %key, "evaluation invited");
        Ok(())
    }

    /// The applicant, signed in, rates a concluded matter.
    #[tracing::instrument(skip_all, fields(matter = %matter_key(&req.matter)))]
    pub async fn submit(&self, req: SubmitRating) -> Result<EvaluationView> {
        let (comment, tags) = check_rating(&req.rating)?;
        let txn = db::begin_write(&self.db).await?;
        let not_theirs = || {
            EvaluationError::Forbidden(
                "只有该案件的服务对象可以评价".into(),
                "only the case's applicant may rate it".into(),
            )
        };
        let inv = invitation::Entity::find()
            .filter(invitation::Column::MatterKey.eq(matter_key(&req.matter)))
            .one(&txn)
            .await?;
        let Some(inv) = inv else {
            // Not invited yet. Another applicant's matter is refused without saying more; a matter evaluation has
            // not heard of yet (its events may still be on their way, and the gateway has checked the caller) is
            // simply not yet to be rated.
            return Err(match self.applicant_of(&txn, &req.matter).await? {
                Some(owner) if owner != req.applicant_id.to_string() => not_theirs(),
                _ => EvaluationError::Conflict(
                    "该事项尚未办结，暂不能评价".into(),
                    "this matter has not concluded yet; it cannot be rated".into(),
                ),
            });
        };
        if inv.applicant_id != req.applicant_id.to_string() {
            return Err(not_theirs());
        }
        let view = self.rate(&txn, inv, req.rating.level, comment, tags, Channel::Platform, None, clock::now()).await?;
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    /// The applicant of a matter's case, when evaluation knows the case.
    async fn applicant_of(&self, txn: &DatabaseTransaction, matter: &Matter) -> Result<Option<String>> {
        let case_id = match matter {
            Matter::Case { case_id } => Some(case_id.to_string()),
            Matter::Task { task_id } => {
                task_info::Entity::find_by_id(task_id.to_string()).one(txn).await?.map(|t| t.case_id)
            }
        };
        let Some(case_id) = case_id else { return Ok(None) };
        Ok(case_info::Entity::find_by_id(case_id).one(txn).await?.map(|c| c.applicant_id))
    }

    /// What a one-time code rates (the link's page).
    pub async fn invitation_by_code(&self, req: CodeLookup) -> Result<InvitationView> {
        let inv = invitation::Entity::find()
            .filter(invitation::Column::CodeHash.eq(code_hash(&req.code)))
            .one(&self.db)
            .await?
            .ok_or_else(not_found_code)?;
        invitation_view(&inv)
    }

    /// Rates with a one-time code: the SMS link, or a window terminal with the applicant's code.
    #[tracing::instrument(skip_all, fields(channel = req.channel.as_str()))]
    pub async fn submit_by_code(&self, req: SubmitByCode) -> Result<EvaluationView> {
        let entered_by = match (req.channel, &req.actor) {
            (Channel::SmsLink, _) => None,
            (Channel::Window, Some(actor)) => Some(actor.sub.clone()),
            _ => {
                return Err(EvaluationError::field(
                    "channel",
                    "评价码只能通过短信链接或窗口评价器使用",
                    "a code is used through the SMS link or at a window terminal",
                ));
            }
        };
        let (comment, tags) = check_rating(&req.rating)?;
        let txn = db::begin_write(&self.db).await?;
        let inv = invitation::Entity::find()
            .filter(invitation::Column::CodeHash.eq(code_hash(&req.code)))
            .one(&txn)
            .await?
            .ok_or_else(not_found_code)?;
        let view = self.rate(&txn, inv, req.rating.level, comment, tags, req.channel, entered_by, clock::now()).await?;
        txn.commit().await?;
        self.committed();
        Ok(view)
    }

    /// Writes a rating (and, for a bad one, its rectification) with its events; the invitation's code stops
    /// working. A matter already rated is a conflict.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn rate(
        &self,
        txn: &DatabaseTransaction,
        inv: invitation::Model,
        level: Level,
        comment: Option<String>,
        tags: Vec<Tag>,
        channel: Channel,
        entered_by: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<EvaluationView> {
        let already =
            || EvaluationError::Conflict("该事项已评价，评价不可修改".into(), "this matter is already rated".into());
        if inv.rated_at.is_some() {
            return Err(already());
        }
        let c = case_info::Entity::find_by_id(inv.case_id.clone())
            .one(txn)
            .await?
            .ok_or_else(|| EvaluationError::corrupt(format!("invitation {} without its case", inv.id)))?;
        let task = match &inv.task_id {
            Some(t) => task_info::Entity::find_by_id(t.clone()).one(txn).await?,
            None => None,
        };
        let id = Uuid::now_v7();
        let rectification = if level.is_bad() {
            Some(self.open_rectification(txn, &id.to_string(), &inv, &c, task.as_ref(), level, &comment, now).await?)
        } else {
            None
        };
        let row = evaluation::ActiveModel {
            id: Set(id.to_string()),
            matter_key: Set(inv.matter_key.clone()),
            case_id: Set(inv.case_id.clone()),
            task_id: Set(inv.task_id.clone()),
            ledger_no: Set(c.ledger_no.clone()),
            office: Set(c.office.clone()),
            item_name: Set(inv.item_name.clone()),
            unit_code: Set(task.as_ref().map(|t| t.unit_code.clone())),
            unit_office: Set(task.as_ref().map(|t| t.unit_office.clone())),
            specialist_id: Set(c.specialist_id.clone()),
            applicant_id: Set(c.applicant_id.clone()),
            category: Set(c.category),
            stage: Set(task.as_ref().map(|t| t.stage)),
            level: Set(i32::from(level.number())),
            comment: Set(comment),
            tags: Set(json(&tags)?),
            channel: Set(channel),
            entered_by: Set(entered_by),
            submitted_at: Set(now),
            bad: Set(level.is_bad()),
            rectification_id: Set(rectification.as_ref().map(|r| r.id.clone())),
        };
        let m = match row.insert(txn).await {
            Ok(m) => m,
            Err(e) if db::is_unique_violation(&e) => return Err(already()),
            Err(e) => return Err(e.into()),
        };
        let mut inv_row: invitation::ActiveModel = inv.into();
        inv_row.rated_at = Set(Some(now));
        inv_row.evaluation_id = Set(Some(m.id.clone()));
        inv_row.update(txn).await?;
        let view = evaluation_view(&m, None)?;
        emit::<events::EvaluationSubmitted, _>(
            txn,
            &m.office,
            &m.id,
            &EvaluationSubmitted { evaluation: view.clone() },
        )
        .await?;
        if let Some(r) = &rectification {
            self.announce_rectification::<events::RectificationOpened, _>(txn, r, now).await?;
        }
        tracing::info!(evaluation = %m.id, level = level.number(), channel = channel.as_str(), bad = level.is_bad(), "rated");
        Ok(view)
    }

    /// One rating.
    pub async fn get(&self, req: GetEvaluation) -> Result<EvaluationView> {
        let m = evaluation::Entity::find_by_id(req.id.to_string()).one(&self.db).await?.ok_or_else(|| {
            EvaluationError::NotFound(format!("评价 {} 不存在", req.id), format!("no rating {}", req.id))
        })?;
        let a = appeal::Entity::find().filter(appeal::Column::EvaluationId.eq(m.id.clone())).one(&self.db).await?;
        evaluation_view(&m, a.as_ref())
    }

    /// Ratings, newest first.
    pub async fn list(&self, req: ListEvaluations) -> Result<EvaluationPage> {
        let limit = req.limit.unwrap_or(20);
        if limit > 100 {
            return Err(EvaluationError::field("limit", "每页最多 100 条", "at most 100 per page"));
        }
        let offset = bangban_contracts::page::db_offset(req.offset);
        let mut q = evaluation::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(
                Condition::any()
                    .add(evaluation::Column::Office.eq(o.clone()))
                    .add(evaluation::Column::UnitOffice.eq(o.clone())),
            );
        }
        if let Some(u) = &req.unit {
            q = q.filter(evaluation::Column::UnitCode.eq(u.clone()));
        }
        if let Some(s) = &req.specialist {
            q = q.filter(evaluation::Column::SpecialistId.eq(s.clone()));
        }
        if let Some(a) = req.applicant_id {
            q = q.filter(evaluation::Column::ApplicantId.eq(a.to_string()));
        }
        if let Some(c) = req.case_id {
            q = q.filter(evaluation::Column::CaseId.eq(c.to_string()));
        }
        if let Some(b) = req.bad {
            q = q.filter(evaluation::Column::Bad.eq(b));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(evaluation::Column::SubmittedAt)
            .order_by_desc(evaluation::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let appeals = appeals_of(&self.db, rows.iter().map(|r| r.id.clone()).collect()).await?;
        let items = rows
            .iter()
            .map(|r| evaluation_view(r, appeals.iter().find(|a| a.evaluation_id == r.id)))
            .collect::<Result<Vec<_>>>()?;
        Ok(EvaluationPage { items, total, limit, offset })
    }

    /// A case's invitations (without their codes).
    pub async fn case_invitations(&self, req: CaseInvitations) -> Result<Vec<InvitationView>> {
        let rows = invitation::Entity::find()
            .filter(invitation::Column::CaseId.eq(req.case_id.to_string()))
            .order_by_asc(invitation::Column::InvitedAt)
            .all(&self.db)
            .await?;
        rows.iter().map(invitation_view).collect()
    }
}

pub(crate) async fn appeals_of<C: ConnectionTrait>(conn: &C, ids: Vec<String>) -> Result<Vec<appeal::Model>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(appeal::Entity::find().filter(appeal::Column::EvaluationId.is_in(ids)).all(conn).await?)
}

fn invitation_view(i: &invitation::Model) -> Result<InvitationView> {
    let case_id = uuid(&i.case_id)?;
    Ok(InvitationView {
        id: uuid(&i.id)?,
        matter: match &i.task_id {
            Some(t) => Matter::Task { task_id: uuid(t)? },
            None => Matter::Case { case_id },
        },
        case_id,
        ledger_no: i.ledger_no.clone(),
        office: i.office.clone(),
        item_name: i.item_name.clone(),
        unit_name: i.unit_name.clone(),
        invited_at: i.invited_at,
        rated_at: i.rated_at,
        evaluation_id: i.evaluation_id.as_deref().map(uuid).transpose()?,
    })
}

/// A rating as people see it.
pub fn evaluation_view(m: &evaluation::Model, appeal: Option<&appeal::Model>) -> Result<EvaluationView> {
    let level = Level::from_number(m.level as u8).ok_or_else(|| EvaluationError::corrupt("evaluation.level"))?;
    let case_id = uuid(&m.case_id)?;
    let task_id = m.task_id.as_deref().map(uuid).transpose()?;
    let appeal = appeal.map(crate::rectify::appeal_view).transpose()?;
    let counts = appeal.as_ref().is_none_or(|a| a.status != bangban_contracts::evaluation::AppealStatus::Upheld);
    Ok(EvaluationView {
        id: uuid(&m.id)?,
        matter: match task_id {
            Some(task_id) => Matter::Task { task_id },
            None => Matter::Case { case_id },
        },
        case_id,
        task_id,
        ledger_no: m.ledger_no.clone(),
        office: m.office.clone(),
        item_name: m.item_name.clone(),
        unit_code: m.unit_code.clone(),
        unit_office: m.unit_office.clone(),
        specialist_id: m.specialist_id.clone(),
        applicant_id: uuid(&m.applicant_id)?,
        level,
        level_label: level.label_zh().into(),
        comment: m.comment.clone(),
        tags: serde_json::from_str(&m.tags).map_err(|e| EvaluationError::corrupt(format!("evaluation.tags: {e}")))?,
        channel: m.channel,
        entered_by: m.entered_by.clone(),
        submitted_at: m.submitted_at,
        bad: m.bad,
        rectification_id: m.rectification_id.as_deref().map(uuid).transpose()?,
        appeal,
        counts,
    })
}
