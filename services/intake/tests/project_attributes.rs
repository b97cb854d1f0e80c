//! Project attributes (项目属性: investment kind, land supply, construction kind) on a real database —
//! SQLite, or PostgreSQL with `TEST_DATABASE_URL`: stored with a new or registered project, returned
//! in every view and carried by `case.accepted` to planning.

use bangban_contracts::{
    intake::{Actor, CaseAccepted, CaseView, CreateCase, ListProjects, NewCase, NewProject, RegisterProject},
    project::{ConstructionKind, InvestmentKind, LandSupply},
};
use bangban_intake::{IntakeService, Migrator, domain::pii::PiiCipher, error::IntakeError};
use bangban_intake_migration::MigratorTrait;
use bangban_platform::outbox::OutboxNotifier;
use bangban_testkit::TestDatabase;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, Value as DbValue};
use serde_json::{Value, json};
use uuid::Uuid;

struct Setup {
    service: IntakeService,
    db: DatabaseConnection,
    _test_db: TestDatabase,
}

async fn setup() -> Setup {
    let test_db = TestDatabase::new("intake").await.expect("test database");
    let db = test_db.connect().await;
    Migrator::up(&db, None).await.expect("migrate");
    bangban_intake::seed::seed(&db).await.expect("seed");
    let service =
        IntakeService::new(db.clone(), OutboxNotifier::new(), PiiCipher::derive_for_development(b"attributes"));
    Setup { service, db, _test_db: test_db }
}

fn actor() -> Actor {
    Actor { sub: "tester".into(), role: "assistant".into(), office: "371600".into() }
}

fn project(extra: Value) -> Value {
    let mut p = json!({"name": "年产5万吨新材料项目", "category": "industrial", "office": "371625"});
    p.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    p
}

fn new_case(project: Value) -> NewCase {
    serde_json::from_value(json!({
        "service_type": "assist",
        "office": "371600",
        "applicant": {
            "kind": "legal_person", "name": "滨州市某某新材料有限公司",
            "credit_code": "91440300708461136T", "phone": "13812341234"
        },
        "project": project,
    }))
    .expect("a valid NewCase")
}

fn case_by_id(project_id: Uuid) -> NewCase {
    let mut c = new_case(project(json!({})));
    c.project = None;
    c.project_id = Some(project_id);
    c
}

