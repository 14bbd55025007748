"""Writes the FFI protocol of LiveKit's prebuilt `liblivekit_ffi.so` as a
protobuf FileDescriptorSet, taken from the same PyPI `livekit` wheel that ships
the library (its `livekit/rtc/_proto/*_pb2.py` modules embed the serialized
`.proto` files). `rtc/build.rs` turns it into Rust types with prost, so the
types always match the library we load, field for field.

    python rtc/proto/extract_descriptors.py rtc/proto/livekit_ffi.fds.bin

Run it with the pinned wheel installed (scripts/livekit-venv does that).
"""

import importlib
import pkgutil
import sys

from google.protobuf import descriptor_pb2

import livekit.rtc
import livekit.rtc._proto as protos


def main(out_path: str) -> None:
    files = {}
    for mod in pkgutil.iter_modules(protos.__path__):
        if not mod.name.endswith("_pb2"):
            continue
        m = importlib.import_module(f"{protos.__name__}.{mod.name}")
        files[m.DESCRIPTOR.name] = m.DESCRIPTOR

    # Dependencies first, as protoc would emit them.
    ordered, seen = [], set()

    def visit(fd):
        if fd.name in seen:
            return
        seen.add(fd.name)
        for dep in fd.dependencies:
            visit(dep)
        ordered.append(fd)

    for name in sorted(files):
        visit(files[name])

    fds = descriptor_pb2.FileDescriptorSet()
    for fd in ordered:
        proto = descriptor_pb2.FileDescriptorProto()
        fd.CopyToProto(proto)
        fds.file.append(proto)
    with open(out_path, "wb") as f:
        f.write(fds.SerializeToString(deterministic=True))
    print(
        f"livekit {livekit.rtc.__version__}: {len(fds.file)} files "
        f"({', '.join(p.name for p in fds.file)}) -> {out_path}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(sys.argv[1])
