//! The stand-in's records, seeded from [`crate::demo`] so WHMCS agrees with the other systems:
//! the same client ids and e-mails, products under their `whmcs_pid`, services with their order ids and, for
//! SIMs, their MSISDN / ICCID / EID as custom fields. Amounts are kept in hundredths of a yen.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::Serialize;

use crate::demo;

pub const GATEWAY: &str = "stripe";
pub const GATEWAYS: [(&str, &str); 2] =
    [("stripe", "Credit Card"), ("banktransfer", "Bank Transfer")];

pub struct Client {
    pub id: u64,
    pub firstname: String,
    pub lastname: String,
    pub companyname: String,
    pub email: String,
    /// In clear: this is a stand-in holding demo passwords only.
    pub password: Option<String>,
    pub address1: String,
    pub address2: String,
    pub city: String,
    pub state: String,
    pub postcode: String,
    pub country: String,
    pub phonenumber: String,
    pub status: String,
    pub language: String,
    pub notes: String,
    pub datecreated: NaiveDate,
}

impl Client {
    pub fn fullname(&self) -> String {
        format!("{} {}", self.firstname, self.lastname)
    }
}

pub struct Invoice {
    pub id: u64,
    pub userid: u64,
    pub date: NaiveDate,
    pub duedate: NaiveDate,
    pub datepaid: Option<NaiveDateTime>,
    pub last_capture_attempt: Option<NaiveDateTime>,
    /// Unpaid, Paid, Cancelled (Overdue is derived: Unpaid past the due date).
    pub status: String,
    pub paymentmethod: String,
    pub items: Vec<InvoiceItem>,
    pub transactions: Vec<Transaction>,
    pub notes: String,
}

impl Invoice {
    pub fn total(&self) -> i64 {
        self.items.iter().map(|item| item.amount).sum()
    }

    pub fn balance(&self) -> i64 {
        self.total() - self.transactions.iter().map(|t| t.amount).sum::<i64>()
    }

    pub fn is_overdue(&self, today: NaiveDate) -> bool {
        self.status == "Unpaid" && self.duedate < today
    }
}

pub struct InvoiceItem {
    pub id: u64,
    /// `Hosting` for a service (then `relid` is the service id), empty for a manual line.
    pub kind: &'static str,
    pub relid: u64,
    pub description: String,
    pub amount: i64,
}

pub struct Transaction {
    pub id: u64,
    pub date: NaiveDateTime,
    pub gateway: String,
    pub amount: i64,
    pub transid: String,
    /// The pay method a capture charged (none for seeded payments).
    pub pay_method_id: Option<u64>,
}

pub struct PayMethod {
    pub id: u64,
    pub client_id: u64,
    /// CreditCard, RemoteCreditCard, BankAccount, RemoteBankAccount.
    pub kind: &'static str,
    pub card_type: String,
    pub last_four: String,
    pub expiry: String,
    pub remote_token: String,
    pub last_updated: NaiveDateTime,
}

pub struct Product {
    pub pid: u64,
    pub gid: u64,
    pub group_name: String,
    pub name: String,
    /// recurring or onetime.
    pub paytype: &'static str,
    /// The one cycle offered, as WHMCS names it in services ("Monthly", "Annually", "One Time").
    pub cycle: &'static str,
    pub price: i64,
}

impl Product {
    /// The price of a cycle as AddOrder names it (`monthly`, `annually`, `onetime`…), if offered.
    pub fn price_for(&self, cycle: &str) -> Option<i64> {
        (cycle_key(cycle) == cycle_key(self.cycle)).then_some(self.price)
    }
}

