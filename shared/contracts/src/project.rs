//! Project attributes (项目属性) that decide which approval items a project needs (§7.3.2): who invests,
//! how the land is supplied, and whether it is built new or renovated. Intake records them with the
//! project; planning reads them from `case.accepted` and falls back to the category's usual value.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::intake::ProjectCategory;

/// Who invests (投资主体).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvestmentKind {
    /// 政府投资
    Government,
    /// 社会投资（企业投资）
    Social,
}

/// How the land is supplied (土地供应方式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LandSupply {
    /// 划拨
    Allocation,
    /// 出让（招拍挂，含带方案出让）
    Transfer,
    /// 使用自有或已有建设用地（不新增用地）
    Existing,
}

/// New construction or work on an existing building (建设性质).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConstructionKind {
    /// 新建
    New,
    /// 改建、扩建
    Expansion,
    /// 改造（含老旧小区改造、装饰装修）
    Renovation,
}

impl InvestmentKind {
    pub const ALL: [InvestmentKind; 2] = [Self::Government, Self::Social];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Government => "government",
            Self::Social => "social",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::Government => "政府投资",
            Self::Social => "社会投资",
        }
    }

    /// The usual investor of a category (政府投资类: 房屋建筑、市政线性工程、老旧小区改造).
    pub fn usual_for(category: ProjectCategory) -> Self {
        match category {
            ProjectCategory::GovHousing | ProjectCategory::MunicipalLinear | ProjectCategory::OldCommunity => {
                Self::Government
            }
            _ => Self::Social,
        }
    }
}

impl LandSupply {
    pub const ALL: [LandSupply; 3] = [Self::Allocation, Self::Transfer, Self::Existing];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Allocation => "allocation",
            Self::Transfer => "transfer",
            Self::Existing => "existing",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::Allocation => "划拨",
            Self::Transfer => "出让",
            Self::Existing => "使用已有用地",
        }
    }

    /// The usual land supply of a category: government projects get allocated land, an old-community
    /// renovation uses the land it has, market projects buy it.
    pub fn usual_for(category: ProjectCategory) -> Self {
        match category {
            ProjectCategory::GovHousing | ProjectCategory::MunicipalLinear => Self::Allocation,
            ProjectCategory::OldCommunity => Self::Existing,
            _ => Self::Transfer,
        }
    }
}

impl ConstructionKind {
    pub const ALL: [ConstructionKind; 3] = [Self::New, Self::Expansion, Self::Renovation];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Expansion => "expansion",
            Self::Renovation => "renovation",
        }
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Self::New => "新建",
            Self::Expansion => "改扩建",
            Self::Renovation => "改造",
        }
    }

    /// The usual kind of a category: an old-community project is a renovation, everything else new.
    pub fn usual_for(category: ProjectCategory) -> Self {
        match category {
            ProjectCategory::OldCommunity => Self::Renovation,
            _ => Self::New,
        }
    }
}
