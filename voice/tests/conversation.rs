//! The conversation end to end through a media session, with real speech
//! (espeak-ng at 48 kHz, as LiveKit delivers it), Silero VAD, and the mock
//! vendors' Deepgram (scripted words per stretch of speech), OpenAI chat
//! (rules: "budget is …" → updateData, "note: …" → addNote, "goodbye" →
//! endCall) and OpenAI speech (a tone as long as the text).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::agent::{Interruption, Voicemail};
use domain::data_schema::{DataField, DataSchema, FieldKind};
use domain::tools::ToolName;
use mock_vendors::MockVendors;
use providers::Endpoint;
use serde_json::json;
use voice::call::{CallConfig, CallReport, EndReason, Providers, Speaker, TurnRecord, Voice};
use voice::conversation::Conversation;
use voice::media::pair;
use voice::simulate::{CallRecord, SimulatedCaller};
use voice::vad::SileroModel;

const IN_RATE: u32 = 48_000;
const OUT_RATE: u32 = 24_000;

fn config() -> CallConfig {
    CallConfig {
        language: "en".into(),
        system_prompt: "You are Handoo's agent.".into(),
        first_message: "Hello, this is Handoo. Do you have a minute?".into(),
        llm_model: "gpt-4.1-mini".into(),
        temperature: 0.2,
        max_tokens: 200,
        stt_model: "nova-3".into(),
        voices: vec![Voice { model: "gpt-4o-mini-tts".into(), voice: "alloy".into() }],
        tools: vec![ToolName::AddNote, ToolName::UpdateData, ToolName::EndCall, ToolName::TransferCall],
        data_schema: DataSchema {
            fields: vec![DataField {
                name: "budget".into(),
                kind: FieldKind::String,
                description: "Their budget".into(),
                required: false,
            }],
        },
        transfer_number: Some("+33180000000".into()),
        interruption: Interruption::Medium,
        end_of_turn_silence_ms: 400,
        stt_final_wait_ms: 1500,
        silence_reprompt_ms: 30_000,
        silence_hang_up_ms: 60_000,
        max_call_ms: 120_000,
        voicemail: Voicemail::HangUp,
    }
}

fn providers(mock: &MockVendors, stt_key: &str) -> Arc<Providers> {
    let http = reqwest::Client::new();
    let e = |vendor: &str, key: &str| Endpoint::new(mock.base_url(vendor), Some(key.to_string()));
    Arc::new(Providers {
        llm: providers::chat_model(http.clone(), "openai", e("openai", "sk-test")).unwrap().into(),
        stt: providers::speech_to_text(http.clone(), "deepgram", e("deepgram", stt_key)).unwrap().into(),
        tts: vec![providers::text_to_speech(http, "openai", e("openai", "sk-test")).unwrap().into()],
    })
}

/// The caller speaks English lines at the call's input rate.
fn say(caller: &SimulatedCaller, text: &str) {
    caller.say(support::espeak(text, "en", IN_RATE));
}

fn vad() -> Option<Arc<SileroModel>> {
    match SileroModel::from_env(2) {
        Ok(m) => Some(Arc::new(m)),
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("{e}"),
        Err(e) => {
            eprintln!("SKIPPED: {e}");
            None
        }
    }
}

async fn wait_for(what: &str, secs: u64, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never {what}");
}

fn script(mock: &MockVendors, lines: &[&str]) {
    *mock.state.stt_script.lock().unwrap() = Some(lines.iter().map(|s| s.to_string()).collect());
}

struct Call {
    caller: SimulatedCaller,
    effects: Arc<CallRecord>,
    run: tokio::task::JoinHandle<CallReport>,
}

fn start(mock: &MockVendors, vad: Arc<SileroModel>, config: CallConfig) -> Call {
    let effects = Arc::new(CallRecord::default());
    let (session, far) = pair(IN_RATE, OUT_RATE);
    let caller = SimulatedCaller::start(far);
    let conversation = Conversation::new(config, providers(mock, "dg-test"), effects.clone(), vad);
    let run = tokio::spawn(conversation.run(session));
    Call { caller, effects, run }
}

