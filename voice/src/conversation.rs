//! One call's conversation: the caller's audio goes through the VAD and the
//! streaming STT; when their turn ends the agent replies (a
//! [`speaker`](crate::speaker) task); the reply's audio is sent out in 20 ms
//! frames, paced in real time, so that when the caller speaks over the agent
//! the sound stops at once. Everything runs in one task per call (plus the
//! reply's), owning its state: no locks on the audio path.
//!
//! Barge-in: at the caller's first voiced chunk the agent's audio pauses
//! (and the far end's buffer is cleared). If the caller goes on past the
//! agent's interruption threshold with words that are not back-channel
//! ("yeah", "d'accord"), the reply is cancelled — the model's and the
//! voice's requests with it — and the agent's turn is stored as interrupted,
//! with what was heard of it. If the caller stops short, or only said a
//! back-channel word, the agent carries on where it paused.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

use bytes::Bytes;
use futures::StreamExt;
use providers::stt::{SttConfig, TranscriptEvent, TranscriptStream};
use providers::ChatMessage;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::audio::{bytes, Resampler};
use domain::agent::Voicemail;

use crate::call::{
    is_backchannel, phrase, CallConfig, CallEffects, CallReport, EndReason, LiveEvent, Phrase, Providers,
    Speaker, TurnLatency, TurnRecord, Usage,
};
use crate::media::{Inbound, MediaSession, Outbound, FRAME_MS};
use crate::speaker::{self, Script, SpeakerDeps, SpeakerEvent};
use crate::vad::{SileroModel, VadConfig, VadEvent, VadStream, VAD_RATE};
use crate::voicemail::{
    BeepDetector, BEEP_WAIT_SILENCE_MS, GREETING_GAP_MS, GREETING_MS, GREETING_START_MS,
    SPEECH_BEFORE_BEEP_MS,
};

/// How long the caller's pause must last, while the agent waits for them,
/// before the agent decides whether to carry on.
const RESUME_AFTER_MS: u64 = 300;
/// Time given to a closing goodbye after the maximum duration.
const GOODBYE_MS: u64 = 15_000;
/// The STT unreachable this long ends the call (the agent would be deaf).
const STT_GIVE_UP_MS: u64 = 15_000;
/// Longest the agent stays paused for a caller who makes sound but no words.
const MAX_PAUSE_MS: u64 = 3_000;
/// Frames left below which a reply is about done (a second of audio).
const NEARLY_DONE_FRAMES: usize = 50;
/// Audio sent ahead of real time: enough to ride over scheduling jitter,
/// little enough that a pause is heard at once.
const LEAD_MS: u64 = 60;
/// The STT's audio since its last final words is kept, to be sent again if
/// its socket drops (at most this much).
const STT_BACKLOG_MS: u64 = 15_000;

/// A call in progress.
pub struct Conversation {
    config: CallConfig,
    providers: Arc<Providers>,
    effects: Arc<dyn CallEffects>,
    vad: Arc<SileroModel>,
}

struct Stt {
    audio: mpsc::Sender<Bytes>,
    events: TranscriptStream,
}

/// The caller's turn being heard.
#[derive(Default)]
struct Heard {
    /// Voiced now (by the VAD).
    speaking: bool,
    /// When this turn's speech began (call ms), if it has.
    start_ms: Option<u64>,
    /// The same on the audio's clock (ms of caller audio).
    start_audio_ms: Option<u64>,
    /// When the speech last paused (call ms) and the moment that was.
    paused_at: Option<(u64, Instant)>,
    finals: Vec<String>,
    partial: String,
    final_at: Option<Instant>,
    /// The end of the turn was decided then; waiting for the STT's words.
    decided: Option<Instant>,
    /// The caller paused while the agent was paused for them: the agent
    /// resumes then unless they said something that takes the turn.
    resume_after: Option<Instant>,
}

impl Heard {
    /// Everything heard so far: the settled words, then the ones still moving.
    fn text(&self) -> String {
        let mut t = self.finals.join(" ");
        if !self.partial.trim().is_empty() {
            t.push(' ');
            t.push_str(&self.partial);
        }
        t.trim().to_string()
    }
}

/// A sentence of the reply on its way out.
struct Sentence {
    text: String,
    samples: usize,
    played: usize,
    complete: bool,
}

/// The reply being spoken.
struct Reply {
    id: u64,
    task: JoinHandle<()>,
    /// Answering this prospect turn (for the latency record).
    answers: Option<u32>,
    sentences: BTreeMap<u32, Sentence>,
    /// Frames not yet sent: (sentence, samples).
    queue: VecDeque<(u32, Vec<i16>)>,
    /// Frames sent lately, with when each is due to be heard: those not yet
    /// due when the caller cuts in were never heard, and go back in the queue.
    in_flight: VecDeque<(Instant, u32, Vec<i16>)>,
    producing: bool,
    paused: Option<Instant>,
    messages: Vec<ChatMessage>,
    end_after: Option<EndReason>,
    started_ms: Option<u64>,
    latency: Marks,
}

/// Instants of one reply's way from the caller's last word to our first frame.
#[derive(Default, Clone, Copy)]
struct Marks {
    /// The end-of-turn silence this turn waited: the configured one, or
    /// longer right after pickup (a machine's greeting pauses longer).
    silence_ms: Option<u64>,
    speech_end: Option<Instant>,
    decided: Option<Instant>,
    final_words: Option<Instant>,
    llm_requested: Option<Instant>,
    first_token: Option<Instant>,
    first_sentence: Option<Instant>,
    tts_first_byte: Option<Instant>,
    first_frame: Option<Instant>,
}

