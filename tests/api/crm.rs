//! The CRM API (`/api/v1/brands/{brand}/crm/…`).

mod profiles;
