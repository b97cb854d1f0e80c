//! The staff assessment (考核 §8.2.1), as JSON or as CSV for Excel, and rating statistics (评价统计).

use std::borrow::Cow;

use axum::{
    Json,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use bangban_contracts::evaluation::{
    Assessment, AssessmentQuery, AssessmentRow, AssessmentScope, Statistics, StatisticsQuery, ops,
};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, scope_deadline},
    extract::ApiQuery,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{check_period, known_office};

/// The routes of the assessment and the statistics.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(assessment))
        .routes(routes!(assessment_csv))
        .routes(routes!(evaluation_statistics))
}

pub(super) fn assessment_example() -> serde_json::Value {
    serde_json::json!({
        "by": "specialist", "from": "2026-01-01", "to": "2026-03-31",
        "rows": [{
            "key": "staff-371625-assistant-1", "ratings": 40, "satisfied": 39, "satisfaction_rate": 0.975,
            "average_level": 4.7, "bad_reviews": 1, "appeals_upheld": 0, "rectifications_answered": 1,
            "rectifications_on_time": 1, "rectification_on_time_rate": 1.0, "rectifications_escalated": 0,
            "items_concluded": 36, "items_on_time": 35, "on_time_rate": 0.9722, "average_working_days": 4.2
        }]
    })
}

pub(super) const CSV_EXAMPLE: &str = "\u{feff}对象,评价数,满意数,满意率,平均等级,差评数,申诉成立数,整改答复数,按期整改数,按期整改率,逾期整改移送数,办结事项数,按时办结数,按时办结率,平均用时(工作日)\r\nstaff-371625-assistant-1,40,39,97.5%,4.70,1,0,1,1,100.0%,0,36,35,97.2%,4.2\r\n";

pub(super) fn statistics_example() -> serde_json::Value {
    let counts = |key: &str| serde_json::json!({"key": key, "total": 40, "by_level": [0, 1, 2, 10, 27], "satisfaction_rate": 0.975});
    serde_json::json!({
        "total": counts(""),
        "by_category": [counts("industrial")],
        "by_stage": [counts("engineering_permit")],
        "by_office": [counts("371625")],
        "by_unit": [counts("371625-XZSP")],
        "by_month": [counts("2026-03")]
    })
}

/// The header row of the assessment's CSV.
pub const CSV_HEADER: [&str; 15] = [
    "对象",
    "评价数",
    "满意数",
    "满意率",
    "平均等级",
    "差评数",
    "申诉成立数",
    "整改答复数",
    "按期整改数",
    "按期整改率",
    "逾期整改移送数",
    "办结事项数",
    "按时办结数",
    "按时办结率",
    "平均用时(工作日)",
];

/// One field per RFC 4180: quoted when it holds a comma, a quote, CR or LF (quotes doubled). A text that
/// a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, CR first) is prefixed with `'`.
pub(crate) fn csv_field(value: &str) -> Cow<'_, str> {
    let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let value: Cow<'_, str> = if formula { Cow::Owned(format!("'{value}")) } else { Cow::Borrowed(value) };
    if value.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        value
    }
}

/// A rate (0–1) as a percentage with one decimal (`97.5%`); empty when there is none.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.filter(|r| r.is_finite()).map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_default()
}

fn decimals(value: Option<f64>, places: usize) -> String {
    value.filter(|v| v.is_finite()).map(|v| format!("{v:.places$}")).unwrap_or_default()
}

