//! The salesforce client against the sandbox and wiremock.