/// Answering-machine detection (see [`crate::voicemail`]).
#[derive(Default)]
struct Amd {
    beep: BeepDetector,
    /// The current stretch of caller speech began (audio ms), and how much
    /// of it was voiced.
    stretch_start: Option<u64>,
    stretch_voiced_ms: u64,
    /// All caller speech so far (ms).
    voiced_ms: u64,
    /// The caller has taken a turn: a person, detection is over.
    over: bool,
    /// The last voiced audio (audio ms).
    last_voice: u64,
    /// A machine answered: no turns from here, only the message (or not).
    machine: bool,
    message_started: bool,
}

struct State {
    cfg: CallConfig,
    amd: Amd,
    started: Instant,
    media_out: mpsc::Sender<Outbound>,
    output_rate: u32,
    frame: usize,
    resample_in: Resampler,
    vad: VadStream,
    /// Milliseconds of caller audio seen (the call's clock for turns).
    heard_ms: u64,
    stt: Option<Stt>,
    /// Since when the STT cannot be reached, and how many tries failed.
    stt_down: Option<(Instant, u32)>,
    stt_retry_at: Option<Instant>,
    stt_backlog: VecDeque<u8>,
    stt_samples: u64,
    heard: Heard,
    reply: Option<Reply>,
    next_reply: u64,
    /// Pacing: when the current run of frames began, and how much was sent.
    clock: Option<(Instant, u64)>,
    history: Vec<ChatMessage>,
    turns: u32,
    /// A prospect turn heard while the agent kept talking (Low sensitivity).
    waiting_turn: Option<(String, Marks, u32)>,
    /// A back-channel word the agent did not stop for; its transcript is no turn.
    ignore_backchannel_until: Option<Instant>,
    last_activity: Instant,
    reprompted: bool,
    ending: Option<EndReason>,
    /// The call ends at this call ms whatever happens.
    hard_deadline_ms: u64,
    report: CallReport,
    deps: Arc<SpeakerDeps>,
    speaker_tx: mpsc::UnboundedSender<(u64, SpeakerEvent)>,
    /// The words of a prospect turn heard as an opt-out.
    opt_out_tx: mpsc::UnboundedSender<String>,
    opted_out: bool,
}

impl Conversation {
    pub fn new(
        config: CallConfig,
        providers: Arc<Providers>,
        effects: Arc<dyn CallEffects>,
        vad: Arc<SileroModel>,
    ) -> Conversation {
        Conversation { config, providers, effects, vad }
    }

    /// Holds the conversation until the call ends; the agent speaks first.
    pub async fn run(self, media: MediaSession) -> CallReport {
        self.run_until(media, CancellationToken::new()).await
    }

