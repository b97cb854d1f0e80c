//! Validation of identity numbers (证件号码校验): resident ID numbers (居民身份证号码, GB 11643-1999),
//! unified social credit codes (统一社会信用代码, GB 32100-2015) and mainland mobile numbers (手机号码).
//!
//! Each validator takes the request field's path and the raw value, and returns the normalised value
//! (what is stored, encrypted or blind-indexed) or one [`FieldError`] that names the field and says why,
//! in Chinese and English. Reasons never echo the value or any part of it: the value is personal data
//! and problem documents may end up in logs.

use bangban_platform::{clock, problem::FieldError};
use chrono::{Datelike, FixedOffset, NaiveDate};

// ---------------------------------------------------------------------------------------------------------------
// Resident ID number (居民身份证号码, GB 11643-1999)
// ---------------------------------------------------------------------------------------------------------------

/// Weights W_i of the ISO 7064 MOD 11-2 check over the 17 body digits (GB 11643-1999 §8.2): 2^(18-i) mod 11.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character for each value of `Σ(a_i × W_i) mod 11` (GB 11643-1999 §8.2).
const ID_CHECK_CHARS: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Earliest birth year accepted in a resident ID number (出生日期下限).
pub const ID_EARLIEST_BIRTH_YEAR: i32 = 1900;

/// Province-level division codes (省级行政区划代码, GB/T 2260) that may open an 18-digit ID number
/// (居民身份证号码) or a residence permit number (居住证号码) of the same format:
/// 11–15, 21–23, 31–37, 41–46, 50–54, 61–65 (the mainland provinces, autonomous regions and
/// municipalities), 71 (Taiwan, 台湾省, as listed in GB/T 2260), and 81, 82, 83, which open the numbers of
/// residence permits for residents of Hong Kong (香港), Macao (澳门) and Taiwan (台湾) living on the mainland
/// (港澳台居民居住证, issued since 2018 with the same check digit rule).
///
/// The foreigners' permanent residence ID card of 2023 (外国人永久居留身份证, opening with `9`) is not a
/// resident ID number and is not accepted here.
pub fn is_id_region_code(code: u32) -> bool {
    matches!(code, 11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83)
}

