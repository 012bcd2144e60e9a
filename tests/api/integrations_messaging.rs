//! The messaging client against the sandbox and wiremock.
