//! Project attributes (项目属性) as stored: the `as_str` spelling of each value, which is also its
//! JSON spelling, and back.

use bangban_contracts::project::{ConstructionKind, InvestmentKind, LandSupply};

/// The investment kind stored as `s`, `None` for an unknown spelling.
pub fn investment_kind(s: &str) -> Option<InvestmentKind> {
    InvestmentKind::ALL.into_iter().find(|k| k.as_str() == s)
}

/// The land supply stored as `s`, `None` for an unknown spelling.
pub fn land_supply(s: &str) -> Option<LandSupply> {
    LandSupply::ALL.into_iter().find(|k| k.as_str() == s)
}

/// The construction kind stored as `s`, `None` for an unknown spelling.
pub fn construction(s: &str) -> Option<ConstructionKind> {
    ConstructionKind::ALL.into_iter().find(|k| k.as_str() == s)
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    /// Every value reads back from what is stored, and is stored as JSON spells it.
    fn round_trips<T: Copy + PartialEq + std::fmt::Debug + Serialize>(
        all: &[T],
        as_str: fn(&T) -> &'static str,
        parse: fn(&str) -> Option<T>,
    ) {
        for v in all {
            assert_eq!(parse(as_str(v)), Some(*v));
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(as_str(v)));
        }
        assert_eq!(parse("stolen"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn every_attribute_reads_back_what_is_stored() {
        round_trips(&InvestmentKind::ALL, InvestmentKind::as_str, investment_kind);
        round_trips(&LandSupply::ALL, LandSupply::as_str, land_supply);
        round_trips(&ConstructionKind::ALL, ConstructionKind::as_str, construction);
    }
}
