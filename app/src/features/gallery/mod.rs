//! The component gallery (our Storybook): every `crate::ui` component in each
//! of its states on one page, in the current theme and language. Served only
//! when `HANDOO_COMPONENT_GALLERY` is on (development and the e2e suite,
//! whose screenshots of it catch visual breakage); the server answers 404
//! otherwise.

pub mod pages;

/// The route, shared by the router and the server's gate.
pub const PATH: &str = "/dev/gallery";
