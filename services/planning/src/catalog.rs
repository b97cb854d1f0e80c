//! The approval-item catalog as planning keeps it (事项库): every version whole, the first from the data file,
//! each later one from an office administrator's edit. Versions never change, so they are cached forever.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use bangban_contracts::{
    page::{DEFAULT_LIMIT, MAX_LIMIT, db_offset},
    planning::{
        CatalogDocument, CatalogItem, CatalogVersionPage, CatalogVersionView, CatalogView, GetCatalog,
        ListCatalogVersions, PutCatalogItem, RemoveCatalogItem,
    },
};
use bangban_platform::{clock, problem::FieldError};
use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryOrder, QuerySelect,
    TransactionTrait,
};

use crate::{
    domain::catalog as rules,
    entity::catalog_version::{self, CatalogChange},
    error::{PlanningError, Result},
};

/// A version and when it was made.
type Version = (Arc<CatalogDocument>, chrono::DateTime<Utc>);

/// Versions read so far, by number.
#[derive(Default)]
pub struct CatalogStore {
    versions: Mutex<HashMap<i32, Version>>,
}

/// The newest version's number (0 before the seed).
pub async fn current_version<C: ConnectionTrait>(conn: &C) -> Result<i32> {
    let newest = catalog_version::Entity::find()
        .select_only()
        .column(catalog_version::Column::Version)
        .order_by_desc(catalog_version::Column::Version)
        .limit(1)
        .into_tuple::<i32>()
        .one(conn)
        .await?;
    Ok(newest.unwrap_or(0))
}

impl CatalogStore {
    /// Loads version 1 from the data file when the catalog is empty (the first start).
    pub async fn seed(&self, db: &DatabaseConnection) -> anyhow::Result<()> {
        if current_version(db).await? > 0 {
            return Ok(());
        }
        let document = rules::embedded_document()?;
        let errors = rules::validate_document(&document);
        if !errors.is_empty() {
            anyhow::bail!("the catalog data file is invalid: {errors:?}");
        }
        let row = catalog_version::ActiveModel {
            version: Set(1),
            change: Set(CatalogChange::Seed),
            code: Set(None),
            reason: Set("事项库数据文件 / the catalog data file".into()),
            document: Set(serde_json::to_string(&document)?),
            items: Set(document.items.len() as i32),
            created_by: Set("system".into()),
            created_at: Set(clock::now()),
        };
        let txn = db.begin().await?;
        match catalog_version::Entity::insert(row).exec(&txn).await {
            Ok(_) => txn.commit().await?,
            // Another replica seeded it first.
            Err(e) if crate::is_unique_violation(&e) => txn.rollback().await?,
            Err(e) => return Err(e.into()),
        }
        tracing::info!(items = document.items.len(), "catalog seeded from the data file");
        Ok(())
    }

    /// One version, whole.
    pub async fn get<C: ConnectionTrait>(&self, conn: &C, version: i32) -> Result<Version> {
        if let Some(hit) = self.versions.lock().expect("catalog cache lock").get(&version) {
            return Ok(hit.clone());
        }
        let row = catalog_version::Entity::find_by_id(version).one(conn).await?.ok_or_else(|| {
            PlanningError::NotFound(
                format!("事项库没有第 {version} 版"),
                format!("the catalog has no version {version}"),
            )
        })?;
        let document: CatalogDocument = serde_json::from_str(&row.document)
            .map_err(|e| PlanningError::corrupt(format!("catalog {version}: {e}")))?;
        let entry = (Arc::new(document), row.created_at);
        self.versions.lock().expect("catalog cache lock").insert(version, entry.clone());
        Ok(entry)
    }

    /// The newest version.
    pub async fn current<C: ConnectionTrait>(
        &self,
        conn: &C,
    ) -> Result<(i32, Arc<CatalogDocument>, chrono::DateTime<Utc>)> {
        let version = current_version(conn).await?;
        let (document, at) = self.get(conn, version).await?;
        Ok((version, document, at))
    }

    /// The catalog, filtered by stage and category (`GET /api/v1/catalog`).
    pub async fn view<C: ConnectionTrait>(&self, conn: &C, req: &GetCatalog) -> Result<CatalogView> {
        let version = match req.version {
            Some(v) => {
                i32::try_from(v).map_err(|_| PlanningError::field("version", "版本号过大", "version too large"))?
            }
            None => current_version(conn).await?,
        };
        let (document, created_at) = self.get(conn, version).await?;
        let items = document
            .items
            .iter()
            .filter(|i| req.stage.is_none_or(|s| i.stage == s))
            .filter(|i| {
                req.category.is_none_or(|c| i.applies.categories.is_empty() || i.applies.categories.contains(&c))
            })
            .cloned()
            .collect();
        Ok(CatalogView { version: version as u32, created_at, items })
    }
}

