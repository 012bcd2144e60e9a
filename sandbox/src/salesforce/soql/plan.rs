//! Resolves a parsed query against the schema: objects, fields and relationship paths by their canonical
//! names, literals checked against the field types the way Salesforce checks them.

use super::SoqlError;
use super::ast::{CompareOp, Condition, Literal, Path, Query, SelectItem};
use crate::salesforce::schema::{self, FieldDef, Kind, ObjectDef};

/// Salesforce refuses larger offsets.
const MAX_OFFSET: u64 = 2000;

#[derive(Debug)]
pub struct Plan {
    pub object: &'static ObjectDef,
    pub count_only: bool,
    pub columns: Vec<Column>,
    pub filter: Option<Filter>,
    pub order: Vec<Sort>,
    pub limit: Option<usize>,
    pub offset: usize,
}

#[derive(Debug)]
pub enum Column {
    Field(FieldRef),
    Children(ChildPlan),
}

#[derive(Debug)]
pub struct ChildPlan {
    /// The relationship name the results appear under (`OrderItems`).
    pub name: &'static str,
    /// The child's lookup to the parent (`OrderId`).
    pub field: &'static str,
    pub plan: Plan,
}

/// One lookup followed on the way to a field.
#[derive(Debug, Clone)]
pub struct Hop {
    pub field: &'static str,
    pub relationship: &'static str,
    /// The only object it can point at; `None` for a polymorphic lookup (Task.What).
    pub target: Option<&'static ObjectDef>,
}

#[derive(Debug, Clone)]
pub enum Terminal {
    Field(&'static FieldDef),
    /// `Id` or `Name` behind a polymorphic lookup, whatever the record's object.
    Polymorphic(&'static str),
}

impl Terminal {
    pub fn name(&self) -> &'static str {
        match self {
            Terminal::Field(field) => field.name,
            Terminal::Polymorphic(name) => name,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Terminal::Field(field) => field.kind,
            Terminal::Polymorphic("Id") => Kind::Id,
            Terminal::Polymorphic(_) => Kind::Text,
        }
    }
}

#[derive(Debug, Clone)]
pub struct FieldRef {
    pub hops: Vec<Hop>,
    pub terminal: Terminal,
}

#[derive(Debug)]
pub enum Filter {
    All(Vec<Filter>),
    Any(Vec<Filter>),
    Not(Box<Filter>),
    Compare {
        field: FieldRef,
        op: CompareOp,
        value: Literal,
    },
    In {
        field: FieldRef,
        negated: bool,
        values: Vec<Literal>,
    },
    Like {
        field: FieldRef,
        pattern: String,
    },
}

#[derive(Debug)]
pub struct Sort {
    pub field: FieldRef,
    pub descending: bool,
    pub nulls_last: bool,
}

pub fn plan(query: &Query) -> Result<Plan, SoqlError> {
    let object = schema::object(&query.from.text)
        .filter(|o| !schema::is_platform_event(o.name))
        .ok_or_else(|| unknown_object(&query.from.text))?;
    plan_for(query, object, true)
}

fn plan_for(query: &Query, object: &'static ObjectDef, top_level: bool) -> Result<Plan, SoqlError> {
    let count_only = query.select.contains(&SelectItem::Count);
    if count_only && query.select.len() > 1 {
        return Err(SoqlError::new(
            "MALFORMED_QUERY",
            "COUNT() cannot be combined with other fields",
        ));
    }
    let mut columns = Vec::new();
    for item in &query.select {
        match item {
            SelectItem::Count => {}
            SelectItem::Field(path) => columns.push(Column::Field(resolve(object, path)?)),
            SelectItem::Subquery(subquery) if top_level => {
                columns.push(Column::Children(plan_children(object, subquery)?));
            }
            SelectItem::Subquery(_) => {
                return Err(SoqlError::new(
                    "MALFORMED_QUERY",
                    "Nesting of semi join sub-selects is not supported",
                ));
            }
        }
    }
    let filter = query
        .filter
        .as_ref()
        .map(|condition| filter(object, condition))
        .transpose()?;
    let order = query
        .order_by
        .iter()
        .map(|order| {
            Ok(Sort {
                field: resolve(object, &order.path)?,
                descending: order.descending,
                nulls_last: order.nulls_last.unwrap_or(order.descending),
            })
        })
        .collect::<Result<_, SoqlError>>()?;
    let offset = query.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(SoqlError::new(
            "NUMBER_OUTSIDE_VALID_RANGE",
            format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
        ));
    }
    Ok(Plan {
        object,
        count_only,
        columns,
        filter,
        order,
        limit: query
            .limit
            .map(|limit| usize::try_from(limit).unwrap_or(usize::MAX)),
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
    })
}

