//! Recursive descent over the tokens. Like Salesforce, `AND` and `OR` may not be mixed without parentheses.

use chrono::{Days, Utc};

use super::SoqlError;
use super::ast::{Condition, Literal, Name, OrderBy, Path, Query, SelectItem};
use super::lexer::{Spanned, Token, tokenize};

/// Deeper nesting of parentheses or `NOT`s is refused rather than risking the stack.
const MAX_NESTING: usize = 64;

pub fn parse(query: &str) -> Result<Query, SoqlError> {
    let tokens = tokenize(query)?;
    let mut parser = Parser {
        query,
        tokens,
        position: 0,
        nesting: 0,
    };
    let parsed = parser.query(false)?;
    parser.expect_end()?;
    Ok(parsed)
}

struct Parser<'q> {
    query: &'q str,
    tokens: Vec<Spanned>,
    position: usize,
    nesting: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Joiner {
    And,
    Or,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        self.tokens
            .get(self.position)
            .map_or(&Token::End, |t| &t.token)
    }

    fn peek_at(&self, ahead: usize) -> &Token {
        self.tokens
            .get(self.position + ahead)
            .map_or(&Token::End, |t| &t.token)
    }

    fn offset(&self) -> usize {
        self.tokens
            .get(self.position)
            .map_or(self.query.len(), |t| t.offset)
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        self.position += 1;
        token
    }

    fn unexpected(&self) -> SoqlError {
        let detail = match self.peek() {
            Token::End => "unexpected token: <EOF>".to_owned(),
            token => format!("unexpected token: '{}'", token.describe()),
        };
        SoqlError::malformed(self.query, self.offset(), detail)
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Token::Name(name) if name.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.position += 1;
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str) -> Result<(), SoqlError> {
        if self.eat_keyword(keyword) {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect(&mut self, token: &Token) -> Result<(), SoqlError> {
        if self.peek() == token {
            self.position += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn expect_end(&self) -> Result<(), SoqlError> {
        if *self.peek() == Token::End {
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn name(&mut self) -> Result<Name, SoqlError> {
        let offset = self.offset();
        match self.peek() {
            Token::Name(text) => {
                let text = text.clone();
                self.position += 1;
                Ok(Name { text, offset })
            }
            _ => Err(self.unexpected()),
        }
    }

    /// `SELECT … FROM … [WHERE] [ORDER BY] [LIMIT] [OFFSET]`; a subquery stops at its closing parenthesis.
    fn query(&mut self, nested: bool) -> Result<Query, SoqlError> {
        self.expect_keyword("SELECT")?;
        let select = self.select_list(nested)?;
        self.expect_keyword("FROM")?;
        let from = self.name()?;
        let filter = if self.eat_keyword("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.is_keyword("ORDER")
            && matches!(self.peek_at(1), Token::Name(n) if n.eq_ignore_ascii_case("BY"))
        {
            self.position += 2;
            order_by = self.order_list()?;
        }
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.integer()?)
        } else {
            None
        };
        let offset = if self.eat_keyword("OFFSET") {
            Some(self.integer()?)
        } else {
            None
        };
        Ok(Query {
            select,
            from,
            filter,
            order_by,
            limit,
            offset,
        })
    }

    fn select_list(&mut self, nested: bool) -> Result<Vec<SelectItem>, SoqlError> {
        let mut items = Vec::new();
        loop {
            items.push(self.select_item(nested)?);
            if *self.peek() != Token::Comma {
                return Ok(items);
            }
            self.position += 1;
        }
    }

    fn select_item(&mut self, nested: bool) -> Result<SelectItem, SoqlError> {
        if *self.peek() == Token::Open && !nested {
            self.position += 1;
            let subquery = self.query(true)?;
            self.expect(&Token::Close)?;
            return Ok(SelectItem::Subquery(Box::new(subquery)));
        }
        if self.is_keyword("COUNT") && *self.peek_at(1) == Token::Open {
            self.position += 2;
            self.expect(&Token::Close)?;
            return Ok(SelectItem::Count);
        }
        if self.is_keyword("FROM") {
            return Err(self.unexpected());
        }
        Ok(SelectItem::Field(self.path()?))
    }

    fn path(&mut self) -> Result<Path, SoqlError> {
        let first = self.name()?;
        let mut segments = vec![first.text];
        while *self.peek() == Token::Dot {
            self.position += 1;
            segments.push(self.name()?.text);
        }
        Ok(Path {
            segments,
            offset: first.offset,
        })
    }

    /// Terms joined all by `AND` or all by `OR`.
    fn condition(&mut self) -> Result<Condition, SoqlError> {
        let mut terms = vec![self.term()?];
        let mut joiner = None;
        loop {
            let next = if self.is_keyword("AND") {
                Joiner::And
            } else if self.is_keyword("OR") {
                Joiner::Or
            } else {
                break;
            };
            if joiner.is_some_and(|j| j != next) {
                return Err(self.unexpected());
            }
            joiner = Some(next);
            self.position += 1;
            terms.push(self.term()?);
        }
        Ok(match (joiner, terms.len()) {
            (_, 1) => terms.remove(0),
            (Some(Joiner::Or), _) => Condition::Any(terms),
            _ => Condition::All(terms),
        })
    }

    fn term(&mut self) -> Result<Condition, SoqlError> {
        if self.nesting >= MAX_NESTING {
            return Err(SoqlError::malformed(
                self.query,
                self.offset(),
                "conditions are nested too deeply",
            ));
        }
        self.nesting += 1;
        let term = self.nested_term();
        self.nesting -= 1;
        term
    }

    fn nested_term(&mut self) -> Result<Condition, SoqlError> {
        if self.eat_keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.term()?)));
        }
        if *self.peek() == Token::Open {
            self.position += 1;
            let inner = self.condition()?;
            self.expect(&Token::Close)?;
            return Ok(inner);
        }
        self.predicate()
    }

    fn predicate(&mut self) -> Result<Condition, SoqlError> {
        let path = self.path()?;
        if let Token::Op(op) = *self.peek() {
            self.position += 1;
            let value = self.literal()?;
            return Ok(Condition::Compare { path, op, value });
        }
        if self.eat_keyword("LIKE") {
            let offset = self.offset();
            return match self.advance() {
                Token::Text(pattern) => Ok(Condition::Like { path, pattern }),
                other => Err(SoqlError::malformed(
                    self.query,
                    offset,
                    format!("unexpected token: '{}'", other.describe()),
                )),
            };
        }
        let negated = self.is_keyword("NOT")
            && matches!(self.peek_at(1), Token::Name(n) if n.eq_ignore_ascii_case("IN"));
        if negated {
            self.position += 1;
        }
        if self.eat_keyword("IN") {
            self.expect(&Token::Open)?;
            let mut values = vec![self.literal()?];
            while *self.peek() == Token::Comma {
                self.position += 1;
                values.push(self.literal()?);
            }
            self.expect(&Token::Close)?;
            return Ok(Condition::In {
                path,
                negated,
                values,
            });
        }
        Err(self.unexpected())
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let today = Utc::now().date_naive();
        let literal = match self.peek() {
            Token::Text(text) => Literal::Text(text.clone()),
            Token::Number(number) => {
                Literal::Number(number.parse().map_err(|_| self.unexpected())?)
            }
            Token::Date(date) => Literal::Date(*date),
            Token::DateTime(at) => Literal::DateTime(*at),
            Token::Name(name) => match name.to_ascii_uppercase().as_str() {
                "TRUE" => Literal::Boolean(true),
                "FALSE" => Literal::Boolean(false),
                "NULL" => Literal::Null,
                "TODAY" => Literal::Date(today),
                "YESTERDAY" => Literal::Date(today - Days::new(1)),
                "TOMORROW" => Literal::Date(today + Days::new(1)),
                _ => return Err(self.unexpected()),
            },
            _ => return Err(self.unexpected()),
        };
        self.position += 1;
        Ok(literal)
    }

    fn order_list(&mut self) -> Result<Vec<OrderBy>, SoqlError> {
        let mut list = Vec::new();
        loop {
            let path = self.path()?;
            let descending = if self.eat_keyword("DESC") {
                true
            } else {
                self.eat_keyword("ASC");
                false
            };
            let nulls_last = if self.eat_keyword("NULLS") {
                if self.eat_keyword("LAST") {
                    Some(true)
                } else {
                    self.expect_keyword("FIRST")?;
                    Some(false)
                }
            } else {
                None
            };
            list.push(OrderBy {
                path,
                descending,
                nulls_last,
            });
            if *self.peek() != Token::Comma {
                return Ok(list);
            }
            self.position += 1;
        }
    }

    fn integer(&mut self) -> Result<u64, SoqlError> {
        match self.peek() {
            Token::Number(number) => {
                let value = number.parse::<u64>().map_err(|_| self.unexpected())?;
                self.position += 1;
                Ok(value)
            }
            _ => Err(self.unexpected()),
        }
    }
}
