//! The voice pipeline's own cost, with mock providers (mock-vendors'
//! Deepgram, OpenAI chat and OpenAI speech, out of process when
//! `HANDOO_MOCK_VENDORS_BIN` names its binary), callers simulated in this
//! process through the in-memory media pair, real speech (espeak-ng) and
//! the real Silero VAD:
//!
//! - our overhead per reply: end of the caller's speech → first agent frame
//!   sent, minus the configured end-of-turn silence (300 ms here) and the
//!   providers' waits (STT final, LLM to its first sentence, TTS first byte);
//! - barge-in: the caller's first voiced sample sent → the agent's audio
//!   stopped (the Clear the phone receives), VAD onset included;
//! - calls held at once (1, 25, 50, 100) with those figures for each;
//!   memory (RSS growth per call) and CPU seconds per call-minute;
//! - VAD cost per 32 ms chunk (and per 20 ms of audio).
//!
//! `cargo bench -p voice --bench pipeline` (after `source scripts/setup.sh`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::agent::{Interruption, Voicemail};
use domain::data_schema::DataSchema;
use providers::Endpoint;
use voice::call::{CallConfig, CallReport, Providers, Voice};
use voice::conversation::Conversation;
use voice::media::pair;
use voice::simulate::{espeak, voiced_span, CallRecord, SimulatedCaller};
use voice::vad::{SileroModel, VadConfig, VadStream};

const IN_RATE: u32 = 48_000;
const OUT_RATE: u32 = 24_000;
const SILENCE_MS: u64 = 300;
const TURNS: usize = 3;

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn config() -> CallConfig {
    CallConfig {
        language: "en".into(),
        system_prompt: "You are Handoo's agent.".into(),
        // About three seconds of speech: the caller cuts in half a second into it.
        first_message: "Hello, this is Handoo calling about your delivery fleet. We help companies like yours cut fuel costs, \
                        and I would love to tell you how."
            .into(),
        llm_model: "gpt-4.1-mini".into(),
        temperature: 0.2,
        max_tokens: 200,
        stt_model: "nova-3".into(),
        voices: vec![Voice { model: "gpt-4o-mini-tts".into(), voice: "alloy".into() }],
        tools: Vec::new(),
        data_schema: DataSchema::default(),
        transfer_number: None,
        interruption: Interruption::Medium,
        end_of_turn_silence_ms: SILENCE_MS,
        stt_final_wait_ms: 1500,
        silence_reprompt_ms: 60_000,
        silence_hang_up_ms: 120_000,
        max_call_ms: 600_000,
        voicemail: Voicemail::HangUp,
    }
}

struct Mock {
    base: String,
    _child: Option<std::process::Child>,
    _inproc: Option<mock_vendors::MockVendors>,
}

