//! Joins a LiveKit room through `liblivekit_ffi.so`, waits for a remote audio
//! track, records it for a while and reports what it heard as JSON. The
//! LiveKit conformance tests (conformance/livekit) use it to prove the Rust
//! binding receives real media from a real server.
//!
//! rtc-probe --lib PATH --url ws://… --token JWT [--from IDENTITY] [--seconds 2]
//!           [--sample-rate 16000] [--wav OUT.wav] [--connect-timeout-ms 15000]
//!
//! Exit status: 0 heard, 1 failed (reason on stderr), 2 bad arguments.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use rtc::proto::{room_event, TrackKind};
use rtc::{AudioStream, FfiClient, OwnedHandle, Room, RoomOptions};

struct Args {
    lib: String,
    url: String,
    token: String,
    from: Option<String>,
    seconds: f64,
    sample_rate: u32,
    wav: Option<PathBuf>,
    connect_timeout_ms: u64,
}

fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        lib: std::env::var("LIVEKIT_FFI_LIB").unwrap_or_default(),
        url: String::new(),
        token: String::new(),
        from: None,
        seconds: 2.0,
        sample_rate: 16_000,
        wav: None,
        connect_timeout_ms: 15_000,
    };
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--lib" => args.lib = value()?,
            "--url" => args.url = value()?,
            "--token" => args.token = value()?,
            "--from" => args.from = Some(value()?),
            "--seconds" => args.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--sample-rate" => {
                args.sample_rate = value()?.parse().map_err(|e| format!("--sample-rate: {e}"))?
            }
            "--wav" => args.wav = Some(value()?.into()),
            "--connect-timeout-ms" => {
                args.connect_timeout_ms =
                    value()?.parse().map_err(|e| format!("--connect-timeout-ms: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.lib.is_empty() || args.url.is_empty() || args.token.is_empty() {
        return Err("--lib (or LIVEKIT_FFI_LIB), --url and --token are required".into());
    }
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        return Err("--seconds must be in (0, 600]".into());
    }
    if !(8_000..=48_000).contains(&args.sample_rate) {
        return Err("--sample-rate must be between 8000 and 48000".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    tracing_subscriber_init();
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("rtc-probe: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("rtc-probe: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) => {
            println!("{report}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("rtc-probe: {e}");
            ExitCode::from(1)
        }
    }
}

/// The library's logs go to stderr, filtered by RUST_LOG (warnings by
/// default); stdout carries only the report.
fn tracing_subscriber_init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn run(args: Args) -> Result<serde_json::Value, String> {
    let client = FfiClient::load(&args.lib).map_err(|e| e.to_string())?;
    let options = RoomOptions { connect_timeout_ms: args.connect_timeout_ms, ..Default::default() };
    let connect = Room::connect(client, &args.url, &args.token, options);
    let mut room = tokio::time::timeout(Duration::from_millis(args.connect_timeout_ms + 5_000), connect)
        .await
        .map_err(|_| "could not connect: timed out".to_string())?
        .map_err(|e| e.to_string())?;

    let wanted = |identity: &str| args.from.as_deref().is_none_or(|f| f == identity);
    let (participant, track) = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = room.next_event().await {
            if let room_event::Message::TrackSubscribed(sub) = event {
                let track = sub.track;
                if track.info.kind() == TrackKind::KindAudio && wanted(&sub.participant_identity) {
                    return Some((sub.participant_identity, track));
                }
                // Not the one we listen to: give its handle back.
                drop(OwnedHandle::new(&track.handle));
            }
        }
        None
    })
    .await
    .map_err(|_| "no matching audio track within 20 s".to_string())?
    .ok_or("the room closed before an audio track arrived")?;

    let track_sid = track.info.sid.clone();
    let mut stream = AudioStream::open(client, track, args.sample_rate, 1).map_err(|e| e.to_string())?;
    let wanted_samples = (args.seconds * args.sample_rate as f64) as usize;
    let mut samples: Vec<i16> = Vec::with_capacity(wanted_samples);
    let mut frames = 0usize;
    tokio::time::timeout(Duration::from_secs_f64(args.seconds + 20.0), async {
        while samples.len() < wanted_samples {
            let Some(frame) = stream.next().await else { break };
            if frame.sample_rate != args.sample_rate || frame.num_channels != 1 {
                return Err(format!(
                    "asked for {} Hz mono, got {} Hz x{}",
                    args.sample_rate, frame.sample_rate, frame.num_channels
                ));
            }
            frames += 1;
            samples.extend_from_slice(&frame.data);
        }
        Ok(())
    })
    .await
    .map_err(|_| "audio stopped arriving".to_string())??;
    drop(stream);

    if let Some(path) = &args.wav {
        write_wav(path, args.sample_rate, &samples).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let rms = if samples.is_empty() {
        0.0
    } else {
        (samples.iter().map(|&s| (s as f64).powi(2)).sum::<f64>() / samples.len() as f64).sqrt()
    };
    let report = serde_json::json!({
        "room": room.name(),
        "participant": participant,
        "track_sid": track_sid,
        "sample_rate": args.sample_rate,
        "channels": 1,
        "frames": frames,
        "seconds": samples.len() as f64 / args.sample_rate as f64,
        "rms": rms,
    });
    room.disconnect().await.map_err(|e| e.to_string())?;
    Ok(report)
}

/// 16-bit mono PCM WAV.
fn write_wav(path: &PathBuf, rate: u32, samples: &[i16]) -> std::io::Result<()> {
    let pcm: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::File::create(path)?.write_all(&domain::audio::wav_pcm16_mono(&pcm, rate))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn requires_url_token_and_library() {
        assert!(args(&["--url", "ws://x"]).is_err());
        let ok = args(&["--lib", "/l.so", "--url", "ws://x", "--token", "t", "--from", "bob"]).unwrap();
        assert_eq!(ok.from.as_deref(), Some("bob"));
        assert_eq!(ok.sample_rate, 16_000);
    }

    #[test]
    fn rejects_nonsense_values() {
        let base = ["--lib", "/l.so", "--url", "ws://x", "--token", "t"];
        for extra in [["--seconds", "0"], ["--seconds", "NaN"], ["--sample-rate", "100"], ["--bogus", "1"]] {
            let list: Vec<&str> = base.iter().copied().chain(extra).collect();
            assert!(args(&list).is_err(), "{extra:?} accepted");
        }
        assert!(args(&["--lib"]).is_err(), "a flag without its value");
    }

    #[test]
    fn wav_header_describes_the_samples() {
        let dir = std::env::temp_dir().join(format!("rtc-probe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.wav");
        write_wav(&path, 16_000, &[0, 1, -1, i16::MAX]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 44 + 8);
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes(bytes[24..28].try_into().unwrap()), 16_000);
        assert_eq!(u32::from_le_bytes(bytes[40..44].try_into().unwrap()), 8);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
