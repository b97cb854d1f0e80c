//! The offices of the service (帮办代办工作机构): the city and its seven county-level divisions.

/// The city office, 滨州市.
pub const CITY_OFFICE: &str = "371600";

/// Every office: (division code, name).
pub const OFFICES: [(&str, &str); 8] = [
    ("371600", "滨州市"),
    ("371602", "滨城区"),
    ("371603", "沾化区"),
    ("371621", "惠民县"),
    ("371622", "阳信县"),
    ("371623", "无棣县"),
    ("371625", "博兴县"),
    ("371681", "邹平市"),
];

/// Is `code` one of our offices?
pub fn is_known_office(code: &str) -> bool {
    OFFICES.iter().any(|(c, _)| *c == code)
}

/// The name of the office with this code.
pub fn office_name(code: &str) -> Option<&'static str> {
    OFFICES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    #[test]
    fn eight_offices_city_first() {
        assert_eq!(super::OFFICES.len(), 8);
        assert!(super::is_known_office("371625"));
        assert!(!super::is_known_office("371699"));
        assert_eq!(super::office_name(super::CITY_OFFICE), Some("滨州市"));
    }
}