/// The check character (校验码) of the 17 body digits of a resident ID number, by ISO 7064 MOD 11-2:
/// `ID_CHECK_CHARS[Σ(a_i × W_i) mod 11]`. `None` unless `body` is exactly 17 ASCII digits.
pub fn id_check_char(body: &str) -> Option<char> {
    if body.len() != 17 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body.bytes().zip(ID_WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    Some(ID_CHECK_CHARS[(sum % 11) as usize])
}

/// Today's date in China Standard Time (北京时间, UTC+8): the day against which birth dates are checked.
pub fn today_in_china() -> NaiveDate {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    clock::now().with_timezone(&cst).date_naive()
}

/// Validates a resident ID number (居民身份证号码) as of today in China; see [`validate_id_number_on`].
pub fn validate_id_number(field: &str, value: &str) -> Result<String, FieldError> {
    validate_id_number_on(field, value, today_in_china())
}

/// Validates an 18-character resident ID number (居民身份证号码, GB 11643-1999) as of `today`, and returns
/// it normalised: surrounding whitespace removed, a lower-case check character `x` made `X`.
///
/// Checks, in this order, each with its own reason: not empty; 18 characters; 17 digits then a digit or
/// `X`; a province-level region code (see [`is_id_region_code`]); a birth date (positions 7–14) that is a
/// real date, not before [`ID_EARLIEST_BIRTH_YEAR`] and not after `today`; the MOD 11-2 check character.
/// The reasons do not reveal the expected check character.
pub fn validate_id_number_on(field: &str, value: &str, today: NaiveDate) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "居民身份证号码不能为空", "the resident ID number must not be empty"));
    }
    let count = value.chars().count();
    if count != 18 {
        return Err(FieldError::new(
            field,
            format!("居民身份证号码应为18位，实际为{count}位"),
            format!("a resident ID number has 18 characters, this one has {count}"),
        ));
    }
    // 18 characters; a valid number is ASCII, so byte positions below are character positions.
    let normalised = value.to_ascii_uppercase();
    let bytes = normalised.as_bytes();
    let shape_ok = bytes.len() == 18
        && bytes[..17].iter().all(u8::is_ascii_digit)
        && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
    if !shape_ok {
        return Err(FieldError::new(
            field,
            "居民身份证号码前17位应为数字，最后一位应为数字或字母X",
            "a resident ID number has 17 digits followed by a digit or the letter X",
        ));
    }
    let digits =
        |range: std::ops::Range<usize>| -> u32 { bytes[range].iter().fold(0, |n, b| n * 10 + u32::from(b - b'0')) };
    if !is_id_region_code(digits(0..2)) {
        return Err(FieldError::new(
            field,
            "居民身份证号码前两位不是有效的省级行政区划代码",
            "the first two digits of the resident ID number are not a valid province-level region code",
        ));
    }
    let (year, month, day) = (digits(6..10) as i32, digits(10..12), digits(12..14));
    let Some(birth) = NaiveDate::from_ymd_opt(year, month, day) else {
        return Err(FieldError::new(
            field,
            "居民身份证号码第7至14位的出生日期不是有效日期",
            "the birth date in positions 7 to 14 of the resident ID number is not a real date",
        ));
    };
    if birth.year() < ID_EARLIEST_BIRTH_YEAR {
        return Err(FieldError::new(
            field,
            format!("居民身份证号码中的出生日期不能早于{ID_EARLIEST_BIRTH_YEAR}年"),
            format!("the birth date in the resident ID number must not be before {ID_EARLIEST_BIRTH_YEAR}"),
        ));
    }
    if birth > today {
        return Err(FieldError::new(
            field,
            "居民身份证号码中的出生日期不能晚于今天",
            "the birth date in the resident ID number must not be in the future",
        ));
    }
    if id_check_char(&normalised[..17]) != Some(char::from(bytes[17])) {
        return Err(FieldError::new(
            field,
            "居民身份证号码校验位不正确，请核对号码",
            "the check character of the resident ID number is wrong; please check the number",
        ));
    }
    Ok(normalised)
}

// ---------------------------------------------------------------------------------------------------------------
// Unified social credit code (统一社会信用代码, GB 32100-2015)
// ---------------------------------------------------------------------------------------------------------------

/// The 31 characters of a unified social credit code, in order of their values 0–30 (GB 32100-2015
/// table 2): the digits and the capital letters without I, O, Z, S and V.
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights W_i = 3^(i-1) mod 31 of the check over the first 17 characters (GB 32100-2015 §5).
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Registration authority codes (登记管理部门代码), position 1 of a unified social credit code:
/// `1` 机构编制, `2` 外交, `3` 司法行政, `4` 文化, `5` 民政, `6` 旅游, `7` 宗教, `8` 工会,
/// `9` 工商（市场监管）, `A` 中央军委改革和编制办公室, `N` 农业, `Y` 其他.
/// GB 32100-2015 itself lists 1, 5, 9 and Y; the others were assigned under it since.
pub const USCC_AUTHORITY_CODES: &[u8] = b"123456789ANY";

/// Value 0–30 of one character of a unified social credit code (`0`–`9` → 0–9, `A` → 10 … `Y` → 30),
/// or `None` for a character outside the code's set (including I, O, Z, S, V and lower case).
fn uscc_value(c: u8) -> Option<u32> {
    USCC_CHARS.iter().position(|&x| x == c).map(|p| p as u32)
}

/// The check character (校验码) of the first 17 characters of a unified social credit code:
/// `C18 = 31 − (Σ(C_i × W_i) mod 31)`, where 31 becomes 0. `None` unless `body` is 17 characters of the
/// code's set, in upper case.
pub fn credit_code_check_char(body: &str) -> Option<char> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.bytes().zip(USCC_WEIGHTS) {
        sum += uscc_value(c)? * w;
    }
    let value = (31 - sum % 31) % 31;
    Some(char::from(USCC_CHARS[value as usize]))
}

