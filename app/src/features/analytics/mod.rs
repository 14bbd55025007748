//! The managers' analytics (`/app/analytics`, loaded on its own): calls by
//! AI agents and reps over a date range, against the period before, with
//! charts — each followed by its table, the text alternative — and every
//! table as CSV.

pub mod api;
pub mod charts;
pub mod page;
