//! The sObjects the sandbox knows, with their fields as Salesforce describes them: type, whether the API may
//! write them, whether they are required, and the child relationships SOQL subqueries can follow.

/// How a field's values are typed on the wire and compared in SOQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Id,
    /// A lookup to one of these objects; an empty list means any object (Task.WhatId).
    Reference(&'static [&'static str]),
    Text,
    Email,
    Boolean,
    Number,
    Date,
    DateTime,
}

impl Kind {
    /// The SOAP type name Salesforce uses in its messages.
    pub fn soap_name(self) -> &'static str {
        match self {
            Kind::Id | Kind::Reference(_) => "id",
            Kind::Text | Kind::Email => "string",
            Kind::Boolean => "boolean",
            Kind::Number => "double",
            Kind::Date => "date",
            Kind::DateTime => "dateTime",
        }
    }

    pub fn is_textual(self) -> bool {
        matches!(
            self,
            Kind::Id | Kind::Reference(_) | Kind::Text | Kind::Email
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Editable,
    /// Set on create, fixed afterwards (OrderItem.PricebookEntryId).
    CreateOnly,
    /// Computed by the system (Id, OrderNumber, TotalAmount, …).
    ReadOnly,
}

#[derive(Debug)]
pub struct FieldDef {
    pub name: &'static str,
    pub kind: Kind,
    pub access: Access,
    pub required: bool,
    /// A restricted picklist's values.
    pub picklist: Option<&'static [&'static str]>,
    /// An `External ID` field marked `Unique`: upserts may name records by it, and no two records share a
    /// value (`DUPLICATE_VALUE`).
    pub external_id: bool,
}

impl FieldDef {
    /// The relationship name SOQL uses to follow this lookup (`AccountId` → `Account`).
    pub fn relationship_name(&self) -> Option<&'static str> {
        match self.kind {
            Kind::Reference(_) => self.name.strip_suffix("Id"),
            _ => None,
        }
    }
}

const fn field(name: &'static str, kind: Kind) -> FieldDef {
    FieldDef {
        name,
        kind,
        access: Access::Editable,
        required: false,
        picklist: None,
        external_id: false,
    }
}

/// A unique external id text field (`Portal_Order_Id__c`), set by the integration that creates the record.
const fn external_id(name: &'static str) -> FieldDef {
    FieldDef {
        external_id: true,
        ..field(name, Kind::Text)
    }
}

const fn required(name: &'static str, kind: Kind) -> FieldDef {
    FieldDef {
        required: true,
        ..field(name, kind)
    }
}

const fn read_only(name: &'static str, kind: Kind) -> FieldDef {
    FieldDef {
        access: Access::ReadOnly,
        ..field(name, kind)
    }
}

const fn create_only(name: &'static str, kind: Kind, is_required: bool) -> FieldDef {
    FieldDef {
        access: Access::CreateOnly,
        required: is_required,
        ..field(name, kind)
    }
}

/// `Parent.Children` as SOQL subqueries name it: `(SELECT Id FROM OrderItems)` on Order.
#[derive(Debug)]
pub struct ChildRelationship {
    pub name: &'static str,
    pub object: &'static str,
    pub field: &'static str,
}

const fn child(name: &'static str, object: &'static str, field: &'static str) -> ChildRelationship {
    ChildRelationship {
        name,
        object,
        field,
    }
}

#[derive(Debug)]
pub struct ObjectDef {
    pub name: &'static str,
    pub key_prefix: &'static str,
    pub fields: &'static [FieldDef],
    pub children: &'static [ChildRelationship],
    /// Whether the REST API may create, update and delete it.
    pub writable: bool,
}

/// Every record has these besides its own fields.
pub static SYSTEM_FIELDS: [FieldDef; 4] = [
    read_only("Id", Kind::Id),
    read_only("CreatedDate", Kind::DateTime),
    read_only("LastModifiedDate", Kind::DateTime),
    read_only("CreatedById", Kind::Reference(&["User"])),
];

const ACCOUNT: &[&str] = &["Account"];
const CONTACT: &[&str] = &["Contact"];
const ORDER: &[&str] = &["Order"];
const PRODUCT: &[&str] = &["Product2"];
const PRICEBOOK: &[&str] = &["Pricebook2"];
const PRICEBOOK_ENTRY: &[&str] = &["PricebookEntry"];
const CASE: &[&str] = &["Case"];
const USER: &[&str] = &["User"];
const ANY: &[&str] = &[];

pub const ORDER_STATUSES: &[&str] = &["Draft", "Activated"];