/// Validates an 18-character unified social credit code (统一社会信用代码, GB 32100-2015) and returns it
/// normalised: surrounding whitespace removed, upper case.
///
/// Checks, in this order, each with its own reason: not empty; 18 characters; every character one of
/// `0-9 A-H J-N P-R T U W-Y` (no I, O, Z, S, V); position 1 a registration authority code (see
/// [`USCC_AUTHORITY_CODES`]); positions 3–8 the six digits of a division code (登记管理机关行政区划码);
/// the check character. Position 2 (机构类别代码) and the organisation code inside positions 9–17
/// (组织机构代码, GB 11714) are not checked separately.
pub fn validate_credit_code(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(
            field,
            "统一社会信用代码不能为空",
            "the unified social credit code must not be empty",
        ));
    }
    let count = value.chars().count();
    if count != 18 {
        return Err(FieldError::new(
            field,
            format!("统一社会信用代码应为18位，实际为{count}位"),
            format!("a unified social credit code has 18 characters, this one has {count}"),
        ));
    }
    let normalised = value.to_ascii_uppercase();
    let bytes = normalised.as_bytes();
    if bytes.len() != 18 || !bytes.iter().all(|&c| uscc_value(c).is_some()) {
        return Err(FieldError::new(
            field,
            "统一社会信用代码只能由数字和除I、O、Z、S、V以外的大写英文字母组成",
            "a unified social credit code consists of digits and capital letters other than I, O, Z, S and V",
        ));
    }
    if !USCC_AUTHORITY_CODES.contains(&bytes[0]) {
        return Err(FieldError::new(
            field,
            "统一社会信用代码第1位不是有效的登记管理部门代码",
            "the first character of the unified social credit code is not a valid registration authority code",
        ));
    }
    if !bytes[2..8].iter().all(u8::is_ascii_digit) {
        return Err(FieldError::new(
            field,
            "统一社会信用代码第3至8位应为登记管理机关的行政区划码（6位数字）",
            "positions 3 to 8 of the unified social credit code must be the six-digit division code of the \
             registration authority",
        ));
    }
    if credit_code_check_char(&normalised[..17]) != Some(char::from(bytes[17])) {
        return Err(FieldError::new(
            field,
            "统一社会信用代码校验位不正确，请核对代码",
            "the check character of the unified social credit code is wrong; please check the code",
        ));
    }
    Ok(normalised)
}

// ---------------------------------------------------------------------------------------------------------------
// Mainland mobile number (手机号码)
// ---------------------------------------------------------------------------------------------------------------

