//! A journey's definition: its trigger, its graph of steps, its exit rules and its re-entry policy, and the
//! structural checks made at save (the checks against the brand's templates, segments and rule catalogue are
//! in `refs.rs`).

use std::collections::{HashMap, HashSet};

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crm::consent::Purpose;
use crate::crm::messages::MessageChannel;
use crate::crm::profile::Attributes;
use crate::errors::FieldError;

/// The most steps a journey has.
pub const MAX_STEPS: usize = 50;
/// The longest wait, in seconds (a year).
pub const MAX_WAIT_SECS: u64 = 366 * 86_400;
/// The latest a `create_advisor_task` step's task falls due, in hours after the step (a year).
pub const MAX_TASK_DUE_HOURS: u32 = 366 * 24;
/// The activity type of the journeys' own profile changes; never a trigger (a journey cannot feed itself).
pub const ACTION_EVENT: &str = "journey_action";
/// The built-in attributes `update_attribute` may set (identifiers and tags have their own paths).
pub const SETTABLE: [&str; 6] = [
    "first_name",
    "last_name",
    "locale",
    "country",
    "city",
    "tier",
];

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmJourneyDefinition)]
pub struct Definition {
    pub trigger: Trigger,
    /// The id of the first step.
    pub start: String,
    pub steps: Vec<Step>,
    #[serde(default)]
    pub exit: Exit,
    #[serde(default)]
    pub reentry: Reentry,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = CrmJourneyTrigger)]
pub enum Trigger {
    /// An activity of this type whose properties equal every member of `properties`.
    Event {
        event: String,
        #[serde(default)]
        #[schema(value_type = Object)]
        properties: Map<String, Value>,
    },
    /// The profile entered this segment of the brand.
    SegmentEntry { segment_id: Uuid },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CrmJourneyExit)]
pub struct Exit {
    /// An activity of one of these types ends a running enrollment (`exited`).
    #[serde(default)]
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = CrmJourneyReentry)]
pub enum Reentry {
    /// A profile goes through the journey once.
    #[default]
    Once,
    /// Again once `days` have passed since it last entered.
    AfterDays { days: u32 },
    /// Again at every trigger once the previous enrollment ended.
    Always,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = CrmJourneyStep)]
pub enum Step {
    /// `duration_secs`, or until the next `until_time` (`HH:MM`) in the profile's time zone.
    Wait {
        id: String,
        duration_secs: Option<u64>,
        until_time: Option<String>,
        next: Option<String>,
    },
    /// A rule in the segment language, evaluated for the profile when the step runs.
    Condition {
        id: String,
        #[schema(value_type = Object)]
        rule: Value,
        yes: Option<String>,
        no: Option<String>,
    },
    /// Through the send path; `template_version` is pinned at publish.
    Send {
        id: String,
        template_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template_version: Option<i32>,
        channel: MessageChannel,
        purpose: Purpose,
        next: Option<String>,
    },
    UpdateAttribute {
        id: String,
        attribute: String,
        value: String,
        next: Option<String>,
    },
    AddTag {
        id: String,
        tag: String,
        next: Option<String>,
    },
    /// A clienteling task for the client's primary advisor (else their store's first manager), once per
    /// enrollment and step; due `due_in_hours` (default 24) after the step runs.
    CreateAdvisorTask {
        id: String,
        title: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        due_in_hours: Option<u32>,
        /// `low`, `normal` (default) or `high`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        priority: Option<String>,
        next: Option<String>,
    },
    /// An outbox event `crm.journey.emitted` carrying `name` and `payload`.
    Emit {
        id: String,
        name: String,
        #[serde(default)]
        #[schema(value_type = Object)]
        payload: Map<String, Value>,
        next: Option<String>,
    },
}

impl Step {
    pub fn id(&self) -> &str {
        match self {
            Step::Wait { id, .. }
            | Step::Condition { id, .. }
            | Step::Send { id, .. }
            | Step::UpdateAttribute { id, .. }
            | Step::AddTag { id, .. }
            | Step::Emit { id, .. }
            | Step::CreateAdvisorTask { id, .. } => id,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Step::Wait { .. } => "wait",
            Step::Condition { .. } => "condition",
            Step::Send { .. } => "send",
            Step::UpdateAttribute { .. } => "update_attribute",
            Step::AddTag { .. } => "add_tag",
            Step::Emit { .. } => "emit",
            Step::CreateAdvisorTask { .. } => "create_advisor_task",
        }
    }

