//! Salesforce `Product2` records as the sync reads them. Each record is read on its own from a JSON value, so
//! a hostile or malformed one (a wrong type, a missing field, another brand's product, a date years ahead) is
//! skipped with a reason instead of failing the page or reaching the table.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::integrations::salesforce::soql;

/// The fields every catalogue query selects; the price comes from the product's active price book entry.
pub const FIELDS: &str = "Id, ProductCode, Name, Family, Colour__c, Material__c, Description, Image_Url__c, \
    IsActive, Brand__c, LastModifiedDate, \
    (SELECT UnitPrice, CurrencyIsoCode FROM PricebookEntries WHERE IsActive = true)";

const MAX_SKU: usize = 80;
const MAX_NAME: usize = 255;
const MAX_ATTRIBUTE: usize = 255;
const MAX_DESCRIPTION: usize = 4000;
const MAX_URL: usize = 2048;
/// 10^12 currency units: far above any price, far below `i64` hundredths.
const MAX_PRICE: f64 = 1e12;

/// One product as it goes into `clienteling_products`.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub salesforce_id: String,
    pub sku: String,
    pub name: String,
    pub category: Option<String>,
    pub colour: Option<String>,
    pub material: Option<String>,
    pub description: Option<String>,
    pub image_url: Option<String>,
    pub price: Option<(i64, String)>,
    pub active: bool,
    pub modified_at: DateTime<Utc>,
}

/// Why a record was left out; the run counts each (`skip_reasons`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    NotAnObject,
    MissingField,
    WrongType,
    TooLong,
    OtherBrand,
    BadId,
    BadPrice,
    FutureDate,
    DuplicateSku,
    PageOverflow,
}

impl Skip {
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NotAnObject => "not_an_object",
            Skip::MissingField => "missing_field",
            Skip::WrongType => "wrong_type",
            Skip::TooLong => "too_long",
            Skip::OtherBrand => "other_brand",
            Skip::BadId => "bad_id",
            Skip::BadPrice => "bad_price",
            Skip::FutureDate => "future_date",
            Skip::DuplicateSku => "duplicate_sku",
            Skip::PageOverflow => "page_overflow",
        }
    }
}

/// Reads one record of `brand`; `now` bounds `LastModifiedDate` (a date far ahead would freeze the watermark).
pub fn read(record: &Value, brand: &str, now: DateTime<Utc>) -> Result<Incoming, Skip> {
    let fields = record.as_object().ok_or(Skip::NotAnObject)?;
    let get = |name: &str| fields.get(name).filter(|v| !v.is_null());
    let salesforce_id = required_text(get("Id"), 18)?;
    if !soql::is_id(&salesforce_id) {
        return Err(Skip::BadId);
    }
    match get("Brand__c") {
        Some(Value::String(b)) if b == brand => {}
        Some(Value::String(_)) | None => return Err(Skip::OtherBrand),
        Some(_) => return Err(Skip::WrongType),
    }
    let sku = required_text(get("ProductCode"), MAX_SKU)?;
    if sku.chars().any(char::is_whitespace) {
        return Err(Skip::WrongType);
    }
    let name = required_text(get("Name"), MAX_NAME)?;
    let active = match get("IsActive") {
        Some(Value::Bool(active)) => *active,
        Some(_) => return Err(Skip::WrongType),
        None => return Err(Skip::MissingField),
    };
    let modified_at = match get("LastModifiedDate") {
        Some(Value::String(text)) => parse_datetime(text).ok_or(Skip::WrongType)?,
        Some(_) => return Err(Skip::WrongType),
        None => return Err(Skip::MissingField),
    };
    if modified_at > now + Duration::days(1) {
        return Err(Skip::FutureDate);
    }
    Ok(Incoming {
        salesforce_id,
        sku,
        name,
        category: optional_text(get("Family"), MAX_ATTRIBUTE)?,
        colour: optional_text(get("Colour__c"), MAX_ATTRIBUTE)?,
        material: optional_text(get("Material__c"), MAX_ATTRIBUTE)?,
        description: optional_text(get("Description"), MAX_DESCRIPTION)?,
        image_url: image_url(get("Image_Url__c"))?,
        price: price(get("PricebookEntries"))?,
        active,
        modified_at,
    })
}

fn clean(text: &str) -> String {
    text.trim().chars().filter(|c| !c.is_control()).collect()
}

fn required_text(value: Option<&Value>, max: usize) -> Result<String, Skip> {
    optional_text(value, max)?.ok_or(Skip::MissingField)
}

fn optional_text(value: Option<&Value>, max: usize) -> Result<Option<String>, Skip> {
    match value {
        None => Ok(None),
        Some(Value::String(text)) => {
            let text = clean(text);
            if text.chars().count() > max {
                Err(Skip::TooLong)
            } else {
                Ok((!text.is_empty()).then_some(text))
            }
        }
        Some(_) => Err(Skip::WrongType),
    }
}

/// Only `https` images: the advisors' app shows them as they are.
fn image_url(value: Option<&Value>) -> Result<Option<String>, Skip> {
    let url = optional_text(value, MAX_URL)?;
    Ok(url.filter(|url| url.starts_with("https://")))
}

