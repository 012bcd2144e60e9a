//! Each object's own behaviour: defaults, computed fields (Contact.Name, Case.CaseNumber and IsClosed,
//! Order.OrderNumber and TotalAmount, OrderItem.Product2Id and TotalPrice) and the Order life cycle rules.

use serde_json::Value;

use super::errors::SalesforceError;
use super::schema::{self, ObjectDef};
use super::seed::INTEGRATION_USER_ID;
use super::store::{Record, Store, id_of};
use super::values;

fn text<'a>(record: &'a Record, field: &str) -> Option<&'a str> {
    record.get(field).and_then(Value::as_str)
}

fn number(record: &Record, field: &str) -> Option<f64> {
    record.get(field).and_then(Value::as_f64)
}

fn set_default(record: &mut Record, field: &str, value: Value) {
    if record.get(field).is_none_or(Value::is_null) {
        record.insert(field.to_owned(), value);
    }
}

pub fn apply_defaults(object: &ObjectDef, record: &mut Record) {
    match object.name {
        "Case" => {
            set_default(record, "Status", "New".into());
            set_default(record, "Priority", "Medium".into());
        }
        "Task" => {
            set_default(record, "Status", "Not Started".into());
            set_default(record, "Priority", "Normal".into());
            set_default(record, "OwnerId", INTEGRATION_USER_ID.into());
        }
        "Product2" | "Pricebook2" => set_default(record, "IsActive", false.into()),
        "PricebookEntry" => {
            set_default(record, "IsActive", false.into());
            set_default(record, "CurrencyIsoCode", "JPY".into());
        }
        "CaseComment" => set_default(record, "IsPublished", false.into()),
        _ => {}
    }
}

pub fn before_insert(
    store: &mut Store,
    object: &ObjectDef,
    record: &mut Record,
) -> Result<(), SalesforceError> {
    match object.name {
        "Contact" => set_contact_name(record),
        "Pricebook2" => {
            record.insert("IsStandard".into(), false.into());
        }
        "PricebookEntry" => prepare_pricebook_entry(store, record)?,
        "Order" => {
            if text(record, "Status") == Some("Activated") {
                return Err(SalesforceError::field_integrity(
                    "You can't create an activated order. Create it as Draft, add products, then activate it.",
                )
                .with_fields(vec!["Status".into()]));
            }
            record.insert("OrderNumber".into(), store.next_order_number().into());
            record.insert("TotalAmount".into(), values::number_json(0.0));
        }
        "OrderItem" => prepare_order_item(store, record)?,
        "Case" => {
            record.insert("CaseNumber".into(), store.next_case_number().into());
            close_case_if_closed(None, record);
        }
        _ => {}
    }
    Ok(())
}

pub fn before_update(
    store: &Store,
    object: &ObjectDef,
    existing: &Record,
    record: &mut Record,
) -> Result<(), SalesforceError> {
    match object.name {
        "Contact" => set_contact_name(record),
        "Order" => update_order(store, existing, record)?,
        "OrderItem" => {
            let order_activated = order_of_item(store, existing)
                .is_some_and(|order| text(order, "Status") == Some("Activated"));
            let priced_fields_changed = ["Quantity", "UnitPrice", "ListPrice"]
                .iter()
                .any(|f| existing.get(*f) != record.get(*f));
            if order_activated && priced_fields_changed {
                return Err(SalesforceError::field_integrity(
                    "You can't change the quantity or price of a product on an activated order.",
                ));
            }
            check_quantity(record)?;
            set_total_price(record);
        }
        "Case" => close_case_if_closed(Some(existing), record),
        "Task" => check_mirror_version(existing, record)?,
        _ => {}
    }
    Ok(())
}

/// The validation rule an org mirroring clienteling interactions deploys on Task
/// (`Concierge_Version__c < PRIORVALUE(Concierge_Version__c)`): an older write arriving after a newer one
/// is refused, so the Task never goes back in time.
fn check_mirror_version(existing: &Record, record: &Record) -> Result<(), SalesforceError> {
    match (
        number(existing, "Concierge_Version__c"),
        number(record, "Concierge_Version__c"),
    ) {
        (Some(before), Some(after)) if after < before => Err(SalesforceError::bad_request(
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "Concierge_Version__c cannot go back: a newer version of this interaction is mirrored.",
        )
        .with_fields(vec!["Concierge_Version__c".into()])),
        _ => Ok(()),
    }
}