/// The assessment as CSV for Excel: a UTF-8 byte-order mark, the Chinese header row, one row per
/// specialist, unit or office, CRLF line ends (RFC 4180).
pub fn assessment_to_csv(assessment: &Assessment) -> String {
    let mut out = String::from("\u{feff}");
    let mut line = |fields: &[&str]| {
        let fields: Vec<Cow<'_, str>> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    };
    line(&CSV_HEADER);
    for row in &assessment.rows {
        let AssessmentRow {
            key,
            ratings,
            satisfied,
            satisfaction_rate,
            average_level,
            bad_reviews,
            appeals_upheld,
            rectifications_answered,
            rectifications_on_time,
            rectification_on_time_rate,
            rectifications_escalated,
            items_concluded,
            items_on_time,
            on_time_rate,
            average_working_days,
        } = row;
        let cells = [
            key.clone(),
            ratings.to_string(),
            satisfied.to_string(),
            percent(*satisfaction_rate),
            decimals(*average_level, 2),
            bad_reviews.to_string(),
            appeals_upheld.to_string(),
            rectifications_answered.to_string(),
            rectifications_on_time.to_string(),
            percent(*rectification_on_time_rate),
            rectifications_escalated.to_string(),
            items_concluded.to_string(),
            items_on_time.to_string(),
            percent(*on_time_rate),
            decimals(*average_working_days, 1),
        ];
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        line(&cells);
    }
    out
}

fn scope_name(by: AssessmentScope) -> &'static str {
    match by {
        AssessmentScope::Specialist => "specialist",
        AssessmentScope::Unit => "unit",
        AssessmentScope::Office => "office",
    }
}

/// `assessment-<by>-<from>-<to>.csv`.
pub(crate) fn csv_filename(query: &AssessmentQuery) -> String {
    format!("assessment-{}-{}-{}.csv", scope_name(query.by), query.from, query.to)
}

/// The assessment query `principal` may run: office admins and supervisors; a county office admin's own office.
fn scoped_assessment(principal: &Principal, mut query: AssessmentQuery) -> Result<AssessmentQuery, Problem> {
    (query.office, _) =
        scope_deadline(principal, Action::ReadAssessment, ("考核数据", "assessment"), query.office, None)?;
    known_office(query.office.as_deref())?;
    check_period(query.from, query.to)?;
    Ok(query)
}

/// The staff assessment (考核 §8.2.1) over a period (`from`–`to`, days of China Standard Time, both
/// required), by specialist, unit or office: ratings that count, satisfaction rate, average level, bad
/// reviews, appeals upheld, rectifications answered on time and escalated, items concluded on time and their
/// average working days. Office admins and supervisors: a county office admin sees their own office (another
/// `office` is 403); the city office's admins and supervisors every office, or the one asked for.
#[utoipa::path(
    get, path = "/api/v1/assessments", tag = "evaluations",
    params(AssessmentQuery),
    responses(
        (status = 200, description = "考核 / the assessment", body = Assessment, example = json!(assessment_example())),
        (status = 400, description = "查询参数有误（缺少 from、to）/ bad query (from, to missing)", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（如 from 晚于 to）/ invalid value (from after to)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn assessment(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AssessmentQuery>,
) -> Result<Json<Assessment>, Problem> {
    let query = scoped_assessment(&principal, query)?;
    Ok(Json(state.call::<ops::Assessment>(&query).await?))
}

/// The staff assessment as CSV for Excel (UTF-8 with a byte-order mark, RFC 4180, a Chinese header row, rates
/// as percentages with one decimal), downloaded as `assessment-<by>-<from>-<to>.csv`. Same query and access as
/// `GET /api/v1/assessments`.
#[utoipa::path(
    get, path = "/api/v1/assessments.csv", tag = "evaluations",
    params(AssessmentQuery),
    responses(
        (status = 200, description = "考核表（CSV）/ the assessment as CSV", body = String, content_type = "text/csv; charset=utf-8",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"assessment-<by>-<from>-<to>.csv\"")),
            example = json!(CSV_EXAMPLE)),
        (status = 400, description = "查询参数有误（缺少 from、to）/ bad query (from, to missing)", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（如 from 晚于 to）/ invalid value (from after to)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn assessment_csv(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AssessmentQuery>,
) -> Result<Response, Problem> {
    let query = scoped_assessment(&principal, query)?;
    let assessment: Assessment = state.call::<ops::Assessment>(&query).await?;
    let disposition = format!("attachment; filename=\"{}\"", csv_filename(&query));
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8")),
            (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(|_| Problem::internal())?),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        assessment_to_csv(&assessment),
    )
        .into_response())
}

