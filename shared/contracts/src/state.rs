//! States and kinds as enums (状态与类别): one macro gives each its wire and column spelling, its Chinese
//! label, parsing, serde and the sea-orm column mapping, so no service writes `as_str`/`parse` tables by hand
//! and an entity column holds the enum, not a `String`.

use std::fmt;

/// A stored or received value that names no variant of the enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    /// The enum (`ClockStatus`).
    pub kind: &'static str,
    pub value: String,
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a {}", self.value, self.kind)
    }
}

impl std::error::Error for UnknownValue {}

/// Declares an enum of states or kinds: each variant with its snake_case spelling (JSON, database column,
/// subject token) and its Chinese label.
///
/// ```
/// bangban_contracts::labelled_enum! {
///     /// A light.
///     pub enum Light {
///         /// Go.
///         Green = "green", "绿灯";
///         Red = "red", "红灯";
///     }
/// }
/// assert_eq!(Light::Green.as_str(), "green");
/// assert_eq!(Light::parse("red"), Some(Light::Red));
/// assert_eq!(Light::Red.label_zh(), "红灯");
/// assert_eq!("red".parse::<Light>().unwrap(), Light::Red);
/// assert_eq!(serde_json::to_string(&Light::Green).unwrap(), "\"green\"");
/// ```
///
/// Derives `Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize` and sea-orm's `DeriveValueType`
/// (a `String` column); add `ToSchema` and others with attributes before `pub enum`.
#[macro_export]
macro_rules! labelled_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $s:tt, $zh:tt ; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sea_orm::DeriveValueType)]
        #[sea_orm(value_type = "String")]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $s)] $variant, )*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The snake_case spelling (JSON, database, subjects).
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }

            /// The Chinese label people read.
            pub const fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh,)* }
            }

            /// The variant spelled `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::state::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s).ok_or_else(|| $crate::state::UnknownValue { kind: stringify!($name), value: s.to_string() })
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::labelled_enum! {
        /// A test enum.
        #[derive(utoipa::ToSchema)]
        pub enum Light {
            Green = "green", "绿灯";
            /// Stop.
            Red = "red", "红灯";
        }
    }

    #[test]
    fn spellings_round_trip() {
        for l in Light::ALL {
            assert_eq!(Light::parse(l.as_str()), Some(*l));
            assert_eq!(serde_json::to_value(l).unwrap(), serde_json::Value::String(l.as_str().into()));
            assert_eq!(serde_json::from_value::<Light>(serde_json::json!(l.as_str())).unwrap(), *l);
        }
        assert_eq!(Light::Red.label_zh(), "红灯");
        let e = "blue".parse::<Light>().unwrap_err();
        assert_eq!(e.to_string(), "\"blue\" is not a Light");
        assert_eq!(sea_orm::Value::from(Light::Green), sea_orm::Value::from("green"));
    }

    #[test]
    fn the_openapi_schema_spells_variants_as_the_wire_does() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(Light::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["green", "red"]), "{schema}");
    }
}
