//! Billing (`/app/billing`): the plan in force and this period's usage
//! against its limits, the plans to choose from with Polar's checkout, and
//! Polar's customer portal (Owners); usage (`/app/usage`): per day, per
//! agent and per API key, with charts and CSV (Admins and Owners).

pub mod api;
pub mod page;
pub mod usage;
