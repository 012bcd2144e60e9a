//! The checks of a definition against the brand: its templates (channel and purpose as the step says, the
//! version pinned at publish), its segments (the trigger) and its rule catalogue (conditions). Another
//! brand's template or segment is "unknown" here, as it is everywhere else.

use sqlx::PgConnection;
use uuid::Uuid;

use super::definition::{Definition, Step, Trigger};
use crate::crm::messages::templates;
use crate::crm::segments::{repo as segments, rule};
use crate::errors::FieldError;

/// Every reference error of `definition` in the brand; with `pin`, each send step without a version gets
/// its template's current one.
pub async fn check(
    conn: &mut PgConnection,
    brand_id: Uuid,
    definition: &mut Definition,
    pin: bool,
) -> Result<Vec<FieldError>, sqlx::Error> {
    let mut errors = Vec::new();
    if let Trigger::SegmentEntry { segment_id } = &definition.trigger
        && segments::stored(&mut *conn, brand_id, *segment_id)
            .await?
            .is_none()
    {
        errors.push(FieldError::new(
            "definition/trigger/segment_id",
            "unknown_segment",
            "No such segment in this brand.",
        ));
    }
    let catalogue = segments::catalogue(&mut *conn, brand_id).await?;
    for (i, step) in definition.steps.iter_mut().enumerate() {
        match step {
            Step::Send {
                template_id,
                template_version,
                channel,
                purpose,
                ..
            } => {
                let template = match template_version {
                    Some(version) => {
                        templates::load_version(&mut *conn, brand_id, *template_id, *version)
                            .await?
                    }
                    None => templates::load(&mut *conn, brand_id, *template_id).await?,
                };
                let Some(template) = template else {
                    errors.push(FieldError::new(
                        format!("definition/steps/{i}/template_id"),
                        "unknown_template",
                        "No such template (or version) in this brand.",
                    ));
                    continue;
                };
                if template.channel != *channel {
                    errors.push(FieldError::new(
                        format!("definition/steps/{i}/channel"),
                        "channel_mismatch",
                        "The template is for another channel.",
                    ));
                }
                if template.purpose != *purpose {
                    errors.push(FieldError::new(
                        format!("definition/steps/{i}/purpose"),
                        "purpose_mismatch",
                        "The template is for another purpose.",
                    ));
                }
                if pin && template_version.is_none() {
                    *template_version = Some(template.version);
                }
            }
            Step::Condition { rule: raw, .. } => {
                if let Err(rule_errors) = rule::parse(raw, &catalogue) {
                    errors.extend(rule_errors.into_iter().map(|e| {
                        FieldError::new(
                            format!("definition/steps/{i}/rule{}", e.field.trim_end_matches('/')),
                            e.code,
                            e.message,
                        )
                    }));
                }
            }
            _ => {}
        }
    }
    Ok(errors)
}
