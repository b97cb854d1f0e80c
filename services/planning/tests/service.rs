//! Planning on real parts: a nats-server with its own JetStream store, a SQLite file or a PostgreSQL schema.
//! Events from intake are published on the bus as intake would; plans, versions and calendar changes are
//! checked in the service and on the bus.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use bangban_contracts::{
    CloudEvent, EventType,
    intake::{Actor, ApplicantKind, CaseAccepted, ProjectCategory, ProjectView, ServiceType},
    planning::{
        AddItemBody, AddPlanItem, CalendarChange, EditItemBody, EditPlanItem, GetCatalog, LoadYear, PlanPublished,
        PlanRevised, PlanStatus, PublishBody, PublishPlan, PutCatalogItem, PutCatalogItemBody, RemoveItemBody,
        RemovePlanItem,
    },
};
use bangban_planning::{PlanningService, error::PlanningError};
use bangban_testkit::Harness;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

type Planning = Harness<PlanningService>;

async fn spawn() -> Planning {
    Harness::<PlanningService>::start().await.expect("planning")
}

fn actor(sub: &str) -> Actor {
    Actor { sub: sub.into(), role: "agent".into(), office: "371625".into() }
}

fn accepted(category: ProjectCategory, at: DateTime<Utc>) -> CaseAccepted {
    CaseAccepted {
        case_id: Uuid::now_v7(),
        ledger_no: "BB-371625-2026-000001".into(),
        service_type: ServiceType::Commission,
        office: "371625".into(),
        applicant_id: Uuid::now_v7(),
        applicant_kind: ApplicantKind::LegalPerson,
        project: ProjectView {
            id: Uuid::now_v7(),
            name: "博兴县年产5万吨新材料项目".into(),
            category,
            office: "371625".into(),
            code: None,
            investment_wan: Some(50_000.0),
            land_area_m2: Some(66_000.0),
            floor_area_m2: Some(30_000.0),
            newly_settled: false,
            investment_kind: None,
            land_supply: None,
            construction: None,
        },
        specialist_id: "staff-371625-agent-1".into(),
        accepted_by: "staff-371625-agent-1".into(),
        accepted_at: at,
    }
}

async fn publish<T: serde::Serialize>(js: &jetstream::Context, event_type: EventType, id: Uuid, data: &T) {
    let event = CloudEvent::new(event_type, "intake", id.to_string(), data).unwrap();
    let subject = event_type.subject("371625", None).unwrap().to_string();
    js.publish_with_headers(subject, event.to_headers(), event.data.clone()).await.unwrap().await.unwrap();
}

