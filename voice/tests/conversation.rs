//! The conversation end to end through a media session, with real speech
//! (espeak-ng at 48 kHz, as LiveKit delivers it), Silero VAD, and the mock
//! vendors' Deepgram (scripted words per stretch of speech), OpenAI chat
//! (rules: "budget is …" → updateData, "note: …" → addNote, "goodbye" →
//! endCall) and OpenAI speech (a tone as long as the text).

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::agent::Voicemail;
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

/// The caller speaks English lines at the call's input rate.
fn say(caller: &SimulatedCaller, text: &str) {
    caller.say(voice::simulate::espeak(text, "en", IN_RATE));
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
    let conversation =
        Conversation::new(config, support::mock_providers(&mock.addr.to_string()), effects.clone(), vad);
    let run = tokio::spawn(conversation.run(session));
    Call { caller, effects, run }
}

impl Call {
    fn turns(&self) -> Vec<TurnRecord> {
        self.effects.turns()
    }

    async fn agent_turns(&self, n: usize) {
        let e = self.effects.clone();
        support::wait_for(&format!("{n} agent turns"), 30, move || {
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
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["My budget is 450 euros.", "note: call back on Tuesday", "Goodbye"]);
    let call = start(&mock, vad, support::call_config());
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
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Sorry, who is this and why are you calling me?"]);
    let mut cfg = support::call_config();
    cfg.first_message = "Hello, this is Handoo calling about your delivery fleet. We help companies like yours cut fuel costs. \
                         I would love to tell you more about how it works and what it could save you this year."
        .into();
    let call = start(&mock, vad, cfg);
    // Interrupt a second into the long first message.
    let c = call.caller.heard.clone();
    support::wait_for("the agent speaking", 10, move || c.lock().unwrap().loud_frames() > 50).await;
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
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Yeah."]);
    let mut cfg = support::call_config();
    cfg.first_message = "Hello, this is Handoo calling about your delivery fleet. We help companies like yours cut fuel costs, \
                         and I would love to tell you more about how it works and what it could save you this year."
        .into();
    let call = start(&mock, vad, cfg);
    let c = call.caller.heard.clone();
    support::wait_for("the agent speaking", 10, move || c.lock().unwrap().loud_frames() > 50).await;
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
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &[]);
    let mut cfg = support::call_config();
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

/// The agent's turns, in order.
fn agent_lines(effects: &CallRecord) -> Vec<String> {
    effects.turns().into_iter().filter(|t| t.speaker == Speaker::Agent).map(|t| t.text).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_the_rules_hear_is_recorded_and_gets_only_an_apology_and_goodbye() {
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Please take me off your list."]);
    let call = start(&mock, vad, support::call_config());
    call.agent_turns(1).await;
    say(&call.caller, "Please take me off your list.");
    let effects = call.effects.clone();
    let report = call.report().await;
    assert_eq!(report.end, EndReason::OptOut);
    assert_eq!(*effects.opt_outs.lock().unwrap(), vec!["Please take me off your list.".to_string()]);
    // No answer from the model: the greeting, then the goodbye.
    assert_eq!(
        agent_lines(&effects),
        [
            "Hello, this is Handoo. Do you have a minute?".to_string(),
            domain::copilot::objection::opt_out_goodbye(domain::Locale::En).to_string()
        ]
    );
    assert_eq!(report.interruptions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_only_the_classifier_hears_cuts_the_reply_short() {
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    let words = "This is the last time you people ring this number.";
    assert!(!domain::copilot::objection::rules_hear_opt_out(words), "the rules must miss it");
    script(&mock, &[words]);
    let call = start(&mock, vad, support::call_config());
    call.effects.classifier_opt_outs.lock().unwrap().push(words.to_string());
    call.agent_turns(1).await;
    say(&call.caller, "This is the last time you people ring this number.");
    let effects = call.effects.clone();
    let report = call.report().await;
    assert_eq!(report.end, EndReason::OptOut);
    assert_eq!(*effects.opt_outs.lock().unwrap(), vec![words.to_string()]);
    let lines = agent_lines(&effects);
    assert_eq!(
        lines.last().map(String::as_str),
        Some(domain::copilot::objection::opt_out_goodbye(domain::Locale::En))
    );
    // Whatever of the model's answer got out before the verdict is at most
    // one turn, cut (not counted as the caller's barge-in).
    assert!(lines.len() <= 3, "{lines:?}");
    assert_eq!(report.interruptions, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_happens_after_the_agent_says_so() {
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Can I talk to a human please?"]);
    let call = start(&mock, vad, support::call_config());
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
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["My budget is 450 euros."]);
    let call = start(&mock, vad, support::call_config());
    call.agent_turns(1).await;
    say(&call.caller, "My budget is four hundred and fifty euros.");
    // Cut the STT's socket a second into the sentence.
    let spoke = call.caller.spoke.clone();
    support::wait_for("the caller speaking", 10, move || !spoke.lock().unwrap().is_empty()).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let state = mock.state.clone();
    support::wait_for("the STT socket", 10, move || !state.requests_for("deepgram").is_empty()).await;
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
    let Some(vad) = support::vad() else { return };
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
    let mut cfg = support::call_config();
    cfg.voices.push(Voice { model: "gpt-4o-mini-tts".into(), voice: "verse".into() });
    let base = support::mock_providers(&mock.addr.to_string());
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
    support::wait_for("the first message", 10, move || !e.turns().is_empty()).await;
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
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["What do you sell?"]);
    let http = reqwest::Client::new();
    let mut down = Endpoint::new(mock.base_url("openai"), Some("down".into()));
    down.retry.attempts = 1;
    let base = support::mock_providers(&mock.addr.to_string());
    let p = Arc::new(Providers {
        llm: providers::chat_model(http, "openai", down).unwrap().into(),
        stt: base.stt.clone(),
        tts: base.tts.clone(),
    });
    let effects = Arc::new(CallRecord::default());
    let (session, far) = pair(IN_RATE, OUT_RATE);
    let caller = SimulatedCaller::start(far);
    let run = tokio::spawn(Conversation::new(support::call_config(), p, effects.clone(), vad).run(session));
    let e = effects.clone();
    support::wait_for("the first message", 10, move || !e.turns().is_empty()).await;
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

/// A recorded greeting, then a beep, then the line stays open.
fn greeting_and_beep() -> Vec<i16> {
    let mut audio = voice::simulate::espeak(
        "Hi, you have reached Alex Martin at Martin Logistics. I cannot take your call right now. \
         Please leave your name and number after the tone.",
        "en",
        IN_RATE,
    );
    audio.extend(vec![0i16; IN_RATE as usize / 2]);
    audio.extend(
        (0..IN_RATE as usize / 2).map(|i| {
            (7000.0 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / IN_RATE as f64).sin()) as i16
        }),
    );
    audio
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_gets_the_message_after_its_beep() {
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(
        &mock,
        &["Hi, you have reached Alex Martin.", "Please leave your name and number after the tone."],
    );
    let mut cfg = support::call_config();
    cfg.voicemail = Voicemail::LeaveMessage {
        text: "Hello Alex, this is Handoo about your fleet. Call us back at 01 80 00 00 00.".into(),
    };
    let call = start(&mock, vad, cfg);
    // The machine answers with its greeting at once.
    call.caller.say(greeting_and_beep());
    let effects = call.effects.clone();
    let heard = call.caller.heard.clone();
    let spoke = call.caller.spoke.clone();
    let report = call.report().await;
    assert_eq!(report.end, EndReason::Voicemail { message_left: true });
    let turns = effects.turns();
    let last = turns.last().unwrap();
    assert_eq!(last.text, "Hello Alex, this is Handoo about your fleet. Call us back at 01 80 00 00 00.");
    assert!(turns.iter().all(|t| t.speaker == Speaker::Agent), "the greeting is no turn: {turns:?}");
    // The message began after the beep (greeting + pause + beep from the line's start).
    let line = spoke.lock().unwrap()[0];
    let greeting_ms = (greeting_and_beep().len() as u64 * 1000 / u64::from(IN_RATE)) as u128;
    let h = heard.lock().unwrap();
    let message_start = h
        .frames
        .iter()
        .filter(|f| f.1)
        .map(|f| f.0)
        .find(|t| t.duration_since(line).as_millis() > greeting_ms - 600)
        .unwrap();
    assert!(message_start.duration_since(line).as_millis() + 50 >= greeting_ms, "spoke over the beep");
    assert!(
        message_start.duration_since(line).as_millis() < greeting_ms + 1000,
        "waited too long after the beep"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machine_is_hung_up_on_when_the_agent_leaves_no_message() {
    let Some(vad) = support::vad() else { return };
    let mock = MockVendors::start().await;
    script(&mock, &["Hi, you have reached Alex Martin."]);
    let call = start(&mock, vad, support::call_config());
    call.caller.say(greeting_and_beep());
    let started = Instant::now();
    let report = call.report().await;
    assert_eq!(report.end, EndReason::Voicemail { message_left: false });
    // Decided on the greeting's length, well before its end.
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
}
