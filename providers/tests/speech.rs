//! Speech clients against the mock vendors: OpenAI speech and
//! transcriptions, ElevenLabs, Cartesia (websocket), Deepgram and
//! AssemblyAI (websockets), including refused keys and broken streams.

use std::time::Duration;

use mock_vendors::MockVendors;
use providers::stt::{transcribe, SttConfig, TranscriptEvent};
use providers::tts::{collect, SpeechRequest};
use providers::{speech_to_text, text_to_speech, Endpoint, ProviderError};

fn endpoint(mock: &MockVendors, vendor: &str, key: &str) -> Endpoint {
    let mut e = Endpoint::new(mock.base_url(vendor), Some(key.into()));
    e.retry.base_delay = Duration::from_millis(5);
    e.idle_timeout = Duration::from_millis(500);
    e
}

fn speech(model: &str, voice: &str, rate: u32) -> SpeechRequest {
    SpeechRequest {
        model: model.into(),
        voice: voice.into(),
        text: "Bonjour Alex".into(),
        language: "fr-FR".into(),
        sample_rate: rate,
    }
}

const TTS: [(&str, &str, &str, &str, u32); 3] = [
    ("openai", "openai", "gpt-4o-mini-tts", "alloy", 24_000),
    ("elevenlabs", "elevenlabs", "eleven_flash_v2_5", "21m00Tcm4TlvDq8ikWAM", 16_000),
    ("cartesia", "cartesia", "sonic-2", "694f9389-aac1-45b6-b726-9d9369183238", 16_000),
];

#[tokio::test]
async fn tts_streams_pcm_of_the_expected_length() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model, voice, rate) in TTS {
        let tts =
            text_to_speech(reqwest::Client::new(), provider, endpoint(&mock, vendor, "sk-test")).unwrap();
        let audio = tts.synthesize(speech(model, voice, 16_000)).await.unwrap();
        assert_eq!(audio.sample_rate, rate, "{provider}");
        let pcm = collect(audio).await.unwrap();
        // The mock makes 10 ms of audio per character: 12 characters.
        assert_eq!(pcm.len(), (rate as usize / 100) * 12 * 2, "{provider}");
    }
    let sent = &mock.state.requests_for("elevenlabs")[0];
    assert_eq!(sent.headers["xi-api-key"], "sk-test");
    assert_eq!(sent.body["language_code"], "fr");
    let ws = &mock.state.requests_for("cartesia")[0];
    // The key as Cartesia's own SDK sends it.
    assert_eq!(ws.headers["authorization"], "Bearer sk-test");
    assert!(ws.headers.get("cartesia-version").is_some());
}

#[tokio::test]
async fn tts_errors_are_typed() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model, voice, _) in TTS {
        let err = |key: &'static str| {
            let tts = text_to_speech(reqwest::Client::new(), provider, endpoint(&mock, vendor, key)).unwrap();
            let req = speech(model, voice, 16_000);
            async move {
                match tts.synthesize(req).await {
                    Err(e) => e,
                    Ok(audio) => collect(audio).await.unwrap_err(),
                }
            }
        };
        assert!(matches!(err("bad-key").await, ProviderError::Auth(_)), "{provider}");
        assert!(matches!(err("stall").await, ProviderError::Timeout), "{provider}");
        if provider != "cartesia" {
            // HTTP vendors: 429 with a Retry-After too long to wait out, and 5xx after retries.
            assert!(
                matches!(err("rate-limited-long").await, ProviderError::RateLimited { .. }),
                "{provider}"
            );
            assert!(matches!(err("down").await, ProviderError::Upstream { .. }), "{provider}");
        }
    }
    let eleven =
        text_to_speech(reqwest::Client::new(), "elevenlabs", endpoint(&mock, "elevenlabs", "sk")).unwrap();
    assert!(matches!(
        eleven.synthesize(speech("eleven_flash_v2_5", "missing", 16_000)).await.err().unwrap(),
        ProviderError::ModelNotFound(_)
    ));
    assert!(matches!(
        eleven.synthesize(speech("m", "../etc", 16_000)).await.err().unwrap(),
        ProviderError::BadRequest(_)
    ));
    let cartesia =
        text_to_speech(reqwest::Client::new(), "cartesia", endpoint(&mock, "cartesia", "midstream-error"))
            .unwrap();
    let audio = cartesia.synthesize(speech("sonic-2", "v", 16_000)).await.unwrap();
    assert!(matches!(collect(audio).await.unwrap_err(), ProviderError::Upstream { status: 500, .. }));
    let cartesia =
        text_to_speech(reqwest::Client::new(), "cartesia", endpoint(&mock, "cartesia", "truncated")).unwrap();
    let audio = cartesia.synthesize(speech("sonic-2", "v", 16_000)).await.unwrap();
    assert!(collect(audio).await.is_err(), "a socket closed before `done` is an error");
}

