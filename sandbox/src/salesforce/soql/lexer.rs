//! SOQL tokens: names, quoted strings with backslash escapes, numbers, unquoted date and datetime literals,
//! comparison operators and punctuation.

use chrono::{DateTime, NaiveDate, Utc};

use super::SoqlError;
use super::ast::CompareOp;
use crate::salesforce::values;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Name(String),
    Text(String),
    /// As written, so `LIMIT` can insist on an integer.
    Number(String),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    Op(CompareOp),
    Comma,
    Dot,
    Open,
    Close,
    End,
}

impl Token {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Token::Name(name) => name.clone(),
            Token::Text(text) => format!("'{text}'"),
            Token::Number(number) => number.clone(),
            Token::Date(date) => date.to_string(),
            Token::DateTime(at) => at.to_rfc3339(),
            Token::Op(op) => match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "!=",
                CompareOp::Lt => "<",
                CompareOp::Gt => ">",
                CompareOp::Le => "<=",
                CompareOp::Ge => ">=",
            }
            .into(),
            Token::Comma => ",".into(),
            Token::Dot => ".".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::End => "<EOF>".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Spanned {
    pub token: Token,
    /// Byte offset in the query.
    pub offset: usize,
}

pub fn tokenize(query: &str) -> Result<Vec<Spanned>, SoqlError> {
    let chars: Vec<(usize, char)> = query.char_indices().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(&(offset, c)) = chars.get(i) {
        let next = chars.get(i + 1).map(|&(_, c)| c);
        let (token, consumed) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ',' => (Token::Comma, 1),
            '.' => (Token::Dot, 1),
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            '=' => (Token::Op(CompareOp::Eq), 1),
            '!' if next == Some('=') => (Token::Op(CompareOp::Ne), 2),
            '<' if next == Some('>') => (Token::Op(CompareOp::Ne), 2),
            '<' if next == Some('=') => (Token::Op(CompareOp::Le), 2),
            '>' if next == Some('=') => (Token::Op(CompareOp::Ge), 2),
            '<' => (Token::Op(CompareOp::Lt), 1),
            '>' => (Token::Op(CompareOp::Gt), 1),
            '\'' => string(query, &chars, i)?,
            c if c.is_ascii_digit()
                || ((c == '-' || c == '+') && next.is_some_and(|n| n.is_ascii_digit())) =>
            {
                number_or_date(query, &chars, i)?
            }
            c if c.is_alphabetic() || c == '_' => {
                let length = chars[i..]
                    .iter()
                    .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
                    .count();
                let name: String = chars[i..i + length].iter().map(|&(_, c)| c).collect();
                (Token::Name(name), length)
            }
            other => {
                return Err(SoqlError::malformed(
                    query,
                    offset,
                    format!("unexpected character: '{other}'"),
                ));
            }
        };
        tokens.push(Spanned { token, offset });
        i += consumed;
    }
    tokens.push(Spanned {
        token: Token::End,
        offset: query.len(),
    });
    Ok(tokens)
}

/// A quoted string from `chars[start]` (the opening quote): the token and how many chars it took.
fn string(query: &str, chars: &[(usize, char)], start: usize) -> Result<(Token, usize), SoqlError> {
    let offset = chars[start].0;
    let mut text = String::new();
    let mut i = start + 1;
    loop {
        let Some(&(_, c)) = chars.get(i) else {
            return Err(SoqlError::malformed(
                query,
                offset,
                "unterminated string literal",
            ));
        };
        match c {
            '\'' => return Ok((Token::Text(text), i + 1 - start)),
            '\\' => {
                let escaped = chars.get(i + 1).map(|&(_, c)| c);
                match escaped {
                    Some('\'') => text.push('\''),
                    Some('"') => text.push('"'),
                    Some('\\') => text.push('\\'),
                    Some('n') => text.push('\n'),
                    Some('r') => text.push('\r'),
                    Some('t') => text.push('\t'),
                    Some('b') => text.push('\u{8}'),
                    Some('f') => text.push('\u{c}'),
                    // Kept escaped: only LIKE gives them a meaning (a literal % or _).
                    Some(wildcard @ ('%' | '_')) => {
                        text.push('\\');
                        text.push(wildcard);
                    }
                    _ => {
                        return Err(SoqlError::malformed(
                            query,
                            chars[i].0,
                            "Invalid string literal: bad escape sequence",
                        ));
                    }
                }
                i += 2;
            }
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
}

/// `42`, `-1.5`, `2026-11-21` or `2026-11-21T10:00:00Z`.
fn number_or_date(
    query: &str,
    chars: &[(usize, char)],
    start: usize,
) -> Result<(Token, usize), SoqlError> {
    let offset = chars[start].0;
    let length = chars[start..]
        .iter()
        .take_while(|&(_, c)| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '+'))
        .count();
    let text: String = chars[start..start + length]
        .iter()
        .map(|&(_, c)| c)
        .collect();
    let bad = || SoqlError::malformed(query, offset, format!("unexpected token: '{text}'"));
    let is_date_shaped = text.len() >= 10
        && text.as_bytes().get(4) == Some(&b'-')
        && text.as_bytes().get(7) == Some(&b'-');
    if is_date_shaped {
        if text.len() == 10 {
            return values::parse_date(&text)
                .map(|d| (Token::Date(d), length))
                .ok_or_else(bad);
        }
        return text
            .contains('T')
            .then(|| values::parse_datetime(&text))
            .flatten()
            .map(|at| (Token::DateTime(at), length))
            .ok_or_else(bad);
    }
    let digits = text.trim_start_matches(['-', '+']);
    let numeric = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.matches('.').count() <= 1
        && !digits.ends_with('.');
    if numeric && text.parse::<f64>().is_ok_and(f64::is_finite) {
        Ok((Token::Number(text), length))
    } else {
        Err(bad())
    }
}