impl Call {
    fn turns(&self) -> Vec<TurnRecord> {
        self.effects.turns()
    }

    async fn agent_turns(&self, n: usize) {
        let e = self.effects.clone();
        wait_for(&format!("{n} agent turns"), 30, move || {
            e.turns.lock().unwrap().iter().filter(|t| t.speaker == Speaker::Agent).count() >= n
        })
        .await;
    }

    async fn report(self) -> CallReport {
        let turns = self.effects.clone();
        match tokio::time::timeout(Duration::from_secs(30), self.run).await {
            Ok(r) => r.unwrap(),
            Err(_) => panic!("the call did not end; turns: {:#?}", turns.turns.lock().unwrap()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_call_collects_data_takes_a_note_and_ends_on_goodbye() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["My budget is 450 euros.", "note: call back on Tuesday", "Goodbye"]);
    let call = start(&mock, vad, config());
    call.agent_turns(1).await;
    assert!(call.caller.loud_frames() > 20, "the first message was heard");

    say(&call.caller, "My budget is four hundred and fifty euros.");
    call.agent_turns(2).await;
    say(&call.caller, "Note call back on Tuesday");
    call.agent_turns(3).await;
    say(&call.caller, "Goodbye.");
    let effects = call.effects.clone();
    let heard = call.caller.heard.clone();
    let report = call.report().await;

    assert_eq!(report.end, EndReason::Agent { reason: "prospect said goodbye".into() });
    assert_eq!(*effects.data.lock().unwrap(), vec![("budget".to_string(), json!("450 euros"))]);
    assert_eq!(report.collected_data.get("budget"), Some(&json!("450 euros")));
    assert_eq!(*effects.notes.lock().unwrap(), vec!["call back on Tuesday".to_string()]);
    let turns = effects.turns.lock().unwrap().clone();
    let said: Vec<(Speaker, &str)> = turns.iter().map(|t| (t.speaker, t.text.as_str())).collect();
    assert_eq!(
        said,
        vec![
            (Speaker::Agent, "Hello, this is Handoo. Do you have a minute?"),
            (Speaker::Prospect, "My budget is 450 euros."),
            (Speaker::Agent, "Got it."),
            (Speaker::Prospect, "note: call back on Tuesday"),
            (Speaker::Agent, "Noting that. Got it."),
            (Speaker::Prospect, "Goodbye"),
            (Speaker::Agent, "Goodbye!"),
        ]
    );
    assert!(turns.iter().all(|t| !t.interrupted && t.end_ms >= t.start_ms));
    assert!(turns.windows(2).all(|w| w[1].index == w[0].index + 1 && w[1].start_ms >= w[0].start_ms));
    assert!(heard.lock().unwrap().hung_up.is_some(), "the agent hung up after its goodbye");
    // One latency record per answer, in order along the way.
    assert_eq!(report.latencies.len(), 3, "{:?}", report.latencies);
    for l in &report.latencies {
        assert!(l.first_audio_ms >= l.end_of_turn_silence_ms, "{l:?}");
        assert!(
            l.tts_first_byte_ms <= l.first_audio_ms && l.llm_first_token_ms <= l.tts_first_byte_ms,
            "{l:?}"
        );
    }
    assert!(
        report.usage.stt_seconds > 3.0
            && report.usage.llm_input_tokens > 0
            && report.usage.tts_characters > 40
    );
    assert_eq!(report.interruptions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speaking_over_the_agent_stops_it_and_the_turn_is_marked_interrupted() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Sorry, who is this and why are you calling me?"]);
    let mut cfg = config();
    cfg.first_message = "Hello, this is Handoo calling about your delivery fleet. We help companies like yours cut fuel costs. \
                         I would love to tell you more about how it works and what it could save you this year."
        .into();
    let call = start(&mock, vad, cfg);
    // Interrupt a second into the long first message.
    let c = call.caller.heard.clone();
    wait_for("the agent speaking", 10, move || c.lock().unwrap().loud_frames() > 50).await;
    say(&call.caller, "Sorry, who is this and why are you calling me?");
    call.agent_turns(2).await;
    let turns = call.turns();
    assert!(turns[0].interrupted, "{turns:?}");
    assert!(
        !turns[0].text.is_empty() && turns[0].text.len() < 120,
        "only what was heard: {:?}",
        turns[0].text
    );
    assert_eq!(
        (turns[1].speaker, turns[1].text.as_str()),
        (Speaker::Prospect, "Sorry, who is this and why are you calling me?")
    );
    assert_eq!(turns[2].text, "You said: Sorry, who is this and why are you calling me?");
    // The sound stopped soon after the caller began (the first Clear after their first sample).
    let spoke = call.caller.spoke.lock().unwrap()[0];
    let clear =
        call.caller.heard.lock().unwrap().clears.iter().copied().find(|c| *c > spoke).expect("a clear");
    assert!(clear.duration_since(spoke) < Duration::from_millis(600), "{:?}", clear.duration_since(spoke));
    call.caller.hang_up();
    let report = call.report().await;
    assert_eq!(report.interruptions, 1);
    assert_eq!(report.end, EndReason::Caller);
    assert_eq!(report.barge_ins_ms.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_back_channel_word_does_not_cut_the_agent_off() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Yeah."]);
    let mut cfg = config();
    cfg.first_message = "Hello, this is Handoo calling about your delivery fleet. We help companies like yours cut fuel costs, \
                         and I would love to tell you more about how it works and what it could save you this year."
        .into();
    let call = start(&mock, vad, cfg);
    let c = call.caller.heard.clone();
    wait_for("the agent speaking", 10, move || c.lock().unwrap().loud_frames() > 50).await;
    say(&call.caller, "Yeah.");
    call.agent_turns(1).await;
    let turns = call.turns();
    assert_eq!(turns.len(), 1, "{turns:?}");
    assert!(!turns[0].interrupted);
    assert!(turns[0].text.ends_with("this year."), "the whole message was said: {:?}", turns[0].text);
    call.caller.hang_up();
    let report = call.report().await;
    assert_eq!(report.interruptions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silence_gets_a_reprompt_then_a_goodbye() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &[]);
    let mut cfg = config();
    cfg.silence_reprompt_ms = 1_000;
    cfg.silence_hang_up_ms = 3_000;
    let call = start(&mock, vad, cfg);
    let effects = call.effects.clone();
    let report = call.report().await;
    assert_eq!(report.end, EndReason::Silence);
    let said: Vec<String> = effects.turns.lock().unwrap().iter().map(|t| t.text.clone()).collect();
    assert_eq!(
        said[1..],
        ["Are you still there?".to_string(), "I'll let you go for now. Goodbye!".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_happens_after_the_agent_says_so() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Can I talk to a human please?"]);
    let call = start(&mock, vad, config());
    call.agent_turns(1).await;
    say(&call.caller, "Can I talk to a human please?");
    let effects = call.effects.clone();
    let report = call.report().await;
    assert_eq!(report.end, EndReason::Transferred { number: "+33180000000".into() });
    assert_eq!(*effects.transfers.lock().unwrap(), vec!["+33180000000".to_string()]);
    let last = effects.turns.lock().unwrap().last().cloned().unwrap();
    assert_eq!((last.speaker, last.text.as_str()), (Speaker::Agent, "Let me transfer you to a colleague."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_stt_socket_dropped_mid_sentence_loses_nothing_of_it() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["My budget is 450 euros."]);
    let call = start(&mock, vad, config());
    call.agent_turns(1).await;
    say(&call.caller, "My budget is four hundred and fifty euros.");
    // Cut the STT's socket a second into the sentence.
    let spoke = call.caller.spoke.clone();
    wait_for("the caller speaking", 10, move || !spoke.lock().unwrap().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    mock.state.stt_drop.notify_waiters();
    call.agent_turns(2).await;
    let turns = call.turns();
    assert_eq!(turns[1].text, "My budget is 450 euros.", "{turns:?}");
    assert_eq!(call.effects.data.lock().unwrap()[0].1, json!("450 euros"));
    // Two sockets: the first, cut, and the one that heard the sentence again.
    assert_eq!(mock.state.requests_for("deepgram").len(), 2);
    call.caller.hang_up();
    call.report().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_voice_falls_back_to_the_next_and_no_voice_ends_the_call() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &[]);
    let http = reqwest::Client::new();
    let tts = |key: &str| -> Arc<dyn providers::tts::TextToSpeech> {
        providers::text_to_speech(
            http.clone(),
            "openai",
            Endpoint::new(mock.base_url("openai"), Some(key.into())),
        )
        .unwrap()
        .into()
    };
    let mut cfg = config();
    cfg.voices.push(Voice { model: "gpt-4o-mini-tts".into(), voice: "verse".into() });
    let base = providers(&mock, "dg-test");
    let with = |voices: Vec<Arc<dyn providers::tts::TextToSpeech>>| {
        Arc::new(Providers { llm: base.llm.clone(), stt: base.stt.clone(), tts: voices })
    };

    // The agent's voice refuses its key; the fallback speaks.
    let effects = Arc::new(CallRecord::default());
    let (session, far) = pair(IN_RATE, OUT_RATE);
    let caller = SimulatedCaller::start(far);
    let run = tokio::spawn(
        Conversation::new(
            cfg.clone(),
            with(vec![tts("bad-key"), tts("sk-test")]),
            effects.clone(),
            vad.clone(),
        )
        .run(session),
    );
    let e = effects.clone();
    wait_for("the first message", 10, move || !e.turns().is_empty()).await;
    assert!(caller.loud_frames() > 20);
    let speech: Vec<_> =
        mock.state.requests_for("openai").into_iter().filter(|r| r.path == "/audio/speech").collect();
    // Two sentences: the first tried both voices, the second went straight to the one that works.
    assert_eq!(
        speech.iter().map(|r| r.body["voice"].as_str().unwrap()).collect::<Vec<_>>(),
        ["alloy", "verse", "verse"]
    );
    caller.hang_up();
    run.await.unwrap();

    // No voice works: the call ends, saying why.
    let (session, far) = pair(IN_RATE, OUT_RATE);
    let _caller = SimulatedCaller::start(far);
    let report = tokio::time::timeout(
        Duration::from_secs(20),
        Conversation::new(
            cfg,
            with(vec![tts("bad-key"), tts("bad-key")]),
            Arc::new(CallRecord::default()),
            vad,
        )
        .run(session),
    )
    .await
    .expect("the call ended");
    assert!(
        matches!(&report.end, EndReason::Failed { reason } if reason.contains("text-to-speech")),
        "{:?}",
        report.end
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_keeps_failing_gets_an_apology_then_a_polite_end() {
    let Some(vad) = vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["What do you sell?"]);
    let http = reqwest::Client::new();
    let mut down = Endpoint::new(mock.base_url("openai"), Some("down".into()));
    down.retry.attempts = 1;
    let base = providers(&mock, "dg-test");
    let p = Arc::new(Providers {
        llm: providers::chat_model(http, "openai", down).unwrap().into(),
        stt: base.stt.clone(),
        tts: base.tts.clone(),
    });
    let effects = Arc::new(CallRecord::default());
    let (session, far) = pair(IN_RATE, OUT_RATE);
    let caller = SimulatedCaller::start(far);
    let run = tokio::spawn(Conversation::new(config(), p, effects.clone(), vad).run(session));
    let e = effects.clone();
    wait_for("the first message", 10, move || !e.turns().is_empty()).await;
    say(&caller, "What do you sell?");
    let report = tokio::time::timeout(Duration::from_secs(30), run).await.expect("ended").unwrap();
    assert!(
        matches!(&report.end, EndReason::Failed { reason } if reason.contains("language model")),
        "{:?}",
        report.end
    );
    let last = effects.turns().last().cloned().unwrap();
    assert_eq!(
        last.text,
        "Sorry, give me a second. Sorry, I'm having technical trouble. We'll call you back. Goodbye!"
    );
    // Asked twice: the first try and the one retry.
    let asked = mock.state.requests_for("openai").iter().filter(|r| r.path == "/chat/completions").count();
    assert_eq!(asked, 2);
}