/// The first active entry's price, if it is a sane amount in an ISO currency.
fn price(entries: Option<&Value>) -> Result<Option<(i64, String)>, Skip> {
    let Some(entries) = entries else {
        return Ok(None);
    };
    let records = entries
        .get("records")
        .and_then(Value::as_array)
        .ok_or(Skip::WrongType)?;
    let Some(entry) = records.first() else {
        return Ok(None);
    };
    let amount = entry
        .get("UnitPrice")
        .and_then(Value::as_f64)
        .ok_or(Skip::BadPrice)?;
    if !amount.is_finite() || !(0.0..MAX_PRICE).contains(&amount) {
        return Err(Skip::BadPrice);
    }
    let hundredths = (amount * 100.0).round();
    // More than two decimals would be rounded: refuse rather than show another price.
    if ((hundredths / 100.0) - amount).abs() > 1e-6 {
        return Err(Skip::BadPrice);
    }
    let currency = entry
        .get("CurrencyIsoCode")
        .and_then(Value::as_str)
        .and_then(crate::types::Currency::parse)
        .ok_or(Skip::BadPrice)?;
    Ok(Some((hundredths as i64, currency.as_str().to_owned())))
}

/// Salesforce's `2026-01-20T10:00:00.000+0000`, or RFC 3339.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| DateTime::parse_from_rfc3339(text))
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn good() -> Value {
        json!({
            "attributes": {"type": "Product2"},
            "Id": "01tSB0000000021AAA", "ProductCode": "MA-CAP-MM-NOIR", "Name": "Sac Capucines MM",
            "Family": "Bags", "Colour__c": "Noir", "Material__c": "Cuir", "Description": "Sac",
            "Image_Url__c": "https://img.example/a.jpg", "IsActive": true, "Brand__c": "maison",
            "LastModifiedDate": "2026-01-20T10:00:00.000+0000",
            "PricebookEntries": {"totalSize": 1, "done": true, "records": [{"UnitPrice": 6900.5, "CurrencyIsoCode": "EUR"}]}
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut record = good();
        record[field] = value;
        record
    }

    fn now() -> DateTime<Utc> {
        parse_datetime("2026-12-01T00:00:00Z").unwrap()
    }

    #[test]
    fn a_good_record_reads_with_its_price_in_hundredths() {
        let product = read(&good(), "maison", now()).unwrap();
        assert_eq!(product.sku, "MA-CAP-MM-NOIR");
        assert_eq!(product.price, Some((690_050, "EUR".to_owned())));
        assert!(product.active);
    }

    #[test]
    fn hostile_records_are_skipped_with_their_reason() {
        let cases = [
            (json!("a string"), Skip::NotAnObject),
            (with("Brand__c", json!("atelier")), Skip::OtherBrand),
            (with("Brand__c", Value::Null), Skip::OtherBrand),
            (with("Brand__c", json!(7)), Skip::WrongType),
            (with("ProductCode", Value::Null), Skip::MissingField),
            (with("ProductCode", json!("  ")), Skip::MissingField),
            (with("ProductCode", json!("A B")), Skip::WrongType),
            (with("ProductCode", json!(12)), Skip::WrongType),
            (with("Name", json!("x".repeat(300))), Skip::TooLong),
            (with("IsActive", json!("yes")), Skip::WrongType),
            (with("Id", json!("../../etc")), Skip::BadId),
            (
                with("LastModifiedDate", json!("yesterday")),
                Skip::WrongType,
            ),
            (
                with("LastModifiedDate", json!("9999-01-01T00:00:00.000+0000")),
                Skip::FutureDate,
            ),
            (
                with(
                    "PricebookEntries",
                    json!({"records": [{"UnitPrice": -1, "CurrencyIsoCode": "EUR"}]}),
                ),
                Skip::BadPrice,
            ),
            (
                with(
                    "PricebookEntries",
                    json!({"records": [{"UnitPrice": 1e300, "CurrencyIsoCode": "EUR"}]}),
                ),
                Skip::BadPrice,
            ),
            (
                with(
                    "PricebookEntries",
                    json!({"records": [{"UnitPrice": 1.234, "CurrencyIsoCode": "EUR"}]}),
                ),
                Skip::BadPrice,
            ),
            (
                with(
                    "PricebookEntries",
                    json!({"records": [{"UnitPrice": 10, "CurrencyIsoCode": "EURO"}]}),
                ),
                Skip::BadPrice,
            ),
            (with("PricebookEntries", json!([1, 2])), Skip::WrongType),
        ];
        for (record, reason) in cases {
            assert_eq!(read(&record, "maison", now()), Err(reason), "{record}");
        }
    }

    #[test]
    fn control_characters_and_non_https_images_do_not_come_through() {
        let record = with("Name", json!("Sac\u{0}\u{1b}[31m Capucines"));
        let record = {
            let mut r = record;
            r["Image_Url__c"] = json!("javascript:alert(1)");
            r
        };
        let product = read(&record, "maison", now()).unwrap();
        assert_eq!(product.name, "Sac[31m Capucines");
        assert_eq!(product.image_url, None);
    }
}
