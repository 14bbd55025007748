// Loads LiveKit's browser SDK (npm `livekit-client`, copied beside this file
// by scripts/setup.sh) when a page first needs it — the rep's softphone, a
// manager listening, whispering or barging — rather than with every page.
// Called from Rust (app/src/features/calls/room.rs).
export function loadLiveKit() {
  return import('/vendor/livekit-client.esm.mjs');
}

// Hold music: a soft two-note loop made with Web Audio, as a MediaStreamTrack
// the softphone puts in its microphone's place while the call is on hold.
export function holdMusicTrack() {
  const ctx = new AudioContext();
  const out = ctx.createMediaStreamDestination();
  const gain = ctx.createGain();
  gain.gain.value = 0.08;
  gain.connect(out);
  const notes = [392.0, 523.25, 440.0, 349.23];
  let i = 0;
  const play = () => {
    const osc = ctx.createOscillator();
    osc.type = 'sine';
    osc.frequency.value = notes[i++ % notes.length];
    osc.connect(gain);
    osc.start();
    osc.stop(ctx.currentTime + 0.45);
  };
  play();
  const timer = setInterval(play, 500);
  const track = out.stream.getAudioTracks()[0];
  // Stopping the track (on resume) stops the music and frees the context.
  const stop = track.stop.bind(track);
  track.stop = () => { clearInterval(timer); ctx.close(); stop(); };
  return track;
}
