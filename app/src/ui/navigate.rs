//! Leaving the single-page app on purpose.

/// Full navigation (not client routing) after the session changed, so every
/// resource and the locale are rebuilt from the new session.
pub fn hard_navigate(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}
