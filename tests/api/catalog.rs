//! The catalog context over HTTP, end to end through the real clients against the sandbox.
