//! Where a rep's call's transcriber puts what it hears: the copilot
//! session that follows the call and the call's turns
//! (`services::copilot::speech::LiveTranscript`).

use async_trait::async_trait;
use domain::copilot::script::Speaker;
use domain::ErrorCode;
use services::copilot::speech::LiveTranscript;
use voice::transcriber::{Line, TranscriptSink};

pub struct SessionSink(pub LiveTranscript);

#[async_trait]
impl TranscriptSink for SessionSink {
    async fn partial(&self, speaker: Speaker, text: String) {
        self.0.partial(speaker, text).await
    }

    async fn line(&self, line: Line) -> bool {
        self.0.line(line.speaker, line.text, line.start_ms, line.end_ms).await
    }

    async fn failed(&self, _speaker: Speaker, code: ErrorCode) {
        self.0.failed(code).await
    }
}