/// `Semi-Annually`, `semiannually`, `One Time`, `onetime` → one spelling.
pub fn cycle_key(cycle: &str) -> String {
    cycle
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

#[derive(Serialize)]
pub struct Service {
    pub id: u64,
    pub client_id: u64,
    pub order_id: u64,
    pub pid: u64,
    pub name: String,
    pub group_name: String,
    pub reg_date: NaiveDate,
    pub next_due_date: NaiveDate,
    pub billing_cycle: String,
    #[serde(serialize_with = "as_money")]
    pub first_payment: i64,
    #[serde(serialize_with = "as_money")]
    pub recurring: i64,
    /// Pending, Active, Suspended, Terminated, Cancelled.
    pub status: String,
    pub custom_fields: Vec<(u64, &'static str, String)>,
}

#[derive(Serialize)]
pub struct Order {
    pub id: u64,
    pub ordernum: u64,
    pub client_id: u64,
    pub date: NaiveDateTime,
    #[serde(serialize_with = "as_money")]
    pub amount: i64,
    pub paymentmethod: String,
    pub invoice_id: Option<u64>,
    /// Pending, Active, Cancelled, Fraud.
    pub status: String,
    pub service_ids: Vec<u64>,
    /// AddOrder's `notes`.
    pub notes: String,
}

fn as_money<S: serde::Serializer>(hundredths: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&super::reply::money(*hundredths))
}

pub struct SsoToken {
    pub token: String,
    pub client_id: u64,
    pub destination: String,
    pub expires_at: NaiveDateTime,
    pub used: bool,
}

#[derive(Default)]
pub struct Store {
    pub clients: Vec<Client>,
    pub invoices: Vec<Invoice>,
    pub pay_methods: Vec<PayMethod>,
    pub products: Vec<Product>,
    pub services: Vec<Service>,
    pub orders: Vec<Order>,
    pub sso_tokens: Vec<SsoToken>,
    next_item_id: u64,
    next_transaction_id: u64,
}

/// Product groups, by the demo product family.
const GROUPS: [(&str, u64); 4] = [("SIM", 1), ("Internet", 2), ("Options", 3), ("Services", 4)];

/// The SIM custom fields every SIM product carries (field id, name).
pub const SIM_FIELDS: [(u64, &str); 3] = [(1, "MSISDN"), (2, "ICCID"), (3, "EID")];

fn demo_date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap_or_default()
}

fn demo_datetime(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|_| demo_date(text).and_time(NaiveTime::MIN))
}

impl Store {
    pub fn seeded() -> Self {
        let mut store = Store {
            next_item_id: 1,
            next_transaction_id: 1,
            ..Store::default()
        };
        store.products = demo::PRODUCTS.iter().map(product_from_demo).collect();
        for customer in &demo::CUSTOMERS {
            store.seed_customer(customer);
        }
        for service in &demo::SERVICES {
            store.seed_service(service);
        }
        for invoice in &demo::INVOICES {
            store.seed_invoice(invoice);
        }
        store
    }

    fn seed_customer(&mut self, customer: &demo::DemoCustomer) {
        let id = u64::from(customer.whmcs_client_id);
        self.clients.push(Client {
            id,
            firstname: customer.first_name.into(),
            lastname: customer.last_name.into(),
            companyname: String::new(),
            email: customer.email.into(),
            password: Some(customer.password.into()),
            address1: customer.address1.into(),
            address2: String::new(),
            city: customer.city.into(),
            state: customer.state.into(),
            postcode: customer.postcode.into(),
            country: customer.country.into(),
            phonenumber: customer.phone.into(),
            status: "Active".into(),
            language: String::new(),
            notes: String::new(),
            datecreated: demo_date("2025-12-01"),
        });
        if let Some((brand, last_four, expiry)) = customer.card {
            let pay_method_id = self.pay_methods.len() as u64 + 1;
            self.pay_methods.push(PayMethod {
                id: pay_method_id,
                client_id: id,
                kind: "RemoteCreditCard",
                card_type: brand.into(),
                last_four: last_four.into(),
                expiry: expiry.into(),
                remote_token: format!("cus_sandbox{id:04}|pm_sandbox{pay_method_id:04}"),
                last_updated: demo_datetime("2026-03-01 09:00:00"),
            });
        }
    }

    fn seed_service(&mut self, service: &demo::DemoService) {
        let pid = u64::from(service.pid);
        let (name, group_name, cycle, price) = self
            .product(pid)
            .map(|p| (p.name.clone(), p.group_name.clone(), p.cycle, p.price))
            .unwrap_or_default();
        let mut custom_fields = Vec::new();
        if group_name == "SIM" {
            let values = [service.msisdn, service.iccid, service.eid];
            for ((field_id, field_name), value) in SIM_FIELDS.into_iter().zip(values) {
                custom_fields.push((field_id, field_name, value.unwrap_or_default().to_owned()));
            }
        }
        let reg_date = demo_date(service.reg_date);
        let order_id = u64::from(service.whmcs_order_id);
        self.services.push(Service {
            id: u64::from(service.id),
            client_id: u64::from(service.client_id),
            order_id,
            pid,
            name,
            group_name,
            reg_date,
            next_due_date: demo_date(service.next_due_date),
            billing_cycle: cycle.into(),
            first_payment: price,
            recurring: if cycle == "One Time" { 0 } else { price },
            status: service.status.into(),
            custom_fields,
        });
        match self.orders.iter_mut().find(|order| order.id == order_id) {
            Some(order) => {
                order.amount += price;
                order.service_ids.push(u64::from(service.id));
            }
            None => self.orders.push(Order {
                id: order_id,
                ordernum: 5_000_000_000 + order_id,
                client_id: u64::from(service.client_id),
                date: reg_date
                    .and_time(NaiveTime::from_hms_opt(10, 0, 0).unwrap_or(NaiveTime::MIN)),
                amount: price,
                paymentmethod: GATEWAY.into(),
                invoice_id: None,
                status: "Active".into(),
                service_ids: vec![u64::from(service.id)],
                notes: String::new(),
            }),
        }
    }

