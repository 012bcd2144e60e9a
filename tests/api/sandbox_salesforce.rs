//! The Salesforce stand-in of the provider sandbox, over HTTP.