    /// As [`Conversation::run`], and `stop` ends the call as the caller
    /// leaving would: LiveKit terminating the job (its room deleted, the
    /// worker told to stop) must still leave the call's record — its
    /// turns, data, usage and report — rather than drop it mid-flight.
    pub async fn run_until(self, media: MediaSession, stop: CancellationToken) -> CallReport {
        let MediaSession { input_rate, output_rate, mut inbound, outbound } = media;
        let (speaker_tx, mut speaker_rx) = mpsc::unbounded_channel();
        let (opt_out_tx, mut opt_out_rx) = mpsc::unbounded_channel();
        let deps = Arc::new(SpeakerDeps {
            config: self.config.clone(),
            providers: self.providers.clone(),
            effects: self.effects.clone(),
            output_rate,
            voice: Default::default(),
        });
        let mut history = vec![ChatMessage::System { content: self.config.system_prompt.clone() }];
        if !self.config.first_message.trim().is_empty() {
            history.push(ChatMessage::Assistant {
                content: self.config.first_message.clone(),
                tool_calls: Vec::new(),
            });
        }
        let mut s = State {
            amd: Amd::default(),
            started: Instant::now(),
            media_out: outbound,
            output_rate,
            frame: (output_rate as u64 * FRAME_MS / 1000) as usize,
            resample_in: Resampler::new(input_rate, VAD_RATE),
            vad: VadStream::new(self.vad.clone(), VadConfig::default()),
            heard_ms: 0,
            stt: None,
            stt_down: None,
            stt_retry_at: None,
            stt_backlog: VecDeque::new(),
            stt_samples: 0,
            heard: Heard::default(),
            reply: None,
            next_reply: 0,
            clock: None,
            history,
            turns: 0,
            waiting_turn: None,
            ignore_backchannel_until: None,
            last_activity: Instant::now(),
            reprompted: false,
            ending: None,
            hard_deadline_ms: self.config.max_call_ms.saturating_add(GOODBYE_MS),
            report: CallReport {
                duration_ms: 0,
                end: EndReason::Caller,
                turns: 0,
                interruptions: 0,
                collected_data: BTreeMap::new(),
                usage: Usage::default(),
                latencies: Vec::new(),
                barge_ins_ms: Vec::new(),
                outcome: None,
            },
            deps,
            speaker_tx,
            opt_out_tx,
            opted_out: false,
            cfg: self.config.clone(),
        };
        let _active = crate::metrics::global().call_started();
        s.connect_stt().await;
        if !self.config.first_message.trim().is_empty() {
            s.say(Script::Fixed(self.config.first_message.clone()), None, Marks::default(), None);
        }
        let mut tick = tokio::time::interval(Duration::from_millis(FRAME_MS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let end = loop {
            enum Next {
                In(Option<Inbound>),
                Words(Option<Result<TranscriptEvent, providers::ProviderError>>),
                Speaker(Option<(u64, SpeakerEvent)>),
                OptOut(Option<String>),
                Tick,
            }
            let next = tokio::select! {
                biased;
                e = speaker_rx.recv() => Next::Speaker(e),
                o = opt_out_rx.recv() => Next::OptOut(o),
                _ = stop.cancelled() => Next::In(None),
                a = inbound.recv() => Next::In(a),
                w = next_words(&mut s.stt) => Next::Words(w),
                _ = tick.tick() => Next::Tick,
            };
            match next {
                Next::In(None) | Next::In(Some(Inbound::Hangup)) => break EndReason::Caller,
                Next::In(Some(Inbound::Audio(pcm))) => s.on_audio(&pcm, &self.effects).await,
                Next::Words(Some(Ok(ev))) => s.on_words(ev, &self.effects).await,
                Next::Words(_) => {
                    // The STT's socket dropped: a new one gets what the old had not settled.
                    tracing::warn!("speech-to-text stream ended mid-call; reconnecting");
                    s.stt = None;
                    s.connect_stt().await;
                }
                Next::Speaker(Some((id, ev))) => s.on_speaker(id, ev, &self.effects).await,
                Next::Speaker(None) | Next::OptOut(None) => {}
                Next::OptOut(Some(words)) => s.on_opt_out(words, &self.effects).await,
                Next::Tick => s.on_tick(&self.effects).await,
            }
            if let Some(end) = s.finished() {
                break end;
            }
        };
        s.finish(end, &self.effects).await
    }
}

async fn next_words(stt: &mut Option<Stt>) -> Option<Result<TranscriptEvent, providers::ProviderError>> {
    match stt {
        Some(s) => s.events.next().await,
        None => std::future::pending().await,
    }
}

/// `ms` milliseconds before `t` (or `t` itself on a clock too young for that).
fn earlier(t: Instant, ms: u64) -> Instant {
    t.checked_sub(Duration::from_millis(ms)).unwrap_or(t)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl State {
    fn call_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Opens the STT stream (once; `on_tick` tries again with backoff).
    async fn connect_stt(&mut self) {
        let providers = self.deps.providers.clone();
        let config = SttConfig {
            model: self.cfg.stt_model.clone(),
            language: self.cfg.language.clone(),
            sample_rate: VAD_RATE,
            interim: true,
        };
        match providers.stt.start(config).await {
            Ok(session) => {
                // What the last socket heard but never settled.
                let backlog: Vec<u8> = self.stt_backlog.iter().copied().collect();
                for chunk in backlog.chunks(640) {
                    let _ = session.audio.try_send(Bytes::copy_from_slice(chunk));
                }
                self.stt = Some(Stt { audio: session.audio, events: session.events });
                self.stt_down = None;
            }
            Err(e) => {
                let (since, attempts) = self.stt_down.map_or((Instant::now(), 0), |(s, n)| (s, n));
                tracing::warn!(attempts, error = %e, "cannot open the speech-to-text stream");
                let wait = Duration::from_millis(250 << attempts.min(4));
                self.stt_down = Some((since, attempts + 1));
                self.stt_retry_at = Some(Instant::now() + wait);
            }
        }
    }

    /// Starts a reply; the previous one must be over.
    fn say(&mut self, script: Script, answers: Option<u32>, marks: Marks, end_after: Option<EndReason>) {
        let id = self.next_reply;
        self.next_reply += 1;
        let task = tokio::spawn(speaker::run(id, script, self.deps.clone(), self.speaker_tx.clone()));
        self.reply = Some(Reply {
            id,
            task,
            answers,
            sentences: BTreeMap::new(),
            queue: VecDeque::new(),
            in_flight: VecDeque::new(),
            producing: true,
            paused: None,
            messages: Vec::new(),
            end_after,
            started_ms: None,
            latency: marks,
        });
    }

    async fn on_audio(&mut self, pcm: &[i16], effects: &Arc<dyn CallEffects>) {
        let pcm = self.resample_in.process(pcm);
        if pcm.is_empty() {
            return;
        }
        self.heard_ms = self.vad.position_ms();
        let b = bytes(&pcm);
        self.stt_samples += pcm.len() as u64;
        self.stt_backlog.extend(&b);
        let cap = (STT_BACKLOG_MS * u64::from(VAD_RATE) / 1000 * 2) as usize;
        if self.stt_backlog.len() > cap {
            let extra = self.stt_backlog.len() - cap;
            self.stt_backlog.drain(..extra);
        }
        if let Some(stt) = &self.stt {
            if stt.audio.try_send(Bytes::from(b)).is_err() {
                tracing::debug!("speech-to-text is behind; audio kept for a reconnection");
            }
        }
        let events = match self.vad.push(&pcm) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "voice activity detection failed");
                Vec::new()
            }
        };
        let now = Instant::now();
        let position = self.vad.position_ms();
        for e in events {
            match e {
                VadEvent::SpeechStart { at_ms } => {
                    let began = earlier(now, position.saturating_sub(at_ms));
                    self.heard.speaking = true;
                    self.heard.paused_at = None;
                    self.heard.resume_after = None;
                    self.heard.decided = None;
                    let call_ms = self.call_ms().saturating_sub(position.saturating_sub(at_ms));
                    self.heard.start_ms.get_or_insert(call_ms);
                    self.heard.start_audio_ms.get_or_insert(at_ms);
                    self.last_activity = now;
                    self.on_speech_over_agent(began, effects).await;
                }
                VadEvent::SpeechEnd { at_ms } => {
                    self.heard.speaking = false;
                    let ended = earlier(now, position.saturating_sub(at_ms));
                    self.heard.paused_at = Some((at_ms, ended));
                    self.last_activity = now;
                    self.on_pause_over_agent(effects).await;
                }
            }
        }
        self.check_voicemail(&pcm, effects).await;
        self.check_barge_in(effects).await;
        self.check_end_of_turn(effects).await;
    }

