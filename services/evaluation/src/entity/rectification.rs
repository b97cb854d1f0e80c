//! `rectification`: the rectification of a bad review.

use bangban_contracts::evaluation::{FixRating, RectificationStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rectification")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub evaluation_id: String,
    pub case_id: String,
    pub task_id: Option<String>,
    pub item_name: String,
    pub level: i32,
    pub comment: Option<String>,
    pub assignee: String,
    pub assignee_key: String,
    pub assignee_office: String,
    pub specialist_id: String,
    pub office: String,
    pub status: RectificationStatus,
    pub opened_at: DateTimeUtc,
    pub contact_due: String,
    pub due: String,
    pub check_us: Option<i64>,
    pub contacted_at: Option<DateTimeUtc>,
    pub contact_note: Option<String>,
    pub fix: Option<String>,
    pub answer: Option<String>,
    pub answered_at: Option<DateTimeUtc>,
    pub fix_rating: Option<FixRating>,
    pub closed_at: Option<DateTimeUtc>,
    pub escalated_at: Option<DateTimeUtc>,
    pub escalation_reason: Option<String>,
    pub on_time: Option<bool>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
