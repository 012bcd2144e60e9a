//! Reading CSV (RFC 4180: comma-separated, fields optionally in double quotes with `""` for a quote, quoted
//! fields may span lines, LF or CRLF line ends). Hand-written rather than the `csv` crate: that crate
//! changes serde's feature set for the whole dependency tree (a full rebuild) for the forty lines a
//! one-column upload needs.

/// The records of `text`, each with its 1-based starting line; a record with an unterminated quote is an
/// `Err` naming that line.
pub fn records(text: &str) -> impl Iterator<Item = Result<(u64, Vec<String>), u64>> + '_ {
    let mut chars = text.chars().peekable();
    let mut line: u64 = 1;
    std::iter::from_fn(move || {
        chars.peek()?;
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(ch) = chars.next() else {
                if quoted {
                    return Some(Err(start));
                }
                fields.push(finish(field, was_quoted));
                return Some(Ok((start, fields)));
            };
            match (ch, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                ('"', true) => quoted = false,
                ('"', false) if field.trim().is_empty() && !was_quoted => {
                    field.clear();
                    quoted = true;
                    was_quoted = true;
                }
                (',', false) => {
                    fields.push(finish(std::mem::take(&mut field), was_quoted));
                    was_quoted = false;
                }
                ('\r', false) if chars.peek() == Some(&'\n') => {}
                ('\n', false) => {
                    line += 1;
                    fields.push(finish(field, was_quoted));
                    return Some(Ok((start, fields)));
                }
                ('\n', true) => {
                    line += 1;
                    field.push('\n');
                }
                (ch, _) => field.push(ch),
            }
        }
    })
}

fn finish(field: String, quoted: bool) -> String {
    if quoted {
        field
    } else {
        field.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::records;

    fn all(text: &str) -> Vec<Result<(u64, Vec<String>), u64>> {
        records(text).collect()
    }

    #[test]
    fn fields_quotes_and_line_ends() {
        let parsed = all("a, b ,\"c, \"\"d\"\"\"\r\n\"multi\nline\",x\nlast");
        assert_eq!(
            parsed,
            vec![
                Ok((1, vec!["a".into(), "b".into(), "c, \"d\"".into()])),
                Ok((2, vec!["multi\nline".into(), "x".into()])),
                Ok((4, vec!["last".into()])),
            ]
        );
    }

    #[test]
    fn an_unterminated_quote_names_its_line() {
        assert_eq!(
            all("ok\n\"open,\nstill"),
            vec![Ok((1, vec!["ok".into()])), Err(2)]
        );
        assert!(all("").is_empty());
    }
}
