//! Salesforce Number and Currency fields come back as JSON doubles (`101.0`, `2980.0`), and through some
//! APIs as strings. These read them exactly or refuse them.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("missing")]
    Missing,
    #[error("not a number: {0}")]
    NotANumber(String),
    #[error("not a whole number: {0}")]
    NotWhole(String),
    #[error("has more than two decimals: {0}")]
    TooPrecise(String),
    #[error("out of range: {0}")]
    OutOfRange(String),
    #[error("not positive")]
    NotPositive,
}

/// A whole number: `103`, `103.0` or `"103"`.
pub fn whole_number(value: Option<&serde_json::Value>) -> Result<i64, NumberError> {
    let hundredths = hundredths(value)?;
    if hundredths % 100 != 0 {
        return Err(NumberError::NotWhole(describe(value)));
    }
    Ok(hundredths / 100)
}

/// A decimal amount in hundredths: `2980.0` → 298000, `"15.95"` → 1595. Never rounds: a third decimal
/// that is not zero is an error.
pub fn hundredths(value: Option<&serde_json::Value>) -> Result<i64, NumberError> {
    match value {
        None | Some(serde_json::Value::Null) => Err(NumberError::Missing),
        Some(serde_json::Value::Number(number)) => {
            if let Some(whole) = number.as_i64() {
                return whole
                    .checked_mul(100)
                    .ok_or_else(|| NumberError::OutOfRange(number.to_string()));
            }
            // A double: its shortest decimal rendering is exactly what Salesforce stored.
            decimal_text(&number.to_string())
        }
        Some(serde_json::Value::String(text)) => decimal_text(text.trim()),
        Some(other) => Err(NumberError::NotANumber(other.to_string())),
    }
}

fn describe(value: Option<&serde_json::Value>) -> String {
    value.map_or_else(|| "null".to_owned(), ToString::to_string)
}

/// `-12.5`, `2980`, `2980.00`, `1e3` → hundredths.
fn decimal_text(text: &str) -> Result<i64, NumberError> {
    let not_a_number = || NumberError::NotANumber(text.to_owned());
    let out_of_range = || NumberError::OutOfRange(text.to_owned());
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (
            mantissa,
            exponent.parse::<i32>().map_err(|_| not_a_number())?,
        ),
        None => (text, 0),
    };
    let (negative, digits) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if (whole.is_empty() && fraction.is_empty())
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !fraction.chars().all(|c| c.is_ascii_digit())
    {
        return Err(not_a_number());
    }
    // All digits, and the position of the decimal point counted from the right after scaling by 100.
    let all: String = format!("{whole}{fraction}");
    // Checked: Salesforce's text is untrusted, and `1e-2147483648` must be refused, not overflow.
    let scale = i32::try_from(fraction.len())
        .ok()
        .and_then(|digits| digits.checked_sub(exponent))
        .and_then(|scale| scale.checked_sub(2))
        .ok_or_else(out_of_range)?;
    let all = all.trim_start_matches('0');
    let (kept, dropped) = if scale > 0 {
        let scale = usize::try_from(scale).map_err(|_| out_of_range())?;
        let cut = all.len().saturating_sub(scale);
        (&all[..cut], &all[cut..])
    } else {
        (all, "")
    };
    if dropped.chars().any(|c| c != '0') {
        return Err(NumberError::TooPrecise(text.to_owned()));
    }
    let mut value: i64 = if kept.is_empty() {
        0
    } else {
        kept.parse().map_err(|_| out_of_range())?
    };
    if scale < 0 {
        let zeros = scale.unsigned_abs();
        value = 10_i64
            .checked_pow(zeros)
            .and_then(|factor| value.checked_mul(factor))
            .ok_or_else(out_of_range)?;
    }
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
#[path = "numbers_proptests.rs"]
mod proptests;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn doubles_integers_and_strings_read_exactly() {
        assert_eq!(hundredths(Some(&json!(2980.0))), Ok(298_000));
        assert_eq!(hundredths(Some(&json!(2980))), Ok(298_000));
        assert_eq!(hundredths(Some(&json!(15.95))), Ok(1_595));
        assert_eq!(hundredths(Some(&json!(0.1))), Ok(10));
        assert_eq!(hundredths(Some(&json!("19.90"))), Ok(1_990));
        assert_eq!(hundredths(Some(&json!("1.5e3"))), Ok(150_000));
        assert_eq!(hundredths(Some(&json!(-3.25))), Ok(-325));
        assert_eq!(hundredths(Some(&json!("12.500"))), Ok(1_250));
        assert_eq!(whole_number(Some(&json!(101.0))), Ok(101));
        assert_eq!(whole_number(Some(&json!("7"))), Ok(7));
    }

    #[test]
    fn anything_else_is_refused_rather_than_rounded() {
        assert!(matches!(
            hundredths(Some(&json!(1.005))),
            Err(NumberError::TooPrecise(_))
        ));
        assert!(matches!(
            hundredths(Some(&json!("abc"))),
            Err(NumberError::NotANumber(_))
        ));
        assert!(matches!(
            hundredths(Some(&json!("."))),
            Err(NumberError::NotANumber(_))
        ));
        assert!(matches!(
            hundredths(Some(&json!(true))),
            Err(NumberError::NotANumber(_))
        ));
        assert_eq!(hundredths(None), Err(NumberError::Missing));
        assert_eq!(
            hundredths(Some(&serde_json::Value::Null)),
            Err(NumberError::Missing)
        );
        assert!(matches!(
            hundredths(Some(&json!(1e300))),
            Err(NumberError::OutOfRange(_))
        ));
        assert!(matches!(
            whole_number(Some(&json!(10.5))),
            Err(NumberError::NotWhole(_))
        ));
    }
}
