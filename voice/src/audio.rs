//! PCM helpers: a polyphase resampler (LiveKit's 48 kHz to the 16 kHz the
//! VAD and STT want; the TTS's rate to the transport's), WAV reading, loudness.

/// Converts 16-bit mono PCM from one rate to another with a windowed-sinc
/// low-pass (32 taps per output sample), streaming: feed any slices.
///
/// The ratio is reduced to `up / down`; the filter's phases are computed
/// once, so a sample costs 32 multiply-adds and no trigonometry.
#[derive(Clone)]
pub struct Resampler {
    up: usize,
    down: usize,
    /// `up` phases of `2 * HALF` taps.
    table: Vec<f32>,
    history: Vec<f32>,
    /// Output index within the current input block (`n * down`), kept small.
    phase_pos: usize,
    /// Input index (into `history`) of the current output's centre.
    base: usize,
}

const HALF: usize = 16;

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Resampler {
        // A rate of 0 is no rate: pass the samples through as they are.
        let (from, to) = if from == 0 || to == 0 { (1, 1) } else { (from, to) };
        let g = gcd(from as usize, to as usize).max(1);
        let (up, down) = (to as usize / g, from as usize / g);
        // Cut off below the lower Nyquist frequency, with a little margin.
        let cutoff = 0.94 * (to as f64 / from as f64).min(1.0);
        let mut table = vec![0f32; up * 2 * HALF];
        for phase in 0..up {
            let frac = phase as f64 / up as f64;
            let mut sum = 0.0;
            for t in 0..2 * HALF {
                // Distance from the output's position to input tap t.
                let x = (t as f64 - (HALF as f64 - 1.0)) - frac;
                let sinc = if x.abs() < 1e-9 {
                    1.0
                } else {
                    (std::f64::consts::PI * cutoff * x).sin() / (std::f64::consts::PI * cutoff * x)
                };
                let w = 0.5 + 0.5 * (std::f64::consts::PI * x / HALF as f64).cos(); // Hann
                let v = cutoff * sinc * if x.abs() < HALF as f64 { w } else { 0.0 };
                table[phase * 2 * HALF + t] = v as f32;
                sum += v;
            }
            // Unity gain at DC for every phase.
            for t in 0..2 * HALF {
                table[phase * 2 * HALF + t] /= sum as f32;
            }
        }
        Resampler { up, down, table, history: vec![0.0; HALF - 1], phase_pos: 0, base: 0 }
    }

    pub fn is_identity(&self) -> bool {
        self.up == self.down
    }

    pub fn process(&mut self, input: &[i16]) -> Vec<i16> {
        if self.is_identity() {
            return input.to_vec();
        }
        self.history.extend(input.iter().map(|&s| f32::from(s)));
        let mut out = Vec::with_capacity(input.len() * self.up / self.down + 1);
        // Output n sits at input position base + phase_pos / up.
        while self.base + 2 * HALF <= self.history.len() {
            let phase = self.phase_pos;
            let taps = &self.table[phase * 2 * HALF..(phase + 1) * 2 * HALF];
            let window = &self.history[self.base..self.base + 2 * HALF];
            let v: f32 = taps.iter().zip(window).map(|(a, b)| a * b).sum();
            out.push(v.round().clamp(-32768.0, 32767.0) as i16);
            self.phase_pos += self.down;
            self.base += self.phase_pos / self.up;
            self.phase_pos %= self.up;
        }
        // Keep only what the next outputs need.
        let drop = self.base;
        self.history.drain(..drop);
        self.base = 0;
        out
    }
}