    /// A long greeting early in the call, or a beep, is a machine: follow
    /// the agent's voicemail setting.
    async fn check_voicemail(&mut self, pcm: &[i16], effects: &Arc<dyn CallEffects>) {
        if self.ending.is_some() || self.amd.message_started || (self.amd.over && !self.amd.machine) {
            return;
        }
        let position = self.vad.position_ms();
        let speaking = self.vad.is_speaking();
        let frame_ms = pcm.len() as u64 * 1000 / u64::from(VAD_RATE);
        if speaking {
            self.amd.last_voice = position;
            self.amd.voiced_ms += frame_ms;
        }
        // A beep after some speech (a greeting, however short), or once a machine is known.
        let beep = self
            .amd
            .beep
            .push(pcm)
            .filter(|_| self.amd.machine || self.amd.voiced_ms >= SPEECH_BEFORE_BEEP_MS);
        if beep.is_some() {
            self.on_machine(true, effects).await;
            return;
        }
        if !self.amd.machine {
            if speaking {
                let start = *self.amd.stretch_start.get_or_insert(position);
                self.amd.stretch_voiced_ms += frame_ms;
                if start <= GREETING_START_MS && self.amd.stretch_voiced_ms >= GREETING_MS {
                    self.on_machine(false, effects).await;
                }
            } else if position.saturating_sub(self.amd.last_voice) > GREETING_GAP_MS {
                self.amd.stretch_start = None;
                self.amd.stretch_voiced_ms = 0;
            }
            return;
        }
        // A machine that never beeps: speak once it has been quiet a while.
        if position.saturating_sub(self.amd.last_voice) >= BEEP_WAIT_SILENCE_MS {
            self.leave_message();
        }
    }

    async fn on_machine(&mut self, beep: bool, effects: &Arc<dyn CallEffects>) {
        if !self.amd.machine {
            self.amd.machine = true;
            tracing::info!(beep, "an answering machine took the call");
            if self.reply.is_some() {
                self.interrupt(effects).await;
            }
            self.heard = Heard::default();
            self.waiting_turn = None;
            if matches!(self.cfg.voicemail, Voicemail::HangUp) {
                self.ending = Some(EndReason::Voicemail { message_left: false });
                return;
            }
        }
        if beep {
            self.leave_message();
        }
    }

    fn leave_message(&mut self) {
        let Voicemail::LeaveMessage { text } = &self.cfg.voicemail else { return };
        if self.amd.message_started || self.ending.is_some() {
            return;
        }
        self.amd.message_started = true;
        let text = text.clone();
        self.say(
            Script::Fixed(text),
            None,
            Marks::default(),
            Some(EndReason::Voicemail { message_left: true }),
        );
    }

    /// The caller started speaking while the agent talks: pause the sound now.
    async fn on_speech_over_agent(&mut self, began: Instant, _effects: &Arc<dyn CallEffects>) {
        let (_, pause_at_once) = self.cfg.barge_in();
        let Some(reply) = self.reply.as_mut() else { return };
        // A closing line (goodbye, transfer, time's up) is said to its end.
        if self.ending.is_some()
            || self.amd.machine
            || !pause_at_once
            || reply.paused.is_some()
            || reply.end_after.is_some()
        {
            return;
        }
        // Only if the agent is (or is about to be) audible.
        if reply.queue.is_empty() && reply.started_ms.is_none() && !reply.producing {
            return;
        }
        reply.paused = Some(Instant::now());
        let _ = self.media_out.send(Outbound::Clear).await;
        take_back_unheard(reply);
        // What was sent ahead and is now dropped goes back in the queue's count.
        self.clock = None;
        let stopped = ms(began.elapsed());
        crate::metrics::global().barge_in(stopped);
        self.report.barge_ins_ms.push(stopped);
    }

    /// The caller stopped while the agent waited for them: give them a
    /// moment (a pause within a sentence), then decide.
    async fn on_pause_over_agent(&mut self, _effects: &Arc<dyn CallEffects>) {
        if self.reply.as_ref().is_some_and(|r| r.paused.is_some()) {
            self.heard.resume_after = Some(Instant::now() + Duration::from_millis(RESUME_AFTER_MS));
        }
    }