/// Rating statistics (评价统计) of the ratings that count (appeals upheld left out): in total and by project
/// category, stage, office, unit and month, each by level with the satisfaction rate. `from` and `to` are
/// optional (days of China Standard Time). Office admins (a county's own office) and supervisors.
#[utoipa::path(
    get, path = "/api/v1/evaluations/statistics", tag = "evaluations",
    params(StatisticsQuery),
    responses(
        (status = 200, description = "评价统计 / the statistics", body = Statistics, example = json!(statistics_example())),
        (status = 400, description = "查询参数有误 / bad query", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权查看该机构或该角色无权查看 / not your office, or the role reads none", body = Problem),
        (status = 422, description = "参数取值有误（如 from 晚于 to）/ invalid value (from after to)", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all)]
pub async fn evaluation_statistics(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(mut query): ApiQuery<StatisticsQuery>,
) -> Result<Json<Statistics>, Problem> {
    (query.office, _) =
        scope_deadline(&principal, Action::ReadAssessment, ("评价统计", "rating statistics"), query.office, None)?;
    known_office(query.office.as_deref())?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        check_period(from, to)?;
    }
    Ok(Json(state.call::<ops::Statistics>(&query).await?))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn csv_fields_are_escaped_per_rfc_4180_and_never_formulas() {
        assert_eq!(csv_field("staff-1"), "staff-1");
        assert_eq!(csv_field("博兴县"), "博兴县");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn rates_are_percentages_with_one_decimal() {
        assert_eq!(percent(Some(0.975)), "97.5%");
        assert_eq!(percent(Some(1.0)), "100.0%");
        assert_eq!(percent(Some(0.0)), "0.0%");
        assert_eq!(percent(Some(2.0 / 3.0)), "66.7%");
        assert_eq!(percent(None), "");
        assert_eq!(percent(Some(f64::NAN)), "");
    }

    #[test]
    fn the_assessment_is_a_csv_for_excel() {
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        let assessment = Assessment {
            by: AssessmentScope::Unit,
            from: d("2026-01-01"),
            to: d("2026-03-31"),
            rows: vec![
                AssessmentRow {
                    key: "371625-XZSP".into(),
                    ratings: 40,
                    satisfied: 39,
                    satisfaction_rate: Some(0.975),
                    average_level: Some(4.7),
                    bad_reviews: 1,
                    rectifications_answered: 1,
                    rectifications_on_time: 1,
                    rectification_on_time_rate: Some(1.0),
                    items_concluded: 36,
                    items_on_time: 35,
                    on_time_rate: Some(35.0 / 36.0),
                    average_working_days: Some(4.25),
                    ..Default::default()
                },
                AssessmentRow { key: "unit, \"quoted\"".into(), ..Default::default() },
            ],
        };
        let csv = assessment_to_csv(&assessment);
        assert!(csv.starts_with('\u{feff}'), "a byte-order mark for Excel");
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines.len(), 4, "header, two rows, and the final CRLF: {lines:?}");
        assert_eq!(lines[0], CSV_HEADER.join(","));
        assert_eq!(lines[1], "371625-XZSP,40,39,97.5%,4.70,1,0,1,1,100.0%,0,36,35,97.2%,4.2");
        assert_eq!(lines[2], "\"unit, \"\"quoted\"\"\",0,0,,,0,0,0,0,,0,0,0,,");
        assert_eq!(lines[3], "");
        assert_eq!(lines[0].split(',').count(), 15);
        // The documented example is what the writer writes.
        let example =
            Assessment { by: AssessmentScope::Specialist, ..serde_json::from_value(assessment_example()).unwrap() };
        assert_eq!(assessment_to_csv(&example), CSV_EXAMPLE);
        let query =
            AssessmentQuery { by: AssessmentScope::Unit, office: None, from: d("2026-01-01"), to: d("2026-03-31") };
        assert_eq!(csv_filename(&query), "assessment-unit-2026-01-01-2026-03-31.csv");
    }
}
