//! The freebit client against the sandbox and wiremock.