    /// After that moment: words that take the turn end the reply; a
    /// back-channel word, or a sound the STT made nothing of, lets the agent
    /// carry on where it paused.
    async fn check_resume(&mut self, effects: &Arc<dyn CallEffects>) {
        let paused_for = self.reply.as_ref().and_then(|r| r.paused).map(|p| p.elapsed());
        // Noise that keeps the VAD voiced and never becomes words: carry on.
        let stuck = paused_for.is_some_and(|d| d > Duration::from_millis(MAX_PAUSE_MS));
        let Some(at) = self.heard.resume_after.or(stuck.then(Instant::now)) else { return };
        if (self.heard.speaking && !stuck) || Instant::now() < at {
            return;
        }
        let text = self.heard.text();
        // Speech with no words yet: give the STT its time before deciding.
        let waited = Instant::now().duration_since(at) >= Duration::from_millis(self.cfg.stt_final_wait_ms);
        if text.is_empty() && !waited && !stuck {
            return;
        }
        if !is_backchannel(&text) {
            self.interrupt(effects).await;
            return;
        }
        // "Yes" as the agent finishes its question is an answer, not a back-channel.
        let nearly_done =
            self.reply.as_ref().is_some_and(|r| !r.producing && r.queue.len() < NEARLY_DONE_FRAMES);
        if let Some(reply) = self.reply.as_mut() {
            reply.paused = None;
        }
        self.clock = None;
        if !nearly_done || text.is_empty() {
            self.heard = Heard::default();
            // Its words may still be on their way from the STT: not a turn.
            self.ignore_backchannel_until = Some(Instant::now() + Duration::from_secs(2));
        } else {
            self.heard.resume_after = None;
        }
        self.pump().await;
    }

    /// The caller has spoken over the agent long enough, with real words: the reply ends.
    async fn check_barge_in(&mut self, effects: &Arc<dyn CallEffects>) {
        let (confirm_ms, _) = self.cfg.barge_in();
        let Some(start) = self.heard.start_audio_ms else { return };
        if self.reply.as_ref().is_none_or(|r| r.end_after.is_some())
            || self.ending.is_some()
            || self.amd.machine
        {
            return;
        }
        let spoken = if self.heard.speaking { self.vad.position_ms().saturating_sub(start) } else { 0 };
        let text = self.heard.text();
        let words_in = !text.is_empty() && !is_backchannel(&text);
        let paused = self.reply.as_ref().is_some_and(|r| r.paused.is_some());
        if (spoken >= confirm_ms && !text.is_empty() && !is_backchannel(&text))
            || (words_in && paused && spoken >= confirm_ms / 2)
        {
            self.interrupt(effects).await;
        }
    }

    /// The caller cut in: the reply stops, and it counts as a barge-in.
    async fn interrupt(&mut self, effects: &Arc<dyn CallEffects>) {
        self.cut_reply(true, effects).await;
    }

    /// Cancels the reply; its turn keeps what the caller heard.
    async fn cut_reply(&mut self, barge_in: bool, effects: &Arc<dyn CallEffects>) {
        let Some(mut reply) = self.reply.take() else { return };
        reply.task.abort();
        if reply.paused.is_none() {
            if barge_in {
                self.report.barge_ins_ms.push(0.0);
            }
            let _ = self.media_out.send(Outbound::Clear).await;
            take_back_unheard(&mut reply);
        }
        self.clock = None;
        if barge_in {
            self.report.interruptions += 1;
            crate::metrics::global().interrupted();
        }
        let heard = heard_text(&reply.sentences);
        // The model remembers what was said, not what it planned: the heard
        // words on the reply's first message, later rounds' text dropped;
        // tool calls and their results stay (their effects happened).
        let mut first = true;
        let mut remembered = Vec::new();
        for m in reply.messages {
            match m {
                ChatMessage::Assistant { tool_calls, .. } => {
                    let content = if first { heard.clone() } else { String::new() };
                    first = false;
                    if !content.is_empty() || !tool_calls.is_empty() {
                        remembered.push(ChatMessage::Assistant { content, tool_calls });
                    }
                }
                other => remembered.push(other),
            }
        }
        if first && !heard.is_empty() {
            remembered.insert(0, ChatMessage::Assistant { content: heard.clone(), tool_calls: Vec::new() });
        }
        self.history.extend(remembered);
        if let Some(start) = reply.started_ms {
            self.write_turn(Speaker::Agent, heard, start, true, effects).await;
        }
    }

    async fn on_words(&mut self, ev: TranscriptEvent, effects: &Arc<dyn CallEffects>) {
        // A machine's greeting is no turn.
        if self.amd.machine {
            return;
        }
        match ev {
            TranscriptEvent::Partial { text } => {
                self.heard.partial = text.clone();
                effects.live(&LiveEvent::Partial { text }).await;
            }
            TranscriptEvent::Final { text, .. } => {
                let late_backchannel = self.ignore_backchannel_until.is_some_and(|t| Instant::now() < t)
                    && !self.heard.speaking
                    && self.heard.start_ms.is_none()
                    && is_backchannel(&text);
                if text.trim().is_empty() || late_backchannel {
                    return;
                }
                self.stt_backlog.clear();
                if self.heard.start_ms.is_none() {
                    // Words the VAD missed (quiet speech): a turn all the same.
                    let now = self.call_ms();
                    self.heard.start_ms = Some(now);
                    self.heard.paused_at = Some((self.vad.position_ms(), Instant::now()));
                }
                self.heard.finals.push(text);
                self.heard.partial.clear();
                self.heard.final_at = Some(Instant::now());
            }
            TranscriptEvent::EndOfTurn => {
                if self.heard.final_at.is_none() && !self.heard.partial.is_empty() {
                    self.heard.final_at = Some(Instant::now());
                }
            }
        }
        self.check_barge_in(effects).await;
        self.check_end_of_turn(effects).await;
    }

