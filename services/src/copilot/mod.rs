//! The SDR copilot: scripts, the knowledge base, the technique library,
//! pre-call briefs and AI script generation, and live sessions.

pub mod ai;
pub mod defaults;
pub mod evaluation;
pub mod knowledge;
pub mod opt_out;
pub mod scripts;
pub mod second_opinion;
pub mod semantic;
pub mod sessions;
pub mod speech;
pub mod techniques;

pub use semantic::Semantic;
pub use sessions::CopilotHub;
