//! The voice pipeline's figures for Prometheus: per reply, the time from the
//! caller's end of speech to each stage (STT final, LLM first token, first
//! TTS byte, first audio frame out) and our own share of it; barge-in time;
//! calls, replies and interruptions. One set per process, lock-free.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::call::TurnLatency;

/// Upper bounds, in seconds.
const BUCKETS: [f64; 14] = [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0];

struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds (atomics hold integers).
    sum_us: AtomicU64,
}

impl Histogram {
    fn new() -> Histogram {
        Histogram { buckets: Default::default(), count: AtomicU64::new(0), sum_us: AtomicU64::new(0) }
    }

    fn observe_ms(&self, ms: f64) {
        let s = ms.max(0.0) / 1000.0;
        for (i, le) in BUCKETS.iter().enumerate() {
            if s <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add((ms.max(0.0) * 1000.0) as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (le, b) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {}", b.load(Ordering::Relaxed));
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_us.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{braces} {count}");
    }
}

/// The stages of a reply, in order.
const STAGES: [&str; 5] = ["stt_final", "llm_first_token", "tts_first_byte", "first_audio", "overhead"];

pub struct VoiceMetrics {
    stages: [Histogram; 5],
    barge_in: Histogram,
    calls_active: AtomicI64,
    calls: AtomicU64,
    interruptions: AtomicU64,
}

/// A call counted in `handoo_voice_calls_active`.
pub struct ActiveCall(&'static VoiceMetrics);

impl Drop for ActiveCall {
    fn drop(&mut self) {
        self.0.calls_active.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The process's figures.
pub fn global() -> &'static VoiceMetrics {
    static METRICS: OnceLock<VoiceMetrics> = OnceLock::new();
    METRICS.get_or_init(VoiceMetrics::new)
}

impl VoiceMetrics {
    fn new() -> VoiceMetrics {
        VoiceMetrics {
            stages: std::array::from_fn(|_| Histogram::new()),
            barge_in: Histogram::new(),
            calls_active: AtomicI64::new(0),
            calls: AtomicU64::new(0),
            interruptions: AtomicU64::new(0),
        }
    }

    pub fn reply(&self, l: &TurnLatency) {
        for (h, v) in self.stages.iter().zip([
            l.stt_final_ms,
            l.llm_first_token_ms,
            l.tts_first_byte_ms,
            l.first_audio_ms,
            l.overhead_ms,
        ]) {
            h.observe_ms(v);
        }
    }

    pub fn barge_in(&self, ms: f64) {
        self.barge_in.observe_ms(ms);
    }

    pub fn interrupted(&self) {
        self.interruptions.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a call as active until the guard is dropped (however the
    /// call's task ends: finished, cancelled, or panicked).
    pub fn call_started(&'static self) -> ActiveCall {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.calls_active.fetch_add(1, Ordering::Relaxed);
        ActiveCall(self)
    }

    /// Appends the figures in Prometheus's text format.
    pub fn render(&self, out: &mut String) {
        out.push_str("# HELP handoo_voice_reply_seconds Caller's end of speech to each stage of the agent's reply (overhead: our own share, without the end-of-turn silence and the providers' waits).\n");
        out.push_str("# TYPE handoo_voice_reply_seconds histogram\n");
        for (stage, h) in STAGES.iter().zip(&self.stages) {
            h.write(out, "handoo_voice_reply_seconds", &format!("stage=\"{stage}\""));
        }
        out.push_str(
            "# HELP handoo_voice_barge_in_seconds Caller's speech start to the agent's audio stopped.\n",
        );
        out.push_str("# TYPE handoo_voice_barge_in_seconds histogram\n");
        self.barge_in.write(out, "handoo_voice_barge_in_seconds", "");
        let _ = writeln!(out, "# HELP handoo_voice_calls_active Calls the voice agent holds now.\n# TYPE handoo_voice_calls_active gauge\nhandoo_voice_calls_active {}", self.calls_active.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP handoo_voice_calls_total Calls the voice agent took.\n# TYPE handoo_voice_calls_total counter\nhandoo_voice_calls_total {}", self.calls.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP handoo_voice_interruptions_total Agent replies the caller cut short.\n# TYPE handoo_voice_interruptions_total counter\nhandoo_voice_interruptions_total {}", self.interruptions.load(Ordering::Relaxed));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_land_in_cumulative_buckets_per_stage() {
        let m: &'static VoiceMetrics = Box::leak(Box::new(VoiceMetrics::new()));
        let call = m.call_started();
        m.reply(&TurnLatency {
            stt_final_ms: 310.0,
            llm_first_token_ms: 400.0,
            tts_first_byte_ms: 450.0,
            first_audio_ms: 460.0,
            overhead_ms: 7.0,
            ..Default::default()
        });
        m.barge_in(61.0);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("handoo_voice_reply_seconds_bucket{stage=\"overhead\",le=\"0.01\"} 1"), "{out}");
        assert!(out.contains("handoo_voice_reply_seconds_bucket{stage=\"overhead\",le=\"0.005\"} 0"));
        assert!(out.contains("handoo_voice_reply_seconds_bucket{stage=\"first_audio\",le=\"0.3\"} 0"));
        assert!(out.contains("handoo_voice_reply_seconds_bucket{stage=\"first_audio\",le=\"0.5\"} 1"));
        assert!(out.contains("handoo_voice_reply_seconds_count{stage=\"stt_final\"} 1"));
        assert!(out.contains("handoo_voice_barge_in_seconds_bucket{le=\"0.1\"} 1"));
        assert!(out.contains("handoo_voice_barge_in_seconds_sum 0.061"));
        assert!(out.contains("handoo_voice_calls_active 1"));
        drop(call);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("handoo_voice_calls_active 0") && out.contains("handoo_voice_calls_total 1"));
    }
}
