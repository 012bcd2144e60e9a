//! Templates are Jinja (minijinja) with strict undefined: a syntax error or a placeholder outside the
//! purpose's allow-list is refused at save, naming the field and the placeholder. E-mail bodies are HTML
//! and every value is escaped into them; subjects, SMS and chat bodies are plain text, never escaped.
//! Fuel bounds the work one render may do, so a loop in a template cannot hold a worker.

use std::collections::BTreeSet;

use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use super::placeholders;
use crate::crm::consent::Purpose;
use crate::errors::FieldError;

/// Instructions one render may run (a template of ordinary size needs a few hundred).
const FUEL: u64 = 100_000;
/// The longest rendered text.
pub const MAX_OUTPUT: usize = 100_000;

fn environment(html: bool) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(20);
    // `|safe` would hand a profile's own text (a first name, a city) to an e-mail as markup: here it marks
    // nothing, so every value stays escaped.
    env.add_filter("safe", |value: String| value);
    env.set_auto_escape_callback(move |_| {
        if html {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    env
}

/// The placeholders `source` names, or the syntax error.
fn placeholders_of(source: &str) -> Result<BTreeSet<String>, minijinja::Error> {
    let env = environment(false);
    let template = env.template_from_str(source)?;
    Ok(template.undeclared_variables(true).into_iter().collect())
}

/// The line of an `{% autoescape %}` block (it would switch the escaping of e-mail values off), if any.
fn autoescape_block(source: &str) -> Option<usize> {
    source.match_indices("{%").find_map(|(at, _)| {
        let rest = source[at + 2..]
            .trim_start_matches(['-', '+', '~'])
            .trim_start();
        rest.starts_with("autoescape")
            .then(|| source[..at].matches('\n').count() + 1)
    })
}

/// Every problem of one template text, each named `field`.
pub fn check(field: &str, source: &str, purpose: Purpose, errors: &mut Vec<FieldError>) {
    if let Some(line) = autoescape_block(source) {
        errors.push(FieldError::new(
            field,
            "template_syntax",
            format!("Line {line}: autoescape blocks are not allowed (values are always escaped in e-mails)."),
        ));
        return;
    }
    match placeholders_of(source) {
        Err(error) => errors.push(FieldError::new(
            field,
            "template_syntax",
            format!(
                "Line {}: {}.",
                error.line().unwrap_or(1),
                error.detail().unwrap_or("syntax error")
            ),
        )),
        Ok(names) => {
            let allowed = placeholders::allowed(purpose);
            for name in names {
                if !allowed.contains(&name.as_str()) {
                    errors.push(FieldError::new(
                        field,
                        "unknown_placeholder",
                        format!(
                            "`{name}` is not a placeholder of {} messages; use one of: {}.",
                            purpose.as_str(),
                            allowed.join(", ")
                        ),
                    ));
                }
            }
        }
    }
}

/// The allow-listed placeholders `source` uses (empty when it does not parse).
pub fn used(source: &str) -> BTreeSet<String> {
    placeholders_of(source).unwrap_or_default()
}

/// Renders `source` with `values`; `html` escapes every value (e-mail bodies).
pub fn render(source: &str, values: &Value, html: bool) -> Result<String, String> {
    if autoescape_block(source).is_some() {
        return Err("autoescape blocks are not allowed".into());
    }
    let env = environment(html);
    let template = env
        .template_from_str(source)
        .map_err(|error| error.to_string())?;
    let text = template.render(values).map_err(|error| {
        format!(
            "{}: {}",
            error.kind(),
            error.detail().unwrap_or("cannot render")
        )
    })?;
    if text.len() > MAX_OUTPUT {
        return Err(format!("the rendered text exceeds {MAX_OUTPUT} bytes"));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::crm::messages::placeholders::{MessageContext, Values};

    fn values(first_name: &str) -> Value {
        let mut profile = BTreeMap::new();
        profile.insert("first_name".to_owned(), Value::from(first_name.to_owned()));
        for field in ["last_name", "tier", "city", "country"] {
            profile.insert(field.to_owned(), Value::from(String::new()));
        }
        Values {
            profile,
            brand_name: "Maison & Fils".into(),
            context: MessageContext::default(),
        }
        .to_value()
    }

    fn problems(source: &str, purpose: Purpose) -> Vec<FieldError> {
        let mut errors = Vec::new();
        check("variants/0/body", source, purpose, &mut errors);
        errors
    }

    #[test]
    fn an_unknown_placeholder_is_named_with_its_field() {
        let errors = problems("Hello {{ profile.frist_name }}", Purpose::Marketing);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "variants/0/body");
        assert_eq!(errors[0].code, "unknown_placeholder");
        assert!(
            errors[0].message.contains("profile.frist_name"),
            "{errors:?}"
        );
    }

    #[test]
    fn placeholders_are_allowed_per_purpose() {
        assert!(problems("{{ advisor.first_name }}", Purpose::Outreach).is_empty());
        let errors = problems("{{ advisor.first_name }}", Purpose::Marketing);
        assert_eq!(errors[0].code, "unknown_placeholder", "{errors:?}");
        assert!(problems("{{ event.name }} {{ event.starts_at }}", Purpose::Events).is_empty());
        assert!(!problems("{{ event.name }}", Purpose::Outreach).is_empty());
        // The RSVP link is a brand event invitation's only.
        assert!(problems("{{ event.rsvp_url }}", Purpose::Events).is_empty());
        for purpose in [Purpose::Service, Purpose::Marketing, Purpose::Outreach] {
            assert!(
                !problems("{{ event.rsvp_url }}", purpose).is_empty(),
                "{purpose:?}"
            );
        }
    }

    #[test]
    fn whole_objects_globals_and_subscripts_are_refused() {
        for source in [
            "{{ profile }}",
            "{{ range(10) }}",
            "{{ profile['first_name'] }}",
            "{{ secrets.key }}",
        ] {
            assert!(
                !problems(source, Purpose::Marketing).is_empty(),
                "{source} passed"
            );
        }
        // Loop variables and filters are the template's own.
        assert!(
            problems(
                "{% for c in profile.city|list %}{{ c|upper }}{% endfor %}",
                Purpose::Marketing
            )
            .is_empty()
        );
    }

    #[test]
    fn a_syntax_error_names_its_line() {
        let errors = problems("Hello\n{{ profile.first_name ", Purpose::Marketing);
        assert_eq!(errors[0].code, "template_syntax", "{errors:?}");
        assert!(errors[0].message.starts_with("Line 2"), "{errors:?}");
        assert!(!problems("{% include 'x' %}", Purpose::Marketing).is_empty());
    }

    #[test]
    fn html_bodies_escape_values_and_plain_text_does_not() {
        let values = values("<b>Jean</b>");
        let html = render(
            "<p>{{ profile.first_name }} – {{ brand.name }}</p>",
            &values,
            true,
        );
        assert_eq!(
            html.as_deref(),
            Ok("<p>&lt;b&gt;Jean&lt;&#x2f;b&gt; – Maison &amp; Fils</p>")
        );
        let text = render(
            "{{ profile.first_name }} – {{ brand.name }}",
            &values,
            false,
        );
        assert_eq!(text.as_deref(), Ok("<b>Jean</b> – Maison & Fils"));
    }

    #[test]
    fn a_runaway_loop_runs_out_of_fuel() {
        let source =
            "{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}";
        assert!(render(source, &values("J"), false).is_err());
    }
}