    /// Ends the caller's turn after the configured silence, once the STT's
    /// words are in (or waited for long enough).
    async fn check_end_of_turn(&mut self, effects: &Arc<dyn CallEffects>) {
        // While the agent waits for the caller, `check_resume` decides first.
        let waiting = self.reply.as_ref().is_some_and(|r| r.paused.is_some());
        if self.heard.speaking || self.ending.is_some() || waiting || self.amd.machine {
            return;
        }
        let Some((paused_ms, paused_at)) = self.heard.paused_at else { return };
        // Speech from the pickup on may be a machine's greeting, whose
        // sentences pause longer than a turn's end: wait a greeting's gap.
        let greeting = !self.amd.over && self.amd.stretch_start.is_some_and(|s| s <= GREETING_START_MS);
        let silence = if greeting {
            self.cfg.end_of_turn_silence_ms.max(GREETING_GAP_MS + 20)
        } else {
            self.cfg.end_of_turn_silence_ms
        };
        if self.vad.position_ms() < paused_ms + silence {
            return;
        }
        let now = Instant::now();
        let decided = *self.heard.decided.get_or_insert(now);
        let words_in = self.heard.final_at.is_some_and(|f| f >= earlier(paused_at, 200));
        let waited = now.duration_since(decided) >= Duration::from_millis(self.cfg.stt_final_wait_ms);
        if !words_in && !waited {
            return;
        }
        let text = self.heard.text();
        let start_ms = self.heard.start_ms.unwrap_or(0);
        let marks = Marks {
            silence_ms: Some(silence),
            speech_end: Some(paused_at),
            decided: Some(decided),
            final_words: Some(self.heard.final_at.map_or(now, |f| f.max(decided))),
            ..Marks::default()
        };
        self.heard = Heard::default();
        let nearly_done =
            self.reply.as_ref().is_some_and(|r| !r.producing && r.queue.len() < NEARLY_DONE_FRAMES);
        if text.is_empty() || is_backchannel(&text) && self.reply.is_some() && !nearly_done {
            return;
        }
        self.amd.over = true;
        let turn = self.turns;
        self.write_turn(Speaker::Prospect, text.clone(), start_ms, false, effects).await;
        // What the caller said while the agent kept the floor comes first.
        let text = match self.waiting_turn.take() {
            Some((earlier, _, _)) => format!("{earlier} {text}"),
            None => text,
        };
        if self.reply.is_some() {
            // The agent kept the floor (low sensitivity, or it was nearly
            // done): answer when it is.
            self.waiting_turn = Some((text, marks, turn));
            return;
        }
        self.answer(text, marks, turn);
    }

    /// Answers a prospect turn. An opt-out the phrase rules hear gets no
    /// answer at all; otherwise the effects' classifier reads the words
    /// beside the reply, and an opt-out it hears cuts the reply short.
    fn answer(&mut self, text: String, marks: Marks, turn: u32) {
        self.history.push(ChatMessage::User { content: text.clone() });
        if domain::copilot::objection::rules_hear_opt_out(&text) {
            let _ = self.opt_out_tx.send(text);
            return;
        }
        let (effects, tx, locale) = (self.deps.effects.clone(), self.opt_out_tx.clone(), self.cfg.locale());
        let words = text;
        tokio::spawn(async move {
            if effects.opts_out(&words, locale).await {
                let _ = tx.send(words);
            }
        });
        self.say(Script::Model(self.history.clone()), Some(turn), marks, None);
    }

    /// The prospect asked not to be called again: recorded first, then
    /// whatever the agent was saying stops and it apologises and says
    /// goodbye — no rebuttal, whatever its prompt says.
    async fn on_opt_out(&mut self, words: String, effects: &Arc<dyn CallEffects>) {
        if self.opted_out || self.ending.is_some() {
            return;
        }
        self.opted_out = true;
        if let Err(e) = effects.opted_out(&words).await {
            tracing::error!(error = %e, "an opt-out heard on the call was not recorded");
        }
        self.waiting_turn = None;
        self.cut_reply(false, effects).await;
        let goodbye = domain::copilot::objection::opt_out_goodbye(self.cfg.locale()).to_string();
        self.say(Script::Fixed(goodbye), None, Marks::default(), Some(EndReason::OptOut));
    }

    async fn write_turn(
        &mut self,
        speaker: Speaker,
        text: String,
        start_ms: u64,
        interrupted: bool,
        effects: &Arc<dyn CallEffects>,
    ) {
        let turn =
            TurnRecord { index: self.turns, speaker, text, start_ms, end_ms: self.call_ms(), interrupted };
        self.turns += 1;
        self.report.turns = self.turns;
        effects.turn(&turn).await;
        effects.live(&LiveEvent::Turn { turn }).await;
    }

