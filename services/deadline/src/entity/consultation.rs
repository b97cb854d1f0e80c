//! `consultation`: A consultation (会商) or joint meeting (联席会议).

use bangban_contracts::deadline::ConsultationKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "consultation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: ConsultationKind,
    pub office: String,
    #[sea_orm(column_type = "Text")]
    pub topic: String,
    pub held_at: DateTimeUtc,
    #[sea_orm(column_type = "Text")]
    pub problem_ids: String,
    #[sea_orm(column_type = "Text")]
    pub case_ids: String,
    #[sea_orm(column_type = "Text")]
    pub attendees: String,
    #[sea_orm(column_type = "Text")]
    pub decisions: String,
    #[sea_orm(column_type = "Text")]
    pub follow_ups: String,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
