//! What each network accepts, checked before a post is accepted: X's weighted length (280, URLs as 23),
//! Instagram's caption (2,200 characters, 30 hashtags, exactly one image), Facebook's message or link.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

use super::domain::Network;
use crate::errors::FieldError;

pub const X_MAX_WEIGHTED: usize = 280;
pub const X_URL_LENGTH: usize = 23;
pub const INSTAGRAM_MAX_CAPTION: usize = 2_200;
pub const INSTAGRAM_MAX_HASHTAGS: usize = 30;
/// Facebook's own limit on a post's message.
pub const MAX_TEXT: usize = 63_206;
pub const MAX_URL: usize = 2_048;
pub const MAX_MEDIA: usize = 10;

/// A URL as X (twitter-text) extracts one: a domain of labels and a TLD, an optional port, then only the
/// ASCII path and query characters X takes, ending on one it lets a URL end with. Anything else after the
/// scheme (no domain, CJK, unbalanced parentheses, trailing dots) is text to X and is weighed as text.
static SCHEME_URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)\bhttps?://((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+([a-z]{2,63}))(?::[0-9]{1,5})?",
        r"(?:/(?:[a-z0-9!*';:=+,.$/%#\[\]_~&|@-]*[a-z0-9=_#/+-])?)?",
        r"(?:\?[a-z0-9!?*'();:&=+$/%#\[\]_.,~|@-]*[a-z0-9_&=#/-])?",
    ))
    .ok()
});
/// TLDs beyond the two-letter country codes that count a URL as 23; a URL under any other TLD is weighed
/// in full (never less than X counts it).
const X_URL_TLDS: [&str; 24] = [
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "shop", "store",
    "app", "dev", "online", "site", "tech", "blog", "news", "xyz", "club", "media", "link",
];
/// Text X may take for a URL without a scheme (`example.com/x`); counted at least as a URL, never less.
static BARE_DOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}(?:/[^\s]*)?").ok()
});
/// A hashtag, and any run together with it (`#spring#sale` is two to Instagram).
static HASHTAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?:^|[^\w&])#\w+(?:#\w+)*").ok());

/// twitter-text v3's weight of one code point: 1 in the ranges X counts as Latin-like, 2 elsewhere (CJK,
/// emoji). An emoji sequence is counted per code point, which is never less than X counts it.
fn weight(c: char) -> usize {
    match u32::from(c) {
        0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247 => 1,
        _ => 2,
    }
}

fn weighted(text: &str) -> usize {
    text.chars().map(weight).sum()
}

/// The length X measures: after NFC (twitter-text normalises first, so a decomposed "é" is one character,
/// not two), every URL as 23, everything else by weight.
pub fn x_length(text: &str) -> usize {
    let normalised: String = text.nfc().collect();
    let text = normalised.as_str();
    let Some(scheme) = SCHEME_URL.as_ref() else {
        return weighted(text);
    };
    let mut total = 0;
    let mut rest_start = 0;
    for found in scheme.captures_iter(text) {
        let (Some(url), Some(host), Some(tld)) = (found.get(0), found.get(1), found.get(2)) else {
            continue;
        };
        let tld = tld.as_str().to_ascii_lowercase();
        let known = tld.len() == 2 || X_URL_TLDS.contains(&tld.as_str());
        if !known || host.len() > 253 || url.len() > 4096 {
            continue;
        }
        total += bare_weighted(&text[rest_start..url.start()]);
        total += X_URL_LENGTH;
        rest_start = url.end();
    }
    total + bare_weighted(&text[rest_start..])
}

fn bare_weighted(text: &str) -> usize {
    let Some(bare) = BARE_DOMAIN.as_ref() else {
        return weighted(text);
    };
    let mut total = 0;
    let mut rest_start = 0;
    for found in bare.find_iter(text) {
        total += weighted(&text[rest_start..found.start()]);
        total += weighted(found.as_str()).max(X_URL_LENGTH);
        rest_start = found.end();
    }
    total + weighted(&text[rest_start..])
}

pub fn hashtags(text: &str) -> usize {
    HASHTAG.as_ref().map_or(0, |re| {
        re.find_iter(text)
            .map(|found| found.as_str().matches('#').count())
            .sum()
    })
}

pub fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && url.len() <= MAX_URL
        && reqwest::Url::parse(url).is_ok_and(|u| u.host_str().is_some_and(|h| !h.is_empty()))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// What one network is sent for a post: X and Instagram carry the link in the text.
pub fn compose(network: Network, text: &str, link: Option<&str>) -> String {
    match (network, link) {
        (Network::Facebook, _) | (_, None) => text.trim().to_owned(),
        (_, Some(link)) if text.trim().is_empty() => link.to_owned(),
        (_, Some(link)) => format!("{}\n\n{link}", text.trim()),
    }
}