#[tokio::test]
async fn voice_lists_come_from_the_vendor() {
    let mock = MockVendors::start().await;
    let eleven =
        text_to_speech(reqwest::Client::new(), "elevenlabs", endpoint(&mock, "elevenlabs", "sk")).unwrap();
    let voices = eleven.voices().await.unwrap();
    assert_eq!(voices[1].name, "Camille");
    assert_eq!(voices[1].language.as_deref(), Some("fr"));
    let cartesia =
        text_to_speech(reqwest::Client::new(), "cartesia", endpoint(&mock, "cartesia", "sk")).unwrap();
    assert_eq!(cartesia.voices().await.unwrap().len(), 2);
    let bad =
        text_to_speech(reqwest::Client::new(), "cartesia", endpoint(&mock, "cartesia", "bad-key")).unwrap();
    assert!(matches!(bad.voices().await.unwrap_err(), ProviderError::Auth(_)));
}

/// One second of 16 kHz audio.
fn second() -> Vec<u8> {
    vec![0u8; 32_000]
}

#[tokio::test]
async fn stt_transcribes_every_byte_with_partials_and_a_final() {
    let mock = MockVendors::start().await;
    for (provider, vendor, model) in [
        ("deepgram", "deepgram", "nova-3"),
        ("assemblyai", "assemblyai", "universal-streaming-multilingual"),
        ("openai", "openai", "gpt-4o-transcribe"),
        ("openai", "openai", "whisper-1"),
    ] {
        let stt =
            speech_to_text(reqwest::Client::new(), provider, endpoint(&mock, vendor, "sk-test")).unwrap();
        let cfg =
            SttConfig { model: model.into(), language: "fr-FR".into(), sample_rate: 16_000, interim: true };
        let events = transcribe(stt.as_ref(), cfg, &second()).await.unwrap();
        let finals: Vec<&TranscriptEvent> =
            events.iter().filter(|e| matches!(e, TranscriptEvent::Final { .. })).collect();
        assert_eq!(finals.len(), 1, "{provider}/{model}: {events:?}");
        assert!(
            matches!(finals[0], TranscriptEvent::Final { text, .. } if text == "audio of 1000 ms"),
            "{provider}/{model}: {events:?}"
        );
        assert_eq!(events.last(), Some(&TranscriptEvent::EndOfTurn), "{provider}/{model}");
        if model != "whisper-1" {
            assert!(
                events.iter().any(|e| matches!(e, TranscriptEvent::Partial { .. })),
                "{provider}/{model}: partials expected"
            );
        }
    }
    let dg = &mock.state.requests_for("deepgram")[0];
    assert_eq!(dg.headers["authorization"], "Token sk-test");
    assert_eq!(dg.body["language"], "fr");
    assert_eq!(dg.body["sample_rate"], "16000");
    assert_eq!(mock.state.requests_for("assemblyai")[0].headers["authorization"], "sk-test");
}

#[tokio::test]
async fn stt_refused_keys_and_broken_sessions_are_errors() {
    let mock = MockVendors::start().await;
    let cfg =
        |m: &str| SttConfig { model: m.into(), language: "en".into(), sample_rate: 16_000, interim: false };
    for (provider, vendor, model) in [
        ("deepgram", "deepgram", "nova-3"),
        ("assemblyai", "assemblyai", "universal-streaming-english"),
        ("openai", "openai", "gpt-4o-transcribe"),
    ] {
        let stt =
            speech_to_text(reqwest::Client::new(), provider, endpoint(&mock, vendor, "bad-key")).unwrap();
        let e = transcribe(stt.as_ref(), cfg(model), &second()).await.unwrap_err();
        assert!(matches!(e, ProviderError::Auth(_)), "{provider}: {e:?}");
    }
    let dg =
        speech_to_text(reqwest::Client::new(), "deepgram", endpoint(&mock, "deepgram", "midstream-error"))
            .unwrap();
    let e = transcribe(dg.as_ref(), cfg("nova-3"), &second()).await.unwrap_err();
    assert!(matches!(e, ProviderError::Upstream { status: 1011, .. }), "{e:?}");
    let none =
        speech_to_text(reqwest::Client::new(), "deepgram", Endpoint::new(mock.base_url("deepgram"), None))
            .unwrap();
    assert!(matches!(none.start(cfg("nova-3")).await.err().unwrap(), ProviderError::NotConfigured(_)));
    assert!(speech_to_text(reqwest::Client::new(), "anthropic", endpoint(&mock, "anthropic", "k")).is_err());
    assert!(text_to_speech(reqwest::Client::new(), "deepgram", endpoint(&mock, "deepgram", "k")).is_err());
}
