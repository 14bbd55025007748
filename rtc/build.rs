//! Rust types for the FFI protocol of `liblivekit_ffi.so`, from the descriptor
//! set taken out of the pinned PyPI `livekit` wheel (`proto/extract_descriptors.py`).
//! No `protoc` is needed: prost-build reads the descriptors directly.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = "proto/livekit_ffi.fds.bin";
    println!("cargo:rerun-if-changed={path}");
    let bytes = std::fs::read(path)?;
    let fds = prost_types::FileDescriptorSet::decode(bytes.as_slice())?;
    prost_build::Config::new().compile_fds(fds)?;
    Ok(())
}