    async fn on_speaker(&mut self, id: u64, ev: SpeakerEvent, effects: &Arc<dyn CallEffects>) {
        // Usage counts even from a cancelled reply.
        match &ev {
            SpeakerEvent::Tokens { input, output } => {
                self.report.usage.llm_input_tokens += input;
                self.report.usage.llm_output_tokens += output;
                return;
            }
            SpeakerEvent::TtsCharacters(n) => {
                self.report.usage.tts_characters += n;
                return;
            }
            SpeakerEvent::Data { field, value } => {
                self.report.collected_data.insert(field.clone(), value.clone());
                effects.live(&LiveEvent::Data { field: field.clone(), value: value.clone() }).await;
                return;
            }
            SpeakerEvent::Note { text } => {
                effects.live(&LiveEvent::Note { text: text.clone() }).await;
                return;
            }
            SpeakerEvent::Outcome(o) => {
                self.report.outcome = Some(*o);
                return;
            }
            _ => {}
        }
        let Some(reply) = self.reply.as_mut().filter(|r| r.id == id) else { return };
        match ev {
            SpeakerEvent::LlmRequested(at) => {
                reply.latency.llm_requested.get_or_insert(at);
            }
            SpeakerEvent::FirstToken(at) => {
                reply.latency.first_token.get_or_insert(at);
            }
            SpeakerEvent::Sentence { seg, text, at } => {
                reply.latency.first_sentence.get_or_insert(at);
                reply.sentences.insert(seg, Sentence { text, samples: 0, played: 0, complete: false });
            }
            SpeakerEvent::TtsFirstByte { at, .. } => {
                reply.latency.tts_first_byte.get_or_insert(at);
            }
            SpeakerEvent::Audio { seg, pcm } => {
                if let Some(s) = reply.sentences.get_mut(&seg) {
                    s.samples += pcm.len();
                }
                for f in pcm.chunks(self.frame) {
                    reply.queue.push_back((seg, f.to_vec()));
                }
                self.pump().await;
            }
            SpeakerEvent::SentenceDone { seg } => {
                if let Some(s) = reply.sentences.get_mut(&seg) {
                    s.complete = true;
                }
            }
            SpeakerEvent::Messages(m) => reply.messages.extend(m),
            SpeakerEvent::EndAfter(end) => reply.end_after = Some(end),
            SpeakerEvent::VoiceFailed(reason) => {
                reply.end_after = Some(EndReason::Failed { reason: format!("text-to-speech: {reason}") });
                reply.producing = false;
            }
            SpeakerEvent::Done => reply.producing = false,
            _ => {}
        }
        self.check_reply_done(effects).await;
    }

    /// Sends what real time allows of the reply's audio.
    async fn pump(&mut self) {
        let Some(reply) = self.reply.as_mut() else { return };
        if reply.paused.is_some() || reply.queue.is_empty() {
            return;
        }
        let now = Instant::now();
        let (start, sent) = *self.clock.get_or_insert((now, 0));
        // Fell behind (the voice was slower than real time): start a new run.
        let (start, mut sent) =
            if ms(now - start) > (sent + FRAME_MS) as f64 { (now, 0) } else { (start, sent) };
        while let Some((seg, frame)) = reply.queue.front() {
            if sent as f64 >= ms(now - start) + LEAD_MS as f64 {
                break;
            }
            let (seg, frame) = (*seg, frame.clone());
            reply.queue.pop_front();
            if reply.started_ms.is_none() {
                reply.started_ms = Some(self.started.elapsed().as_millis() as u64);
            }
            if let Some(s) = reply.sentences.get_mut(&seg) {
                s.played += frame.len();
            }
            let n = frame.len() as u64;
            reply.in_flight.push_back((start + Duration::from_millis(sent), seg, frame.clone()));
            if self.media_out.send(Outbound::Audio(frame)).await.is_err() {
                break;
            }
            reply.latency.first_frame.get_or_insert_with(Instant::now);
            sent += n * 1000 / u64::from(self.output_rate);
        }
        while reply.in_flight.front().is_some_and(|f| f.0 + Duration::from_millis(FRAME_MS) < now) {
            reply.in_flight.pop_front();
        }
        self.clock = Some((start, sent));
    }

    async fn check_reply_done(&mut self, effects: &Arc<dyn CallEffects>) {
        let Some(reply) = self.reply.as_ref() else { return };
        if reply.producing || !reply.queue.is_empty() || reply.paused.is_some() {
            return;
        }
        // Wait until the last frame has had time to play.
        if let Some((start, sent)) = self.clock {
            if ms(start.elapsed()) + 5.0 < sent as f64 {
                return;
            }
        }
        let reply = self.reply.take().expect("checked");
        self.clock = None;
        self.record_latency(&reply, effects).await;
        let text: Vec<&str> = reply.sentences.values().map(|s| s.text.as_str()).collect();
        let text = text.join(" ");
        self.history.extend(reply.messages);
        if let Some(start) = reply.started_ms {
            self.write_turn(Speaker::Agent, text, start, false, effects).await;
        }
        self.last_activity = Instant::now();
        if let Some(end) = reply.end_after {
            if let EndReason::Transferred { number } = &end {
                if let Err(e) = effects.transfer(number).await {
                    tracing::warn!(error = %e, "the transfer failed");
                    self.ending =
                        Some(EndReason::Failed { reason: format!("transfer to {number} failed: {e}") });
                    return;
                }
            }
            self.ending = Some(end);
            return;
        }
        if let Some((text, marks, turn)) = self.waiting_turn.take() {
            self.answer(text, marks, turn);
        }
    }

