//! `applicant_office`: the office that registered an applicant (服务对象登记机构), written once, when the
//! record is created. With the offices of its cases (`cases.office`), it says whose staff see the applicant
//! in the register and may change its name and contact data.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applicant_office")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub applicant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub office: String,
    pub registered_by: String,
    pub registered_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