/// Validates a mainland China mobile number (中国大陆手机号码) and returns its 11 digits.
///
/// Spaces and hyphens anywhere are ignored, and a country code `+86` or `86` in front is removed
/// (`+86 138-1234-1234` → `13812341234`). What remains must be 11 digits starting with `13`–`19`.
/// Other country codes (`+852 …`) are refused: SMS reminders (§6.2) go to mainland numbers.
pub fn validate_mobile(field: &str, value: &str) -> Result<String, FieldError> {
    let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{3000}')).collect();
    if compact.is_empty() {
        return Err(FieldError::new(field, "手机号码不能为空", "the mobile number must not be empty"));
    }
    let national = if let Some(rest) = compact.strip_prefix('+') {
        match rest.strip_prefix("86") {
            Some(national) if rest.bytes().all(|b| b.is_ascii_digit()) => national,
            _ if rest.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(FieldError::new(
                    field,
                    "仅支持中国大陆手机号码（国家代码+86）",
                    "only mainland China mobile numbers (country code +86) are accepted",
                ));
            }
            _ => compact.as_str(),
        }
    } else if compact.len() == 13 && compact.starts_with("86") {
        &compact[2..]
    } else {
        compact.as_str()
    };
    if !national.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FieldError::new(
            field,
            "手机号码只能包含数字，可带+86前缀，可用空格或连字符分隔",
            "a mobile number consists of digits, optionally after +86 and separated by spaces or hyphens",
        ));
    }
    if national.len() != 11 {
        return Err(FieldError::new(
            field,
            format!("手机号码应为11位数字，实际为{}位", national.len()),
            format!("a mobile number has 11 digits, this one has {}", national.len()),
        ));
    }
    let b = national.as_bytes();
    if b[0] != b'1' || !(b'3'..=b'9').contains(&b[1]) {
        return Err(FieldError::new(field, "手机号码应以13至19开头", "a mainland mobile number starts with 13 to 19"));
    }
    Ok(national.to_owned())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// A fixed "today" so the tests do not depend on the clock.
    fn today() -> NaiveDate {
        day(2026, 3, 15)
    }

    fn id(value: &str) -> Result<String, FieldError> {
        validate_id_number_on("applicant.id_number", value, today())
    }

    fn id_reason_en(value: &str) -> String {
        let e = id(value).unwrap_err();
        assert_eq!(e.field, "applicant.id_number");
        assert!(!e.reason.is_empty());
        e.reason_en
    }

    // --- resident ID numbers ----------------------------------------------------------------------------------

    #[test]
    fn id_number_example_of_the_standard_is_valid() {
        // GB 11643-1999 annex example (北京市朝阳区, female, born 1949-12-31):
        // body     1  1  0  1  0  5  1  9  4  9  1  2  3  1  0  0  2
        // weights  7  9 10  5  8  4  2  1  6  3  7  9 10  5  8  4  2
        // products 7  9  0  5  0 20  2  9 24 27  7 18 30  5  0  0  4  → Σ = 167
        // 167 mod 11 = 2 → check characters 1 0 X 9 8 7 6 5 4 3 2 → index 2 = X
        assert_eq!(id_check_char("11010519491231002"), Some('X'));
        assert_eq!(id("11010519491231002X").unwrap(), "11010519491231002X");
    }

    #[test]
    fn id_number_lower_case_x_and_whitespace_are_normalised() {
        assert_eq!(id(" 11010519491231002x\t").unwrap(), "11010519491231002X");
    }

    #[test]
    fn id_number_synthetic_binzhou_examples_are_valid() {
        // 滨城区 371602, born 1990-03-07, sequence 123 (synthetic, not a real person's number):
        // body     3  7  1  6  0  2  1  9  9  0  0  3  0  7  1  2  3
        // products 21 63 10 30  0  8  2  9 54  0  0 27  0 35  8  8  6  → Σ = 281
        // 281 mod 11 = 6 → index 6 = 6
        assert_eq!(id_check_char("37160219900307123"), Some('6'));
        assert_eq!(id("371602199003071236").unwrap(), "371602199003071236");

        // 博兴县 371625, born 2000-02-29 (a leap day), sequence 002 (synthetic):
        // body     3  7  1  6  2  5  2  0  0  0  0  2  2  9  0  0  2
        // products 21 63 10 30 16 20  4  0  0  0  0 18 20 45  0  0  4  → Σ = 251
        // 251 mod 11 = 9 → index 9 = 3
        assert_eq!(id_check_char("37162520000229002"), Some('3'));
        assert_eq!(id("371625200002290023").unwrap(), "371625200002290023");

        // 邹平市 371681, born 1985-06-01, sequence 009 (synthetic), check character X:
        // body     3  7  1  6  8  1  1  9  8  5  0  6  0  1  0  0  9
        // products 21 63 10 30 64  4  2  9 48 15  0 54  0  5  0  0 18  → Σ = 343
        // 343 mod 11 = 2 → index 2 = X
        assert_eq!(id_check_char("37168119850601009"), Some('X'));
        assert_eq!(id("37168119850601009X").unwrap(), "37168119850601009X");
        assert_eq!(id("37168119850601009x").unwrap(), "37168119850601009X");
    }

    #[test]
    fn id_number_born_today_is_valid_and_tomorrow_is_not() {
        // 济南市历下区 370102, born on the fixed "today" 2026-03-15, sequence 001 (synthetic).
        let body = "37010220260315001";
        let check = id_check_char(body).unwrap();
        assert_eq!(id(&format!("{body}{check}")).unwrap(), format!("{body}{check}"));
        let body = "37010220260316001";
        let check = id_check_char(body).unwrap();
        assert!(id_reason_en(&format!("{body}{check}")).contains("future"));
    }

    #[test]
    fn id_number_wrong_check_character_is_refused() {
        assert!(id_reason_en("110105194912310021").contains("check character"));
        assert!(id_reason_en("371602199003071234").contains("check character"));
        // The reason does not give the expected character away.
        let e = id("110105194912310021").unwrap_err();
        assert!(!e.reason.contains('X') && !e.reason_en.contains(" X"));
    }

    #[test]
    fn id_number_wrong_length_is_refused() {
        assert!(id_reason_en("11010519491231002").contains("18 characters, this one has 17"));
        assert!(id_reason_en("11010519491231002X0").contains("this one has 19"));
        // The 15-digit numbers of the first generation are no longer valid.
        assert!(id_reason_en("110105491231002").contains("this one has 15"));
        assert!(id_reason_en("   ").contains("must not be empty"));
    }

    #[test]
    fn id_number_bad_characters_are_refused() {
        for bad in ["11010519491231002Y", "1101051949123100X2", "11010519491231 02X", "１１010519491231002X"] {
            let e = id(bad).unwrap_err();
            assert!(e.reason_en.contains("17 digits"), "{bad}: {}", e.reason_en);
        }
    }

    #[test]
    fn id_number_impossible_dates_are_refused() {
        for (body, what) in [
            ("37160219990230123", "1999-02-30"),
            ("37160219900229123", "1990-02-29, not a leap year"),
            ("37160219001301123", "month 13"),
            ("37160219900000123", "month 0"),
            ("37160219900431123", "April 31"),
        ] {
            let number = format!("{body}{}", id_check_char(body).unwrap());
            assert!(id_reason_en(&number).contains("not a real date"), "{what}");
        }
    }

    #[test]
    fn id_number_birth_before_1900_is_refused() {
        // The standard's second example (广东省汕头市潮阳县, male, born 1880-01-01) has a valid check
        // character but a birth year before the bound:
        // body     4  4  0  5  2  4  1  8  8  0  0  1  0  1  0  0  1
        // products 28 36  0 25 16 16  2  8 48  0  0  9  0  5  0  0  2  → Σ = 195
        // 195 mod 11 = 8 → index 8 = 4
        assert_eq!(id_check_char("44052418800101001"), Some('4'));
        assert!(id_reason_en("440524188001010014").contains("before 1900"));
        // 1900-02-29 does not exist (1900 is not a leap year).
        let body = "37160219000229123";
        assert!(id_reason_en(&format!("{body}{}", id_check_char(body).unwrap())).contains("not a real date"));
    }

    #[test]
    fn id_number_future_birth_date_is_refused() {
        let body = "37160220300101123";
        assert!(id_reason_en(&format!("{body}{}", id_check_char(body).unwrap())).contains("future"));
    }

    #[test]
    fn id_number_bad_region_is_refused() {
        for region in [
            "00", "10", "16", "20", "24", "30", "38", "40", "47", "49", "55", "60", "66", "70", "72", "80", "84", "91",
            "99",
        ] {
            let body = format!("{region}160219900307123");
            let number = format!("{body}{}", id_check_char(&body).unwrap());
            assert!(id_reason_en(&number).contains("region code"), "{region}");
        }
    }

    #[test]
    fn id_number_every_listed_region_is_accepted() {
        let regions: Vec<u32> = (0..100).filter(|&r| is_id_region_code(r)).collect();
        assert_eq!(regions.len(), 5 + 3 + 7 + 6 + 5 + 5 + 1 + 3);
        for region in regions {
            let body = format!("{region:02}010219900307123");
            let number = format!("{body}{}", id_check_char(&body).unwrap());
            assert_eq!(id(&number).unwrap(), number);
        }
    }

    #[test]
    fn id_number_wrapper_uses_today() {
        assert_eq!(validate_id_number("id_number", "11010519491231002X").unwrap(), "11010519491231002X");
        let utc = Utc::now().date_naive();
        assert!((today_in_china() - utc).num_days() == 0 || (today_in_china() - utc).num_days() == 1);
    }

    // --- unified social credit codes --------------------------------------------------------------------------

    fn uscc(value: &str) -> Result<String, FieldError> {
        validate_credit_code("applicant.credit_code", value)
    }

    fn uscc_reason_en(value: &str) -> String {
        let e = uscc(value).unwrap_err();
        assert_eq!(e.field, "applicant.credit_code");
        assert!(!e.reason.is_empty());
        e.reason_en
    }

    #[test]
    fn credit_codes_of_well_known_companies_are_valid() {
        // Codes printed on public business licences (企业信用信息公示系统).
        // 华为技术有限公司 914403001922038216:
        // chars    9  1  4  4  0  3  0  0  1  9  2  2  0  3  8  2  1
        // weights  1  3  9 27 19 26 16 17 20 29 25 13  8 24 10 30 28
        // products 9  3 36 108 0 78  0  0 20 261 50 26 0 72 80 60 28 → Σ = 831
        // 831 mod 31 = 25 (31 × 26 = 806) → 31 − 25 = 6
        assert_eq!(credit_code_check_char("91440300192203821"), Some('6'));
        assert_eq!(uscc("914403001922038216").unwrap(), "914403001922038216");

        // 深圳市腾讯计算机系统有限公司 91440300708461136T:
        // chars    9  1  4  4  0  3  0  0  7  0  8  4  6  1  1  3  6
        // products 9  3 36 108 0 78  0  0 140 0 200 52 48 24 10 90 168 → Σ = 966
        // 966 mod 31 = 5 (31 × 31 = 961) → 31 − 5 = 26 = T
        assert_eq!(credit_code_check_char("91440300708461136"), Some('T'));
        assert_eq!(uscc("91440300708461136T").unwrap(), "91440300708461136T");

        // 北京百度网讯科技有限公司 91110000802100433B:
        // chars    9  1  1  1  0  0  0  0  8  0  2  1  0  0  4  3  3
        // products 9  3  9 27  0  0  0  0 160 0 50 13  0  0 40 90 84  → Σ = 485
        // 485 mod 31 = 20 (31 × 15 = 465) → 31 − 20 = 11 = B
        assert_eq!(credit_code_check_char("91110000802100433"), Some('B'));
        assert_eq!(uscc("91110000802100433B").unwrap(), "91110000802100433B");

        // 小米科技有限责任公司 91110108551385082Q:
        // chars    9  1  1  1  0  1  0  8  5  5  1  3  8  5  0  8  2
        // products 9  3  9 27  0 26  0 136 100 145 25 39 64 120 0 240 56 → Σ = 999
        // 999 mod 31 = 7 (31 × 32 = 992) → 31 − 7 = 24 = Q
        assert_eq!(credit_code_check_char("91110108551385082"), Some('Q'));
        assert_eq!(uscc("91110108551385082Q").unwrap(), "91110108551385082Q");
    }

    #[test]
    fn credit_code_check_value_31_becomes_0() {
        // A synthetic body whose sum is a multiple of 31: 31 − 0 = 31 → 0.
        let body = "91371600000000000";
        // chars    9  1  3  7  1  6  0 …
        // products 9  3 27 189 19 156 0 … → Σ = 403 = 31 × 13
        assert_eq!(credit_code_check_char(body), Some('0'));
        assert_eq!(uscc("913716000000000000").unwrap(), "913716000000000000");
    }

    #[test]
    fn credit_code_lower_case_is_normalised() {
        assert_eq!(uscc(" 91440300708461136t ").unwrap(), "91440300708461136T");
    }

    #[test]
    fn credit_code_wrong_check_character_is_refused() {
        for bad in ["914403001922038217", "91440300708461136U", "91110000802100433A", "91110108551385082R"] {
            assert!(uscc_reason_en(bad).contains("check character"), "{bad}");
        }
    }

    #[test]
    fn credit_code_wrong_length_is_refused() {
        assert!(uscc_reason_en("91440300708461136").contains("this one has 17"));
        assert!(uscc_reason_en("91440300708461136T0").contains("this one has 19"));
        assert!(uscc_reason_en("").contains("must not be empty"));
    }

    #[test]
    fn credit_code_letters_outside_the_set_are_refused() {
        // I, O, Z, S, V are not used (they look like 1, 0, 2, 5, U), nor any punctuation.
        for c in ['I', 'O', 'Z', 'S', 'V', 'i', 'o', 'z', 's', 'v', '-', '*'] {
            let bad = format!("9144030070846113{c}T");
            assert!(uscc_reason_en(&bad).contains("other than I, O, Z, S and V"), "{bad}");
        }
        assert!(uscc_reason_en("91440300708461136Ｔ").contains("other than I, O, Z, S and V"));
    }

    #[test]
    fn credit_code_unknown_registration_authority_is_refused() {
        for first in ['0', 'B', 'C', 'X', 'W'] {
            let body = format!("{first}1440300708461136");
            let code = format!("{body}{}", credit_code_check_char(&body).unwrap());
            assert!(uscc_reason_en(&code).contains("registration authority"), "{code}");
        }
        for first in ['1', '5', '9', 'Y', 'A', 'N', '2', '8'] {
            let body = format!("{first}1371600MB1234567");
            let code = format!("{body}{}", credit_code_check_char(&body).unwrap());
            assert_eq!(uscc(&code).unwrap(), code);
        }
    }

    #[test]
    fn credit_code_division_code_must_be_digits() {
        let body = "9144A300708461136";
        let code = format!("{body}{}", credit_code_check_char(body).unwrap());
        assert!(uscc_reason_en(&code).contains("division code"));
    }

    // --- mobile numbers ---------------------------------------------------------------------------------------

    fn mobile(value: &str) -> Result<String, FieldError> {
        validate_mobile("applicant.phone", value)
    }

    fn mobile_reason_en(value: &str) -> String {
        let e = mobile(value).unwrap_err();
        assert_eq!(e.field, "applicant.phone");
        assert!(!e.reason.is_empty());
        e.reason_en
    }

    #[test]
    fn mobile_numbers_are_normalised_to_11_digits() {
        for (raw, want) in [
            ("13812341234", "13812341234"),
            ("138 1234 1234", "13812341234"),
            ("138-1234-1234", "13812341234"),
            ("+8613812341234", "13812341234"),
            ("+86 138 1234 1234", "13812341234"),
            ("+86-138-1234-1234", "13812341234"),
            ("8613812341234", "13812341234"),
            ("86 199 0000 0000", "19900000000"),
            (" 15312345678 ", "15312345678"),
        ] {
            assert_eq!(mobile(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn mobile_wrong_prefix_is_refused() {
        for bad in ["12812341234", "10012341234", "23812341234", "05431234567"] {
            assert!(mobile_reason_en(bad).contains("starts with 13 to 19"), "{bad}");
        }
    }

    #[test]
    fn mobile_wrong_length_is_refused() {
        assert!(mobile_reason_en("1381234123").contains("this one has 10"));
        assert!(mobile_reason_en("138123412345").contains("this one has 12"));
        assert!(mobile_reason_en("+861381234123").contains("this one has 10"));
        assert!(mobile_reason_en(" - ").contains("must not be empty"));
    }

    #[test]
    fn mobile_bad_characters_and_foreign_numbers_are_refused() {
        for bad in ["1381234123a", "138.1234.1234", "(138)12341234", "+86 138 1234 123x", "++8613812341234"] {
            assert!(mobile_reason_en(bad).contains("consists of digits"), "{bad}");
        }
        assert!(mobile_reason_en("+85291234567").contains("+86"));
        assert!(mobile_reason_en("+1 415 555 0100").contains("+86"));
    }

    #[test]
    fn reasons_never_echo_the_value() {
        for e in [
            id("110105194912310021").unwrap_err(),
            id("37160219990230123X").unwrap_err(),
            uscc("914403001922038217").unwrap_err(),
            mobile("12812341234").unwrap_err(),
        ] {
            for part in ["1949", "0230", "1922038", "2341234"] {
                assert!(!e.reason.contains(part) && !e.reason_en.contains(part), "{e:?}");
            }
        }
    }
}
