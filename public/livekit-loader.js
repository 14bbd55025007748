// Loads LiveKit's browser SDK (npm `livekit-client`, copied beside this file
// by scripts/setup.sh) when a page first needs it — listening to a live
// call — rather than with every page. Called from Rust (app/src/features/calls/listen.rs).
export function loadLiveKit() {
  return import('/vendor/livekit-client.esm.mjs');
}
