//! OpenTelemetry traces end to end: `concierge serve` as a child process exporting to an in-process OTLP/HTTP
//! receiver, its providers in the test's sandbox, which records the `traceparent` each call carried.

mod collector;
mod config;
mod off;
mod orders;
mod portal;
mod privacy;
