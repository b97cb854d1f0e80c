//! Project attributes (项目属性) that decide which approval items a project needs (§7.3.2): who invests,
//! how the land is supplied, and whether it is built new or renovated. Intake records them with the
//! project; planning reads them from `case.accepted` and falls back to the category's usual value.

use utoipa::ToSchema;

use crate::intake::ProjectCategory;

crate::labelled_enum! {
    /// Who invests (投资主体).
    #[derive(ToSchema)]
    pub enum InvestmentKind {
        /// 政府投资
        Government = "government", "政府投资";
        /// 社会投资（企业投资）
        Social = "social", "社会投资";
    }
}

crate::labelled_enum! {
    /// How the land is supplied (土地供应方式).
    #[derive(ToSchema)]
    pub enum LandSupply {
        /// 划拨
        Allocation = "allocation", "划拨";
        /// 出让（招拍挂，含带方案出让）
        Transfer = "transfer", "出让";
        /// 使用自有或已有建设用地（不新增用地）
        Existing = "existing", "使用已有用地";
    }
}

crate::labelled_enum! {
    /// New construction or work on an existing building (建设性质).
    #[derive(ToSchema)]
    pub enum ConstructionKind {
        /// 新建
        New = "new", "新建";
        /// 改建、扩建
        Expansion = "expansion", "改扩建";
        /// 改造（含老旧小区改造、装饰装修）
        Renovation = "renovation", "改造";
    }
}

impl InvestmentKind {
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
    /// The usual kind of a category: an old-community project is a renovation, everything else new.
    pub fn usual_for(category: ProjectCategory) -> Self {
        match category {
            ProjectCategory::OldCommunity => Self::Renovation,
            _ => Self::New,
        }
    }
}
