//! The sandbox's demo data, shared by every system so the records agree with each other: a customer's
//! e-mail is the same in WHMCS and Salesforce, a catalog product's `WH_Product_ID__c` is a WHMCS `pid`, a SIM
//! service's number is a Freebit account. Deterministic: the same ids on every start and reset.

pub struct DemoCustomer {
    pub email: &'static str,
    pub password: &'static str,
    pub first_name: &'static str,
    pub last_name: &'static str,
    pub phone: &'static str,
    pub address1: &'static str,
    pub city: &'static str,
    pub state: &'static str,
    pub postcode: &'static str,
    pub country: &'static str,
    pub currency: &'static str,
    /// WHMCS client id.
    pub whmcs_client_id: u32,
    /// Salesforce Account and Contact ids (18 characters).
    pub account_id: &'static str,
    pub contact_id: &'static str,
    pub customer_number: &'static str,
    /// A stored card (WHMCS RemoteCreditCard): brand, last four, expiry MM/YY.
    pub card: Option<(&'static str, &'static str, &'static str)>,
}

/// `demo@concierge.test` is the portal's demo login (password `concierge-demo` in Concierge itself).
pub const CUSTOMERS: [DemoCustomer; 3] = [
    DemoCustomer {
        email: "demo@concierge.test",
        password: "concierge-demo",
        first_name: "Hanako",
        last_name: "Yamada",
        phone: "+819012345678",
        address1: "1-2-3 Jingumae",
        city: "Shibuya-ku",
        state: "Tokyo",
        postcode: "150-0001",
        country: "JP",
        currency: "JPY",
        whmcs_client_id: 1,
        account_id: "001SBDEMO000001AAA",
        contact_id: "003SBDEMO000001AAA",
        customer_number: "CN-100001",
        card: Some(("Visa", "4242", "02/28")),
    },
    DemoCustomer {
        email: "taro@concierge.test",
        password: "taro-sandbox-1",
        first_name: "Taro",
        last_name: "Suzuki",
        phone: "+818098765432",
        address1: "4-5-6 Umeda",
        city: "Kita-ku",
        state: "Osaka",
        postcode: "530-0001",
        country: "JP",
        currency: "JPY",
        whmcs_client_id: 2,
        account_id: "001SBDEMO000002AAA",
        contact_id: "003SBDEMO000002AAA",
        customer_number: "CN-100002",
        card: None,
    },
    DemoCustomer {
        email: "emma@concierge.test",
        password: "emma-sandbox-1",
        first_name: "Emma",
        last_name: "Laurent",
        phone: "+33612345678",
        address1: "12 Rue de Rivoli",
        city: "Paris",
        state: "Ile-de-France",
        postcode: "75001",
        country: "FR",
        currency: "JPY",
        whmcs_client_id: 3,
        account_id: "001SBDEMO000003AAA",
        contact_id: "003SBDEMO000003AAA",
        customer_number: "CN-100003",
        card: Some(("Mastercard", "5454", "11/27")),
    },
];

pub struct DemoProduct {
    pub sku: &'static str,
    pub name: &'static str,
    /// Product2.Family.
    pub family: &'static str,
    /// WHMCS pid (Product2.WH_Product_ID__c).
    pub whmcs_pid: u32,
    /// Product2.Billing_Cycle__c and the WHMCS cycle: Monthly, Annually or Onetime.
    pub billing_cycle: &'static str,
    /// Standard pricebook unit price in JPY.
    pub price: u32,
    /// Freebit plan code for SIM products.
    pub plan_code: Option<&'static str>,
    /// Shown in the portal (Product2.Portal_Catalog__c) and active (IsActive).
    pub portal: bool,
    pub active: bool,
}

const fn product(
    sku: &'static str,
    name: &'static str,
    family: &'static str,
    whmcs_pid: u32,
    billing_cycle: &'static str,
    price: u32,
    plan_code: Option<&'static str>,
) -> DemoProduct {
    DemoProduct {
        sku,
        name,
        family,
        whmcs_pid,
        billing_cycle,
        price,
        plan_code,
        portal: true,
        active: true,
    }
}

/// About twenty products; two are not for the portal (hidden, inactive) so catalog filters are exercised.
pub const PRODUCTS: [DemoProduct; 20] = [
    product(
        "SIM-DATA-3GB",
        "SIM Data 3GB",
        "SIM",
        101,
        "Monthly",
        980,
        Some("DATA_3GB"),
    ),
    product(
        "SIM-DATA-10GB",
        "SIM Data 10GB",
        "SIM",
        102,
        "Monthly",
        1980,
        Some("DATA_10GB"),
    ),
    product(
        "SIM-DATA-20GB",
        "SIM Data 20GB",
        "SIM",
        103,
        "Monthly",
        2980,
        Some("DATA_20GB"),
    ),
    product(
        "SIM-DATA-50GB",
        "SIM Data 50GB",
        "SIM",
        104,
        "Monthly",
        4980,
        Some("DATA_50GB"),
    ),
    product(
        "SIM-VOICE-5GB",
        "SIM Voice + 5GB",
        "SIM",
        105,
        "Monthly",
        1880,
        Some("VOICE_5GB"),
    ),
    product(
        "SIM-VOICE-20GB",
        "SIM Voice + 20GB",
        "SIM",
        106,
        "Monthly",
        3280,
        Some("VOICE_20GB"),
    ),
    product(
        "SIM-VOICE-UNL",
        "SIM Voice Unlimited",
        "SIM",
        107,
        "Monthly",
        5980,
        Some("VOICE_UNLIMITED"),
    ),
    product(
        "ESIM-DATA-20GB",
        "eSIM Data 20GB",
        "SIM",
        108,
        "Monthly",
        2880,
        Some("DATA_20GB"),
    ),
    product(
        "FIBER-1G",
        "Fiber 1 Gbps",
        "Internet",
        201,
        "Monthly",
        4800,
        None,
    ),
    product(
        "FIBER-10G",
        "Fiber 10 Gbps",
        "Internet",
        202,
        "Monthly",
        6800,
        None,
    ),
    product(
        "WIFI-ROUTER",
        "Wi-Fi 6 Router Rental",
        "Internet",
        203,
        "Monthly",
        550,
        None,
    ),
    product(
        "HOME-5G",
        "Home 5G Router",
        "Internet",
        204,
        "Monthly",
        4180,
        None,
    ),
    product(
        "VPN-SECURE",
        "Secure VPN",
        "Options",
        301,
        "Monthly",
        490,
        None,
    ),
    product(
        "STATIC-IP",
        "Static IP Address",
        "Options",
        302,
        "Monthly",
        800,
        None,
    ),
    product(
        "DEVICE-CARE",
        "Device Care",
        "Options",
        303,
        "Monthly",
        650,
        None,
    ),
    product(
        "INTL-ROAM-7D",
        "International Roaming 7 days",
        "Options",
        304,
        "Onetime",
        2500,
        None,
    ),
    product(
        "SETUP-ONSITE",
        "On-site Setup",
        "Services",
        401,
        "Onetime",
        8800,
        None,
    ),
    product(
        "ANNUAL-SUPPORT",
        "Premium Support (annual)",
        "Services",
        402,
        "Annually",
        12000,
        None,
    ),
    DemoProduct {
        portal: false,
        ..product(
            "LEGACY-ADSL",
            "ADSL 50M (legacy)",
            "Internet",
            290,
            "Monthly",
            3000,
            None,
        )
    },
    DemoProduct {
        active: false,
        ..product(
            "SIM-DATA-1GB",
            "SIM Data 1GB (retired)",
            "SIM",
            109,
            "Monthly",
            680,
            Some("DATA_1GB"),
        )
    },
];

/// Plan codes Freebit knows, with their monthly quota in MB.
pub const PLANS: [(&str, u64); 8] = [
    ("DATA_1GB", 1_024),
    ("DATA_3GB", 3_072),
    ("DATA_10GB", 10_240),
    ("DATA_20GB", 20_480),
    ("DATA_50GB", 51_200),
    ("VOICE_5GB", 5_120),
    ("VOICE_20GB", 20_480),
    ("VOICE_UNLIMITED", 307_200),
];

pub struct DemoInvoice {
    pub id: u32,
    pub client_id: u32,
    /// Dates as WHMCS writes them (YYYY-MM-DD).
    pub date: &'static str,
    pub due_date: &'static str,
    pub date_paid: Option<&'static str>,
    /// Unpaid, Paid, Cancelled (Overdue is Unpaid past its due date).
    pub status: &'static str,
    /// Line items: description and amount in JPY.
    pub items: &'static [(&'static str, u32)],
}

