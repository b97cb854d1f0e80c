//! Masking of personal data (个人信息脱敏) for logs, spans, events and responses.

/// `13812341234` → `138****1234`. Anything too short to keep digits is fully masked.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// `370102199003071234` → `3701**********1234` (region kept, birth date hidden).
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len().max(4));
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// A mainland mobile number in a published phone (`13812341234`, `+86 138 1234 1234`, `138-1234-1234`), as
/// 11 bare digits; `None` for a landline (`0543-3000001`) or anything else: only mobiles can be texted.
pub fn mobile_number(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let national = digits.strip_prefix("+86").unwrap_or(&digits);
    (national.len() == 11 && national.starts_with('1') && national.bytes().all(|b| b.is_ascii_digit()))
        .then(|| national.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_phone("123"), "****");
        assert_eq!(mask_id_number("370102199003071234"), "3701**********1234");
        assert!(!mask_id_number("370102199003071234").contains("19900307"));
    }

    #[test]
    fn only_mobiles_are_texted() {
        assert_eq!(mobile_number("13812341234").as_deref(), Some("13812341234"));
        assert_eq!(mobile_number("+86 138 1234 1234").as_deref(), Some("13812341234"));
        assert_eq!(mobile_number("138-1234-1234").as_deref(), Some("13812341234"));
        assert_eq!(mobile_number("0543-3000001"), None);
        assert_eq!(mobile_number("12345"), None);
    }
}
