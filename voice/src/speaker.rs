//! One agent reply, as a task: the model's streamed text is cut into
//! sentences, each sentence is synthesized as soon as it is complete (while
//! the model goes on writing), and the audio goes back to the conversation
//! in chunks, resampled to the transport's rate. Tool calls run here, with
//! their effects. Aborting the task drops the model's and the voice's
//! streams, which cancels both requests.

use std::sync::Arc;
use std::time::Instant;

use domain::tools::{ToolCall, ToolContext};
use futures::StreamExt;
use providers::tts::SpeechRequest;
use providers::{ChatEvent, ChatMessage, ChatRequest};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::audio::{samples, Resampler};
use crate::call::{phrase, CallConfig, CallEffects, EndReason, Phrase, Providers};
use crate::sentences::{split, SentenceSplitter};

/// At most this many model calls per reply (tool call, result, next call…).
const MAX_ROUNDS: usize = 4;

/// What to say.
pub(crate) enum Script {
    /// Fixed text (the first message, a re-prompt, a goodbye).
    Fixed(String),
    /// Ask the model, with the conversation so far.
    Model(Vec<ChatMessage>),
}

#[derive(Debug)]
pub(crate) enum SpeakerEvent {
    LlmRequested(Instant),
    FirstToken(Instant),
    /// Sentence `seg` is complete and goes to the voice.
    Sentence {
        seg: u32,
        text: String,
        at: Instant,
    },
    TtsFirstByte {
        at: Instant,
    },
    Audio {
        seg: u32,
        pcm: Vec<i16>,
    },
    /// Sentence `seg` has all its audio.
    SentenceDone {
        seg: u32,
    },
    /// Messages for the conversation's history (as planned; an interruption
    /// shortens the assistant's text to what was heard).
    Messages(Vec<ChatMessage>),
    Data {
        field: String,
        value: Value,
    },
    Note {
        text: String,
    },
    Tokens {
        input: u64,
        output: u64,
    },
    TtsCharacters(u64),
    /// End the call once this reply has been heard.
    EndAfter(EndReason),
    /// What the agent, ending the call, said it came to.
    Outcome(domain::copilot::outcome::CallOutcome),
    /// Every voice failed: end politely (nothing more can be said).
    VoiceFailed(String),
    Done,
}

pub(crate) struct SpeakerDeps {
    pub config: CallConfig,
    pub providers: Arc<Providers>,
    pub effects: Arc<dyn CallEffects>,
    pub output_rate: u32,
    /// The voice in use for the call: one that failed is not tried again.
    pub voice: std::sync::atomic::AtomicUsize,
}

type Tx = mpsc::UnboundedSender<(u64, SpeakerEvent)>;

/// Runs reply `id` to its end.
pub(crate) async fn run(id: u64, script: Script, deps: Arc<SpeakerDeps>, tx: Tx) {
    let send = |e: SpeakerEvent| {
        let _ = tx.send((id, e));
    };
    let (sentences_tx, mut sentences_rx) = mpsc::unbounded_channel::<(u32, String)>();
    let producer = async {
        match script {
            Script::Fixed(text) => {
                for (seg, s) in split(&text).into_iter().enumerate() {
                    send(SpeakerEvent::Sentence { seg: seg as u32, text: s.clone(), at: Instant::now() });
                    let _ = sentences_tx.send((seg as u32, s));
                }
            }
            Script::Model(history) => think(history, &deps, &send, &sentences_tx).await,
        }
        drop(sentences_tx);
    };
    let voice = async {
        use std::sync::atomic::Ordering;
        let mut voice = deps.voice.load(Ordering::Relaxed);
        while let Some((seg, text)) = sentences_rx.recv().await {
            loop {
                if voice >= deps.providers.tts.len().min(deps.config.voices.len()) {
                    send(SpeakerEvent::VoiceFailed("every configured voice failed".into()));
                    return;
                }
                match speak(seg, &text, voice, &deps, &send).await {
                    Ok(()) => break,
                    Err((heard_some, e)) => {
                        tracing::warn!(voice, error = %e, "text-to-speech failed; trying the next voice");
                        voice += 1;
                        deps.voice.store(voice, Ordering::Relaxed);
                        if heard_some {
                            // Part of the sentence was heard: go on with the next one.
                            break;
                        }
                    }
                }
            }
            send(SpeakerEvent::SentenceDone { seg });
        }
    };
    futures::join!(producer, voice);
    send(SpeakerEvent::Done);
}

