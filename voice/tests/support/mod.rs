//! What the voice tests share: a job runner the test drives, waiting for
//! the worker's events, speech made by espeak-ng. (Each test file uses a part.)
#![allow(dead_code)]

use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use voice::{AssignedJob, JobRunner, WorkerEvent};

/// A job as the test sees it start, and how the test ends it.
pub type Started = (AssignedJob, oneshot::Sender<Result<(), String>>);

/// Announces each job to the test, then runs it until the test ends it (or
/// the server terminates it: a failure, "terminated by the server").
pub struct Calls {
    started: Mutex<mpsc::UnboundedSender<Started>>,
}

impl Calls {
    pub fn new() -> (Calls, mpsc::UnboundedReceiver<Started>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Calls { started: Mutex::new(tx) }, rx)
    }
}

impl JobRunner for Calls {
    fn run(&self, job: AssignedJob, cancel: CancellationToken) -> BoxFuture<'static, Result<(), String>> {
        let (end_tx, end_rx) = oneshot::channel();
        let _ = self.started.lock().unwrap().send((job, end_tx));
        Box::pin(async move {
            tokio::select! {
                r = end_rx => r.unwrap_or(Ok(())),
                _ = cancel.cancelled() => Err("terminated by the server".into()),
            }
        })
    }
}

/// The next job the worker starts, within `secs`.
pub async fn next_job(started: &mut mpsc::UnboundedReceiver<Started>, secs: u64) -> Started {
    tokio::time::timeout(Duration::from_secs(secs), started.recv()).await.expect("a job").expect("the runner")
}

/// Waits up to `secs` for the event `pick` wants.
pub async fn until<T>(
    events: &mut broadcast::Receiver<WorkerEvent>,
    secs: u64,
    what: &str,
    mut pick: impl FnMut(&WorkerEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let e = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no {what} within {secs} s"))
            .expect("worker events");
        if let Some(t) = pick(&e) {
            return t;
        }
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
    let (from, pcm) = voice::audio::read_wav(&out.stdout).expect("espeak-ng's WAV");
    voice::audio::Resampler::new(from, rate).process(&pcm)
}

/// The first and last millisecond of `pcm` louder than a whisper (20 ms frames).
pub fn voiced_span(pcm: &[i16], rate: u32) -> (u64, u64) {
    let frame = rate as usize / 50;
    let loud: Vec<usize> =
        pcm.chunks(frame).enumerate().filter(|(_, f)| voice::audio::rms(f) > 300.0).map(|(i, _)| i).collect();
    (*loud.first().unwrap_or(&0) as u64 * 20, (*loud.last().unwrap_or(&0) as u64 + 1) * 20)
}
