//! The in-memory record store. `Clone` so a request with `allOrNone` can roll back by restoring a snapshot.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::schema::{self, ObjectDef};

pub type Record = Map<String, Value>;

/// A platform event published by a write, handed to the event bus once the write is final.
#[derive(Debug, Clone)]
pub struct PendingEvent {
    pub name: String,
    pub uuid: String,
    pub payload: Record,
}

#[derive(Debug, Clone, Default)]
pub struct Store {
    tables: BTreeMap<&'static str, Vec<Record>>,
    id_counters: HashMap<&'static str, u64>,
    case_numbers: u64,
    order_numbers: u64,
    outbox: Vec<PendingEvent>,
}

/// Ids match exactly, or by their case-sensitive 15-character form like the real API accepts.
pub fn same_id(stored: &str, given: &str) -> bool {
    stored == given || (given.len() == 15 && stored.len() == 18 && stored.starts_with(given))
}

pub fn id_of(record: &Record) -> &str {
    record.get("Id").and_then(Value::as_str).unwrap_or_default()
}

impl Store {
    /// An 18-character id with the object's key prefix (`801SB0000000001AAA`).
    pub fn next_id(&mut self, key_prefix: &'static str) -> String {
        let counter = self.id_counters.entry(key_prefix).or_insert(0);
        *counter += 1;
        format!("{key_prefix}SB{:010}AAA", *counter)
    }

    pub fn next_case_number(&mut self) -> String {
        self.case_numbers += 1;
        format!("{:08}", 1000 + self.case_numbers)
    }

    pub fn next_order_number(&mut self) -> String {
        self.order_numbers += 1;
        format!("{:08}", 99 + self.order_numbers)
    }

    pub fn records(&self, object: &ObjectDef) -> &[Record] {
        self.tables.get(object.name).map_or(&[], Vec::as_slice)
    }

    pub fn find(&self, object: &ObjectDef, id: &str) -> Option<&Record> {
        self.records(object).iter().find(|r| same_id(id_of(r), id))
    }

    pub fn find_mut(&mut self, object: &ObjectDef, id: &str) -> Option<&mut Record> {
        self.tables
            .get_mut(object.name)?
            .iter_mut()
            .find(|r| same_id(id_of(r), id))
    }

    /// The record behind any id, whatever its object.
    pub fn locate(&self, id: &str) -> Option<(&'static ObjectDef, &Record)> {
        let object = schema::object_of_id(id)?;
        self.find(object, id).map(|record| (object, record))
    }

    pub fn insert(&mut self, object: &'static ObjectDef, record: Record) {
        self.tables.entry(object.name).or_default().push(record);
    }

    pub fn remove(&mut self, object: &ObjectDef, id: &str) -> Option<Record> {
        let table = self.tables.get_mut(object.name)?;
        let index = table.iter().position(|r| same_id(id_of(r), id))?;
        Some(table.remove(index))
    }

    /// Records of `object` whose `field` points at `id`.
    pub fn referencing<'a>(
        &'a self,
        object: &ObjectDef,
        field: &'a str,
        id: &'a str,
    ) -> impl Iterator<Item = &'a Record> + 'a {
        self.records(object)
            .iter()
            .filter(move |r| r.get(field).and_then(Value::as_str) == Some(id))
    }

    pub fn enqueue_event(&mut self, event: PendingEvent) {
        self.outbox.push(event);
    }

    /// The events of the writes made so far, for publication once they are final.
    pub fn take_events(&mut self) -> Vec<PendingEvent> {
        std::mem::take(&mut self.outbox)
    }
}
