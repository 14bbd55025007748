//! The voice worker in listen-only mode: no LLM, no TTS — every voice of a
//! call (the rep's, the prospect's) streamed through the organisation's
//! speech-to-text on its own, so each line is labelled with who said it
//! and where it falls in the call. Transports only deliver labelled
//! [`Source`]s as they appear (a LiveKit room's tracks, the two channels of
//! a stereo WebSocket); what a line does is the [`TranscriptSink`]'s.
//!
//! A source's times are its audio's: the position, in ms from the
//! transcriber's start, of the first sample heard when its first words
//! came (start) and of the last one heard when the line was settled (end).
//! An STT vendor's own word times would be finer; these need none and are
//! never later than the line.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use domain::copilot::script::Speaker;
use domain::ErrorCode;
use futures::StreamExt;
use providers::stt::{SpeechToText, SttConfig, TranscriptEvent};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// One voice of the call, as a transport hears it.
pub struct Source {
    pub speaker: Speaker,
    /// Mono 16-bit PCM at `rate`, in frames of any length; the sender
    /// dropping it ends the source.
    pub rate: u32,
    pub audio: mpsc::Receiver<Vec<i16>>,
}

/// A settled line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub speaker: Speaker,
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
}

/// Where the transcript goes (the copilot session and the call, in the server).
#[async_trait]
pub trait TranscriptSink: Send + Sync + 'static {
    /// Words still being said (replaced by the next partial or the line).
    async fn partial(&self, speaker: Speaker, text: String);
    /// A settled line; false when nobody wants more (the session ended).
    async fn line(&self, line: Line) -> bool;
    /// A source's speech-to-text failed (it stops; the others go on).
    async fn failed(&self, speaker: Speaker, code: ErrorCode);
}

/// Runs speech-to-text over every source of one call.
pub struct Transcriber {
    pub stt: Arc<dyn SpeechToText>,
    /// The model and language; `sample_rate` is what audio is resampled to.
    pub config: SttConfig,
}

impl Transcriber {
    /// Transcribes each source `sources` delivers until the transport is
    /// done (the channel closes) and every source has ended, the sink wants
    /// no more, or `cancel` fires.
    pub async fn run(
        &self,
        mut sources: mpsc::Receiver<Source>,
        sink: Arc<dyn TranscriptSink>,
        cancel: CancellationToken,
    ) {
        let started = Instant::now();
        let done = CancellationToken::new();
        let mut running = JoinSet::new();
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = done.cancelled() => break,
                next = sources.recv() => match next {
                    Some(source) => {
                        let job = SourceJob {
                            stt: self.stt.clone(),
                            config: self.config.clone(),
                            sink: sink.clone(),
                            started,
                            done: done.clone(),
                        };
                        running.spawn(job.run(source));
                    }
                    None => break,
                },
            }
        }
        // The transport is done: let the sources still speaking finish
        // (their last lines arrive), unless told to stop now.
        loop {
            tokio::select! {
                _ = cancel.cancelled() => { running.abort_all(); break }
                _ = done.cancelled() => { running.abort_all(); break }
                next = running.join_next() => if next.is_none() { break },
            }
        }
    }
}

struct SourceJob {
    stt: Arc<dyn SpeechToText>,
    config: SttConfig,
    sink: Arc<dyn TranscriptSink>,
    started: Instant,
    /// Cancelled when the sink wants no more: every source stops.
    done: CancellationToken,
}

impl SourceJob {
    async fn run(self, mut source: Source) {
        let speaker = source.speaker;
        let session = match self.stt.start(self.config.clone()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(?speaker, error = %e, "speech-to-text did not start");
                self.sink.failed(speaker, e.code()).await;
                return;
            }
        };
        // Samples heard so far, at the STT's rate, from this offset (ms of
        // the call before this source's first audio).
        let offset_ms = self.started.elapsed().as_millis() as u64;
        let rate = self.config.sample_rate.max(1);
        let heard = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let position = {
            let heard = heard.clone();
            move || offset_ms + heard.load(std::sync::atomic::Ordering::Relaxed) * 1000 / rate as u64
        };
        let audio = session.audio;
        let (from, to) = (source.rate, rate);
        let feeding = {
            let heard = heard.clone();
            tokio::spawn(async move {
                let mut resampler = (from != to).then(|| crate::audio::Resampler::new(from, to));
                while let Some(frame) = source.audio.recv().await {
                    let pcm = match resampler.as_mut() {
                        Some(r) => r.process(&frame),
                        None => frame,
                    };
                    heard.fetch_add(pcm.len() as u64, std::sync::atomic::Ordering::Relaxed);
                    if audio.send(Bytes::from(crate::audio::bytes(&pcm))).await.is_err() {
                        return;
                    }
                }
                // Dropping `audio` tells the provider the audio ended: its
                // last finals still come.
            })
        };
        let mut events = session.events;
        let mut line_start: Option<u64> = None;
        loop {
            let ev = tokio::select! {
                _ = self.done.cancelled() => break,
                ev = events.next() => ev,
            };
            let Some(ev) = ev else { break };
            match ev {
                Ok(TranscriptEvent::Partial { text }) if !text.trim().is_empty() => {
                    line_start.get_or_insert_with(&position);
                    self.sink.partial(speaker, text).await;
                }
                Ok(TranscriptEvent::Final { text, .. }) if !text.trim().is_empty() => {
                    let end_ms = position();
                    let start_ms = line_start.take().unwrap_or(end_ms).min(end_ms);
                    let line = Line { speaker, text: text.trim().to_string(), start_ms, end_ms };
                    if !self.sink.line(line).await {
                        self.done.cancel();
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(?speaker, error = %e, "speech-to-text failed mid-stream");
                    self.sink.failed(speaker, e.code()).await;
                    break;
                }
            }
        }
        feeding.abort();
    }
}