async fn wait_for_plan(service: &PlanningService, case_id: Uuid) -> bangban_contracts::planning::PlanView {
    for _ in 0..200 {
        if let Ok(plan) = service.get_plan(case_id).await {
            return plan;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no plan for {case_id}");
}

async fn consumer(js: &jetstream::Context, filter: &str) -> jetstream::consumer::Consumer<pull::Config> {
    let stream = js.get_stream("BANGBAN_EVENTS").await.unwrap();
    stream
        .create_consumer(pull::Config {
            filter_subject: filter.into(),
            ack_policy: jetstream::consumer::AckPolicy::None,
            // An ephemeral consumer left without a pull for 5 s is deleted by the server; a slow setup must not lose it.
            inactive_threshold: Duration::from_secs(600),
            ..Default::default()
        })
        .await
        .unwrap()
}

async fn next_event<T: serde::de::DeserializeOwned>(c: &jetstream::consumer::Consumer<pull::Config>) -> (String, T) {
    let mut messages = c.messages().await.unwrap();
    let msg = tokio::time::timeout(Duration::from_secs(10), messages.next()).await.expect("an event").unwrap().unwrap();
    let event = CloudEvent::from_parts(msg.headers.as_ref(), msg.payload.clone()).unwrap();
    (msg.subject.to_string(), event.data_as().unwrap())
}

async fn count(service: &PlanningService, sql: &str) -> i64 {
    let db = service.db();
    let row = db.query_one_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap().unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

fn today_utc() -> DateTime<Utc> {
    Utc::now()
}

#[tokio::test]
async fn a_repeated_case_accepted_creates_one_plan() {
    let p = spawn().await;
    let data = accepted(ProjectCategory::Industrial, today_utc());
    // Twice with different event ids (a re-publication), once more with the same id.
    let event = CloudEvent::new(EventType::CASE_ACCEPTED, "intake", data.case_id.to_string(), &data).unwrap();
    let subject = EventType::CASE_ACCEPTED.subject("371625", None).unwrap().to_string();
    for _ in 0..2 {
        p.js.publish_with_headers(subject.clone(), event.to_headers(), event.data.clone())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    let plan = wait_for_plan(p.service(), data.case_id).await;
    assert_eq!(plan.status, PlanStatus::Draft);
    assert_eq!(plan.version, 0);
    assert!(!plan.items.is_empty(), "an industrial project needs items");
    assert!(plan.draft_changes);
    assert_eq!(plan.pending_changes.added.len(), plan.items.len());
    // Let the consumer finish the redeliveries, then count.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(count(p.service(), "SELECT COUNT(*) FROM plan").await, 1);
    assert_eq!(count(p.service(), "SELECT COUNT(*) FROM plan_edit WHERE action = 'generated'").await, 1);
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn publish_carries_what_routing_needs_and_a_replan_says_what_changed() {
    let p = spawn().await;
    let data = accepted(ProjectCategory::Industrial, today_utc());
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    let plan = wait_for_plan(p.service(), data.case_id).await;
    let published = consumer(&p.js, &EventType::PLAN_PUBLISHED.subject("371625", None).unwrap().to_string()).await;

    let view = p
        .service()
        .publish(PublishPlan {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: PublishBody {
                note: Some("请各单位按预排工期办理".into()), expected_revision: Some(plan.revision)
            },
        })
        .await
        .unwrap();
    assert_eq!((view.version, view.status, view.draft_changes), (1, PlanStatus::Published, false));
    let (subject, event): (String, PlanPublished) = next_event(&published).await;
    assert_eq!(subject, "bb.evt.371625.plan.published");
    assert_eq!(event.case_id, data.case_id);
    assert_eq!(event.version, 1);
    assert_eq!(event.project_office, "371625");
    assert_eq!(event.applicant_id, data.applicant_id);
    assert_eq!(event.items.len(), plan.items.len());
    assert_eq!(event.changes.added.len(), plan.items.len());
    for item in &event.items {
        let s = view.schedule.items.iter().find(|s| s.code == item.code).unwrap();
        assert_eq!((item.planned_start, item.planned_end), (s.start, s.end));
        assert!(!item.materials.is_empty() && !item.legal_basis.is_empty());
    }
    assert_eq!(event.total_working_days, view.schedule.total_working_days);

    // Nothing changed: a second publication is refused.
    let again = p
        .service()
        .publish(PublishPlan {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: PublishBody::default(),
        })
        .await;
    assert!(matches!(again, Err(PlanningError::Conflict(..))), "{again:?}");

    // Re-plan: one item longer, one removed, one added from the catalog.
    let first = view.items[0].code.clone();
    let last = view.items.last().unwrap().code.clone();
    let catalog = p.service().catalog_view(GetCatalog::default()).await.unwrap();
    let extra = catalog.items.iter().find(|i| !view.items.iter().any(|p| p.code == i.code)).unwrap().code.clone();
    let stale = view.revision;
    let edited = p
        .service()
        .edit_item(EditPlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            code: first.clone(),
            body: EditItemBody {
                promised_working_days: Some(view.items[0].promised_working_days + 3),
                reason: "单位反馈需现场踏勘".into(),
                expected_revision: Some(stale),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    assert_eq!(edited.revision, stale + 1);
    assert!(edited.draft_changes);
    assert_eq!(edited.pending_changes.changed, vec![first.clone()]);
    let conflict = p
        .service()
        .remove_item(RemovePlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            code: last.clone(),
            body: RemoveItemBody { reason: "项目无需此事项".into(), expected_revision: Some(stale) },
        })
        .await;
    assert!(matches!(conflict, Err(PlanningError::Conflict(..))), "a stale revision is refused: {conflict:?}");
    p.service()
        .remove_item(RemovePlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            code: last.clone(),
            body: RemoveItemBody { reason: "项目无需此事项".into(), expected_revision: None },
        })
        .await
        .unwrap();
    p.service()
        .add_item(AddPlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: AddItemBody {
                code: extra.clone(),
                item: None,
                reason: "项目选址涉及".into(),
                expected_revision: None,
            },
        })
        .await
        .unwrap();
    let v2 = p
        .service()
        .publish(PublishPlan {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: PublishBody::default(),
        })
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    let (_, event): (String, PlanPublished) = next_event(&published).await;
    assert_eq!(event.version, 2);
    assert_eq!(event.changes.added, vec![extra]);
    assert_eq!(event.changes.changed, vec![first]);
    assert_eq!(event.changes.withdrawn, vec![last]);
    let history: Vec<&str> = v2.history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(history, ["generated", "published", "changed", "removed", "added", "published"]);
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_cycle_or_an_unknown_predecessor_is_refused_and_changes_nothing() {
    let p = spawn().await;
    let data = accepted(ProjectCategory::RealEstate, today_utc());
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    let plan = wait_for_plan(p.service(), data.case_id).await;
    // The first item with a predecessor: make that predecessor wait for it.
    let later = plan.items.iter().find(|i| !i.predecessors.is_empty()).expect("an item with a predecessor");
    let before = later.predecessors[0].clone();
    let cycle = p
        .service()
        .edit_item(EditPlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            code: before.clone(),
            body: EditItemBody {
                predecessors: Some(vec![later.code.clone()]),
                reason: "测试循环".into(),
                ..Default::default()
            },
        })
        .await;
    match cycle {
        Err(PlanningError::Validation(errors)) => {
            assert_eq!(errors[0].field, "predecessors");
            assert!(errors[0].reason.contains("循环"), "{errors:?}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    let unknown = p
        .service()
        .edit_item(EditPlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            code: before,
            body: EditItemBody {
                predecessors: Some(vec!["ZZ-99".into()]),
                reason: "测试".into(),
                ..Default::default()
            },
        })
        .await;
    assert!(matches!(&unknown, Err(PlanningError::Validation(e)) if e[0].field == "predecessors[0]"), "{unknown:?}");
    assert_eq!(p.service().get_plan(data.case_id).await.unwrap().revision, plan.revision, "nothing changed");
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_terminated_case_withdraws_its_plan() {
    let p = spawn().await;
    let data = accepted(ProjectCategory::GovHousing, today_utc());
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    wait_for_plan(p.service(), data.case_id).await;
    let terminated = json!({
        "case_id": data.case_id, "ledger_no": data.ledger_no, "office": "371625",
        "applicant_id": data.applicant_id, "specialist_id": data.specialist_id,
        "previous_status": "accepted", "reason": "applicant_request", "reason_letter": "a",
        "note": "申请人撤回", "terminated_by": "staff-371625-agent-1", "terminated_at": Utc::now(),
    });
    publish(&p.js, EventType::CASE_TERMINATED, data.case_id, &terminated).await;
    let mut status = PlanStatus::Draft;
    for _ in 0..100 {
        status = p.service().get_plan(data.case_id).await.unwrap().status;
        if status == PlanStatus::Withdrawn {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, PlanStatus::Withdrawn);
    let publish = p
        .service()
        .publish(PublishPlan {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: PublishBody::default(),
        })
        .await;
    assert!(matches!(&publish, Err(PlanningError::Conflict(zh, _)) if zh.contains("终止")), "{publish:?}");
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}

/// 2027's schedule as an administrator would load it in November 2026 (a test document, not the notice).
fn year_2027() -> serde_json::Value {
    json!({
        "year": 2027,
        "papers": ["测试用 2027 年安排"],
        "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "春节", "date": "2027-02-05", "isOffDay": true},
            {"name": "春节", "date": "2027-02-08", "isOffDay": true},
            {"name": "春节", "date": "2027-02-09", "isOffDay": true},
            {"name": "春节", "date": "2027-02-10", "isOffDay": true},
            {"name": "春节", "date": "2027-02-11", "isOffDay": true},
            {"name": "春节", "date": "2027-02-12", "isOffDay": true},
            {"name": "春节", "date": "2027-02-20", "isOffDay": false}
        ]
    })
}

#[tokio::test]
async fn loading_next_year_reschedules_open_plans_and_says_which() {
    let p = spawn().await;
    // A case accepted on 2026-12-14 runs into 2027, whose holidays are not loaded yet.
    let at = Utc.with_ymd_and_hms(2026, 12, 14, 2, 0, 0).unwrap();
    let data = accepted(ProjectCategory::Industrial, at);
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    let plan = wait_for_plan(p.service(), data.case_id).await;
    assert_eq!(plan.start_on, NaiveDate::from_ymd_opt(2026, 12, 14).unwrap());
    assert!(plan.schedule.provisional, "2027 is not loaded: {:?}", plan.schedule.end);
    p.service()
        .publish(PublishPlan {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: PublishBody::default(),
        })
        .await
        .unwrap();
    let changed = consumer(&p.js, &EventType::CALENDAR_CHANGED.subject("371600", None).unwrap().to_string()).await;
    let revised = consumer(&p.js, &EventType::PLAN_REVISED.subject("371625", None).unwrap().to_string()).await;

    let before = p.service().calendar_day(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).await.unwrap();
    assert!(before.working_day && before.provisional);
    let change = p
        .service()
        .load_year(LoadYear { actor: actor("staff-371600-office_admin-1"), year: 2027, schedule: year_2027() })
        .await
        .unwrap();
    assert!(change.dates_changed.contains(&NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()));
    assert!(change.dates_changed.contains(&NaiveDate::from_ymd_opt(2027, 2, 20).unwrap()), "a make-up Saturday");
    let moved = change.plans_rescheduled.iter().find(|r| r.case_id == data.case_id).expect("the plan moved");
    assert_eq!(moved.version, 1);
    assert!(!moved.items.is_empty());

    let after = p.service().calendar_day(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).await.unwrap();
    assert_eq!((after.working_day, after.provisional, after.name.as_deref()), (false, false, Some("元旦")));
    let (_, event): (String, CalendarChange) = next_event(&changed).await;
    assert_eq!(event, change);
    let (_, event): (String, PlanRevised) = next_event(&revised).await;
    assert_eq!(event.case_id, data.case_id);
    assert_eq!(event.calendar_revision, change.revision);
    let mut codes: Vec<String> = event.items.iter().map(|i| i.code.clone()).collect();
    codes.sort();
    let mut expected = moved.items.clone();
    expected.sort();
    assert_eq!(codes, expected);

    // Every replica (and every restart) sees the loaded year: a fresh service on the same database.
    let other = PlanningService::new(
        p.service().db().clone(),
        bangban_platform::outbox::OutboxNotifier::new(),
        Default::default(),
    );
    assert!(!other.calendar_day(NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()).await.unwrap().working_day);

    // A document that contradicts the path, or a make-up day on a weekday, is refused and changes nothing.
    let wrong_year = p.service().load_year(LoadYear { actor: actor("a"), year: 2028, schedule: year_2027() }).await;
    assert!(matches!(&wrong_year, Err(PlanningError::Validation(e)) if e[0].field == "schedule.year"));
    let mut bad = year_2027();
    bad["days"][7]["date"] = json!("2027-02-17");
    let bad = p.service().load_year(LoadYear { actor: actor("a"), year: 2027, schedule: bad }).await;
    assert!(matches!(&bad, Err(PlanningError::Validation(e)) if e[0].field == "schedule.days"), "{bad:?}");
    assert_eq!(p.service().calendar_info().await.unwrap().revision, change.revision);
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_catalog_edit_is_a_new_version_and_plans_keep_theirs() {
    let p = spawn().await;
    let data = accepted(ProjectCategory::Industrial, today_utc());
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    let plan = wait_for_plan(p.service(), data.case_id).await;
    assert_eq!(plan.catalog_version, 1);

    let catalog = p.service().catalog_view(GetCatalog::default()).await.unwrap();
    let mut item = catalog.items[0].clone();
    item.code = "ZZ-01".into();
    item.name = "测试新增事项".into();
    item.predecessors = vec![];
    let version = p
        .service()
        .put_catalog_item(PutCatalogItem {
            actor: actor("staff-371600-office_admin-1"),
            code: "ZZ-01".into(),
            body: PutCatalogItemBody { item: item.clone(), reason: "新增事项".into(), expected_version: Some(1) },
        })
        .await
        .unwrap();
    assert_eq!(
        (version.version, version.change.as_str(), version.items),
        (2, "put_item", catalog.items.len() as u32 + 1)
    );
    // The plan was made from version 1, which has no ZZ-01.
    let add = p
        .service()
        .add_item(AddPlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: AddItemBody { code: "ZZ-01".into(), item: None, reason: "测试".into(), expected_revision: None },
        })
        .await;
    assert!(matches!(&add, Err(PlanningError::Validation(e)) if e[0].field == "code"), "{add:?}");
    // A stale edit of the catalog, and an item that makes a cycle, are refused.
    let stale = p
        .service()
        .put_catalog_item(PutCatalogItem {
            actor: actor("staff-371600-office_admin-1"),
            code: "ZZ-01".into(),
            body: PutCatalogItemBody { item: item.clone(), reason: "再次修改".into(), expected_version: Some(1) },
        })
        .await;
    assert!(matches!(stale, Err(PlanningError::Conflict(..))));
    item.predecessors = vec!["ZZ-01".into()];
    let own = p
        .service()
        .put_catalog_item(PutCatalogItem {
            actor: actor("staff-371600-office_admin-1"),
            code: "ZZ-01".into(),
            body: PutCatalogItemBody { item, reason: "自身前置".into(), expected_version: None },
        })
        .await;
    assert!(
        matches!(&own, Err(PlanningError::Validation(e)) if e[0].field.starts_with("item.predecessors")),
        "{own:?}"
    );
    assert_eq!(p.service().catalog_view(GetCatalog::default()).await.unwrap().version, 2);
    assert_eq!(
        p.service().catalog_view(GetCatalog { version: Some(1), ..Default::default() }).await.unwrap().items.len(),
        catalog.items.len()
    );
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn regenerating_with_corrected_attributes_keeps_what_the_specialist_added() {
    let p = spawn().await;
    let data = accepted(ProjectCategory::Industrial, today_utc());
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    let plan = wait_for_plan(p.service(), data.case_id).await;
    assert!(plan.profile.assumed.contains(&"land_supply".to_string()));
    let catalog = p.service().catalog_view(GetCatalog::default()).await.unwrap();
    let extra = catalog.items.iter().find(|i| i.applies.on_demand).expect("an on-demand item").code.clone();
    p.service()
        .add_item(AddPlanItem {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: AddItemBody {
                code: extra.clone(), item: None, reason: "选址涉及".into(), expected_revision: None
            },
        })
        .await
        .unwrap();
    let regenerated = p
        .service()
        .regenerate(bangban_contracts::planning::RegeneratePlan {
            actor: actor("staff-371625-agent-1"),
            case_id: data.case_id,
            body: bangban_contracts::planning::RegenerateBody {
                reason: "项目使用企业自有土地".into(),
                land_supply: Some(bangban_contracts::project::LandSupply::Existing),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    assert_eq!(regenerated.profile.land_supply, bangban_contracts::project::LandSupply::Existing);
    assert!(!regenerated.profile.assumed.contains(&"land_supply".to_string()));
    assert!(regenerated.items.iter().any(|i| i.code == extra), "the added item stays");
    assert!(regenerated.items.len() < plan.items.len() + 1, "existing land needs fewer land-use items");
    assert_eq!(regenerated.history.last().unwrap().action, "regenerated");
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn a_local_closure_moves_the_plans_that_cross_it_and_its_removal_moves_them_back() {
    let p = spawn().await;
    let data = accepted(ProjectCategory::Industrial, today_utc());
    publish(&p.js, EventType::CASE_ACCEPTED, data.case_id, &data).await;
    let plan = wait_for_plan(p.service(), data.case_id).await;
    // Close the plan's second working day.
    let day = plan.schedule.items.iter().map(|i| i.end).filter(|d| *d > plan.schedule.start).min().unwrap();
    let change = p
        .service()
        .set_override(bangban_contracts::planning::SetOverride {
            actor: actor("staff-371600-office_admin-1"),
            date: day,
            day: bangban_contracts::planning::OverrideBody {
                working_day: false,
                name: "台风停工".into(),
                reason: "市政府临时通知".into(),
            },
        })
        .await
        .unwrap();
    assert_eq!(change.dates_changed, vec![day]);
    assert!(change.plans_rescheduled.iter().any(|r| r.case_id == data.case_id && r.version == 0));
    let closed = p.service().calendar_day(day).await.unwrap();
    assert_eq!((closed.working_day, closed.name.as_deref()), (false, Some("台风停工")));
    let moved = p.service().get_plan(data.case_id).await.unwrap();
    assert!(moved.schedule.end > plan.schedule.end, "the plan ends later");
    let info = p.service().calendar_info().await.unwrap();
    assert_eq!(info.overrides.len(), 1);
    assert!(info.years.iter().any(|y| y.year == 2026 && y.source == "embedded"));

    let removed = p
        .service()
        .remove_override(bangban_contracts::planning::RemoveOverride {
            actor: actor("staff-371600-office_admin-1"),
            date: day,
            reason: "通知撤销".into(),
        })
        .await
        .unwrap();
    assert_eq!(removed.dates_changed, vec![day]);
    assert_eq!(p.service().get_plan(data.case_id).await.unwrap().schedule.end, plan.schedule.end);
    let again = p
        .service()
        .remove_override(bangban_contracts::planning::RemoveOverride {
            actor: actor("staff-371600-office_admin-1"),
            date: day,
            reason: "再次撤销".into(),
        })
        .await;
    assert!(matches!(again, Err(PlanningError::NotFound(..))));
    p.shutdown.shutdown(Duration::from_secs(5)).await;
}
