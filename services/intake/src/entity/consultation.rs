//! `consultation` (对接需求记录).

use bangban_contracts::intake::{
    ProjectCategory,
    consultation::{ConsultationChannel, ConsultationIntent},
};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub office: String,
    pub channel: ConsultationChannel,
    pub external_id: Option<String>,
    pub applicant_name: String,
    pub organisation: Option<String>,
    /// The mobile number, encrypted (`v1:…`).
    pub phone_enc: Option<String>,
    pub project_name: String,
    pub project_category: ProjectCategory,
    pub project_office: String,
    pub newly_settled: bool,
    pub needs: String,
    pub project_state: String,
    /// JSON array of material names.
    pub materials: String,
    pub intent: ConsultationIntent,
    pub consulted_at: DateTimeUtc,
    pub recorded_by: String,
    pub recorded_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
