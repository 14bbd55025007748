//! Settings → Providers: the organisation's API keys (masked), base URL
//! overrides and "test connection".

pub mod api;
pub mod pages;
