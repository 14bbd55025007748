//! The SDR copilot: the three-column live dashboard, the knowledge base with
//! its review queue, and the script library with its editor.

pub mod api;
pub mod dashboard;
pub mod history;
pub mod knowledge;
pub mod labels;
pub mod scripts;
pub mod types;
