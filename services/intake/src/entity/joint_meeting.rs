//! `joint_meeting` (联席会议): one per consultation.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "joint_meeting")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub consultation_id: String,
    pub office: String,
    pub scheduled_at: DateTimeUtc,
    pub place: String,
    /// JSON array of attendees.
    pub attendees: String,
    pub scheduled_by: String,
    pub created_at: DateTimeUtc,
    /// JSON array of decisions, once the minutes are recorded.
    pub decisions: Option<String>,
    /// JSON array of follow-ups, once the minutes are recorded.
    pub follow_ups: Option<String>,
    pub minutes_recorded_by: Option<String>,
    pub minutes_recorded_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