/// Demo invoices: the demo customer has paid, unpaid and overdue ones.
pub const INVOICES: [DemoInvoice; 7] = [
    DemoInvoice {
        id: 1001,
        client_id: 1,
        date: "2026-09-01",
        due_date: "2026-09-15",
        date_paid: Some("2026-09-10 10:12:00"),
        status: "Paid",
        items: &[
            ("SIM Data 20GB (09/2026)", 2980),
            ("Secure VPN (09/2026)", 490),
        ],
    },
    DemoInvoice {
        id: 1002,
        client_id: 1,
        date: "2026-10-01",
        due_date: "2026-10-15",
        date_paid: None,
        status: "Unpaid",
        items: &[("SIM Data 20GB (10/2026)", 2980)],
    },
    DemoInvoice {
        id: 1003,
        client_id: 1,
        date: "2026-11-01",
        due_date: "2026-12-15",
        date_paid: None,
        status: "Unpaid",
        items: &[
            ("SIM Data 20GB (11/2026)", 2980),
            ("International Roaming 7 days", 2500),
        ],
    },
    DemoInvoice {
        id: 1004,
        client_id: 1,
        date: "2026-08-01",
        due_date: "2026-08-15",
        date_paid: None,
        status: "Cancelled",
        items: &[("On-site Setup", 8800)],
    },
    DemoInvoice {
        id: 2001,
        client_id: 2,
        date: "2026-10-01",
        due_date: "2026-10-15",
        date_paid: Some("2026-10-02 09:00:00"),
        status: "Paid",
        items: &[("Fiber 1 Gbps (10/2026)", 4800)],
    },
    DemoInvoice {
        id: 2002,
        client_id: 2,
        date: "2026-11-01",
        due_date: "2026-12-15",
        date_paid: None,
        status: "Unpaid",
        items: &[("Fiber 1 Gbps (11/2026)", 4800)],
    },
    DemoInvoice {
        id: 3001,
        client_id: 3,
        date: "2026-11-01",
        due_date: "2026-12-15",
        date_paid: None,
        status: "Unpaid",
        items: &[("SIM Voice + 20GB (11/2026)", 3280)],
    },
];