    /// The steps that may follow, with the field naming each.
    pub fn successors(&self) -> Vec<(&'static str, &str)> {
        match self {
            Step::Condition { yes, no, .. } => [("yes", yes), ("no", no)]
                .into_iter()
                .filter_map(|(field, next)| next.as_deref().map(|next| (field, next)))
                .collect(),
            Step::Wait { next, .. }
            | Step::Send { next, .. }
            | Step::UpdateAttribute { next, .. }
            | Step::AddTag { next, .. }
            | Step::Emit { next, .. }
            | Step::CreateAdvisorTask { next, .. } => {
                next.iter().map(|next| ("next", next.as_str())).collect()
            }
        }
    }
}

impl Definition {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id() == id)
    }

    pub fn trigger_key(&self) -> (&'static str, String) {
        match &self.trigger {
            Trigger::Event { event, .. } => ("event", event.clone()),
            Trigger::SegmentEntry { segment_id } => ("segment_entry", segment_id.to_string()),
        }
    }
}

/// An activity type: a lower-case letter, then 1–63 lower-case letters, digits or underscores.
pub fn is_event_type(kind: &str) -> bool {
    let bytes = kind.as_bytes();
    (2..=64).contains(&bytes.len())
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

fn is_step_id(id: &str) -> bool {
    let bytes = id.as_bytes();
    (1..=64).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
}

fn is_text(text: &str, max: usize) -> bool {
    !text.trim().is_empty() && text.chars().count() <= max && !text.chars().any(char::is_control)
}

pub fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M").ok()
}

/// Every structural error of the definition, each naming its field (`definition/steps/2/next`).
pub fn check(definition: &Definition) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut fail = |field: String, code: &str, message: &str| {
        errors.push(FieldError::new(
            format!("definition/{field}"),
            code,
            message,
        ));
    };
    match &definition.trigger {
        Trigger::Event { event, properties } => {
            if !is_event_type(event) || event == ACTION_EVENT {
                fail(
                    "trigger/event".into(),
                    "invalid_event_type",
                    "An activity type (a lower-case letter, then 1–63 lower-case letters, digits or _), not journey_action.",
                );
            }
            let size = serde_json::to_string(properties).map_or(usize::MAX, |text| text.len());
            if properties.len() > 20 || size > 4096 {
                fail(
                    "trigger/properties".into(),
                    "too_large",
                    "At most 20 properties, 4 KiB.",
                );
            }
        }
        Trigger::SegmentEntry { .. } => {}
    }
    // The send path records `message_*` activities: a journey re-entered at each of them would feed itself
    // (its own send triggering the next enrollment) without end.
    if let (Trigger::Event { event, .. }, Reentry::Always) =
        (&definition.trigger, definition.reentry)
        && event.starts_with("message_")
    {
        fail(
            "reentry/policy".into(),
            "reentry_loop",
            "A journey triggered by a message activity cannot re-enter always: its own sends would re-enroll it. Use after_days.",
        );
    }
    if definition.exit.events.len() > 20 {
        fail(
            "exit/events".into(),
            "too_many",
            "At most 20 exit event types.",
        );
    }
    for (i, kind) in definition.exit.events.iter().enumerate() {
        if !is_event_type(kind) {
            fail(
                format!("exit/events/{i}"),
                "invalid_event_type",
                "An activity type.",
            );
        }
    }
    if let Reentry::AfterDays { days } = definition.reentry
        && !(1..=3650).contains(&days)
    {
        fail("reentry/days".into(), "out_of_range", "1–3650 days.");
    }
    let steps = &definition.steps;
    if steps.is_empty() || steps.len() > MAX_STEPS {
        fail(
            "steps".into(),
            "invalid_length",
            &format!("1–{MAX_STEPS} steps."),
        );
        return errors;
    }
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        if !is_step_id(step.id()) {
            fail(
                format!("steps/{i}/id"),
                "invalid_step_id",
                "1–64 lower-case letters, digits, _ or -.",
            );
        } else if index.insert(step.id(), i).is_some() {
            fail(
                format!("steps/{i}/id"),
                "duplicate_step_id",
                "Another step has this id.",
            );
        }
        check_step(i, step, &mut fail);
    }
    if !index.contains_key(definition.start.as_str()) {
        fail("start".into(), "unknown_step", "No step has this id.");
    }
    let mut known = true;
    for (i, step) in steps.iter().enumerate() {
        for (field, next) in step.successors() {
            if !index.contains_key(next) {
                known = false;
                fail(
                    format!("steps/{i}/{field}"),
                    "unknown_step",
                    "No step has this id.",
                );
            }
        }
    }
    if !known || !index.contains_key(definition.start.as_str()) {
        return errors;
    }
    let reachable = reachable(definition, &index);
    for (i, step) in steps.iter().enumerate() {
        if !reachable.contains(step.id()) {
            fail(
                format!("steps/{i}"),
                "unreachable",
                "No path from the start leads to this step.",
            );
        }
    }
    if let Some(i) = cycle_without_wait(definition, &index) {
        fail(
            format!("steps/{i}"),
            "cycle_without_wait",
            "This step is on a loop with no wait step: an enrollment would spin.",
        );
    }
    errors
}

