// AudioWorklet processor: the voice agent's speech (24 kHz 16-bit
// little-endian mono PCM frames from the test call's socket) → the
// speakers, resampled to the context's rate by linear interpolation.
// "clear" (a barge-in) drops whatever is still queued, so the agent stops
// at once. Every ~100 ms it posts how much it has played and how much of
// that was loud, which the page shows (and the end-to-end test reads).
const IN_RATE = 24000;

class PcmPlayback extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.head = null;
    this.offset = 0;
    // Output sample = a + (b - a) * pos, between input samples a and b.
    this.a = 0;
    this.b = 0;
    this.pos = 0;
    this.step = IN_RATE / sampleRate;
    this.played = 0;
    this.loud = 0;
    this.sinceReport = 0;
    this.port.onmessage = (ev) => {
      if (ev.data === 'clear') {
        this.queue = [];
        this.head = null;
        this.offset = 0;
      } else if (ev.data instanceof ArrayBuffer) {
        this.queue.push(new Int16Array(ev.data));
      }
    };
  }

  next() {
    while (!this.head || this.offset >= this.head.length) {
      this.head = this.queue.shift() || null;
      this.offset = 0;
      if (!this.head) return null;
    }
    return this.head[this.offset++] / 32768;
  }

  process(_inputs, outputs) {
    const out = outputs[0][0];
    let sum = 0;
    let fresh = 0;
    for (let i = 0; i < out.length; i++) {
      const v = this.a + (this.b - this.a) * this.pos;
      out[i] = v;
      sum += v * v;
      this.pos += this.step;
      while (this.pos >= 1) {
        this.pos -= 1;
        this.a = this.b;
        const s = this.next();
        this.b = s === null ? 0 : s;
        if (s !== null) fresh++;
      }
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(out);
    const ms = (out.length / sampleRate) * 1000;
    if (fresh > 0) {
      this.played += ms;
      if (Math.sqrt(sum / out.length) > 0.02) this.loud += ms;
    }
    this.sinceReport += ms;
    if (this.sinceReport >= 100) {
      this.sinceReport = 0;
      this.port.postMessage({ playedMs: this.played, loudMs: this.loud });
    }
    return true;
  }
}

registerProcessor('pcm-playback', PcmPlayback);