/// The model's side: stream, cut sentences, run tools, loop on their results.
async fn think(
    mut history: Vec<ChatMessage>,
    deps: &SpeakerDeps,
    send: &impl Fn(SpeakerEvent),
    sentences: &mpsc::UnboundedSender<(u32, String)>,
) {
    let cfg = &deps.config;
    let tools = ToolContext {
        enabled: &cfg.tools,
        schema: &cfg.data_schema,
        transfer_number: cfg.transfer_number.as_deref(),
    };
    let mut seg = 0u32;
    let mut emit_sentence = |text: String| {
        send(SpeakerEvent::Sentence { seg, text: text.clone(), at: Instant::now() });
        let _ = sentences.send((seg, text));
        seg += 1;
    };
    let mut retried = false;
    let mut first_token = false;
    let mut round = 0;
    while round < MAX_ROUNDS {
        round += 1;
        let request = ChatRequest {
            model: cfg.llm_model.clone(),
            messages: history.clone(),
            tools: tools.specs(),
            temperature: Some(cfg.temperature),
            max_tokens: Some(cfg.max_tokens),
        };
        send(SpeakerEvent::LlmRequested(Instant::now()));
        let mut splitter = SentenceSplitter::default();
        let mut text = String::new();
        let mut calls = Vec::new();
        let mut failure = None;
        match deps.providers.llm.stream(request).await {
            Err(e) => failure = Some(e.to_string()),
            Ok(mut stream) => {
                while let Some(ev) = stream.next().await {
                    match ev {
                        Ok(ChatEvent::TextDelta(t)) => {
                            if !first_token {
                                first_token = true;
                                send(SpeakerEvent::FirstToken(Instant::now()));
                            }
                            text.push_str(&t);
                            for s in splitter.push(&t) {
                                emit_sentence(s);
                            }
                        }
                        Ok(ChatEvent::ToolCall(c)) => {
                            if !first_token {
                                first_token = true;
                                send(SpeakerEvent::FirstToken(Instant::now()));
                            }
                            calls.push(c);
                        }
                        Ok(ChatEvent::Usage(u)) => send(SpeakerEvent::Tokens {
                            input: u64::from(u.input_tokens),
                            output: u64::from(u.output_tokens),
                        }),
                        Ok(ChatEvent::Finished(_)) => {}
                        Err(e) => {
                            failure = Some(e.to_string());
                            break;
                        }
                    }
                }
            }
        }
        if let Some(rest) = splitter.finish() {
            emit_sentence(rest);
        }
        if let Some(e) = failure {
            tracing::warn!(error = %e, "the model failed mid-call");
            if !text.is_empty() || !calls.is_empty() {
                // Something was said: keep it, and let the caller answer.
                history.push(ChatMessage::Assistant { content: text.clone(), tool_calls: Vec::new() });
                send(SpeakerEvent::Messages(vec![ChatMessage::Assistant {
                    content: text,
                    tool_calls: Vec::new(),
                }]));
                return;
            }
            if retried {
                emit_sentence(phrase(cfg.locale(), Phrase::TroubleGoodbye).to_string());
                send(SpeakerEvent::EndAfter(EndReason::Failed {
                    reason: format!("the language model failed twice: {e}"),
                }));
                return;
            }
            // A short apology covers the retry.
            retried = true;
            emit_sentence(phrase(cfg.locale(), Phrase::Apology).to_string());
            round -= 1;
            continue;
        }
        let mut messages = vec![ChatMessage::Assistant { content: text, tool_calls: calls.clone() }];
        let mut end = None;
        for c in &calls {
            let (ok, content) = match tools.parse_call(&c.name, &c.arguments) {
                Err(e) => (false, format!("Error: {e}")),
                Ok(ToolCall::AddNote { text }) => match deps.effects.add_note(&text).await {
                    Ok(()) => {
                        send(SpeakerEvent::Note { text });
                        (true, "Note saved.".to_string())
                    }
                    Err(e) => (false, format!("Error: the note could not be saved: {e}")),
                },
                Ok(ToolCall::UpdateData { field, value }) => {
                    match deps.effects.update_data(&field, &value).await {
                        Ok(()) => {
                            let saved = format!("Saved {field} = {value}.");
                            send(SpeakerEvent::Data { field, value });
                            (true, saved)
                        }
                        Err(e) => (false, format!("Error: {e}")),
                    }
                }
                Ok(ToolCall::EndCall { reason, outcome }) => {
                    if let Some(o) = outcome {
                        send(SpeakerEvent::Outcome(o));
                    }
                    end = Some(EndReason::Agent { reason });
                    (true, "The call will end after your last words.".to_string())
                }
                Ok(ToolCall::TransferCall { number }) => {
                    end = Some(EndReason::Transferred { number: number.clone() });
                    (true, format!("The call will be transferred to {number} after your last words."))
                }
            };
            messages.push(ChatMessage::Tool {
                call_id: c.id.clone(),
                name: c.name.clone(),
                content,
                is_error: !ok,
            });
        }
        history.extend(messages.iter().cloned());
        send(SpeakerEvent::Messages(messages));
        if let Some(end) = end {
            send(SpeakerEvent::EndAfter(end));
            return;
        }
        if calls.is_empty() {
            return;
        }
    }
}

/// Synthesizes one sentence with voice `voice`. On failure, says whether
/// any of its audio went out.
async fn speak(
    seg: u32,
    text: &str,
    voice: usize,
    deps: &SpeakerDeps,
    send: &impl Fn(SpeakerEvent),
) -> Result<(), (bool, String)> {
    let v = &deps.config.voices[voice];
    let request = SpeechRequest {
        model: v.model.clone(),
        voice: v.voice.clone(),
        text: text.to_string(),
        language: deps.config.language.clone(),
        sample_rate: deps.output_rate,
    };
    send(SpeakerEvent::TtsCharacters(text.chars().count() as u64));
    let audio = deps.providers.tts[voice].synthesize(request).await.map_err(|e| (false, e.to_string()))?;
    let mut resampler = Resampler::new(audio.sample_rate, deps.output_rate);
    let mut stream = audio.audio;
    let mut odd: Option<u8> = None;
    let mut heard = false;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| (heard, e.to_string()))?;
        // Chunks may split a sample.
        let mut bytes = Vec::with_capacity(chunk.len() + 1);
        bytes.extend(odd.take());
        bytes.extend_from_slice(&chunk);
        if bytes.len() % 2 == 1 {
            odd = bytes.pop();
        }
        let pcm = resampler.process(&samples(&bytes));
        if pcm.is_empty() {
            continue;
        }
        if !heard {
            heard = true;
            send(SpeakerEvent::TtsFirstByte { at: Instant::now() });
        }
        send(SpeakerEvent::Audio { seg, pcm });
    }
    // The filter's tail.
    let tail = resampler.process(&[0i16; 64]);
    if !tail.is_empty() && heard {
        send(SpeakerEvent::Audio { seg, pcm: tail });
    }
    Ok(())
}