/// Little-endian bytes to samples (an odd trailing byte is ignored).
pub fn samples(bytes: &[u8]) -> Vec<i16> {
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

pub fn bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Root mean square of a slice (0 for none).
pub fn rms(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
}

/// A 16-bit PCM WAV's rate and mono samples (channels are averaged).
pub fn read_wav(data: &[u8]) -> Result<(u32, Vec<i16>), String> {
    if data.len() < 12 || &data[..4] != b"RIFF" || &data[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let (mut rate, mut channels, mut bits) = (0u32, 0u16, 0u16);
    let mut at = 12;
    while at + 8 <= data.len() {
        let id = &data[at..at + 4];
        let len = u32::from_le_bytes([data[at + 4], data[at + 5], data[at + 6], data[at + 7]]) as usize;
        let body = &data[at + 8..(at + 8 + len).min(data.len())];
        if id == b"fmt " && body.len() >= 16 {
            channels = u16::from_le_bytes([body[2], body[3]]);
            rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
            bits = u16::from_le_bytes([body[14], body[15]]);
        } else if id == b"data" {
            if bits != 16 || channels == 0 {
                return Err(format!("{bits}-bit, {channels}-channel audio: 16-bit PCM is needed"));
            }
            let all = samples(body);
            let mono = all
                .chunks(channels as usize)
                .map(|c| (c.iter().map(|&s| i32::from(s)).sum::<i32>() / c.len() as i32) as i16)
                .collect();
            return Ok((rate, mono));
        }
        at += 8 + len + (len & 1);
    }
    Err("no data chunk".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, ms: u32) -> Vec<i16> {
        (0..rate * ms / 1000)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).sin()) as i16)
            .collect()
    }

    /// The strength of `hz` in `s` (a single-bin DFT), as an amplitude.
    fn level(s: &[i16], rate: u32, hz: f64) -> f64 {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &v) in s.iter().enumerate() {
            let a = 2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64;
            re += f64::from(v) * a.cos();
            im += f64::from(v) * a.sin();
        }
        2.0 * (re * re + im * im).sqrt() / s.len() as f64
    }

    #[test]
    fn rates_change_length_and_keep_the_tone() {
        for (from, to) in
            [(48_000, 16_000), (16_000, 48_000), (24_000, 48_000), (22_050, 16_000), (44_100, 24_000)]
        {
            let mut r = Resampler::new(from, to);
            let input = tone(from, 440.0, 1000);
            // In uneven slices, as audio arrives.
            let out: Vec<i16> = input.chunks(333).flat_map(|c| r.process(c)).collect();
            let expected = to as usize;
            // The filter holds back half its length (in input samples).
            let held = (2 * HALF * to as usize).div_ceil(from as usize);
            assert!(out.len().abs_diff(expected) <= held, "{from}→{to}: {} samples", out.len());
            let steady = &out[to as usize / 10..to as usize * 9 / 10];
            let amp = level(steady, to, 440.0);
            assert!((amp - 8000.0).abs() < 250.0, "{from}→{to}: 440 Hz at {amp}");
        }
    }

    #[test]
    fn downsampling_removes_what_the_new_rate_cannot_hold() {
        // 12 kHz cannot exist at 16 kHz; it must not fold back to 4 kHz.
        let mut r = Resampler::new(48_000, 16_000);
        let out = r.process(&tone(48_000, 12_000.0, 500));
        let alias = level(&out[800..], 16_000, 4_000.0);
        assert!(alias < 400.0, "aliased to 4 kHz at {alias}");
    }

    #[test]
    fn wav_files_are_read_and_bad_ones_refused() {
        let pcm = tone(16_000, 300.0, 100);
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend(16u32.to_le_bytes());
        wav.extend(1u16.to_le_bytes());
        wav.extend(1u16.to_le_bytes());
        wav.extend(16_000u32.to_le_bytes());
        wav.extend(32_000u32.to_le_bytes());
        wav.extend(2u16.to_le_bytes());
        wav.extend(16u16.to_le_bytes());
        wav.extend(b"data");
        wav.extend(((pcm.len() * 2) as u32).to_le_bytes());
        wav.extend(bytes(&pcm));
        assert_eq!(read_wav(&wav).unwrap(), (16_000, pcm));
        assert!(read_wav(b"not a wav").is_err());
    }
}