fn check_step(i: usize, step: &Step, fail: &mut impl FnMut(String, &str, &str)) {
    match step {
        Step::Wait {
            duration_secs,
            until_time,
            ..
        } => match (duration_secs, until_time) {
            (Some(secs), None) => {
                if !(1..=MAX_WAIT_SECS).contains(secs) {
                    fail(
                        format!("steps/{i}/duration_secs"),
                        "out_of_range",
                        "1 second to 366 days.",
                    );
                }
            }
            (None, Some(time)) => {
                if parse_time(time).is_none() {
                    fail(
                        format!("steps/{i}/until_time"),
                        "invalid_time",
                        "A time of day, HH:MM.",
                    );
                }
            }
            _ => fail(
                format!("steps/{i}"),
                "wait_needs_one",
                "A wait has either duration_secs or until_time.",
            ),
        },
        Step::UpdateAttribute {
            attribute, value, ..
        } => {
            if !SETTABLE.contains(&attribute.as_str()) {
                fail(
                    format!("steps/{i}/attribute"),
                    "unknown_attribute",
                    "One of first_name, last_name, locale, country, city, tier.",
                );
            } else {
                let attributes = settable(attribute, value);
                for error in attributes.check("") {
                    fail(format!("steps/{i}/value"), &error.code, &error.message);
                }
                if value.trim().is_empty() {
                    fail(format!("steps/{i}/value"), "required", "A value to set.");
                }
            }
        }
        Step::AddTag { tag, .. } => {
            if !is_text(tag, 40) {
                fail(
                    format!("steps/{i}/tag"),
                    "invalid_tag",
                    "1–40 characters without control characters.",
                );
            }
        }
        Step::Emit { name, payload, .. } => {
            if !is_text(name, 100) {
                fail(
                    format!("steps/{i}/name"),
                    "invalid",
                    "1–100 characters without control characters.",
                );
            }
            let size = serde_json::to_string(payload).map_or(usize::MAX, |text| text.len());
            if size > 4096 {
                fail(format!("steps/{i}/payload"), "too_large", "At most 4 KiB.");
            }
        }
        Step::CreateAdvisorTask {
            title,
            notes,
            due_in_hours,
            priority,
            ..
        } => {
            if !is_text(title, 200) {
                fail(
                    format!("steps/{i}/title"),
                    "invalid",
                    "1–200 characters without control characters.",
                );
            }
            if notes.as_deref().is_some_and(|n| {
                n.chars().count() > 2000 || n.chars().any(|c| c.is_control() && c != '\n')
            }) {
                fail(
                    format!("steps/{i}/notes"),
                    "invalid",
                    "At most 2,000 characters without control characters.",
                );
            }
            if due_in_hours.is_some_and(|h| h > MAX_TASK_DUE_HOURS) {
                fail(
                    format!("steps/{i}/due_in_hours"),
                    "out_of_range",
                    "0 to 8,784 hours (a year).",
                );
            }
            if priority
                .as_deref()
                .is_some_and(|p| !["low", "normal", "high"].contains(&p))
            {
                fail(
                    format!("steps/{i}/priority"),
                    "invalid",
                    "One of low, normal, high.",
                );
            }
        }
        Step::Condition { .. } | Step::Send { .. } => {}
    }
}

/// The attributes an `update_attribute` step sets.
pub fn settable(attribute: &str, value: &str) -> Attributes {
    let value = Some(value.trim().to_owned());
    let mut attributes = Attributes::default();
    match attribute {
        "first_name" => attributes.first_name = value,
        "last_name" => attributes.last_name = value,
        "locale" => attributes.locale = value,
        "country" => attributes.country = value.map(|v| v.to_ascii_uppercase()),
        "city" => attributes.city = value,
        "tier" => attributes.tier = value,
        _ => {}
    }
    attributes
}

fn reachable<'d>(definition: &'d Definition, index: &HashMap<&str, usize>) -> HashSet<&'d str> {
    let mut seen = HashSet::new();
    let mut stack = vec![definition.start.as_str()];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(&i) = index.get(id) {
            for (_, next) in definition.steps[i].successors() {
                stack.push(next);
            }
        }
    }
    seen
}

