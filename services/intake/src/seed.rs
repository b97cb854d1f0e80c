//! `bangban seed`: the offices and a demo roster (演示人员), loaded idempotently.
//!
//! Offices are the real divisions of Binzhou; the roster is invented for demonstration and
//! training: names, numbers and phones are not real people's. Running it again updates the rows
//! in place and adds nothing twice.

use bangban_contracts::office::OFFICES;
use bangban_platform::clock;
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait, sea_query::OnConflict};

use crate::entity::{office, staff};

/// What the demo roster holds per office: (role, position, how many).
const ROSTER: [(&str, &str, usize); 5] = [
    ("office_admin", "帮办代办中心主任", 1),
    ("assistant", "帮办员", 2),
    ("agent", "代办员", 2),
    ("expert", "技术专家", 1),
    ("supervisor", "督查专员", 1),
];

const SURNAMES: [&str; 8] = ["王", "李", "张", "刘", "陈", "杨", "赵", "孙"];
const GIVEN: [&str; 7] = ["晓明", "丽娜", "建国", "海燕", "志强", "雪梅", "文博"];

/// The demo roster: deterministic ids (`staff-<office>-<role>-<n>`), usable as token subjects.
pub fn demo_roster() -> Vec<staff::Model> {
    let now = clock::now();
    let mut out = Vec::new();
    for (oi, (code, _)) in OFFICES.iter().enumerate() {
        let mut k = 0;
        for (ri, (role, position, count)) in ROSTER.iter().enumerate() {
            for n in 1..=*count {
                k += 1;
                let name = format!("{}{}", SURNAMES[(oi + ri + n) % SURNAMES.len()], GIVEN[(oi * 3 + k) % GIVEN.len()]);
                let items: &[&str] = match *role {
                    "assistant" => &["咨询辅导", "材料指导", "协调跟踪"],
                    "agent" => &["全程代办", "材料审核", "证照领取"],
                    "office_admin" => &["人员调配", "会商协调", "督办"],
                    "expert" => &["方案预审", "技术咨询"],
                    _ => &["全过程监督"],
                };
                out.push(staff::Model {
                    id: format!("staff-{code}-{role}-{n}"),
                    name,
                    role: role.to_string(),
                    office: code.to_string(),
                    unit: None,
                    number: format!("BB{}{:02}", &code[2..], k),
                    position: position.to_string(),
                    // 0543 is Binzhou's area code; demo numbers only.
                    phone: format!("0543-{}{:03}", 3000 + oi, k),
                    photo_url: None,
                    service_items: serde_json::to_string(items).unwrap_or_else(|_| "[]".into()),
                    active: true,
                    created_at: now,
                    updated_at: now,
                });
            }
        }
    }
    out
}

/// Loads the offices and the demo roster. Idempotent: existing rows are updated in place.
pub async fn seed(db: &DatabaseConnection) -> Result<SeedReport, DbErr> {
    seed_offices(db).await?;
    let staff = seed_roster(db).await?;
    Ok(SeedReport { offices: OFFICES.len(), staff })
}

/// The offices: reference data every deployment has (intake loads them at start).
pub async fn seed_offices(db: &DatabaseConnection) -> Result<(), DbErr> {
    for (code, name) in OFFICES {
        let level = if code == bangban_contracts::office::CITY_OFFICE {
            bangban_contracts::intake::OfficeLevel::City
        } else {
            bangban_contracts::intake::OfficeLevel::County
        };
        office::Entity::insert(office::ActiveModel {
            code: Set(code.to_string()),
            name: Set(name.to_string()),
            level: Set(level),
            address: Set(Some(format!("{name}政务服务中心帮办代办窗口"))),
            phone: Set(None),
        })
        .on_conflict(
            OnConflict::column(office::Column::Code)
                .update_columns([office::Column::Name, office::Column::Level])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The demo roster (for development, training and demonstrations; never in production).
pub async fn seed_roster(db: &DatabaseConnection) -> Result<usize, DbErr> {
    let roster = demo_roster();
    for person in &roster {
        staff::Entity::insert(staff::ActiveModel {
            id: Set(person.id.clone()),
            name: Set(person.name.clone()),
            role: Set(person.role.clone()),
            office: Set(person.office.clone()),
            unit: Set(person.unit.clone()),
            number: Set(person.number.clone()),
            position: Set(person.position.clone()),
            phone: Set(person.phone.clone()),
            photo_url: Set(person.photo_url.clone()),
            service_items: Set(person.service_items.clone()),
            active: Set(true),
            created_at: Set(person.created_at),
            updated_at: Set(person.updated_at),
        })
        .on_conflict(
            OnConflict::column(staff::Column::Id)
                .update_columns([
                    staff::Column::Name,
                    staff::Column::Role,
                    staff::Column::Office,
                    staff::Column::Number,
                    staff::Column::Position,
                    staff::Column::Phone,
                    staff::Column::ServiceItems,
                    staff::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(roster.len())
}

/// What `seed` loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub offices: usize,
    pub staff: usize,
}
