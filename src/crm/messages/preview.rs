//! A template rendered for one profile without sending anything: what clienteling's outreach preview shows
//! an advisor (the same variant choice and rendering as the send path).

use sqlx::PgConnection;
use uuid::Uuid;

use super::placeholders::{MessageContext, Values, profile_values};
use super::render;
use super::templates::{self, MessageChannel, Template};
use crate::brands::Brand;
use crate::crm::profile;

/// The rendering of a template for a profile.
#[derive(Debug, Clone)]
pub struct Rendering {
    pub template: Template,
    /// The variant's language that was rendered.
    pub language: String,
    pub subject: Option<String>,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("no such template in the brand")]
    UnknownTemplate,
    #[error("no such profile in the brand")]
    UnknownProfile,
    #[error("the template has no variant to render")]
    NoVariant,
    /// A context object the template names was not given (`advisor`, `event`).
    #[error("the template needs the {0} context")]
    MissingContext(&'static str),
    #[error("the template could not be rendered: {0}")]
    Render(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Renders the brand's template `template_id` (its current version) for the profile, in `language` (else the
/// profile's locale, the brand's, then the template's fallback), with `context`.
pub async fn render_for(
    conn: &mut PgConnection,
    brand: &Brand,
    template_id: Uuid,
    profile_id: Uuid,
    language: Option<&str>,
    context: &MessageContext,
) -> Result<Rendering, PreviewError> {
    let template = templates::load(&mut *conn, brand.id, template_id)
        .await?
        .ok_or(PreviewError::UnknownTemplate)?;
    let profile = profile::load(conn, brand.id, profile_id)
        .await?
        .ok_or(PreviewError::UnknownProfile)?;
    let mut wanted: Vec<&str> = language.into_iter().collect();
    if let Some(locale) = profile.attributes.locale.as_deref() {
        wanted.push(locale);
    }
    wanted.push(&brand.default_locale);
    let variant = template
        .variant_for(wanted)
        .ok_or(PreviewError::NoVariant)?
        .clone();
    let mut used = render::used(&variant.body);
    if let Some(subject) = &variant.subject {
        used.extend(render::used(subject));
    }
    if let Some(missing) = context.missing(used.iter().map(String::as_str)) {
        return Err(PreviewError::MissingContext(missing));
    }
    let values = Values {
        profile: profile_values(&profile),
        brand_name: brand.name.clone(),
        context: context.clone(),
    }
    .to_value();
    let html = template.channel == MessageChannel::Email;
    let body = render::render(&variant.body, &values, html).map_err(PreviewError::Render)?;
    let subject = match &variant.subject {
        Some(subject) => {
            Some(render::render(subject, &values, false).map_err(PreviewError::Render)?)
        }
        None => None,
    };
    Ok(Rendering {
        template,
        language: variant.language,
        subject,
        body,
    })
}
