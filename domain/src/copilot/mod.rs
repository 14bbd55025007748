//! The SDR copilot's rules: transcript text matching, objection detection,
//! scripts and the phase engine, the knowledge-base workflow and call outcomes.
//! Pure and wasm-safe, so the browser can run the same engine as the server.

pub mod examples;
pub mod knowledge;
pub mod language;
pub mod mood;
pub mod objection;
pub mod outcome;
pub mod script;
pub mod script_prompt;
pub mod text;
pub mod views;
