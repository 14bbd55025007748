//! `Leptos.toml` is what a hand-started release binary reads.

use server::{site, Config};

fn config_with(path: &str) -> Config {
    let path = path.to_string();
    Config::from_lookup(move |k| (k == "HANDOO_LEPTOS_TOML").then(|| path.clone())).unwrap()
}

#[test]
fn repository_leptos_toml_is_read() {
    // Tests run with the crate dir as cwd; the file lives at the workspace root.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml");
    let opts = site::leptos_options(&config_with(path)).expect("Leptos.toml parses");
    assert_eq!(&*opts.output_name, "handoo");
    assert_eq!(opts.site_addr.to_string(), "127.0.0.1:3000");
    assert_eq!(&*opts.site_pkg_dir, "pkg");
}

#[test]
fn values_come_from_the_file_not_defaults() {
    let dir = std::env::temp_dir().join(format!("handoo-leptos-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("Leptos.toml");
    std::fs::write(
        &file,
        "[package.metadata.leptos]\noutput-name = \"custom\"\nsite-root = \"/srv/handoo/site\"\nsite-addr = \"0.0.0.0:8080\"\n",
    )
    .unwrap();
    let opts = site::leptos_options(&config_with(file.to_str().unwrap())).unwrap();
    assert_eq!(&*opts.output_name, "custom");
    assert_eq!(&*opts.site_root, "/srv/handoo/site");
    assert_eq!(opts.site_addr.to_string(), "0.0.0.0:8080");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let err = site::leptos_options(&config_with("/nonexistent/Leptos.toml")).unwrap_err();
    assert!(err.to_string().contains("HANDOO_LEPTOS_TOML"), "{err}");
}
