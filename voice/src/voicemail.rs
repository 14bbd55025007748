//! Answering machines: a greeting that starts at pickup and goes on without
//! a pause, then a beep. Detection lasts until the caller's first turn.
//! [`BeepDetector`] finds the beep in the caller's audio (a steady pure tone
//! of 300–3000 Hz for at least 120 ms, which speech never is: a voice's
//! energy is spread over its harmonics and its pitch moves).

/// Milliseconds of nearly continuous caller speech, early in a call, that
/// mark a recorded greeting (people answer in a word or two, then wait).
pub const GREETING_MS: u64 = 3_000;
/// A pause this long ends a stretch of speech for the greeting's count.
pub const GREETING_GAP_MS: u64 = 700;
/// A greeting starts within this long of the pickup (a person answering
/// later, after the agent's opening, is in a conversation).
pub const GREETING_START_MS: u64 = 2_500;
/// Speech heard before a beep that makes the beep a machine's (a tone
/// alone, with nothing said, could be anything on the line).
pub const SPEECH_BEFORE_BEEP_MS: u64 = 500;
/// After a greeting, how long to wait for a beep before speaking anyway
/// (counted from the last sound heard).
pub const BEEP_WAIT_SILENCE_MS: u64 = 2_000;

/// Frames of 20 ms at 16 kHz.
const FRAME: usize = 320;
const RATE: f64 = 16_000.0;
const MIN_FRAMES: usize = 6;

#[derive(Debug, Default)]
pub struct BeepDetector {
    pending: Vec<i16>,
    /// Consecutive tonal frames and their frequency.
    run: usize,
    freq: f64,
    /// Milliseconds of audio seen.
    position_ms: u64,
}

impl BeepDetector {
    /// Feeds 16 kHz audio; returns the end of a beep (audio ms) when one
    /// has just been heard whole (the tone stopped).
    pub fn push(&mut self, pcm: &[i16]) -> Option<u64> {
        self.pending.extend_from_slice(pcm);
        let mut heard = None;
        while self.pending.len() >= FRAME {
            let frame: Vec<i16> = self.pending.drain(..FRAME).collect();
            self.position_ms += 20;
            match tone(&frame) {
                Some(f) if self.run == 0 || (f - self.freq).abs() / self.freq < 0.04 => {
                    self.freq = if self.run == 0 {
                        f
                    } else {
                        (self.freq * self.run as f64 + f) / (self.run + 1) as f64
                    };
                    self.run += 1;
                }
                other => {
                    if self.run >= MIN_FRAMES {
                        heard = Some(self.position_ms - 20);
                    }
                    self.run = usize::from(other.is_some());
                    self.freq = other.unwrap_or(0.0);
                }
            }
        }
        heard
    }
}

/// The frequency of `frame` if it is a loud, nearly pure tone.
fn tone(frame: &[i16]) -> Option<f64> {
    let x: Vec<f64> = frame.iter().map(|&s| f64::from(s)).collect();
    let energy: f64 = x.iter().map(|v| v * v).sum();
    let rms = (energy / x.len() as f64).sqrt();
    if rms < 400.0 {
        return None;
    }
    // Zero crossings give the frequency of a pure tone (timed between the
    // first and the last, interpolated between samples: a count alone is
    // off by a crossing in 20 ms, 5 % at 440 Hz)…
    let crossings: Vec<f64> = x
        .windows(2)
        .enumerate()
        .filter(|(_, w)| (w[0] < 0.0) != (w[1] < 0.0))
        .map(|(i, w)| i as f64 + w[0] / (w[0] - w[1]))
        .collect();
    let (Some(first), Some(last)) = (crossings.first(), crossings.last()) else { return None };
    if crossings.len() < 3 || last <= first {
        return None;
    }
    let f = (crossings.len() - 1) as f64 / 2.0 / ((last - first) / RATE);
    if !(300.0..=3000.0).contains(&f) {
        return None;
    }
    // …and a pure tone has nearly all its energy at that frequency.
    let purity = (goertzel(&x, f) / energy).min(1.0);
    (purity > 0.8).then_some(f)
}

/// Energy of `x` at `f` (scaled so a pure tone gives about its total energy).
fn goertzel(x: &[f64], f: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * f / RATE;
    let c = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + c * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let power = s1 * s1 + s2 * s2 - c * s1 * s2;
    2.0 * power / x.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(hz: f64, ms: u64, amp: f64) -> Vec<i16> {
        (0..(16 * ms) as usize)
            .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / RATE).sin()) as i16)
            .collect()
    }

    #[test]
    fn a_beep_is_heard_when_it_ends() {
        for hz in [440.0, 1000.0, 1400.0, 2100.0] {
            let mut d = BeepDetector::default();
            let mut audio = vec![0i16; 16 * 500];
            audio.extend(sine(hz, 400, 6000.0));
            audio.extend(vec![0i16; 16 * 300]);
            let heard: Vec<u64> = audio.chunks(160).filter_map(|c| d.push(c)).collect();
            assert_eq!(heard.len(), 1, "{hz} Hz: {heard:?}");
            assert!(heard[0].abs_diff(900) <= 40, "{hz} Hz ended at {}", heard[0]);
        }
    }

    #[test]
    fn clicks_hums_noise_and_short_tones_are_not_beeps() {
        let mut d = BeepDetector::default();
        let mut seed = 1u32;
        let noise: Vec<i16> = (0..16_000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 17) as i16 - 16_384
            })
            .collect();
        let mut audio = noise;
        audio.extend(sine(50.0, 500, 8000.0)); // mains hum: too low
        audio.extend(sine(1000.0, 60, 8000.0)); // a click of tone: too short
        audio.extend(vec![0i16; 3200]);
        assert!(audio.chunks(320).all(|c| d.push(c).is_none()));
    }
}
