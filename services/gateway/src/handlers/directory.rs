//! The directory: offices (帮办代办工作机构) and staff (工作人员).

use axum::{Json, extract::State};
use bangban_contracts::intake::{self, ListOffices, ListStaff, OfficeView, StaffView};
use bangban_platform::problem::Problem;

use crate::{
    AppState,
    auth::Principal,
    authz::{Action, Resource, authorize},
    extract::ApiQuery,
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The routes of the directory.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_offices)).routes(routes!(list_staff))
}

/// Every office, the city first.
#[utoipa::path(
    get, path = "/api/v1/offices", tag = "directory",
    responses(
        (status = 200, description = "机构 / offices", body = [OfficeView]),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_offices(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<OfficeView>>, Problem> {
    authorize(&principal, Action::ReadOffices, Resource::Directory)?;
    let offices = state.call::<intake::ops::OfficeList>(&ListOffices {}).await?;
    Ok(Json(offices))
}

/// Staff of the offices, by office and role.
#[utoipa::path(
    get, path = "/api/v1/staff", tag = "directory",
    params(ListStaff),
    responses(
        (status = 200, description = "工作人员 / staff", body = [StaffView]),
        (status = 401, description = "未认证 / unauthorized", body = Problem),
        (status = 403, description = "无权操作 / forbidden", body = Problem),
        (status = 503, description = "服务暂不可用 / unavailable", body = Problem),
    ),
    security(("bearer" = []))
)]
pub async fn list_staff(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(filter): ApiQuery<ListStaff>,
) -> Result<Json<Vec<StaffView>>, Problem> {
    authorize(&principal, Action::ReadStaff, Resource::Directory)?;
    if let Some(office) = &filter.office
        && !bangban_contracts::office::is_known_office(office)
    {
        return Err(Problem::invalid_field(
            "office",
            format!("未知的机构代码 {office:?}"),
            format!("unknown office code {office:?}"),
        ));
    }
    let staff = state.call::<intake::ops::StaffList>(&filter).await?;
    Ok(Json(staff))
}
