//! The salesforce stand-in. (To be filled in: wire format per ../shared/PROVIDERS.md.)

use actix_web::web;

use crate::config::Settings;

#[derive(Default)]
pub struct State {}

impl State {
    pub fn seeded(_settings: &Settings) -> Self {
        Self::default()
    }

    pub fn reset(&self, _settings: &Settings) {}
}

pub fn routes(_cfg: &mut web::ServiceConfig) {}
