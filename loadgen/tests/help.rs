//! `loadgen --help` explains itself and sends nothing.

#[test]
fn help_explains_and_sends_nothing() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen")).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("usage: loadgen"), "{text}");
}
