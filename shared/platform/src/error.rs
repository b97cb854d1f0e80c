//! The errors every service shares (服务错误), one mapping to problems for the client and one to the outcome of
//! an event handler. A service names it after itself (`pub type RoutingError = ServiceError;`) and adds its own
//! constructors as functions of its `error` module (`error::no_task(id)`).

use crate::{
    consumer::HandlerError,
    problem::{FieldError, Problem},
};

/// Everything that can go wrong in a service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Fields that are wrong, or break a rule of the data (422).
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    /// What the request names does not exist (404): Chinese, English.
    #[error("not found: {1}")]
    NotFound(String, String),
    /// The request contradicts the state (409): Chinese, English.
    #[error("conflict: {1}")]
    Conflict(String, String),
    /// The service's own check refuses the actor (403): Chinese, English.
    #[error("forbidden: {1}")]
    Forbidden(String, String),
    /// A refusal the service states as a whole problem, e.g. a webhook verifier's 401 (its own status).
    #[error("refused: {0:?}")]
    Refused(Box<Problem>),
    /// A dependency is not ready or not reachable now; try again later (503; an event is retried).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The database failed (500; an event is retried).
    #[error("database: {0}")]
    Db(sea_orm::DbErr),
    /// An event could not be written or read (500).
    #[error("event: {0}")]
    Event(String),
    /// Stored data breaks the service's own rules (500).
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl From<sea_orm::DbErr> for ServiceError {
    /// A value read back that is not what the column's type says (a state no enum variant spells) is stored data
    /// breaking the rules, not a database that failed: it would fail again, so an event is not retried.
    fn from(e: sea_orm::DbErr) -> Self {
        if is_unreadable_value(&e) { Self::Corrupt(e.to_string()) } else { Self::Db(e) }
    }
}

/// Whether the database answered but a stored value could not be read as its Rust type.
pub fn is_unreadable_value(e: &sea_orm::DbErr) -> bool {
    matches!(e, sea_orm::DbErr::Type(_) | sea_orm::DbErr::TryIntoErr { .. } | sea_orm::DbErr::Json(_))
}

/// A result of a service.
pub type ServiceResult<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    /// One wrong field.
    pub fn field(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, zh, en)])
    }

    /// Stored data that breaks the rules.
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(errors) => Problem::validation(errors),
            ServiceError::NotFound(zh, en) => Problem::not_found(zh, en),
            ServiceError::Conflict(zh, en) => Problem::conflict(zh, en),
            ServiceError::Forbidden(zh, en) => Problem::forbidden(zh, en),
            ServiceError::Refused(problem) => *problem,
            ServiceError::Unavailable(reason) => {
                tracing::warn!(%reason, "unavailable");
                Problem::unavailable("服务暂不可用，请稍后重试", "the service is unavailable; try again later")
            }
            other => {
                // The cause is logged here, once; the client learns only that it was our fault.
                tracing::error!(error = %other, "request failed");
                Problem::internal()
            }
        }
    }
}

impl From<ServiceError> for HandlerError {
    /// A database failure or an unready dependency is retried; anything else would fail again.
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Db(e) => HandlerError::Transient(format!("database: {e}")),
            ServiceError::Unavailable(m) => HandlerError::Transient(m),
            other => HandlerError::Permanent(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    #[test]
    fn every_kind_has_one_status_and_one_handler_outcome() {
        let cases: Vec<(ServiceError, u16, bool)> = vec![
            (ServiceError::field("name", "必填", "required"), 422, false),
            (ServiceError::NotFound("无".into(), "none".into()), 404, false),
            (ServiceError::Conflict("冲突".into(), "conflict".into()), 409, false),
            (ServiceError::Forbidden("禁止".into(), "forbidden".into()), 403, false),
            (ServiceError::Refused(Box::new(Problem::bad_signature("签名错误", "bad signature"))), 401, false),
            (ServiceError::Unavailable("directory empty".into()), 503, true),
            (ServiceError::Db(sea_orm::DbErr::Custom("down".into())), 500, true),
            (ServiceError::from(sea_orm::DbErr::Type("\"bogus\" is not a ClockStatus".into())), 500, false),
            (ServiceError::Event("bad".into()), 500, false),
            (ServiceError::corrupt("plan.status"), 500, false),
        ];
        for (e, status, transient) in cases {
            let text = e.to_string();
            let handler = HandlerError::from(match &e {
                ServiceError::Db(_) => ServiceError::Db(sea_orm::DbErr::Custom("down".into())),
                ServiceError::Unavailable(m) => ServiceError::Unavailable(m.clone()),
                other => ServiceError::Event(other.to_string()),
            });
            assert_eq!(matches!(handler, HandlerError::Transient(_)), transient, "{text}");
            assert_eq!(Problem::from(e).status_code(), StatusCode::from_u16(status).unwrap(), "{text}");
        }
    }

    mod lamp {
        use sea_orm::entity::prelude::*;

        bangban_contracts::labelled_enum! {
            pub enum Light {
                Green = "green", "绿灯";
                Red = "red", "红灯";
            }
        }

        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "lamp")]
        pub struct Model {
            #[sea_orm(primary_key)]
            pub id: i32,
            pub light: Light,
        }

        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    }

    #[tokio::test]
    async fn a_stored_state_no_variant_spells_is_corrupt_data_not_a_failing_database() {
        use sea_orm::{ConnectionTrait, Database, EntityTrait};
        let db = Database::connect("sqlite::memory:").await.unwrap();
        db.execute_unprepared("CREATE TABLE lamp (id INTEGER PRIMARY KEY, light TEXT NOT NULL)").await.unwrap();
        db.execute_unprepared("INSERT INTO lamp (id, light) VALUES (1, 'red'), (2, 'blue')").await.unwrap();
        let red = lamp::Entity::find_by_id(1).one(&db).await.unwrap().unwrap();
        assert_eq!(red.light, lamp::Light::Red);
        let err = lamp::Entity::find_by_id(2).one(&db).await.unwrap_err();
        assert!(is_unreadable_value(&err), "{err:?}");
        assert!(matches!(ServiceError::from(err), ServiceError::Corrupt(_)));
        let err = lamp::Entity::find_by_id(2).one(&db).await.unwrap_err();
        assert!(matches!(HandlerError::from(err), HandlerError::Permanent(_)));
    }
}