pub static OBJECTS: [ObjectDef; 11] = [
    ObjectDef {
        name: "Account",
        key_prefix: "001",
        writable: true,
        fields: &[
            required("Name", Kind::Text),
            field("Phone", Kind::Text),
            field("BillingStreet", Kind::Text),
            field("BillingCity", Kind::Text),
            field("BillingState", Kind::Text),
            field("BillingPostalCode", Kind::Text),
            field("BillingCountry", Kind::Text),
            field("Customer_Number__c", Kind::Text),
            external_id("Portal_User_Id__c"),
        ],
        children: &[
            child("Contacts", "Contact", "AccountId"),
            child("Orders", "Order", "AccountId"),
            child("Cases", "Case", "AccountId"),
            child("Tasks", "Task", "WhatId"),
        ],
    },
    ObjectDef {
        name: "Contact",
        key_prefix: "003",
        writable: true,
        fields: &[
            field("AccountId", Kind::Reference(ACCOUNT)),
            field("FirstName", Kind::Text),
            required("LastName", Kind::Text),
            read_only("Name", Kind::Text),
            field("Email", Kind::Email),
            field("Phone", Kind::Text),
            field("MailingStreet", Kind::Text),
            field("MailingCity", Kind::Text),
            field("MailingState", Kind::Text),
            field("MailingPostalCode", Kind::Text),
            field("MailingCountry", Kind::Text),
            external_id("Portal_User_Id__c"),
        ],
        children: &[
            child("Cases", "Case", "ContactId"),
            child("Tasks", "Task", "WhoId"),
        ],
    },
    ObjectDef {
        name: "Product2",
        key_prefix: "01t",
        writable: true,
        fields: &[
            required("Name", Kind::Text),
            field("ProductCode", Kind::Text),
            field("Description", Kind::Text),
            field("IsActive", Kind::Boolean),
            field("Family", Kind::Text),
            field("StockKeepingUnit", Kind::Text),
            field("SKU__c", Kind::Text),
            field("Portal_Catalog__c", Kind::Boolean),
            field("Portal_Accessible__c", Kind::Boolean),
            field("Item_Class__c", Kind::Text),
            field("Billing_Cycle__c", Kind::Text),
            field("WH_Product_ID__c", Kind::Number),
            field("SIM_Data_Size__c", Kind::Text),
            field("SIM_Plan_Type__c", Kind::Text),
            // The luxury brands' catalogue: the brand's slug, and what advisors search by.
            field("Brand__c", Kind::Text),
            field("Colour__c", Kind::Text),
            field("Material__c", Kind::Text),
            field("Image_Url__c", Kind::Text),
        ],
        children: &[child("PricebookEntries", "PricebookEntry", "Product2Id")],
    },
    ObjectDef {
        name: "Pricebook2",
        key_prefix: "01s",
        writable: true,
        fields: &[
            required("Name", Kind::Text),
            field("IsActive", Kind::Boolean),
            read_only("IsStandard", Kind::Boolean),
        ],
        children: &[child("PricebookEntries", "PricebookEntry", "Pricebook2Id")],
    },
    ObjectDef {
        name: "PricebookEntry",
        key_prefix: "01u",
        writable: true,
        fields: &[
            create_only("Pricebook2Id", Kind::Reference(PRICEBOOK), true),
            create_only("Product2Id", Kind::Reference(PRODUCT), true),
            read_only("Name", Kind::Text),
            read_only("ProductCode", Kind::Text),
            required("UnitPrice", Kind::Number),
            field("IsActive", Kind::Boolean),
            field("CurrencyIsoCode", Kind::Text),
        ],
        children: &[],
    },
    ObjectDef {
        name: "Order",
        key_prefix: "801",
        writable: true,
        fields: &[
            required("AccountId", Kind::Reference(ACCOUNT)),
            required("EffectiveDate", Kind::Date),
            FieldDef {
                picklist: Some(ORDER_STATUSES),
                ..required("Status", Kind::Text)
            },
            field("Pricebook2Id", Kind::Reference(PRICEBOOK)),
            read_only("OrderNumber", Kind::Text),
            read_only("TotalAmount", Kind::Number),
            field("Type", Kind::Text),
            field("BillToContactId", Kind::Reference(CONTACT)),
            field("Description", Kind::Text),
            read_only("ActivatedDate", Kind::DateTime),
            field("Order_Type__c", Kind::Text),
            field("Activation_Type__c", Kind::Text),
            field("Activation_Scheduled_At__c", Kind::DateTime),
            field("Activation_Status__c", Kind::Text),
            field("SIM_Type__c", Kind::Text),
            field("EID__c", Kind::Text),
            field("WHMCS_Order_ID__c", Kind::Text),
            external_id("Portal_Order_Id__c"),
        ],
        children: &[
            child("OrderItems", "OrderItem", "OrderId"),
            child("Tasks", "Task", "WhatId"),
        ],
    },
    ObjectDef {
        name: "OrderItem",
        key_prefix: "802",
        writable: true,
        fields: &[
            create_only("OrderId", Kind::Reference(ORDER), true),
            create_only("PricebookEntryId", Kind::Reference(PRICEBOOK_ENTRY), true),
            read_only("Product2Id", Kind::Reference(PRODUCT)),
            required("Quantity", Kind::Number),
            required("UnitPrice", Kind::Number),
            field("ListPrice", Kind::Number),
            read_only("TotalPrice", Kind::Number),
            field("WHMCS_Service_ID__c", Kind::Text),
            field("Billing_Cycle__c", Kind::Text),
            external_id("Portal_Item_Key__c"),
        ],
        children: &[],
    },
    ObjectDef {
        name: "Case",
        key_prefix: "500",
        writable: true,
        fields: &[
            read_only("CaseNumber", Kind::Text),
            field("AccountId", Kind::Reference(ACCOUNT)),
            field("ContactId", Kind::Reference(CONTACT)),
            field("Subject", Kind::Text),
            field("Description", Kind::Text),
            field("Status", Kind::Text),
            field("Priority", Kind::Text),
            field("Origin", Kind::Text),
            field("Type", Kind::Text),
            field("Reason", Kind::Text),
            read_only("IsClosed", Kind::Boolean),
            read_only("ClosedDate", Kind::DateTime),
            external_id("Portal_Case_Key__c"),
        ],
        children: &[
            child("CaseComments", "CaseComment", "ParentId"),
            child("Tasks", "Task", "WhatId"),
        ],
    },
    ObjectDef {
        name: "CaseComment",
        key_prefix: "00a",
        writable: true,
        fields: &[
            create_only("ParentId", Kind::Reference(CASE), true),
            field("CommentBody", Kind::Text),
            field("IsPublished", Kind::Boolean),
        ],
        children: &[],
    },
    ObjectDef {
        name: "Task",
        key_prefix: "00T",
        writable: true,
        fields: &[
            field("WhoId", Kind::Reference(CONTACT)),
            field("WhatId", Kind::Reference(ANY)),
            field("Subject", Kind::Text),
            field("ActivityDate", Kind::Date),
            field("Status", Kind::Text),
            field("Priority", Kind::Text),
            field("OwnerId", Kind::Reference(USER)),
            field("Description", Kind::Text),
            field("TaskSubtype", Kind::Text),
            field("Type", Kind::Text),
            // The clienteling mirror's fields (an org deploying it adds them, and the version rule below).
            external_id("Concierge_Interaction_Id__c"),
            field("Concierge_Version__c", Kind::Number),
            field("Concierge_Context__c", Kind::Text),
            field("Concierge_Deleted__c", Kind::Boolean),
        ],
        children: &[],
    },
    ObjectDef {
        name: "User",
        key_prefix: "005",
        writable: false,
        fields: &[
            read_only("Name", Kind::Text),
            read_only("Username", Kind::Text),
            read_only("Email", Kind::Email),
            read_only("IsActive", Kind::Boolean),
        ],
        children: &[],
    },
];