pub fn before_delete(
    store: &Store,
    object: &ObjectDef,
    record: &Record,
) -> Result<(), SalesforceError> {
    let activated = |order: &Record| text(order, "Status") == Some("Activated");
    match object.name {
        "Order" if activated(record) => Err(SalesforceError::bad_request(
            "ENTITY_IS_LOCKED",
            "You can't delete an activated order. Deactivate it first.",
        )),
        "OrderItem" if order_of_item(store, record).is_some_and(activated) => {
            Err(SalesforceError::bad_request(
                "ENTITY_IS_LOCKED",
                "You can't remove products from an activated order.",
            ))
        }
        _ => Ok(()),
    }
}

/// What goes with a deleted record instead of blocking its deletion.
pub fn cascading_children(object: &ObjectDef) -> &'static [(&'static str, &'static str)] {
    match object.name {
        "Account" => &[
            ("Contact", "AccountId"),
            ("Case", "AccountId"),
            ("Task", "WhatId"),
        ],
        "Contact" => &[("Task", "WhoId")],
        "Order" => &[("OrderItem", "OrderId"), ("Task", "WhatId")],
        "Case" => &[("CaseComment", "ParentId"), ("Task", "WhatId")],
        // Price book entries go with their product or price book unless an order item still uses them.
        "Product2" => &[("PricebookEntry", "Product2Id"), ("Task", "WhatId")],
        "Pricebook2" => &[("PricebookEntry", "Pricebook2Id")],
        _ => &[("Task", "WhatId")],
    }
}

/// Keeps Order.TotalAmount the sum of its items once an item changed.
pub fn after_write(store: &mut Store, object: &ObjectDef, record: &Record) {
    if object.name == "OrderItem"
        && let Some(order_id) = text(record, "OrderId")
    {
        recompute_order_total(store, order_id);
    }
}

pub fn after_delete(store: &mut Store, object: &ObjectDef, record: &Record) {
    after_write(store, object, record);
}

fn set_contact_name(record: &mut Record) {
    let name = [text(record, "FirstName"), text(record, "LastName")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    record.insert("Name".into(), name.into());
}

fn close_case_if_closed(existing: Option<&Record>, record: &mut Record) {
    let closed = text(record, "Status") == Some("Closed");
    let was_closed = existing.is_some_and(|e| e.get("IsClosed") == Some(&Value::Bool(true)));
    record.insert("IsClosed".into(), closed.into());
    if closed && !was_closed {
        record.insert("ClosedDate".into(), values::now().into());
    } else if !closed {
        record.insert("ClosedDate".into(), Value::Null);
    }
}

fn prepare_pricebook_entry(store: &Store, record: &mut Record) -> Result<(), SalesforceError> {
    let (Some(products), Some(product_id), Some(pricebook_id)) = (
        schema::object("Product2"),
        text(record, "Product2Id").map(str::to_owned),
        text(record, "Pricebook2Id").map(str::to_owned),
    ) else {
        return Ok(());
    };
    if let Some(entries) = schema::object("PricebookEntry") {
        let duplicate = store.records(entries).iter().any(|entry| {
            text(entry, "Product2Id") == Some(&product_id)
                && text(entry, "Pricebook2Id") == Some(&pricebook_id)
        });
        if duplicate {
            return Err(SalesforceError::bad_request(
                "DUPLICATE_VALUE",
                "This price definition already exists in this price book",
            ));
        }
    }
    if let Some(product) = store.find(products, &product_id) {
        let name = product.get("Name").cloned().unwrap_or(Value::Null);
        let code = product.get("ProductCode").cloned().unwrap_or(Value::Null);
        record.insert("Name".into(), name);
        record.insert("ProductCode".into(), code);
    }
    Ok(())
}

fn order_of_item<'a>(store: &'a Store, item: &Record) -> Option<&'a Record> {
    store.find(schema::object("Order")?, text(item, "OrderId")?)
}

