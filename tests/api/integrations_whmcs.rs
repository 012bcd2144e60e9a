//! The whmcs client against the sandbox and wiremock.
