//! Request validation, one mechanism for every context: request types derive [`validator::Validate`], a
//! handler calls `body.validate()?` (or `validate_with_args` when a rule needs context such as today's date),
//! and the [`ValidationErrors`] become the `validation-failed` problem's `errors[]` here.
//!
//! Field paths are JSON-pointer style: `phone`, `address/postcode` for a nested struct, `items/0/quantity`
//! for a list element; a struct-level (`schema`) error has the empty path. Rules that cross fields or need
//! the database stay hand-written and push [`FieldError`]s into the same list ([`field_errors`] merges).

use std::borrow::Cow;

use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

use super::{ApiError, FieldError};

/// The key `validator` files struct-level (`#[validate(schema(…))]`) errors under.
const STRUCT_LEVEL: &str = "__all__";

/// A failed rule, for custom validators: the `code` and `message` clients see in `errors[]`.
pub fn rule(code: &'static str, message: impl Into<Cow<'static, str>>) -> ValidationError {
    ValidationError::new(code).with_message(message.into())
}

/// Text that must be present after trimming and at most `max` characters (counted in characters, so
/// multi-byte input is measured as the customer sees it): `required` or `too_long`.
pub fn required_text(value: &str, max: usize) -> Result<(), ValidationError> {
    let length = value.trim().chars().count();
    if length == 0 {
        Err(rule("required", "This field is required."))
    } else if length > max {
        Err(rule("too_long", format!("Use at most {max} characters.")))
    } else {
        Ok(())
    }
}

impl FieldError {
    /// One entry per failed rule, ordered by field path (list elements by index).
    pub fn from_validation(errors: &ValidationErrors) -> Vec<FieldError> {
        let mut out = Vec::new();
        flatten("", errors, &mut out);
        out
    }
}

/// The field errors of several validations, in order: typically a request's derived rules, then its
/// pagination, then hand-written rules pushed by the caller.
pub fn field_errors(
    results: impl IntoIterator<Item = Result<(), ValidationErrors>>,
) -> Vec<FieldError> {
    results
        .into_iter()
        .filter_map(Result::err)
        .flat_map(|errors| FieldError::from_validation(&errors))
        .collect()
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::validation(FieldError::from_validation(&errors))
    }
}

fn join(prefix: &str, name: &str) -> String {
    match (prefix.is_empty(), name.is_empty()) {
        (true, _) => name.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}/{name}"),
    }
}

fn flatten(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
    let mut fields: Vec<(&str, &ValidationErrorsKind)> = errors
        .errors()
        .iter()
        .map(|(name, kind)| (name.as_ref(), kind))
        .collect();
    // A HashMap underneath: sort so the answer is the same every time, struct-level errors first.
    fields.sort_by_key(|(name, _)| (*name != STRUCT_LEVEL, *name));
    for (name, kind) in fields {
        let path = join(prefix, if name == STRUCT_LEVEL { "" } else { name });
        match kind {
            ValidationErrorsKind::Field(failures) => {
                out.extend(failures.iter().map(|failure| {
                    FieldError::new(
                        path.clone(),
                        failure.code.clone(),
                        failure
                            .message
                            .clone()
                            .unwrap_or(Cow::Borrowed("This value is not valid.")),
                    )
                }));
            }
            ValidationErrorsKind::Struct(nested) => flatten(&path, nested, out),
            ValidationErrorsKind::List(items) => {
                for (index, nested) in items {
                    flatten(&join(&path, &index.to_string()), nested, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use validator::Validate;

    use super::*;

    fn quantity(value: i64) -> Result<(), ValidationError> {
        if (1..=10).contains(&value) {
            Ok(())
        } else {
            Err(rule("out_of_range", "Use a quantity from 1 to 10."))
        }
    }

    fn postcode(value: &str) -> Result<(), ValidationError> {
        required_text(value, 5)
    }

    fn whole(_: &Order) -> Result<(), ValidationError> {
        Err(rule("empty", "Send something."))
    }

    #[derive(Validate)]
    struct Item {
        #[validate(custom(function = "quantity"))]
        quantity: i64,
    }

    #[derive(Validate)]
    struct Address {
        #[validate(custom(function = "postcode"))]
        postcode: String,
    }

    #[derive(Validate)]
    #[validate(schema(function = "whole", skip_on_field_errors = false))]
    struct Order {
        #[validate(nested)]
        items: Vec<Item>,
        #[validate(nested)]
        address: Option<Address>,
    }

    #[test]
    fn paths_name_nested_fields_and_list_elements() {
        let order = Order {
            items: (0..12).map(|n| Item { quantity: n }).collect(),
            address: Some(Address {
                postcode: "東京都千代田区".to_owned(),
            }),
        };
        let errors = order
            .validate()
            .map(|()| Vec::new())
            .unwrap_or_else(|errors| {
                FieldError::from_validation(&errors)
                    .into_iter()
                    .map(|error| (error.field, error.code))
                    .collect()
            });
        let expected: Vec<(String, String)> = [
            ("", "empty"),
            ("address/postcode", "too_long"),
            ("items/0/quantity", "out_of_range"),
            ("items/11/quantity", "out_of_range"),
        ]
        .iter()
        .map(|(field, code)| ((*field).to_owned(), (*code).to_owned()))
        .collect();
        assert_eq!(errors, expected);
    }

    #[test]
    fn required_text_counts_characters_after_trimming() {
        assert!(required_text("  ", 3).is_err());
        assert!(required_text(" 東京都 ", 3).is_ok());
        assert!(required_text("東京都府", 3).is_err());
        assert!(required_text(&"é".repeat(100), 100).is_ok());
    }
}