    fn seed_invoice(&mut self, invoice: &demo::DemoInvoice) {
        let userid = u64::from(invoice.client_id);
        let items = invoice
            .items
            .iter()
            .map(|(description, amount)| {
                // A line naming one of the client's services is that service's charge.
                let service = self.services.iter().find(|service| {
                    service.client_id == userid && description.starts_with(&service.name)
                });
                let item = InvoiceItem {
                    id: self.next_item_id,
                    kind: if service.is_some() { "Hosting" } else { "" },
                    relid: service.map_or(0, |service| service.id),
                    description: (*description).to_owned(),
                    amount: i64::from(*amount) * 100,
                };
                self.next_item_id += 1;
                item
            })
            .collect();
        let mut seeded = Invoice {
            id: u64::from(invoice.id),
            userid,
            date: demo_date(invoice.date),
            duedate: demo_date(invoice.due_date),
            datepaid: invoice.date_paid.map(demo_datetime),
            last_capture_attempt: None,
            status: invoice.status.into(),
            paymentmethod: GATEWAY.into(),
            items,
            transactions: Vec::new(),
            notes: String::new(),
        };
        if let Some(paid_at) = seeded.datepaid {
            let amount = seeded.total();
            seeded
                .transactions
                .push(self.new_transaction(seeded.id, paid_at, amount));
        }
        self.invoices.push(seeded);
    }

    pub fn new_transaction(
        &mut self,
        invoice_id: u64,
        date: NaiveDateTime,
        amount: i64,
    ) -> Transaction {
        let id = self.next_transaction_id;
        self.next_transaction_id += 1;
        Transaction {
            id,
            date,
            gateway: GATEWAY.into(),
            amount,
            transid: format!("ch_sandbox_{invoice_id}_{id}"),
            pay_method_id: None,
        }
    }

    pub fn new_item_id(&mut self) -> u64 {
        let id = self.next_item_id;
        self.next_item_id += 1;
        id
    }

    pub fn client(&self, id: u64) -> Option<&Client> {
        self.clients.iter().find(|client| client.id == id)
    }

    pub fn client_by_email(&self, email: &str) -> Option<&Client> {
        self.clients
            .iter()
            .find(|client| client.email.eq_ignore_ascii_case(email))
    }

    pub fn product(&self, pid: u64) -> Option<&Product> {
        self.products.iter().find(|product| product.pid == pid)
    }

    pub fn next_client_id(&self) -> u64 {
        self.clients.iter().map(|c| c.id).max().unwrap_or(0) + 1
    }

    pub fn next_invoice_id(&self) -> u64 {
        self.invoices.iter().map(|i| i.id).max().unwrap_or(0) + 1
    }

    pub fn next_service_id(&self) -> u64 {
        self.services.iter().map(|s| s.id).max().unwrap_or(0) + 1
    }

    pub fn next_order_id(&self) -> u64 {
        self.orders.iter().map(|o| o.id).max().unwrap_or(0) + 1
    }
}

fn product_from_demo(product: &demo::DemoProduct) -> Product {
    let (paytype, cycle) = match product.billing_cycle {
        "Onetime" => ("onetime", "One Time"),
        "Annually" => ("recurring", "Annually"),
        _ => ("recurring", "Monthly"),
    };
    Product {
        pid: u64::from(product.whmcs_pid),
        gid: GROUPS
            .iter()
            .find(|(family, _)| *family == product.family)
            .map_or(0, |(_, gid)| *gid),
        group_name: product.family.into(),
        name: product.name.into(),
        paytype,
        cycle,
        price: i64::from(product.price) * 100,
    }
}
