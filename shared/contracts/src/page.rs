//! Paging of lists (分页): the `limit` (每页条数) and `offset` (偏移量) of every list query, checked when the
//! query is decoded.
//!
//! Every list query of the contracts decodes its `limit` with [`limit`] and its `offset` with [`offset`], so
//! a value no database takes (an `offset` beyond `i64::MAX` panicked inside the SQLite binding) is the
//! client's mistake, answered at once with a problem naming the field, and the OpenAPI document states the
//! same bounds (`#[param(minimum, maximum)]` beside the attribute). Services still hand the database only
//! [`db_offset`], never a raw `u64`.
//!
//! ```ignore
//! /// Page size, 1–200 (default 50).
//! #[serde(default, deserialize_with = "crate::page::limit::<200, _>")]
//! #[param(minimum = 1, maximum = 200)]
//! #[schema(minimum = 1, maximum = 200)]
//! pub limit: Option<u64>,
//! /// Rows to skip, 0–1 000 000 000 (default 0).
//! #[serde(default, deserialize_with = "crate::page::offset")]
//! #[param(minimum = 0, maximum = 1000000000)]
//! #[schema(minimum = 0, maximum = 1000000000)]
//! pub offset: Option<u64>,
//! ```

use std::fmt;

use serde::{
    Deserializer,
    de::{self, Visitor},
};

/// The largest `offset` of every list (最大偏移量): 1 000 000 000 rows, far beyond any list Bangban keeps and
/// far within the `i64` that SQLite and PostgreSQL take. The OpenAPI `maximum` of every `offset`.
pub const MAX_OFFSET: u64 = 1_000_000_000;

/// Default page size of the lists that do not say otherwise (默认每页条数).
pub const DEFAULT_LIMIT: u64 = 50;

/// Largest page size of the lists that do not say otherwise (每页最多条数).
pub const MAX_LIMIT: u64 = 200;

/// What separates the English reason from the Chinese one in the message of a paging error; see
/// [`reasons`].
const SEPARATOR: &str = " · ";

/// The English reasons of paging errors begin so; see [`reasons`].
const EN_PREFIX: &str = "must be a whole number from ";

/// Decodes an optional `offset`: a whole number from 0 to [`MAX_OFFSET`], as a number or as text (a
/// query string's value).
pub fn offset<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    deserializer.deserialize_option(Bounded { min: 0, max: MAX_OFFSET })
}

/// Decodes an optional `limit`: a whole number from 1 to `MAX`, as a number or as text. Used as
/// `deserialize_with = "crate::page::limit::<200, _>"`.
pub fn limit<'de, const MAX: u64, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    deserializer.deserialize_option(Bounded { min: 1, max: MAX })
}

/// The offset to give the database (defence in depth): absent is 0, and never more than [`MAX_OFFSET`],
/// whatever reached the service.
pub fn db_offset(offset: Option<u64>) -> u64 {
    offset.unwrap_or(0).min(MAX_OFFSET)
}

/// The Chinese and English reasons of a message this module's decoders produced, `None` for any other
/// message. The message carries both languages because a decoder's error is a single string.
pub fn reasons(message: &str) -> Option<(&str, &str)> {
    let (en, zh) = message.split_once(SEPARATOR)?;
    en.starts_with(EN_PREFIX).then_some((zh, en))
}

/// The message of a value outside `min..=max`: English, [`SEPARATOR`], Chinese.
fn out_of_range(min: u64, max: u64) -> String {
    format!("{EN_PREFIX}{min} to {max}{SEPARATOR}须为 {min} 至 {max} 之间的整数")
}

/// A whole number within `min..=max`, or nothing.
struct Bounded {
    min: u64,
    max: u64,
}

impl Bounded {
    fn check<E: de::Error>(&self, value: u64) -> Result<Option<u64>, E> {
        if (self.min..=self.max).contains(&value) {
            Ok(Some(value))
        } else {
            Err(E::custom(out_of_range(self.min, self.max)))
        }
    }
}

impl<'de> Visitor<'de> for Bounded {
    type Value = Option<u64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a whole number from {} to {}", self.min, self.max)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        self.check(value)
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        match u64::try_from(value) {
            Ok(value) => self.check(value),
            Err(_) => Err(E::custom(out_of_range(self.min, self.max))),
        }
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Self::Value, E> {
        match u64::try_from(value) {
            Ok(value) => self.check(value),
            Err(_) => Err(E::custom(out_of_range(self.min, self.max))),
        }
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Self::Value, E> {
        match u64::try_from(value) {
            Ok(value) => self.check(value),
            Err(_) => Err(E::custom(out_of_range(self.min, self.max))),
        }
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(E::custom(out_of_range(self.min, self.max)))
    }

    /// A query string's value: digits only (no sign, no spaces), or too large for any number.
    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(out_of_range(self.min, self.max)));
        }
        match value.parse::<u64>() {
            Ok(value) => self.check(value),
            Err(_) => Err(E::custom(out_of_range(self.min, self.max))),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Query {
        #[serde(default, deserialize_with = "crate::page::limit::<100, _>")]
        limit: Option<u64>,
        #[serde(default, deserialize_with = "crate::page::offset")]
        offset: Option<u64>,
    }

    fn decode(json: &str) -> Result<(Option<u64>, Option<u64>), String> {
        serde_json::from_str::<Query>(json).map(|q| (q.limit, q.offset)).map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_the_bounds_as_numbers_text_or_nothing() {
        assert_eq!(decode("{}"), Ok((None, None)));
        assert_eq!(decode(r#"{"limit":null,"offset":null}"#), Ok((None, None)));
        assert_eq!(decode(r#"{"limit":1,"offset":0}"#), Ok((Some(1), Some(0))));
        assert_eq!(decode(r#"{"limit":100,"offset":1000000000}"#), Ok((Some(100), Some(MAX_OFFSET))));
        assert_eq!(decode(r#"{"limit":"7","offset":"1000000000"}"#), Ok((Some(7), Some(MAX_OFFSET))));
    }

    #[test]
    fn refuses_what_no_database_takes_in_both_languages() {
        for offset in
            ["1000000001", "9223372036854775808", "18446744073709551616", "-1", "1.5", "\"\"", "\"1e3\"", "\" 1\""]
        {
            let e = decode(&format!(r#"{{"offset":{offset}}}"#)).unwrap_err();
            let message = e.split(" at line ").next().unwrap();
            let (zh, en) = reasons(message).unwrap_or_else(|| panic!("{offset}: {e}"));
            assert_eq!(zh, "须为 0 至 1000000000 之间的整数", "{offset}");
            assert_eq!(en, "must be a whole number from 0 to 1000000000", "{offset}");
        }
        for limit in ["0", "101", "\"0\"", "-5"] {
            let e = decode(&format!(r#"{{"limit":{limit}}}"#)).unwrap_err();
            let (zh, _) = reasons(e.split(" at line ").next().unwrap()).unwrap_or_else(|| panic!("{limit}: {e}"));
            assert_eq!(zh, "须为 1 至 100 之间的整数", "{limit}");
        }
    }

    #[test]
    fn other_messages_are_not_paging_reasons() {
        assert_eq!(reasons("invalid digit found in string"), None);
        assert_eq!(reasons("unknown field `x` · 未知"), None);
    }

    #[test]
    fn the_database_never_gets_more_than_the_maximum() {
        assert_eq!(db_offset(None), 0);
        assert_eq!(db_offset(Some(7)), 7);
        assert_eq!(db_offset(Some(u64::MAX)), MAX_OFFSET);
        assert!(i64::try_from(MAX_OFFSET).is_ok());
    }
}