async fn mock() -> Mock {
    if let Ok(bin) = std::env::var("HANDOO_MOCK_VENDORS_BIN") {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(bin)
            .arg(format!("127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mock-vendors");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("mock vendors: out of process (HANDOO_MOCK_VENDORS_BIN), so memory and CPU below are the pipeline's");
        Mock { base: format!("127.0.0.1:{port}"), _child: Some(child), _inproc: None }
    } else {
        let m = mock_vendors::MockVendors::start().await;
        println!("mock vendors: in this process (set HANDOO_MOCK_VENDORS_BIN to keep them out of the memory and CPU figures)");
        Mock { base: m.addr.to_string(), _child: None, _inproc: Some(m) }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(c) = self._child.as_mut() {
            let _ = c.kill();
        }
    }
}

fn providers(base: &str) -> Arc<Providers> {
    let http = reqwest::Client::new();
    let e =
        |path: &str, scheme: &str| Endpoint::new(format!("{scheme}://{base}{path}"), Some("sk-bench".into()));
    Arc::new(Providers {
        llm: providers::chat_model(http.clone(), "openai", e("/openai/v1", "http")).unwrap().into(),
        stt: providers::speech_to_text(http.clone(), "deepgram", e("/deepgram/v1", "ws")).unwrap().into(),
        tts: vec![providers::text_to_speech(http, "openai", e("/openai/v1", "http")).unwrap().into()],
    })
}

struct CallResult {
    report: CallReport,
    /// Caller's first voiced sample → the agent's audio stopped (ms).
    barge_in_ms: Option<f64>,
}

/// One simulated call: the caller cuts into the first message, then takes
/// `TURNS` more turns, each after the agent's reply was heard, then hangs up.
async fn one_call(
    vad: Arc<SileroModel>,
    providers: Arc<Providers>,
    line: Arc<Vec<i16>>,
    voiced_ms: u64,
) -> CallResult {
    let record = Arc::new(CallRecord::default());
    let (session, far) = pair(IN_RATE, OUT_RATE);
    let caller = SimulatedCaller::start(far);
    let run = tokio::spawn(Conversation::new(config(), providers, record.clone(), vad).run(session));
    let wait = |what: &'static str, check: Box<dyn Fn() -> bool + Send>| async move {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check() {
            assert!(Instant::now() < deadline, "a simulated call never got {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let h = caller.heard.clone();
    wait("the first message", Box::new(move || h.lock().unwrap().loud_frames() > 25)).await;
    caller.say(line.to_vec());
    let (h, s) = (caller.heard.clone(), caller.spoke.clone());
    wait(
        "a barge-in",
        Box::new(move || {
            let spoke = s.lock().unwrap().first().copied();
            spoke.is_some_and(|t| h.lock().unwrap().clears.iter().any(|c| *c > t))
        }),
    )
    .await;
    let onset = caller.spoke.lock().unwrap()[0] + Duration::from_millis(voiced_ms);
    let clear = caller.heard.lock().unwrap().clears.iter().copied().find(|c| *c > onset);
    let barge_in_ms = clear.map(|c| c.duration_since(onset).as_secs_f64() * 1000.0);
    for n in 0..TURNS {
        let r = record.clone();
        // Agent turns: the cut first message, then one reply per caller line.
        let want = n + 2;
        wait(
            "a reply",
            Box::new(move || {
                r.turns().iter().filter(|t| t.speaker == voice::call::Speaker::Agent).count() >= want
            }),
        )
        .await;
        caller.say(line.to_vec());
    }
    let r = record.clone();
    wait(
        "the last reply",
        Box::new(move || {
            r.turns().iter().filter(|t| t.speaker == voice::call::Speaker::Agent).count() > TURNS + 1
        }),
    )
    .await;
    caller.hang_up();
    let report = run.await.unwrap();
    CallResult { report, barge_in_ms }
}

async fn phase(n: usize, vad: &Arc<SileroModel>, base: &str, line: &Arc<Vec<i16>>, voiced_ms: u64) {
    let rss0 = rss_kib();
    let cpu0 = cpu_seconds();
    let t0 = Instant::now();
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(rss0));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let providers = providers(base);
    let mut calls = Vec::new();
    for i in 0..n {
        // Calls start over a second, as a dialler's would.
        tokio::time::sleep(Duration::from_millis(1000 / n as u64)).await;
        let _ = i;
        calls.push(tokio::spawn(one_call(vad.clone(), providers.clone(), line.clone(), voiced_ms)));
    }
    let mut overhead = Vec::new();
    let mut first_audio = Vec::new();
    let (mut stt, mut token, mut sentence, mut tts) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut barge = Vec::new();
    let mut call_ms = 0u64;
    for c in calls {
        let r = c.await.unwrap();
        call_ms += r.report.duration_ms;
        barge.extend(r.barge_in_ms);
        for l in &r.report.latencies {
            overhead.push(l.overhead_ms);
            first_audio.push(l.first_audio_ms);
            stt.push(l.stt_final_ms);
            token.push(l.llm_first_token_ms);
            sentence.push(l.first_sentence_ms);
            tts.push(l.tts_first_byte_ms);
        }
    }
    sampler.abort();
    let cpu = cpu_seconds() - cpu0;
    let wall = t0.elapsed().as_secs_f64();
    let grown = peak.load(std::sync::atomic::Ordering::Relaxed).saturating_sub(rss0) as f64 / 1024.0;
    println!(
        "{n:>3} calls at once: overhead p50 {:.1} ms p99 {:.1} ms ({} replies); end of speech → first audio p50 {:.0} ms \
         (silence {SILENCE_MS} ms + providers + ours); barge-in p50 {:.0} ms p99 {:.0} ms ({} cut-ins); \
         memory +{:.1} MB ({:.2} MB/call); CPU {:.1} s over {:.0} s = {:.2} CPU-s per call-minute",
        pct(&mut overhead.clone(), 0.5),
        pct(&mut overhead.clone(), 0.99),
        overhead.len(),
        pct(&mut first_audio, 0.5),
        pct(&mut barge.clone(), 0.5),
        pct(&mut barge.clone(), 0.99),
        barge.len(),
        grown,
        grown / n as f64,
        cpu,
        wall,
        cpu / (call_ms as f64 / 60_000.0),
    );
    println!(
        "     from the end of speech, p50: STT final {:.0} ms, LLM first token {:.0} ms, first sentence {:.0} ms, \
         TTS first byte {:.0} ms, first frame out {:.0} ms",
        pct(&mut stt, 0.5),
        pct(&mut token, 0.5),
        pct(&mut sentence, 0.5),
        pct(&mut tts, 0.5),
        pct(&mut first_audio.clone(), 0.5)
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let vad = Arc::new(SileroModel::from_env(2).expect("the VAD (source scripts/setup.sh)"));
        // VAD cost, one stream, on speech.
        let speech = espeak("Hello, I would like to know more about your offer, and what it costs.", "en", 16_000);
        let mut stream = VadStream::new(vad.clone(), VadConfig::default());
        let mut chunks = 0usize;
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(3) {
            stream.push(&speech).unwrap();
            chunks += speech.len() / voice::vad::CHUNK;
        }
        let per_chunk = t.elapsed().as_secs_f64() * 1e6 / chunks as f64;
        println!(
            "VAD (Silero, ONNX Runtime, one thread): {per_chunk:.0} µs per 32 ms chunk = {:.0} µs per 20 ms frame ({:.2} % of a core per call)",
            per_chunk * 20.0 / 32.0,
            per_chunk / 32_000.0 * 100.0
        );

        let mock = mock().await;
        let client = reqwest::Client::new();
        // Every stretch of caller speech is "heard" as this line (the model echoes it).
        // (Two per caller line at most: enough for every call of every phase.)
        let lines: Vec<String> = vec!["Could you tell me more about the offer please".to_string(); 5_000];
        let scripted = client
            .post(format!("http://{}/__control/stt-script", mock.base))
            .json(&serde_json::json!({ "utterances": lines }))
            .send()
            .await
            .unwrap();
        assert!(scripted.status().is_success(), "the STT script was refused: {}", scripted.status());
        let line = Arc::new(espeak("Could you tell me more about the offer please?", "en", IN_RATE));
        let voiced_ms = voiced_span(&line, IN_RATE).0;
        println!("end-of-turn silence: {SILENCE_MS} ms; {TURNS} replies and one barge-in per call");
        let phases: Vec<usize> = std::env::var("BENCH_CALLS")
            .ok()
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|| vec![1, 25, 50, 100]);
        for n in phases {
            phase(n, &vad, &mock.base, &line, voiced_ms).await;
        }
    });
}