/// The post's content as a whole (any network).
pub fn check_content(text: &str, link: Option<&str>, media: &[String]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if text.chars().count() > MAX_TEXT {
        errors.push(FieldError::new(
            "text",
            "too_long",
            format!("At most {MAX_TEXT} characters."),
        ));
    }
    if text.contains('\0') {
        errors.push(FieldError::new(
            "text",
            "invalid",
            "The text holds a NUL character.",
        ));
    }
    if let Some(link) = link
        && !is_web_url(link)
    {
        errors.push(FieldError::new(
            "link",
            "invalid_url",
            "An http(s) URL of at most 2048 characters.",
        ));
    }
    if media.len() > MAX_MEDIA {
        errors.push(FieldError::new(
            "media",
            "too_many",
            format!("At most {MAX_MEDIA} images."),
        ));
    }
    for (index, url) in media.iter().enumerate() {
        if !is_web_url(url) {
            errors.push(FieldError::new(
                format!("media/{index}"),
                "invalid_url",
                "An http(s) URL of at most 2048 characters.",
            ));
        }
    }
    errors
}

/// The rules of `network` for this post; `target` names the field (`targets/2`).
pub fn check_for(
    network: Network,
    target: &str,
    text: &str,
    link: Option<&str>,
    media: &[String],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let composed = compose(network, text, link);
    match network {
        Network::Facebook => {
            if text.trim().is_empty() && link.is_none() {
                errors.push(FieldError::new(
                    target,
                    "facebook_empty",
                    "Facebook needs a message or a link.",
                ));
            }
        }
        Network::X => {
            let length = x_length(&composed);
            if composed.trim().is_empty() {
                errors.push(FieldError::new(target, "x_empty", "X needs text."));
            } else if length > X_MAX_WEIGHTED {
                errors.push(FieldError::new(
                    target,
                    "x_too_long",
                    format!("X takes {X_MAX_WEIGHTED} weighted characters (URLs count as {X_URL_LENGTH}); this post has {length}."),
                ));
            }
        }
        Network::Instagram => {
            if media.len() != 1 {
                errors.push(FieldError::new(
                    target,
                    "instagram_one_image",
                    "Instagram takes exactly one image.",
                ));
            }
            let length = composed.chars().count();
            if length > INSTAGRAM_MAX_CAPTION {
                errors.push(FieldError::new(
                    target,
                    "instagram_caption_too_long",
                    format!("Instagram captions take {INSTAGRAM_MAX_CAPTION} characters; this one has {length}."),
                ));
            }
            let tags = hashtags(&composed);
            if tags > INSTAGRAM_MAX_HASHTAGS {
                errors.push(FieldError::new(
                    target,
                    "instagram_too_many_hashtags",
                    format!("Instagram takes {INSTAGRAM_MAX_HASHTAGS} hashtags; this caption has {tags}."),
                ));
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_counts_urls_as_23_and_wide_characters_as_2() {
        assert_eq!(x_length("hello"), 5);
        assert_eq!(
            x_length("see https://example.com/a/very/long/path/that/goes/on?and=on"),
            4 + 23
        );
        assert_eq!(x_length("日本語"), 6);
        assert_eq!(x_length("go to example.com now"), 6 + 23 + 4);
        assert_eq!(x_length(&"a".repeat(280)), 280);
        assert_eq!(x_length(&"あ".repeat(141)), 282);
    }

    #[test]
    fn x_counts_after_nfc_so_decomposed_accents_count_once() {
        let decomposed = "e\u{301}".repeat(280);
        assert_eq!(x_length(&decomposed), 280);
        assert!(check_for(Network::X, "targets/0", &decomposed, None, &[]).is_empty());
        assert_eq!(x_length("Cafe\u{301} https://example.com/x"), 5 + 23);
    }

    #[test]
    fn a_long_url_fits_where_its_characters_would_not() {
        let text = format!(
            "{} https://example.com/{}",
            "a".repeat(250),
            "b".repeat(200)
        );
        assert!(check_for(Network::X, "targets/0", &text, None, &[]).is_empty());
        let too_long = format!("{} https://example.com/", "a".repeat(257));
        assert_eq!(
            check_for(Network::X, "targets/0", &too_long, None, &[])[0].code,
            "x_too_long"
        );
    }

    #[test]
    fn instagram_counts_hashtags_and_wants_one_image() {
        let tags: String = (0..31).map(|i| format!("#tag{i} ")).collect();
        let image = vec!["https://cdn.example.com/a.jpg".to_owned()];
        let codes: Vec<_> = check_for(Network::Instagram, "t", &tags, None, &image)
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(codes, ["instagram_too_many_hashtags"]);
        let codes: Vec<_> = check_for(Network::Instagram, "t", "hi", None, &[])
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(codes, ["instagram_one_image"]);
        assert_eq!(hashtags("a#b &#x #ok #ok2"), 2);
        assert_eq!(hashtags("#spring#sale #new"), 3);
    }

    #[test]
    fn facebook_takes_a_link_alone_but_not_nothing() {
        assert!(check_for(Network::Facebook, "t", "", Some("https://example.com"), &[]).is_empty());
        assert!(
            !is_web_url("https://example.com/\u{0}"),
            "a NUL would fail the insert"
        );
        assert!(!is_web_url("ftp://example.com/a"));
        assert_eq!(
            check_for(Network::Facebook, "t", "  ", None, &[])[0].code,
            "facebook_empty"
        );
    }
}