fn prepare_order_item(store: &Store, record: &mut Record) -> Result<(), SalesforceError> {
    let order = order_of_item(store, record).ok_or_else(|| {
        SalesforceError::field_integrity("OrderId: the order does not exist")
            .with_fields(vec!["OrderId".into()])
    })?;
    if text(order, "Status") == Some("Activated") {
        return Err(SalesforceError::field_integrity(
            "You can't add products to an activated order.",
        ));
    }
    let entry = schema::object("PricebookEntry")
        .zip(text(record, "PricebookEntryId"))
        .and_then(|(entries, id)| store.find(entries, id))
        .ok_or_else(|| {
            SalesforceError::field_integrity(
                "PricebookEntryId: the price book entry does not exist",
            )
            .with_fields(vec!["PricebookEntryId".into()])
        })?;
    match text(order, "Pricebook2Id") {
        None => {
            return Err(
                SalesforceError::field_integrity("Price Book Not Set on Order")
                    .with_fields(vec!["PricebookEntryId".into()]),
            );
        }
        Some(pricebook) if text(entry, "Pricebook2Id") != Some(pricebook) => {
            return Err(SalesforceError::field_integrity(
                "field integrity exception: PricebookEntryId (pricebook entry is in a different pricebook than order)",
            )
            .with_fields(vec!["PricebookEntryId".into()]));
        }
        Some(_) => {}
    }
    if entry.get("IsActive") != Some(&Value::Bool(true)) {
        return Err(SalesforceError::field_integrity(
            "field integrity exception: PricebookEntryId (pricebook entry is inactive)",
        )
        .with_fields(vec!["PricebookEntryId".into()]));
    }
    let product = entry.get("Product2Id").cloned().unwrap_or(Value::Null);
    let list_price = entry.get("UnitPrice").cloned().unwrap_or(Value::Null);
    record.insert("Product2Id".into(), product);
    set_default(record, "ListPrice", list_price);
    check_quantity(record)?;
    set_total_price(record);
    Ok(())
}

fn check_quantity(record: &Record) -> Result<(), SalesforceError> {
    if number(record, "Quantity") == Some(0.0) {
        return Err(
            SalesforceError::field_integrity("Quantity: value cannot be zero")
                .with_fields(vec!["Quantity".into()]),
        );
    }
    Ok(())
}

fn set_total_price(record: &mut Record) {
    let total =
        number(record, "Quantity").unwrap_or(0.0) * number(record, "UnitPrice").unwrap_or(0.0);
    record.insert("TotalPrice".into(), values::number_json(total));
}

fn update_order(
    store: &Store,
    existing: &Record,
    record: &mut Record,
) -> Result<(), SalesforceError> {
    let was_draft = text(existing, "Status") == Some("Draft");
    if !was_draft && existing.get("AccountId") != record.get("AccountId") {
        return Err(SalesforceError::field_integrity(
            "You can't change the account of an order that isn't in Draft status.",
        )
        .with_fields(vec!["AccountId".into()]));
    }
    let items = schema::object("OrderItem")
        .map(|items| store.referencing(items, "OrderId", id_of(existing)).count())
        .unwrap_or(0);
    if items > 0 && existing.get("Pricebook2Id") != record.get("Pricebook2Id") {
        return Err(SalesforceError::field_integrity(
            "You can't change the price book of an order that has products.",
        )
        .with_fields(vec!["Pricebook2Id".into()]));
    }
    match (text(existing, "Status"), text(record, "Status")) {
        (Some("Draft"), Some("Activated")) => {
            if items == 0 {
                return Err(SalesforceError::field_integrity(
                    "You can't activate an order that has no products.",
                )
                .with_fields(vec!["Status".into()]));
            }
            record.insert("ActivatedDate".into(), values::now().into());
        }
        (Some("Activated"), Some("Draft")) => {
            record.insert("ActivatedDate".into(), Value::Null);
        }
        _ => {}
    }
    Ok(())
}

fn recompute_order_total(store: &mut Store, order_id: &str) {
    let (Some(orders), Some(items)) = (schema::object("Order"), schema::object("OrderItem")) else {
        return;
    };
    let Some(stored_id) = store.find(orders, order_id).map(|o| id_of(o).to_owned()) else {
        return;
    };
    let total: f64 = store
        .referencing(items, "OrderId", &stored_id)
        .filter_map(|item| number(item, "TotalPrice"))
        .sum();
    if let Some(order) = store.find_mut(orders, &stored_id) {
        order.insert("TotalAmount".into(), values::number_json(total));
    }
}
