//! `applicant` (服务对象).

use bangban_contracts::intake::ApplicantKind;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applicant")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub kind: ApplicantKind,
    pub name: String,
    pub id_number_enc: Option<String>,
    pub id_number_index: Option<String>,
    pub credit_code: Option<String>,
    pub phone_enc: Option<String>,
    pub contact_person: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
