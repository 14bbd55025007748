// AudioWorklet processor: microphone audio (the context's rate, usually
// 48 kHz, float) → 16 kHz 16-bit little-endian mono PCM in 20 ms frames,
// posted to the main thread as transferable ArrayBuffers. Downsampling
// averages the input samples falling into each output sample (a box filter:
// enough anti-aliasing for speech recognition).
class PcmCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / 16000;
    this.frame = new Int16Array(320);
    this.filled = 0;
    this.sum = 0;
    this.count = 0;
    this.pos = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      this.sum += channel[i];
      this.count += 1;
      this.pos += 1;
      if (this.pos >= this.ratio) {
        this.pos -= this.ratio;
        const v = Math.max(-1, Math.min(1, this.sum / this.count));
        this.sum = 0;
        this.count = 0;
        this.frame[this.filled++] = v < 0 ? v * 0x8000 : v * 0x7fff;
        if (this.filled === this.frame.length) {
          const out = this.frame.buffer;
          this.port.postMessage(out, [out]);
          this.frame = new Int16Array(320);
          this.filled = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor("pcm-capture", PcmCapture);