pub fn version_view(row: catalog_version::Model) -> CatalogVersionView {
    CatalogVersionView {
        version: row.version as u32,
        change: row.change.as_str().into(),
        code: row.code,
        reason: row.reason,
        items: row.items as u32,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

/// A page of versions, newest first.
pub async fn versions<C: ConnectionTrait>(conn: &C, req: &ListCatalogVersions) -> Result<CatalogVersionPage> {
    let limit = req.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let offset = db_offset(req.offset);
    let total = catalog_version::Entity::find().count(conn).await?;
    let items = catalog_version::Entity::find()
        .order_by_desc(catalog_version::Column::Version)
        .limit(limit)
        .offset(offset)
        .all(conn)
        .await?
        .into_iter()
        .map(version_view)
        .collect();
    Ok(CatalogVersionPage { items, total, limit, offset })
}

pub fn reason(field: &str, value: &str) -> Result<String> {
    let t = value.trim();
    let n = t.chars().count();
    if !(2..=500).contains(&n) || t.chars().any(|c| c.is_control() && c != '\n') {
        return Err(PlanningError::field(
            field,
            "须为 2–500 个字符且不含控制字符",
            "must be 2–500 characters without control characters",
        ));
    }
    Ok(t.to_string())
}

fn check_expected(expected: Option<u32>, current: i32) -> Result<()> {
    match expected {
        Some(e) if e as i32 != current => Err(PlanningError::Conflict(
            format!("事项库已更新为第 {current} 版（您编辑的是第 {e} 版），请刷新后重试"),
            format!("the catalog is now at version {current} (you edited version {e}); reload and retry"),
        )),
        _ => Ok(()),
    }
}

/// Writes a new version after `current`; a concurrent edit that took the number first is a conflict.
async fn write_version<C: ConnectionTrait>(
    conn: &C,
    current: i32,
    change: CatalogChange,
    code: &str,
    reason: String,
    document: &CatalogDocument,
    by: &str,
) -> Result<CatalogVersionView> {
    let model = catalog_version::Model {
        version: current + 1,
        change,
        code: Some(code.to_string()),
        reason,
        document: serde_json::to_string(document).map_err(|e| PlanningError::corrupt(e.to_string()))?,
        items: document.items.len() as i32,
        created_by: by.to_string(),
        created_at: clock::now(),
    };
    let row = catalog_version::ActiveModel {
        version: Set(model.version),
        change: Set(model.change),
        code: Set(model.code.clone()),
        reason: Set(model.reason.clone()),
        document: Set(model.document.clone()),
        items: Set(model.items),
        created_by: Set(model.created_by.clone()),
        created_at: Set(model.created_at),
    };
    match catalog_version::Entity::insert(row).exec(conn).await {
        Ok(_) => {}
        Err(e) if crate::is_unique_violation(&e) => {
            return Err(PlanningError::Conflict(
                "事项库刚被他人修改，请刷新后重试".into(),
                "the catalog was changed by someone else just now; reload and retry".into(),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(version_view(model))
}

impl CatalogStore {
    /// Adds or replaces one item: a new version.
    pub async fn put_item(&self, db: &DatabaseConnection, req: PutCatalogItem) -> Result<CatalogVersionView> {
        let reason = reason("reason", &req.body.reason)?;
        let item: CatalogItem = req.body.item;
        let mut errors: Vec<FieldError> = rules::validate_item(&item, "item");
        if item.code != req.code {
            errors.push(FieldError::new(
                "item.code",
                format!("须与地址中的事项编码 {} 一致", req.code),
                format!("must equal the code of the path, {}", req.code),
            ));
        }
        if !errors.is_empty() {
            return Err(PlanningError::Validation(errors));
        }
        let txn = bangban_platform::db::begin_write(db).await?;
        let (current, document, _) = self.current(&txn).await?;
        check_expected(req.body.expected_version, current)?;
        let mut next = (*document).clone();
        match next.items.iter_mut().find(|i| i.code == item.code) {
            Some(slot) => *slot = item.clone(),
            None => next.items.push(item.clone()),
        }
        let errors = rules::validate_document(&next);
        if !errors.is_empty() {
            // Report against the body: the item's own index in the document becomes `item`.
            let index = next.items.iter().position(|i| i.code == item.code).unwrap_or(0);
            let own = format!("items[{index}]");
            let errors = errors
                .into_iter()
                .map(|mut e| {
                    if let Some(rest) = e.field.strip_prefix(&own) {
                        e.field = format!("item{rest}");
                    }
                    e
                })
                .collect();
            return Err(PlanningError::Validation(errors));
        }
        let view =
            write_version(&txn, current, CatalogChange::PutItem, &item.code, reason, &next, &req.actor.sub).await?;
        txn.commit().await?;
        tracing::info!(version = view.version, code = %item.code, "catalog item put");
        Ok(view)
    }

    /// Removes one item: a new version. An item others depend on stays until they no longer name it.
    pub async fn remove_item(&self, db: &DatabaseConnection, req: RemoveCatalogItem) -> Result<CatalogVersionView> {
        let reason = reason("reason", &req.body.reason)?;
        let txn = bangban_platform::db::begin_write(db).await?;
        let (current, document, _) = self.current(&txn).await?;
        check_expected(req.body.expected_version, current)?;
        if !document.items.iter().any(|i| i.code == req.code) {
            return Err(PlanningError::NotFound(
                format!("事项库中没有事项 {}", req.code),
                format!("the catalog has no item {}", req.code),
            ));
        }
        let dependents: Vec<&str> =
            document.items.iter().filter(|i| i.predecessors.contains(&req.code)).map(|i| i.code.as_str()).collect();
        if !dependents.is_empty() {
            return Err(PlanningError::Conflict(
                format!("事项 {} 是 {} 的前置事项，请先修改这些事项", req.code, dependents.join("、")),
                format!("{} is a predecessor of {}; change those items first", req.code, dependents.join(", ")),
            ));
        }
        let mut next = (*document).clone();
        next.items.retain(|i| i.code != req.code);
        if next.items.is_empty() {
            return Err(PlanningError::Conflict("事项库不能为空".into(), "the catalog cannot be empty".into()));
        }
        let view =
            write_version(&txn, current, CatalogChange::RemoveItem, &req.code, reason, &next, &req.actor.sub).await?;
        txn.commit().await?;
        tracing::info!(version = view.version, code = %req.code, "catalog item removed");
        Ok(view)
    }
}
