//! Agents: list with folders and filters, the editor (prompt with template
//! variables, LLM and voice settings, tools, data schema) and its preview.

pub mod api;
pub mod editor;
pub mod pages;
pub mod schema_editor;
pub mod test_call;
pub mod voice_picker;
