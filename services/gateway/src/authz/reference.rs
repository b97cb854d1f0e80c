//! City-wide reference data (全市统一): the working-day calendar and the approval-item catalog. Everyone
//! allowed reads them; only the city office changes them. The directories (offices, staff, units) are the same
//! for everyone allowed to read them ([`super::Resource::Directory`]).

use bangban_contracts::office::CITY_OFFICE;

use super::{Action, Principal, Problem, Refusal, actions::CATALOG};

pub(super) fn city_wide_allowed(principal: &Principal, action: Action) -> bool {
    action.is_read() || principal.office == CITY_OFFICE
}

pub(super) fn city_wide_refusal(action: Action) -> Problem {
    let what = match action.rule().refusal {
        Refusal::CityWide(what) => what,
        _ => CATALOG,
    };
    let (zh, en) = (what.zh, what.en);
    Problem::forbidden(
        format!("{zh}全市统一，只有市级机构（{CITY_OFFICE}）的机构管理员可以修改"),
        format!("{en} is city-wide; only an office admin of the city office ({CITY_OFFICE}) may change it"),
    )
}