fn plan_children(parent: &ObjectDef, subquery: &Query) -> Result<ChildPlan, SoqlError> {
    let relationship = parent.child(&subquery.from.text).ok_or_else(|| {
        SoqlError::new(
            "INVALID_TYPE",
            format!(
                "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                subquery.from.text
            ),
        )
    })?;
    let child =
        schema::object(relationship.object).ok_or_else(|| unknown_object(relationship.object))?;
    if subquery.select.contains(&SelectItem::Count) {
        return Err(SoqlError::new(
            "MALFORMED_QUERY",
            "COUNT() is not supported in a subquery",
        ));
    }
    Ok(ChildPlan {
        name: relationship.name,
        field: relationship.field,
        plan: plan_for(subquery, child, false)?,
    })
}

fn unknown_object(name: &str) -> SoqlError {
    SoqlError::new(
        "INVALID_TYPE",
        format!(
            "sObject type '{name}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

fn unknown_field(object: &ObjectDef, path: &Path) -> SoqlError {
    SoqlError::new(
        "INVALID_FIELD",
        format!(
            "No such column '{}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
            path.segments.last().map_or("", String::as_str),
            object.name
        ),
    )
}

fn unknown_relationship(segment: &str) -> SoqlError {
    SoqlError::new(
        "INVALID_FIELD",
        format!(
            "Didn't understand relationship '{segment}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
        ),
    )
}

/// `Account.Owner.Name` → the lookups to follow and the field at the end.
fn resolve(object: &'static ObjectDef, path: &Path) -> Result<FieldRef, SoqlError> {
    let Some((last, relationships)) = path.segments.split_last() else {
        return Err(unknown_field(object, path));
    };
    let mut hops = Vec::new();
    let mut current = Some(object);
    for segment in relationships {
        let Some(at) = current else {
            return Err(unknown_relationship(segment));
        };
        let lookup = at
            .relationship(segment)
            .ok_or_else(|| unknown_relationship(segment))?;
        let target = match lookup.kind {
            Kind::Reference([single]) => schema::object(single),
            _ => None,
        };
        hops.push(Hop {
            field: lookup.name,
            relationship: lookup.relationship_name().unwrap_or(lookup.name),
            target,
        });
        current = target;
    }
    let terminal = match current {
        Some(at) => Terminal::Field(at.field(last).ok_or_else(|| {
            let owner = if hops.is_empty() { object } else { at };
            unknown_field(owner, path)
        })?),
        None if last.eq_ignore_ascii_case("Id") => Terminal::Polymorphic("Id"),
        None if last.eq_ignore_ascii_case("Name") => Terminal::Polymorphic("Name"),
        None => return Err(unknown_field(object, path)),
    };
    Ok(FieldRef { hops, terminal })
}

fn filter(object: &'static ObjectDef, condition: &Condition) -> Result<Filter, SoqlError> {
    Ok(match condition {
        Condition::All(terms) => Filter::All(
            terms
                .iter()
                .map(|t| filter(object, t))
                .collect::<Result<_, _>>()?,
        ),
        Condition::Any(terms) => Filter::Any(
            terms
                .iter()
                .map(|t| filter(object, t))
                .collect::<Result<_, _>>()?,
        ),
        Condition::Not(inner) => Filter::Not(Box::new(filter(object, inner)?)),
        Condition::Compare { path, op, value } => {
            let field = resolve(object, path)?;
            check_literal(&field, path, value)?;
            Filter::Compare {
                field,
                op: *op,
                value: value.clone(),
            }
        }
        Condition::In {
            path,
            negated,
            values,
        } => {
            let field = resolve(object, path)?;
            for value in values {
                check_literal(&field, path, value)?;
            }
            Filter::In {
                field,
                negated: *negated,
                values: values.clone(),
            }
        }
        Condition::Like { path, pattern } => {
            let field = resolve(object, path)?;
            if !field.terminal.kind().is_textual() {
                return Err(SoqlError::new(
                    "INVALID_FIELD",
                    format!(
                        "\n{}\n^\ninvalid operator on field '{}': LIKE",
                        path.dotted(),
                        field.terminal.name()
                    ),
                ));
            }
            Filter::Like {
                field,
                pattern: pattern.clone(),
            }
        }
    })
}

/// Salesforce refuses `Quantity = '1'` or `EffectiveDate = '2026-01-01'`: the literal must have the
/// field's type.
fn check_literal(field: &FieldRef, path: &Path, value: &Literal) -> Result<(), SoqlError> {
    let kind = field.terminal.kind();
    let fits = match value {
        Literal::Null => true,
        Literal::Text(_) => kind.is_textual(),
        Literal::Number(_) => kind == Kind::Number,
        Literal::Boolean(_) => kind == Kind::Boolean,
        Literal::Date(_) => kind == Kind::Date,
        Literal::DateTime(_) => kind == Kind::DateTime,
    };
    if fits {
        return Ok(());
    }
    let quoting = if kind.is_textual() {
        "should be enclosed in quotes"
    } else {
        "should not be enclosed in quotes"
    };
    Err(SoqlError::new(
        "INVALID_FIELD",
        format!(
            "value of filter criterion for field '{}' must be of type {} and {quoting}",
            path.dotted(),
            kind.soap_name()
        ),
    ))
}