fn sql(db: &DatabaseConnection, text: &str, values: Vec<DbValue>) -> Statement {
    let backend = db.get_database_backend();
    let text = if backend == sea_orm::DbBackend::Postgres {
        let mut n = 0;
        text.chars()
            .map(|c| {
                if c == '?' {
                    n += 1;
                    format!("${n}")
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        text.to_string()
    };
    Statement::from_sql_and_values(backend, text, values)
}

/// The data of the `case.accepted` event of `case` waiting in the outbox.
async fn case_accepted(db: &DatabaseConnection, case: &CaseView) -> CaseAccepted {
    let rows = db
        .query_all_raw(sql(
            db,
            "SELECT subject, payload FROM outbox WHERE aggregate_id = ? ORDER BY seq",
            vec![case.id.to_string().into()],
        ))
        .await
        .expect("outbox");
    let payloads: Vec<Vec<u8>> = rows
        .into_iter()
        .filter(|r| r.try_get::<String>("", "subject").unwrap().ends_with(".case.accepted"))
        .map(|r| r.try_get::<Vec<u8>>("", "payload").unwrap())
        .collect();
    assert_eq!(payloads.len(), 1, "one case.accepted for case {}", case.id);
    serde_json::from_slice(&payloads[0]).expect("CaseAccepted")
}

/// The attribute columns of a project row as stored.
async fn stored(db: &DatabaseConnection, id: Uuid) -> [Option<String>; 3] {
    let row = db
        .query_one_raw(sql(
            db,
            "SELECT investment_kind, land_supply, construction FROM project WHERE id = ?",
            vec![id.to_string().into()],
        ))
        .await
        .expect("select")
        .expect("project row");
    ["investment_kind", "land_supply", "construction"].map(|c| row.try_get::<Option<String>>("", c).unwrap())
}

#[tokio::test]
async fn a_new_project_of_a_case_keeps_its_attributes_and_case_accepted_carries_them() {
    let s = setup().await;
    let body = new_case(project(
        json!({"investment_kind": "government", "land_supply": "allocation", "construction": "expansion"}),
    ));
    let case = s.service.create_case(CreateCase { actor: actor(), case: body }).await.expect("case");
    let p = &case.project;
    assert_eq!(p.investment_kind, Some(InvestmentKind::Government));
    assert_eq!(p.land_supply, Some(LandSupply::Allocation));
    assert_eq!(p.construction, Some(ConstructionKind::Expansion));
    assert_eq!(
        stored(&s.db, p.id).await,
        [Some("government".into()), Some("allocation".into()), Some("expansion".into())],
        "stored as their JSON spelling"
    );

    let read = s.service.get_case(case.id).await.expect("read");
    assert_eq!(read.project, case.project, "a later read returns what the reply said");
    let json = serde_json::to_value(&read).unwrap();
    assert_eq!(json["project"]["investment_kind"], "government");
    assert_eq!(json["project"]["land_supply"], "allocation");
    assert_eq!(json["project"]["construction"], "expansion");

    let event = case_accepted(&s.db, &case).await;
    assert_eq!(event.project, case.project, "planning receives the attributes");
}

#[tokio::test]
async fn a_registered_project_keeps_its_attributes_and_cases_referring_to_it_use_them() {
    let s = setup().await;
    let new: NewProject = serde_json::from_value(project(
        json!({"investment_kind": "social", "land_supply": "transfer", "construction": "new"}),
    ))
    .unwrap();
    let registered = s.service.register_project(RegisterProject { actor: actor(), project: new }).await.unwrap();
    assert_eq!(
        (registered.investment_kind, registered.land_supply, registered.construction),
        (Some(InvestmentKind::Social), Some(LandSupply::Transfer), Some(ConstructionKind::New))
    );
    let page = s.service.list_projects(ListProjects::default()).await.unwrap();
    assert_eq!(page.items, std::slice::from_ref(&registered));

    let case = s.service.create_case(CreateCase { actor: actor(), case: case_by_id(registered.id) }).await.unwrap();
    assert_eq!(case.project, registered, "the case shows the stored attributes");
    assert_eq!(case_accepted(&s.db, &case).await.project, registered);
}

#[tokio::test]
async fn a_project_without_attributes_returns_null() {
    let s = setup().await;
    let case = s.service.create_case(CreateCase { actor: actor(), case: new_case(project(json!({}))) }).await.unwrap();
    let p = &case.project;
    assert_eq!((p.investment_kind, p.land_supply, p.construction), (None, None, None));
    assert_eq!(stored(&s.db, p.id).await, [None, None, None]);
    let json = serde_json::to_value(s.service.get_case(case.id).await.unwrap()).unwrap();
    for field in ["investment_kind", "land_supply", "construction"] {
        assert_eq!(json["project"][field], Value::Null, "{field}");
    }
    let event = case_accepted(&s.db, &case).await;
    assert_eq!(
        (event.project.investment_kind, event.project.land_supply, event.project.construction),
        (None, None, None)
    );

    // Only some of them.
    let partial = new_case(project(json!({"land_supply": "existing"})));
    let case = s.service.create_case(CreateCase { actor: actor(), case: partial }).await.unwrap();
    let p = &case.project;
    assert_eq!((p.investment_kind, p.land_supply, p.construction), (None, Some(LandSupply::Existing), None));
}

#[tokio::test]
async fn an_unknown_stored_attribute_is_corrupt_data() {
    let s = setup().await;
    let case = s
        .service
        .create_case(CreateCase { actor: actor(), case: new_case(project(json!({"land_supply": "transfer"}))) })
        .await
        .unwrap();
    s.db.execute_raw(sql(
        &s.db,
        "UPDATE project SET land_supply = ? WHERE id = ?",
        vec!["stolen".into(), case.project.id.to_string().into()],
    ))
    .await
    .unwrap();
    match s.service.get_case(case.id).await {
        Err(IntakeError::Corrupt(what)) => assert!(what.contains("LandSupply") && what.contains("stolen"), "{what}"),
        other => panic!("expected corrupt data, got {other:?}"),
    }
    assert!(matches!(s.service.list_projects(ListProjects::default()).await, Err(IntakeError::Corrupt(_))));
}

#[tokio::test]
async fn projects_registered_before_the_migration_have_no_attributes_and_the_migration_reverts() {
    let test_db = TestDatabase::new("intake").await.expect("test database");
    let db = test_db.connect().await;
    let all = Migrator::migrations().len() as u32;
    Migrator::up(&db, Some(all - 1)).await.expect("migrate to the one before");
    let id = Uuid::now_v7();
    db.execute_raw(sql(
        &db,
        "INSERT INTO project (id, name, category, office, newly_settled, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            id.to_string().into(),
            "早先登记的项目".into(),
            "industrial".into(),
            "371625".into(),
            false.into(),
            chrono::Utc::now().into(),
        ],
    ))
    .await
    .expect("an earlier project");
    Migrator::up(&db, None).await.expect("migrate");
    assert_eq!(stored(&db, id).await, [None, None, None]);
    let service = IntakeService::new(db.clone(), OutboxNotifier::new(), PiiCipher::derive_for_development(b"x"));
    let page = service.list_projects(ListProjects::default()).await.unwrap();
    let p = &page.items[0];
    assert_eq!((p.id, p.investment_kind, p.land_supply, p.construction), (id, None, None, None));

    // Down and up again on both databases.
    Migrator::down(&db, Some(1)).await.expect("down");
    Migrator::up(&db, None).await.expect("up again");
    assert_eq!(stored(&db, id).await, [None, None, None]);
}