pub struct DemoService {
    /// WHMCS service (hosting) id.
    pub id: u32,
    pub client_id: u32,
    pub whmcs_order_id: u32,
    pub pid: u32,
    pub reg_date: &'static str,
    pub next_due_date: &'static str,
    /// Active, Suspended, Cancelled, Pending.
    pub status: &'static str,
    /// Freebit account (phone number) for SIM services.
    pub msisdn: Option<&'static str>,
    pub iccid: Option<&'static str>,
    pub eid: Option<&'static str>,
    /// Data used this month in MB (Freebit traffic).
    pub used_mb: u64,
}

pub const SERVICES: [DemoService; 4] = [
    DemoService {
        id: 501,
        client_id: 1,
        whmcs_order_id: 701,
        pid: 103,
        reg_date: "2026-03-01",
        next_due_date: "2026-12-01",
        status: "Active",
        msisdn: Some("08012345678"),
        iccid: Some("8981100000000000001"),
        eid: None,
        used_mb: 7_340,
    },
    DemoService {
        id: 502,
        client_id: 1,
        whmcs_order_id: 701,
        pid: 301,
        reg_date: "2026-03-01",
        next_due_date: "2026-12-01",
        status: "Active",
        msisdn: None,
        iccid: None,
        eid: None,
        used_mb: 0,
    },
    DemoService {
        id: 503,
        client_id: 2,
        whmcs_order_id: 702,
        pid: 201,
        reg_date: "2025-12-01",
        next_due_date: "2026-12-01",
        status: "Active",
        msisdn: None,
        iccid: None,
        eid: None,
        used_mb: 0,
    },
    DemoService {
        id: 504,
        client_id: 3,
        whmcs_order_id: 703,
        pid: 106,
        reg_date: "2026-06-15",
        next_due_date: "2026-12-15",
        status: "Active",
        msisdn: Some("08098761234"),
        iccid: Some("8981100000000000002"),
        eid: Some("89049032000001000000000000000001"),
        used_mb: 15_800,
    },
];

/// The open support case of the demo customer.
pub const DEMO_CASE: (&str, &str, &str) = (
    "500SBDEMO000001AAA",
    "SIM not connecting abroad",
    "Since landing in Paris my SIM shows no service.",
);

/// The social accounts the stand-ins know (a Facebook Page, an Instagram professional account, an X user),
/// with the tokens they accept. `concierge seed` connects them for the demo brand.
pub mod social {
    pub const FACEBOOK_PAGE_ID: &str = "104000000000001";
    pub const FACEBOOK_PAGE_NAME: &str = "Maison Demo";
    pub const FACEBOOK_PAGE_TOKEN: &str = "sandbox-facebook-page-token";
    pub const INSTAGRAM_USER_ID: &str = "17841400000000001";
    pub const INSTAGRAM_USERNAME: &str = "maison.demo";
    pub const INSTAGRAM_TOKEN: &str = "sandbox-instagram-token";
    pub const X_USER_ID: &str = "1500000000000000001";
    pub const X_USERNAME: &str = "maisondemo";
    /// Never expires on the stand-in's side; tokens it issues by refresh live `token_ttl_secs`.
    pub const X_ACCESS_TOKEN: &str = "sandbox-x-access-token";
    pub const X_REFRESH_TOKEN: &str = "sandbox-x-refresh-token";
}