/// A step on a loop through non-wait steps only, if any (a loop through a wait is allowed: it is durable).
fn cycle_without_wait(definition: &Definition, index: &HashMap<&str, usize>) -> Option<usize> {
    // 0: unvisited, 1: on the stack, 2: done.
    let mut state = vec![0u8; definition.steps.len()];
    for root in 0..definition.steps.len() {
        if state[root] != 0 || matches!(definition.steps[root], Step::Wait { .. }) {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut edge)) = stack.last_mut() {
            let successors = definition.steps[node].successors();
            if let Some((_, next)) = successors.get(*edge) {
                *edge += 1;
                let Some(&n) = index.get(next) else { continue };
                if matches!(definition.steps[n], Step::Wait { .. }) {
                    continue;
                }
                match state[n] {
                    0 => {
                        state[n] = 1;
                        stack.push((n, 0));
                    }
                    1 => return Some(n),
                    _ => {}
                }
            } else {
                state[node] = 2;
                stack.pop();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Definition {
        serde_json::from_value(value).unwrap_or_else(|e| panic!("{e}"))
    }

    fn codes(value: Value) -> Vec<(String, String)> {
        check(&parse(value))
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn a_loop_through_a_wait_is_allowed_and_one_without_is_not() {
        let trigger = json!({"type": "event", "event": "signup"});
        assert!(
            codes(json!({"trigger": trigger, "start": "a", "steps": [
                {"type": "add_tag", "id": "a", "tag": "x", "next": "w"},
                {"type": "wait", "id": "w", "duration_secs": 60, "next": "a"},
            ]}))
            .is_empty()
        );
        let errors = codes(json!({"trigger": trigger, "start": "a", "steps": [
            {"type": "add_tag", "id": "a", "tag": "x", "next": "b"},
            {"type": "condition", "id": "b", "rule": {}, "yes": "a", "no": null},
        ]}));
        assert!(
            errors.iter().any(|(_, code)| code == "cycle_without_wait"),
            "{errors:?}"
        );
    }

    #[test]
    fn a_journey_on_message_activities_does_not_re_enter_always() {
        let errors = codes(
            json!({"trigger": {"type": "event", "event": "message_sent"}, "start": "a",
            "reentry": {"policy": "always"},
            "steps": [{"type": "add_tag", "id": "a", "tag": "x", "next": null}]}),
        );
        assert_eq!(
            errors,
            vec![("definition/reentry/policy".into(), "reentry_loop".into())]
        );
    }

    #[test]
    fn unknown_unreachable_and_duplicate_steps_are_named() {
        let errors = codes(
            json!({"trigger": {"type": "event", "event": "signup"}, "start": "a", "steps": [
                {"type": "add_tag", "id": "a", "tag": "x", "next": "nope"},
                {"type": "add_tag", "id": "a", "tag": "y", "next": null},
            ]}),
        );
        assert!(errors.contains(&("definition/steps/0/next".into(), "unknown_step".into())));
        assert!(errors.contains(&("definition/steps/1/id".into(), "duplicate_step_id".into())));
        let errors = codes(
            json!({"trigger": {"type": "event", "event": "signup"}, "start": "a", "steps": [
                {"type": "add_tag", "id": "a", "tag": "x", "next": null},
                {"type": "add_tag", "id": "b", "tag": "y", "next": null},
            ]}),
        );
        assert_eq!(
            errors,
            vec![("definition/steps/1".into(), "unreachable".into())]
        );
    }

    #[test]
    fn waits_attributes_and_triggers_are_checked() {
        let errors = codes(
            json!({"trigger": {"type": "event", "event": "journey_action"}, "start": "w", "steps": [
            {"type": "wait", "id": "w", "duration_secs": 60, "until_time": "09:00", "next": "u"},
            {"type": "update_attribute", "id": "u", "attribute": "email", "value": "x", "next": "v"},
            {"type": "update_attribute", "id": "v", "attribute": "country", "value": "Narnia", "next": null},
        ], "reentry": {"policy": "after_days", "days": 0}}),
        );
        for expected in [
            ("definition/trigger/event", "invalid_event_type"),
            ("definition/steps/0", "wait_needs_one"),
            ("definition/steps/1/attribute", "unknown_attribute"),
            ("definition/steps/2/value", "invalid_country"),
            ("definition/reentry/days", "out_of_range"),
        ] {
            assert!(
                errors.contains(&(expected.0.into(), expected.1.into())),
                "{expected:?} in {errors:?}"
            );
        }
    }
}
