//! A simulated caller and an in-memory record of a call, for the tests and
//! the benchmark: the caller plays lines of PCM in real time through a
//! media [`pair`](crate::media::pair) (silence between them, as a phone line
//! carries) and notes what the agent sent back and when; speech made by
//! espeak-ng to play.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::audio::rms;
use crate::call::{CallEffects, CallReport, LiveEvent, TurnRecord};
use crate::media::{FarEnd, Inbound, Outbound, FRAME_MS};

/// What the caller's phone got from the agent.
#[derive(Debug, Default)]
pub struct Heard {
    /// When each frame came, and whether it carried sound.
    pub frames: Vec<(Instant, bool)>,
    pub clears: Vec<Instant>,
    pub hung_up: Option<Instant>,
}

impl Heard {
    pub fn loud_frames(&self) -> usize {
        self.frames.iter().filter(|f| f.1).count()
    }
}

/// The caller.
pub struct SimulatedCaller {
    lines: mpsc::UnboundedSender<Vec<i16>>,
    pub heard: Arc<Mutex<Heard>>,
    /// When each line's first sample went out.
    pub spoke: Arc<Mutex<Vec<Instant>>>,
    stop: CancellationToken,
}

impl SimulatedCaller {
    pub fn start(far: FarEnd) -> SimulatedCaller {
        let (lines, mut script) = mpsc::unbounded_channel::<Vec<i16>>();
        let heard = Arc::new(Mutex::new(Heard::default()));
        let spoke = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let FarEnd { to_agent, mut from_agent, input_rate, .. } = far;
        let h = heard.clone();
        tokio::spawn(async move {
            while let Some(out) = from_agent.recv().await {
                let mut h = h.lock().unwrap_or_else(|p| p.into_inner());
                match out {
                    Outbound::Audio(f) => h.frames.push((Instant::now(), rms(&f) > 500.0)),
                    Outbound::Clear => h.clears.push(Instant::now()),
                    Outbound::HangUp => h.hung_up = Some(Instant::now()),
                    Outbound::Event(_) => {}
                }
            }
        });
        let (sp, st) = (spoke.clone(), stop.clone());
        tokio::spawn(async move {
            let frame = (input_rate as u64 * FRAME_MS / 1000) as usize;
            let mut current: VecDeque<i16> = VecDeque::new();
            let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                tokio::select! {
                    _ = st.cancelled() => {
                        let _ = to_agent.send(Inbound::Hangup).await;
                        return;
                    }
                    _ = tick.tick() => {}
                }
                if current.is_empty() {
                    if let Ok(line) = script.try_recv() {
                        sp.lock().unwrap_or_else(|p| p.into_inner()).push(Instant::now());
                        current.extend(line);
                    }
                }
                let mut out: Vec<i16> = current.drain(..frame.min(current.len())).collect();
                out.resize(frame, 0);
                if to_agent.send(Inbound::Audio(out)).await.is_err() {
                    return;
                }
            }
        });
        SimulatedCaller { lines, heard, spoke, stop }
    }

    /// Queues a line of speech (at the session's input rate).
    pub fn say(&self, pcm: Vec<i16>) {
        let _ = self.lines.send(pcm);
    }

    pub fn loud_frames(&self) -> usize {
        self.heard.lock().unwrap_or_else(|p| p.into_inner()).loud_frames()
    }

    pub fn hang_up(&self) {
        self.stop.cancel();
    }
}

/// Keeps everything a call's effects receive.
#[derive(Debug, Default)]
pub struct CallRecord {
    pub turns: Mutex<Vec<TurnRecord>>,
    pub notes: Mutex<Vec<String>>,
    pub data: Mutex<Vec<(String, Value)>>,
    pub transfers: Mutex<Vec<String>>,
    pub partials: Mutex<usize>,
    pub ended: Mutex<Option<CallReport>>,
    /// Words this recorder's stand-in classifier hears as an opt-out.
    pub classifier_opt_outs: Mutex<Vec<String>>,
    /// The opt-outs recorded, by the words that made them.
    pub opt_outs: Mutex<Vec<String>>,
}

impl CallRecord {
    pub fn turns(&self) -> Vec<TurnRecord> {
        self.turns.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

#[async_trait]
impl CallEffects for CallRecord {
    async fn turn(&self, turn: &TurnRecord) {
        self.turns.lock().unwrap_or_else(|p| p.into_inner()).push(turn.clone());
    }
    async fn live(&self, event: &LiveEvent) {
        if matches!(event, LiveEvent::Partial { .. }) {
            *self.partials.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        }
    }
    async fn add_note(&self, text: &str) -> Result<(), String> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).push(text.to_string());
        Ok(())
    }
    async fn update_data(&self, field: &str, value: &Value) -> Result<(), String> {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).push((field.to_string(), value.clone()));
        Ok(())
    }
    async fn transfer(&self, number: &str) -> Result<(), String> {
        self.transfers.lock().unwrap_or_else(|p| p.into_inner()).push(number.to_string());
        Ok(())
    }
    async fn ended(&self, report: &CallReport) {
        *self.ended.lock().unwrap_or_else(|p| p.into_inner()) = Some(report.clone());
    }
    async fn opts_out(&self, words: &str, _locale: domain::Locale) -> bool {
        self.classifier_opt_outs.lock().unwrap_or_else(|p| p.into_inner()).iter().any(|w| w == words)
    }
    async fn opted_out(&self, words: &str) -> Result<(), String> {
        self.opt_outs.lock().unwrap_or_else(|p| p.into_inner()).push(words.to_string());
        Ok(())
    }
}

/// `text` spoken by espeak-ng (`voice` is its language, `en` or `fr`), as
/// mono PCM at `rate`.
pub fn espeak(text: &str, voice: &str, rate: u32) -> Vec<i16> {
    let out = std::process::Command::new("espeak-ng")
        .args(["-v", voice, "-s", "165", "--stdout", text])
        .output()
        .expect("espeak-ng (scripts/setup.sh installs it)");
    assert!(out.status.success(), "espeak-ng: {}", String::from_utf8_lossy(&out.stderr));
    let (from, pcm) = crate::audio::read_wav(&out.stdout).expect("espeak-ng's WAV");
    crate::audio::Resampler::new(from, rate).process(&pcm)
}

/// The first and last millisecond of `pcm` louder than a whisper (20 ms frames).
pub fn voiced_span(pcm: &[i16], rate: u32) -> (u64, u64) {
    let frame = rate as usize / 50;
    let loud: Vec<usize> =
        pcm.chunks(frame).enumerate().filter(|(_, f)| crate::audio::rms(f) > 300.0).map(|(i, _)| i).collect();
    (*loud.first().unwrap_or(&0) as u64 * 20, (*loud.last().unwrap_or(&0) as u64 + 1) * 20)
}
