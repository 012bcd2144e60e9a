//! The product repeats a few of the sandbox's demo ids (the sandbox is not part of the product); they must
//! stay the sandbox's.

use concierge::seed::{DEMO_CUSTOMER, sandbox_demo_customer};
use concierge_sandbox::demo;

#[test]
fn the_demo_login_is_linked_to_the_sandboxs_first_demo_customer() {
    let customer = &demo::CUSTOMERS[0];
    assert_eq!(customer.email, DEMO_CUSTOMER.0);
    assert_eq!(
        i64::from(customer.whmcs_client_id),
        sandbox_demo_customer::WHMCS_CLIENT_ID
    );
    assert_eq!(
        customer.account_id,
        sandbox_demo_customer::SALESFORCE_ACCOUNT_ID
    );
    assert_eq!(
        customer.contact_id,
        sandbox_demo_customer::SALESFORCE_CONTACT_ID
    );
}

#[test]
fn the_plan_codes_the_portal_accepts_are_the_sandboxs_plans() {
    assert_eq!(concierge::subscriptions::PLANS, demo::PLANS);
}
