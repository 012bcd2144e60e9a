//! The shared provider transport: retries, back-off, breaker, typed errors.
