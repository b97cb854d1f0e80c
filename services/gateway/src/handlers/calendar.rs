//! The working-day calendar (工作日历) over HTTP: every time limit of the platform is counted in its
//! working days.
//!
//! - `GET  /api/v1/calendar/{date}` — one date: working day or not, provisional, the holiday's name.
//! - `GET  /api/v1/calendar` — the loaded years and the overrides.
//! - `POST /api/v1/calendar/compute` — working-day arithmetic (add, count, next, deadline instant).
//! - `PUT  /api/v1/calendar/years/{year}` — load or replace a year's holiday schedule (the holiday-cn
//!   day-list document, validated by planning).
//! - `PUT  /api/v1/calendar/overrides/{date}`, `POST /api/v1/calendar/overrides/{date}/remove` — local
//!   closures and corrections.
//!
//! Everyone signed in reads it; the calendar is city-wide, so only an office admin of the city office
//! changes it. Planning recomputes open plans on every change and says which moved.

use axum::{
    Json,
    extract::{Path, State},
};
use bangban_contracts::planning::{
    CalendarAnswer, CalendarChange, CalendarDay, CalendarInfo, CalendarQuery, GetCalendar, GetDay, LoadYear,
    OverrideBody, RemoveOverride, SetOverride, ops,
};
use bangban_platform::problem::Problem;
use chrono::NaiveDate;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, Resource, authorize},
    extract::ApiJson,
    handlers::cases::actor,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of the calendar.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_calendar))
        .routes(routes!(compute_calendar))
        .routes(routes!(load_calendar_year))
        .routes(routes!(set_calendar_override))
        .routes(routes!(remove_calendar_override))
        .routes(routes!(get_calendar_day))
}

/// Body of `POST /api/v1/calendar/overrides/{date}/remove`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveOverrideBody {
    /// Why (2–500 characters).
    #[schema(example = "临时停工通知已撤销")]
    pub reason: String,
}

/// A date in a path, strictly `YYYY-MM-DD` (400 naming `field` otherwise).
pub(crate) fn parse_date(field: &str, text: &str) -> Result<NaiveDate, Problem> {
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
    shape_ok.then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten().ok_or_else(|| {
        Problem::malformed(
            Some(field.into()),
            format!("{field} 须为 YYYY-MM-DD 格式的有效日期，收到 {text:?}"),
            format!("{field} must be a valid date as YYYY-MM-DD, got {text:?}"),
        )
    })
}

fn parse_year(text: &str) -> Result<i32, Problem> {
    text.parse::<i32>().ok().filter(|y| (1000..=9999).contains(y)).ok_or_else(|| {
        Problem::malformed(
            Some("year".into()),
            format!("year 须为四位数年份，收到 {text:?}"),
            format!("year must be a four-digit year, got {text:?}"),
        )
    })
}

/// One date of the calendar (某日是否工作日): make-up working days (调休上班) are working days,
/// statutory holidays on weekdays are not; a date in a year whose schedule is not loaded yet is
/// decided by the weekday rule and marked `provisional` (暂定).
#[utoipa::path(
    get, path = "/api/v1/calendar/{date}", tag = "calendar",
    params(("date" = String, Path, format = Date, description = "日期 YYYY-MM-DD / the date", example = "2026-02-14")),
    responses(
        (status = 200, description = "该日 / the date", body = CalendarDay, example = json!({
            "date": "2026-02-14", "working_day": true, "provisional": false, "name": "春节"
        })),
        (status = 400, description = "日期格式错误 / malformed date", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(date = %date))]
pub async fn get_calendar_day(
    State(state): State<AppState>,
    principal: Principal,
    Path(date): Path<String>,
) -> Result<Json<CalendarDay>, Problem> {
    authorize(&principal, Action::ReadCalendar, Resource::CityWide)?;
    let date = parse_date("date", &date)?;
    Ok(Json(state.call::<ops::CalendarDay>(&GetDay { date }).await?))
}

