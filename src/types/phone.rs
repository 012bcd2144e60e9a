//! E.164 phone numbers, shared by the portal's profile and CRM identifiers.

/// E.164: `+`, a country code not starting with 0, 8 to 15 digits in all.
pub fn is_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// The E.164 form of a phone typed with spaces, dots, hyphens or brackets (`+81 90-1234-5678`), or `None`.
/// A number without its `+country` prefix is refused: guessing the country would merge strangers.
pub fn normalize_e164(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    let rest = trimmed.strip_prefix('+')?;
    let digits: String = rest
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let phone = format!("+{digits}");
    is_e164(&phone).then_some(phone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_are_dropped_and_the_prefix_is_required() {
        assert_eq!(
            normalize_e164(" +81 90-1234-5678 ").as_deref(),
            Some("+819012345678")
        );
        assert_eq!(
            normalize_e164("+33 (1) 23.45.67.89").as_deref(),
            Some("+33123456789")
        );
        assert_eq!(normalize_e164("09012345678"), None);
        assert_eq!(normalize_e164("+0 123 456 789"), None);
        assert_eq!(normalize_e164("+81 90 abc"), None);
    }
}
