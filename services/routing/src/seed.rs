//! The responsible-unit directory (责任单位名录) loaded by `bangban seed`: every unit type in the city and in
//! each county-level office, and the provincial departments whose approvals pass through the city.
//!
//! Names follow the real institutions of 滨州市 (e.g. 博兴县行政审批服务局, 国网博兴县供电公司); the contact
//! lines are the offices' published window numbers in form only (demo data, area code 0543).

use bangban_contracts::{
    office::{CITY_OFFICE, OFFICES},
    planning::{Level, UnitType},
    routing::UnitContact,
};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, sea_query::OnConflict};

use crate::entity::unit;

/// The code token of a unit type (the unit code is `<office>-<token>`).
pub fn type_token(t: UnitType) -> &'static str {
    match t {
        UnitType::DevelopmentReform => "FGW",
        UnitType::NaturalResources => "ZRZY",
        UnitType::HousingConstruction => "ZJ",
        UnitType::EcologyEnvironment => "STHJ",
        UnitType::WaterResources => "SL",
        UnitType::CivilAirDefense => "RF",
        UnitType::AdministrativeApproval => "XZSP",
        UnitType::MarketRegulation => "SCJG",
        UnitType::PublicSecurity => "GA",
        UnitType::Taxation => "SW",
        UnitType::HumanResources => "RS",
        UnitType::CulturalHeritage => "WL",
        UnitType::Meteorology => "QX",
        UnitType::Transport => "JT",
        UnitType::UrbanManagement => "CG",
        UnitType::EmergencyManagement => "YJ",
        UnitType::FireRescue => "XF",
        UnitType::RealEstateRegistration => "BDC",
        UnitType::UrbanArchives => "DA",
        UnitType::DrawingReview => "ST",
        UnitType::WaterSupply => "GS",
        UnitType::Drainage => "PS",
        UnitType::PowerSupply => "GD",
        UnitType::GasSupply => "RQ",
        UnitType::HeatSupply => "RL",
        UnitType::Telecom => "TX",
    }
}

/// The unit's name in one office (`place` is 滨州市 or the county's name).
fn unit_name(t: UnitType, place: &str, city: bool) -> String {
    match t {
        UnitType::DevelopmentReform if city => format!("{place}发展和改革委员会"),
        UnitType::DevelopmentReform => format!("{place}发展和改革局"),
        UnitType::NaturalResources => format!("{place}自然资源和规划局"),
        UnitType::HousingConstruction => format!("{place}住房和城乡建设局"),
        UnitType::EcologyEnvironment if city => "滨州市生态环境局".to_string(),
        UnitType::EcologyEnvironment => format!("滨州市生态环境局{}分局", place.trim_end_matches(['县', '区', '市'])),
        UnitType::WaterResources => format!("{place}水利局"),
        UnitType::CivilAirDefense => format!("{place}人民防空办公室"),
        UnitType::AdministrativeApproval => format!("{place}行政审批服务局"),
        UnitType::MarketRegulation => format!("{place}市场监督管理局"),
        UnitType::PublicSecurity => format!("{place}公安局"),
        UnitType::Taxation => format!("国家税务总局{place}税务局"),
        UnitType::HumanResources => format!("{place}人力资源和社会保障局"),
        UnitType::CulturalHeritage => format!("{place}文化和旅游局"),
        UnitType::Meteorology => format!("{place}气象局"),
        UnitType::Transport => format!("{place}交通运输局"),
        UnitType::UrbanManagement => format!("{place}综合行政执法局"),
        UnitType::EmergencyManagement => format!("{place}应急管理局"),
        UnitType::FireRescue if city => "滨州市消防救援支队".to_string(),
        UnitType::FireRescue => format!("{place}消防救援大队"),
        UnitType::RealEstateRegistration => format!("{place}不动产登记中心"),
        UnitType::UrbanArchives => format!("{place}城市建设档案馆"),
        UnitType::DrawingReview => format!("{place}施工图审查中心"),
        UnitType::WaterSupply => format!("{place}供水有限公司"),
        UnitType::Drainage => format!("{place}污水处理有限公司"),
        UnitType::PowerSupply => format!("国网{place}供电公司"),
        UnitType::GasSupply => format!("{place}燃气有限公司"),
        UnitType::HeatSupply => format!("{place}热力有限公司"),
        UnitType::Telecom => format!("中国电信{place}分公司"),
    }
}

/// Unit types only the city has (counties' projects use the city's).
const CITY_ONLY: [UnitType; 1] = [UnitType::DrawingReview];

/// Provincial departments whose approvals the city's counterpart forwards (省级事项, routed via the city).
const PROVINCIAL: [(UnitType, &str); 5] = [
    (UnitType::DevelopmentReform, "山东省发展和改革委员会"),
    (UnitType::NaturalResources, "山东省自然资源厅"),
    (UnitType::EcologyEnvironment, "山东省生态环境厅"),
    (UnitType::WaterResources, "山东省水利厅"),
    (UnitType::HousingConstruction, "山东省住房和城乡建设厅"),
];

/// Every unit of the directory.
pub fn directory() -> Vec<unit::Model> {
    let mut units = Vec::new();
    for (n, (office, place)) in OFFICES.iter().enumerate() {
        let city = *office == CITY_OFFICE;
        for (k, &t) in UnitType::ALL.iter().enumerate() {
            if !city && CITY_ONLY.contains(&t) {
                continue;
            }
            let contacts = vec![UnitContact {
                name: format!("{}窗口", t.label_zh()),
                position: "窗口负责人".into(),
                phone: format!("0543-{}{:02}{:03}", 3 + n % 6, k, 100 + n * 7),
            }];
            units.push(unit::Model {
                code: format!("{office}-{}", type_token(t)),
                name: unit_name(t, place, city),
                unit_type: t,
                level: if city { Level::City } else { Level::County },
                office: office.to_string(),
                contacts: serde_json::to_string(&contacts).unwrap_or_else(|_| "[]".into()),
            });
        }
    }
    for (t, name) in PROVINCIAL {
        let contacts =
            vec![UnitContact {
                name: "政务服务窗口".into(), position: "联络员".into(), phone: "0531-12345".into()
            }];
        units.push(unit::Model {
            code: format!("370000-{}", type_token(t)),
            name: name.into(),
            unit_type: t,
            level: Level::Province,
            office: CITY_OFFICE.into(),
            contacts: serde_json::to_string(&contacts).unwrap_or_else(|_| "[]".into()),
        });
    }
    units
}

/// Loads the directory (idempotent: existing units are updated).
pub async fn seed(db: &DatabaseConnection) -> Result<usize, sea_orm::DbErr> {
    let units = directory();
    let count = units.len();
    for chunk in units.chunks(50) {
        let rows = chunk.iter().map(|u| unit::ActiveModel {
            code: Set(u.code.clone()),
            name: Set(u.name.clone()),
            unit_type: Set(u.unit_type),
            level: Set(u.level),
            office: Set(u.office.clone()),
            contacts: Set(u.contacts.clone()),
        });
        unit::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::column(unit::Column::Code)
                    .update_columns([
                        unit::Column::Name,
                        unit::Column::UnitType,
                        unit::Column::Level,
                        unit::Column::Office,
                        unit::Column::Contacts,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(count)
}