/// The state of the calendar: the loaded years (with the notices they come from) and the overrides.
#[utoipa::path(
    get, path = "/api/v1/calendar", tag = "calendar",
    responses(
        (status = 200, description = "已加载年度与临时调整 / loaded years and overrides", body = CalendarInfo),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn get_calendar(State(state): State<AppState>, principal: Principal) -> Result<Json<CalendarInfo>, Problem> {
    authorize(&principal, Action::ReadCalendar, Resource::CityWide)?;
    Ok(Json(state.call::<ops::CalendarInfo>(&GetCalendar {}).await?))
}

/// Working-day arithmetic (工作日计算): the `days`-th working day after a date, the working days
/// between two dates, the next working day, or the instant a deadline expires (the end of the working
/// day in Asia/Shanghai). The answer is `provisional` when it rests on a year not loaded yet.
#[utoipa::path(
    post, path = "/api/v1/calendar/compute", tag = "calendar",
    request_body(content = CalendarQuery, description = "计算什么 / what to compute", example = json!({
        "op": "add_working_days", "date": "2026-09-30", "days": 5
    })),
    responses(
        (status = 200, description = "结果 / the answer", body = CalendarAnswer, example = json!({
            "date": "2026-10-13", "provisional": false
        })),
        (status = 400, description = "请求体格式错误 / malformed body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn compute_calendar(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(query): ApiJson<CalendarQuery>,
) -> Result<Json<CalendarAnswer>, Problem> {
    authorize(&principal, Action::ReadCalendar, Resource::CityWide)?;
    Ok(Json(state.call::<ops::CalendarCompute>(&query).await?))
}

/// Loads or replaces a year's holiday schedule (年度节假日安排), in the holiday-cn day-list format
/// `{year, papers?, days: [{name, date, isOffDay}]}`: `isOffDay: true` a day of a holiday,
/// `isOffDay: false` a make-up working day on a weekend (调休上班). Planning validates the document
/// (problems name the wrong field) and recomputes open plans. City office admins only.
#[utoipa::path(
    put, path = "/api/v1/calendar/years/{year}", tag = "calendar",
    params(("year" = i32, Path, description = "年度 / the year", example = 2027)),
    request_body(content = Object, description = "国务院办公厅通知的 holiday-cn 日期清单 / the State Council notice as a holiday-cn day list", example = json!({
        "year": 2027,
        "papers": ["国务院办公厅关于2027年部分节假日安排的通知"],
        "days": [
            {"name": "元旦", "date": "2027-01-01", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-02", "isOffDay": true},
            {"name": "元旦", "date": "2027-01-03", "isOffDay": true}
        ]
    })),
    responses(
        (status = 200, description = "已加载，含重排的方案 / loaded, with the plans rescheduled", body = CalendarChange),
        (status = 400, description = "请求体或年份格式错误 / malformed body or year", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅市级机构管理员 / city office admins only", body = Problem),
        (status = 409, description = "与当前状态冲突 / conflict", body = Problem),
        (status = 413, description = "请求体过大 / body too large", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "日期清单有误（指明字段）/ invalid schedule, naming the field", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(year = %year))]
pub async fn load_calendar_year(
    State(state): State<AppState>,
    principal: Principal,
    Path(year): Path<String>,
    ApiJson(schedule): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Json<CalendarChange>, Problem> {
    authorize(&principal, Action::ManageCalendar, Resource::CityWide)?;
    let year = parse_year(&year)?;
    let req = LoadYear { actor: actor(&principal), year, schedule: serde_json::Value::Object(schedule) };
    Ok(Json(state.call::<ops::CalendarLoadYear>(&req).await?))
}

/// Sets a local closure or correction of one date (临时休息或更正), which wins over every schedule.
/// City office admins only.
#[utoipa::path(
    put, path = "/api/v1/calendar/overrides/{date}", tag = "calendar",
    params(("date" = String, Path, format = Date, description = "日期 YYYY-MM-DD / the date", example = "2026-07-20")),
    request_body(content = OverrideBody, example = json!({
        "working_day": false, "name": "台风停工", "reason": "市政府2026年7月19日临时通知"
    })),
    responses(
        (status = 200, description = "已设置 / set", body = CalendarChange),
        (status = 400, description = "日期或请求体格式错误 / malformed date or body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅市级机构管理员 / city office admins only", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(date = %date))]
pub async fn set_calendar_override(
    State(state): State<AppState>,
    principal: Principal,
    Path(date): Path<String>,
    ApiJson(day): ApiJson<OverrideBody>,
) -> Result<Json<CalendarChange>, Problem> {
    authorize(&principal, Action::ManageCalendar, Resource::CityWide)?;
    let date = parse_date("date", &date)?;
    let req = SetOverride { actor: actor(&principal), date, day };
    Ok(Json(state.call::<ops::CalendarSetOverride>(&req).await?))
}

/// Removes the override of one date; the date follows the year's schedule again. City office admins only.
#[utoipa::path(
    post, path = "/api/v1/calendar/overrides/{date}/remove", tag = "calendar",
    params(("date" = String, Path, format = Date, description = "日期 YYYY-MM-DD / the date", example = "2026-07-20")),
    request_body(content = RemoveOverrideBody, example = json!({"reason": "临时停工通知已撤销"})),
    responses(
        (status = 200, description = "已撤销 / removed", body = CalendarChange),
        (status = 400, description = "日期或请求体格式错误 / malformed date or body", body = Problem),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "仅市级机构管理员 / city office admins only", body = Problem),
        (status = 404, description = "该日没有临时调整 / no override on that date", body = Problem),
        (status = 415, description = "须为 JSON / JSON required", body = Problem),
        (status = 422, description = "内容有误 / invalid content", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
#[tracing::instrument(skip_all, fields(date = %date))]
pub async fn remove_calendar_override(
    State(state): State<AppState>,
    principal: Principal,
    Path(date): Path<String>,
    ApiJson(body): ApiJson<RemoveOverrideBody>,
) -> Result<Json<CalendarChange>, Problem> {
    authorize(&principal, Action::ManageCalendar, Resource::CityWide)?;
    let date = parse_date("date", &date)?;
    let req = RemoveOverride { actor: actor(&principal), date, reason: body.reason };
    Ok(Json(state.call::<ops::CalendarRemoveOverride>(&req).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_strict() {
        assert_eq!(parse_date("date", "2026-02-14").unwrap(), NaiveDate::from_ymd_opt(2026, 2, 14).unwrap());
        for bad in ["2026-2-14", "2026-02-30", "20260214", "2026/02/14", "tomorrow", "+2026-02-1", ""] {
            let p = parse_date("date", bad).unwrap_err();
            assert_eq!(p.status, 400, "{bad}");
            assert_eq!(p.errors[0].field, "date", "{bad}");
        }
        assert_eq!(parse_year("2027").unwrap(), 2027);
        for bad in ["27", "20x7", "-2027", "12345"] {
            assert_eq!(parse_year(bad).unwrap_err().errors[0].field, "year", "{bad}");
        }
    }
}
