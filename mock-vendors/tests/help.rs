//! `mock-vendors --help` explains itself and starts nothing.

#[test]
fn help_explains_and_starts_nothing() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mock-vendors")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("usage: mock-vendors"), "{text}");
    assert!(!text.contains("mock vendors on http"), "it did not start listening");
}
