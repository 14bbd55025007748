//! Where the Leptos site settings come from. Under cargo-leptos the
//! `LEPTOS_*` variables are set and win; a release binary started by hand
//! reads `Leptos.toml` (path from `HANDOO_LEPTOS_TOML`), with `LEPTOS_*`
//! variables still able to override single values.

use leptos::prelude::LeptosOptions;

use crate::config::Config;

pub fn leptos_options(config: &Config) -> anyhow::Result<LeptosOptions> {
    let launched_by_cargo_leptos = std::env::var_os("LEPTOS_OUTPUT_NAME").is_some();
    let conf = if launched_by_cargo_leptos {
        leptos_config::get_configuration(None)
    } else {
        if !std::path::Path::new(&config.leptos_toml).exists() {
            anyhow::bail!(
                "site config {:?} not found: run from the repository root or set HANDOO_LEPTOS_TOML",
                config.leptos_toml
            );
        }
        leptos_config::get_configuration(Some(&config.leptos_toml))
    }
    .map_err(|e| anyhow::anyhow!("reading Leptos site config: {e}"))?;
    let mut options = conf.leptos_options;
    // Leptos panics on every page when asset hashing is on and its hash
    // file is missing (a binary built by plain `cargo build`, or copied
    // without it): serve the unhashed names instead, and say so.
    if options.hash_files && !hash_file_present(&options) {
        tracing::warn!(
            file = %options.hash_file,
            "asset hashing is on but the hash file is not beside the binary: serving unhashed asset names"
        );
        options.hash_files = false;
    }
    Ok(options)
}

fn hash_file_present(options: &LeptosOptions) -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(options.hash_file.as_ref())))
        .is_some_and(|p| p.is_file())
}
