//! The in-app inbox (站内通知) and the message list for office staff.

use bangban_contracts::notification::{InboxNotice, InboxPage, ListInbox, ListMessages, MarkRead, MessagePage};
use bangban_platform::{clock, db};
use sea_orm::{
    AccessMode, ColumnTrait, Condition, DbBackend, EntityTrait, IsolationLevel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use crate::{
    NotificationService,
    entity::{inbox_notice, message},
    error::{NotificationError, Result},
    view,
};

fn owners(list: &[String]) -> Result<Vec<String>> {
    let owners: Vec<String> = list.iter().filter(|o| !o.trim().is_empty()).cloned().collect();
    if owners.is_empty() || owners.len() > 10 {
        return Err(NotificationError::field("owners", "须指明收件人（1–10 个）", "1 to 10 owners are required"));
    }
    Ok(owners)
}

fn page(limit: Option<u64>, offset: Option<u64>, default: u64, max: u64) -> Result<(u64, u64)> {
    let limit = limit.unwrap_or(default);
    if limit > max {
        return Err(NotificationError::field("limit", format!("每页最多 {max} 条"), format!("at most {max} per page")));
    }
    Ok((limit, bangban_contracts::page::db_offset(offset)))
}

fn notice(n: inbox_notice::Model) -> InboxNotice {
    InboxNotice {
        id: Uuid::parse_str(&n.id).unwrap_or_default(),
        template_id: n.template_id.as_str().into(),
        title: n.title,
        text: n.text,
        case_id: n.case_id.as_deref().and_then(|s| Uuid::parse_str(s).ok()),
        task_id: n.task_id.as_deref().and_then(|s| Uuid::parse_str(s).ok()),
        created_at: n.created_at,
        read_at: n.read_at,
    }
}

impl NotificationService {
    /// A person's notices, newest first, with the unread count.
    pub async fn list_inbox(&self, req: ListInbox) -> Result<InboxPage> {
        let owners = owners(&req.owners)?;
        let (limit, offset) = page(req.limit, req.offset, 20, 100)?;
        // One snapshot for the counts and the items (a notice committed in between would otherwise show unread
        // while `unread` did not count it).
        let txn = if self.db.get_database_backend() == DbBackend::Postgres {
            self.db.begin_with_config(Some(IsolationLevel::RepeatableRead), Some(AccessMode::ReadOnly)).await?
        } else {
            self.db.begin().await?
        };
        let mine = Condition::all().add(inbox_notice::Column::Owner.is_in(owners));
        let unread = inbox_notice::Entity::find()
            .filter(mine.clone())
            .filter(inbox_notice::Column::ReadAt.is_null())
            .count(&txn)
            .await?;
        let mut q = inbox_notice::Entity::find().filter(mine);
        if req.unread_only {
            q = q.filter(inbox_notice::Column::ReadAt.is_null());
        }
        let total = q.clone().count(&txn).await?;
        let items = if limit == 0 {
            Vec::new()
        } else {
            q.order_by_desc(inbox_notice::Column::CreatedAt)
                .order_by_desc(inbox_notice::Column::Id)
                .limit(limit)
                .offset(offset)
                .all(&txn)
                .await?
                .into_iter()
                .map(notice)
                .collect()
        };
        txn.commit().await?;
        Ok(InboxPage { items, total, unread, limit, offset })
    }

    /// Marks the caller's notices read (the given ones, or all); others' are untouched.
    pub async fn mark_read(&self, req: MarkRead) -> Result<InboxPage> {
        let owners = owners(&req.owners)?;
        if req.ids.len() > 500 {
            return Err(NotificationError::field("ids", "一次最多 500 条", "at most 500 at once"));
        }
        let txn = db::begin_write(&self.db).await?;
        let mut q = inbox_notice::Entity::update_many()
            .col_expr(inbox_notice::Column::ReadAt, Expr::value(clock::now()))
            .filter(inbox_notice::Column::Owner.is_in(owners.clone()))
            .filter(inbox_notice::Column::ReadAt.is_null());
        if !req.ids.is_empty() {
            q = q.filter(inbox_notice::Column::Id.is_in(req.ids.iter().map(Uuid::to_string)));
        }
        q.exec(&txn).await?;
        txn.commit().await?;
        self.list_inbox(ListInbox { owners, unread_only: false, limit: None, offset: None }).await
    }

    /// Messages, newest first (numbers masked).
    pub async fn list_messages(&self, req: ListMessages) -> Result<MessagePage> {
        let (limit, offset) = page(req.limit, req.offset, 50, 200)?;
        let mut q = message::Entity::find();
        if let Some(o) = &req.office {
            q = q.filter(message::Column::Office.eq(o.clone()));
        }
        if let Some(c) = req.case_id {
            q = q.filter(message::Column::CaseId.eq(c.to_string()));
        }
        if let Some(s) = req.state {
            q = q.filter(message::Column::State.eq(s));
        }
        let total = q.clone().count(&self.db).await?;
        let rows = q
            .order_by_desc(message::Column::CreatedAt)
            .order_by_desc(message::Column::Id)
            .limit(limit)
            .offset(offset)
            .all(&self.db)
            .await?;
        let items = rows.iter().map(view).collect::<Result<Vec<_>>>()?;
        Ok(MessagePage { items, total, limit, offset })
    }
}
