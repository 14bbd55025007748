//! Silero VAD through ONNX Runtime on real speech (espeak-ng): it finds the
//! speech where it is, stays quiet on silence and noise, and a missing
//! library or model is a clear error naming what to set.

mod support;

use std::path::Path;

use voice::vad::{SileroModel, VadConfig, VadError, VadEvent, VadStream};

#[test]
fn speech_is_found_where_it_is_and_silence_is_left_alone() {
    let Some(model) = support::vad() else { return };
    let speech = voice::simulate::espeak("Hello, this is Handoo calling about your fleet.", "en", 16_000);
    let lead = 16_000 / 2; // 500 ms of silence first
    let mut audio = vec![0i16; lead];
    audio.extend(&speech);
    audio.extend(vec![0i16; 16_000]);
    let mut vad = VadStream::new(model, VadConfig::default());
    let mut events = Vec::new();
    for frame in audio.chunks(320) {
        events.extend(vad.push(frame).unwrap());
    }
    let starts: Vec<u64> = events
        .iter()
        .filter_map(|e| if let VadEvent::SpeechStart { at_ms } = e { Some(*at_ms) } else { None })
        .collect();
    let ends: Vec<u64> = events
        .iter()
        .filter_map(|e| if let VadEvent::SpeechEnd { at_ms } = e { Some(*at_ms) } else { None })
        .collect();
    assert!(!starts.is_empty() && !ends.is_empty(), "{events:?}");
    let voiced = voice::simulate::voiced_span(&speech, 16_000);
    let (first, last) = (500 + voiced.0, 500 + voiced.1);
    assert!(starts[0].abs_diff(first) <= 100, "speech from {first} ms, detected at {}", starts[0]);
    assert!(
        ends.last().unwrap().abs_diff(last) <= 150,
        "speech until {last} ms, detected to {:?}",
        ends.last()
    );
    assert!(!vad.is_speaking());
}

#[test]
fn noise_and_hum_are_not_speech() {
    let Some(model) = support::vad() else { return };
    let mut vad = VadStream::new(model, VadConfig::default());
    // Low white noise and a 50 Hz hum, two seconds each.
    let mut seed = 7u32;
    let noise: Vec<i16> = (0..32_000)
        .map(|_| {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((seed >> 16) as i16) / 64
        })
        .collect();
    let hum: Vec<i16> = (0..32_000)
        .map(|i| (3000.0 * (2.0 * std::f64::consts::PI * 50.0 * i as f64 / 16_000.0).sin()) as i16)
        .collect();
    for frame in noise.chunks(320).chain(hum.chunks(320)) {
        let events = vad.push(frame).unwrap();
        assert!(events.is_empty(), "{events:?} at {} ms (p = {})", vad.position_ms(), vad.last_probability);
    }
}

#[test]
fn a_missing_model_or_library_names_what_to_set() {
    let lib = std::env::var("HANDOO_ONNXRUNTIME_LIB").unwrap_or_default();
    if Path::new(&lib).is_file() {
        let e = SileroModel::load(Path::new(&lib), Path::new("/nonexistent/silero.onnx"), 1).unwrap_err();
        assert!(matches!(e, VadError::MissingModel(_)) && e.to_string().contains("HANDOO_VAD_MODEL"), "{e}");
    }
    let e = SileroModel::load(Path::new("/nonexistent/libonnxruntime.so"), Path::new("/x"), 1).unwrap_err();
    // Either not there, or (once loaded in this process) another library.
    assert!(
        e.to_string().contains("HANDOO_ONNXRUNTIME_LIB") || matches!(e, VadError::OtherLibrary(_)),
        "{e}"
    );
}