/// Splits interleaved stereo PCM into its two channels (an odd sample at
/// the end is dropped).
pub fn split_stereo(interleaved: &[i16]) -> (Vec<i16>, Vec<i16>) {
    interleaved.chunks_exact(2).map(|p| (p[0], p[1])).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    use providers::stt::SttSession;
    use providers::ProviderResult;

    #[test]
    fn stereo_splits_into_left_and_right() {
        assert_eq!(split_stereo(&[1, -1, 2, -2, 3]), (vec![1, 2], vec![-1, -2]));
    }

    /// Hears "<n> samples" once its audio ends, with a partial on the first frame.
    struct CountingStt;

    #[async_trait]
    impl SpeechToText for CountingStt {
        async fn start(&self, _config: SttConfig) -> ProviderResult<SttSession> {
            let (audio, mut rx) = mpsc::channel::<Bytes>(64);
            let (tx, events) = mpsc::channel(16);
            tokio::spawn(async move {
                let mut n = 0;
                while let Some(b) = rx.recv().await {
                    if n == 0 {
                        let _ = tx.send(Ok(TranscriptEvent::Partial { text: "…".into() })).await;
                    }
                    n += b.len() / 2;
                }
                let _ = tx
                    .send(Ok(TranscriptEvent::Final { text: format!("{n} samples"), confidence: None }))
                    .await;
            });
            Ok(SttSession { audio, events: Box::pin(tokio_stream_from(events)) })
        }
    }

    fn tokio_stream_from<T: Send + 'static>(rx: mpsc::Receiver<T>) -> impl futures::Stream<Item = T> {
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
    }

    #[derive(Default)]
    struct Collect {
        lines: Mutex<Vec<Line>>,
        partials: Mutex<Vec<Speaker>>,
    }

    #[async_trait]
    impl TranscriptSink for Collect {
        async fn partial(&self, speaker: Speaker, _text: String) {
            self.partials.lock().unwrap().push(speaker);
        }
        async fn line(&self, line: Line) -> bool {
            self.lines.lock().unwrap().push(line);
            true
        }
        async fn failed(&self, _speaker: Speaker, _code: ErrorCode) {}
    }

    #[tokio::test]
    async fn each_source_is_transcribed_on_its_own_and_resampled() {
        let t = Transcriber {
            stt: Arc::new(CountingStt),
            config: SttConfig {
                model: "m".into(),
                language: "en".into(),
                sample_rate: 16_000,
                interim: true,
            },
        };
        let (tx, sources) = mpsc::channel(4);
        let sink = Arc::new(Collect::default());
        let run = {
            let sink: Arc<dyn TranscriptSink> = sink.clone();
            tokio::spawn(async move { t.run(sources, sink, CancellationToken::new()).await })
        };
        // The rep at 16 kHz, the prospect at 48 kHz: one second each.
        for (speaker, rate) in [(Speaker::Rep, 16_000u32), (Speaker::Prospect, 48_000)] {
            let (audio_tx, audio) = mpsc::channel(8);
            tx.send(Source { speaker, rate, audio }).await.unwrap();
            for _ in 0..10 {
                audio_tx.send(vec![100i16; rate as usize / 10]).await.unwrap();
            }
        }
        drop(tx);
        tokio::time::timeout(std::time::Duration::from_secs(10), run).await.unwrap().unwrap();
        let mut lines = sink.lines.lock().unwrap().clone();
        lines.sort_by_key(|l| l.speaker == Speaker::Prospect);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0].speaker, Speaker::Rep);
        assert_eq!(lines[0].text, "16000 samples");
        assert_eq!(lines[1].speaker, Speaker::Prospect);
        // 48 kHz resampled to the STT's 16 kHz (the filter's tail aside).
        let n: i64 = lines[1].text.split(' ').next().unwrap().parse().unwrap();
        assert!((n - 16_000).abs() < 100, "{n}");
        for l in &lines {
            assert!(l.start_ms <= l.end_ms && l.end_ms >= 990, "{l:?}");
        }
        assert_eq!(sink.partials.lock().unwrap().len(), 2);
    }
}