    async fn record_latency(&mut self, reply: &Reply, effects: &Arc<dyn CallEffects>) {
        let Some(turn) = reply.answers else { return };
        let m = reply.latency;
        let (Some(end), Some(frame)) = (m.speech_end, m.first_frame) else { return };
        let since = |t: Option<Instant>| t.map_or(0.0, |t| ms(t.saturating_duration_since(end)));
        let d = |a: Option<Instant>, b: Option<Instant>| match (a, b) {
            (Some(a), Some(b)) => ms(b.saturating_duration_since(a)),
            _ => 0.0,
        };
        let silence = m.silence_ms.unwrap_or(self.cfg.end_of_turn_silence_ms) as f64;
        let ready = match (m.decided, m.final_words) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        // Ours: noticing the silence ended the turn, getting the request
        // out, handing the first sentence to the voice, and sending its
        // first audio; the rest is the caller's pause and the providers'.
        let overhead = (since(m.decided) - silence).max(0.0)
            + d(ready, m.llm_requested)
            + d(m.tts_first_byte, m.first_frame);
        let latency = TurnLatency {
            turn,
            end_of_turn_silence_ms: silence,
            stt_final_ms: since(ready),
            llm_first_token_ms: since(m.first_token),
            first_sentence_ms: since(m.first_sentence),
            tts_first_byte_ms: since(m.tts_first_byte),
            first_audio_ms: ms(frame.saturating_duration_since(end)),
            overhead_ms: overhead,
        };
        crate::metrics::global().reply(&latency);
        self.report.latencies.push(latency.clone());
        effects.live(&LiveEvent::Latency { latency }).await;
    }

    async fn on_tick(&mut self, effects: &Arc<dyn CallEffects>) {
        self.check_resume(effects).await;
        self.pump().await;
        self.check_reply_done(effects).await;
        self.check_barge_in(effects).await;
        self.check_end_of_turn(effects).await;
        if self.ending.is_some() {
            return;
        }
        if self.stt.is_none() && self.stt_retry_at.is_some_and(|t| Instant::now() >= t) {
            self.connect_stt().await;
            if self.stt_down.is_some_and(|(since, _)| since.elapsed() > Duration::from_millis(STT_GIVE_UP_MS))
            {
                self.ending =
                    Some(EndReason::Failed { reason: "speech-to-text could not be reached".into() });
                return;
            }
        }
        // Past the limit and its goodbye's time: the call ends, whatever is happening.
        if self.call_ms() >= self.hard_deadline_ms {
            self.ending = Some(EndReason::MaxDuration);
            return;
        }
        let locale = self.cfg.locale();
        if self.call_ms() >= self.cfg.max_call_ms {
            if let Some(r) = self.reply.take() {
                r.task.abort();
                let _ = self.media_out.send(Outbound::Clear).await;
            }
            self.clock = None;
            self.say(
                Script::Fixed(phrase(locale, Phrase::TimeGoodbye).into()),
                None,
                Marks::default(),
                Some(EndReason::MaxDuration),
            );
            // No second goodbye; the goodbye itself gets a little time.
            self.hard_deadline_ms = self.call_ms() + GOODBYE_MS;
            self.cfg.max_call_ms = u64::MAX;
            return;
        }
        let quiet = self.reply.is_none()
            && !self.heard.speaking
            && self.heard.start_ms.is_none()
            && !self.amd.machine;
        if !quiet {
            return;
        }
        let idle = self.last_activity.elapsed().as_millis() as u64;
        if idle >= self.cfg.silence_hang_up_ms {
            self.say(
                Script::Fixed(phrase(locale, Phrase::SilenceGoodbye).into()),
                None,
                Marks::default(),
                Some(EndReason::Silence),
            );
        } else if idle >= self.cfg.silence_reprompt_ms && !self.reprompted {
            self.reprompted = true;
            let text = phrase(locale, Phrase::StillThere).to_string();
            self.history.push(ChatMessage::Assistant { content: text.clone(), tool_calls: Vec::new() });
            self.say(Script::Fixed(text), None, Marks::default(), None);
        }
    }

    fn finished(&self) -> Option<EndReason> {
        self.ending.clone()
    }

    async fn finish(mut self, end: EndReason, effects: &Arc<dyn CallEffects>) -> CallReport {
        if let Some(r) = self.reply.take() {
            r.task.abort();
        }
        let _ = self.media_out.send(Outbound::HangUp).await;
        self.stt = None;
        self.report.end = end;
        self.report.duration_ms = self.call_ms();
        self.report.usage.stt_seconds = self.stt_samples as f64 / f64::from(VAD_RATE);
        effects.ended(&self.report).await;
        effects.live(&LiveEvent::Ended { report: self.report.clone() }).await;
        self.report
    }
}

/// Puts the frames sent ahead and not yet due back at the head of the
/// queue (the far end dropped them on `Clear`): resuming plays them, and
/// what was heard is not overcounted.
fn take_back_unheard(reply: &mut Reply) {
    let now = Instant::now();
    while let Some((due, seg, frame)) = reply.in_flight.pop_back() {
        if due <= now {
            break;
        }
        if let Some(s) = reply.sentences.get_mut(&seg) {
            s.played = s.played.saturating_sub(frame.len());
        }
        reply.queue.push_front((seg, frame));
    }
    reply.in_flight.clear();
}

/// What the caller heard of a reply: whole sentences played, then the share
/// of the sentence cut short (by words, in proportion to its audio played).
fn heard_text(sentences: &BTreeMap<u32, Sentence>) -> String {
    let mut out = Vec::new();
    for s in sentences.values() {
        if s.played == 0 {
            break;
        }
        if s.complete && s.played >= s.samples {
            out.push(s.text.clone());
            continue;
        }
        let words: Vec<&str> = s.text.split_whitespace().collect();
        let share = if s.samples == 0 { 0.0 } else { s.played as f64 / s.samples as f64 };
        let n = ((words.len() as f64) * share).floor() as usize;
        if n > 0 {
            out.push(format!("{}…", words[..n].join(" ")));
        }
        break;
    }
    out.join(" ")
}
