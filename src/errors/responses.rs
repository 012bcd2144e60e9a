//! The problem responses many operations share, as reusable OpenAPI response components: a path lists
//! `(status = 401, response = crate::errors::responses::Unauthorized)` and the document carries one
//! `#/components/responses/Unauthorized`. Every type here is registered in `crate::openapi::ApiDoc`.
//!
//! A response specific to one operation (a 409 naming the codes it may carry, say) stays in its path with
//! `body = crate::errors::Problem, content_type = "application/problem+json"`.

use utoipa::ToResponse;

use super::Problem;

/// Generates one response component per row: a newtype over [`Problem`], served as problem+json.
macro_rules! problem_responses {
    ($($name:ident => $description:literal;)+) => {
        $(
            #[derive(ToResponse)]
            #[response(description = $description, content_type = "application/problem+json")]
            pub struct $name(pub Problem);
        )+
    };
}

problem_responses! {
    Unauthorized => "Not signed in";
    Forbidden => "This kind of account or role may not use this operation";
    MalformedBody => "The body is not valid JSON, or could not be read";
    PayloadTooLarge => "The body is larger than the server accepts";
    UnsupportedMediaType => "The body was not sent as `Content-Type: application/json`";
    InvalidPath => "A path parameter is not of its documented type (a malformed id)";
    InvalidQuery => "An unknown query parameter, a value of the wrong type, or a cursor that is not one this list issued";
    NotACustomer => "Not a customer account";
    AdminsOnly => "Admins only";
    AccountLinking => "`email-unverified`: the account's email is not verified yet; `account-linking`: the account is still being set up (see Retry-After)";
    LimitOutOfRange => "`limit` out of range";
    ValidationFailed => "Invalid fields";
    IdempotencyKeyReused => "The key was used for another request";
    ProviderError => "A provider answered with an error";
    ProviderUnavailable => "A provider is unavailable; retry with the same key";
    BillingError => "The billing system answered with an error";
    BillingUnavailable => "The billing system is unavailable";
    SalesforceError => "Salesforce answered with an error or a malformed payload";
    SalesforceUnavailable => "Salesforce is unavailable";
    EmailTaken => "The email is taken";
    WeakPassword => "The new password does not meet the policy";
    TooManyRequests => "Too many requests of this kind from this address or for this account; see Retry-After";
    InvalidOrderId => "Not an order id";
    OrderNotFound => "No such order on this account";
    InvalidSubscriptionId => "Not a subscription id";
    SubscriptionNotFound => "No such subscription on this account, or it has no SIM";
    InvoiceNotFound => "No such invoice on this account";
}
