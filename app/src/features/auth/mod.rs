pub mod api;
pub mod pages;
pub mod session;
pub mod types;