/// The platform event id prefix (`e01…`).
pub const EVENT_KEY_PREFIX: &str = "e01";

/// An object by name, as Salesforce resolves it: case-insensitively.
pub fn object(name: &str) -> Option<&'static ObjectDef> {
    OBJECTS.iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

/// The object an id belongs to, by its key prefix.
pub fn object_of_id(id: &str) -> Option<&'static ObjectDef> {
    let prefix = id.get(..3)?;
    OBJECTS.iter().find(|o| o.key_prefix == prefix)
}

pub fn is_platform_event(name: &str) -> bool {
    name.len() > 3 && name.to_ascii_lowercase().ends_with("__e")
}

impl ObjectDef {
    /// Every field, system fields first, in describe order.
    pub fn all_fields(&self) -> impl Iterator<Item = &'static FieldDef> + use<> {
        let own: &'static [FieldDef] = self.fields;
        SYSTEM_FIELDS.iter().chain(own.iter())
    }

    pub fn field(&self, name: &str) -> Option<&'static FieldDef> {
        self.all_fields()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The lookup field behind a relationship name (`Account` → `AccountId`).
    pub fn relationship(&self, name: &str) -> Option<&'static FieldDef> {
        self.all_fields().find(|f| {
            f.relationship_name()
                .is_some_and(|rel| rel.eq_ignore_ascii_case(name))
        })
    }

    pub fn child(&self, name: &str) -> Option<&'static ChildRelationship> {
        self.children
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}
