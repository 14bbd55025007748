//! Server-sent events decoding (the WHATWG event-stream format), as used by
//! OpenAI, Anthropic and Gemini for streamed responses.
//!
//! [`SseDecoder`] is a pure push parser (bytes in, events out) so chunk
//! boundaries anywhere — inside a line, inside a UTF-8 sequence, between
//! `\r` and `\n` — are unit-testable; [`events`] adapts a response body and
//! adds the idle timeout.

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};

use crate::error::ProviderError;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field; `None` means the default "message".
    pub event: Option<String>,
    pub data: String,
}

/// Longest line we accept: a stream that never sends a newline is broken,
/// and must not grow memory without bound.
const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    event: Option<String>,
    data: Vec<String>,
    /// The previous chunk ended with `\r`: a leading `\n` belongs to it.
    skip_lf: bool,
}

impl SseDecoder {
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, ProviderError> {
        let mut out = Vec::new();
        let mut chunk = chunk;
        if self.skip_lf {
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                chunk = rest;
            }
            self.skip_lf = false;
        }
        let mut start = 0;
        let mut i = 0;
        while i < chunk.len() {
            let b = chunk[i];
            if b == b'\n' || b == b'\r' {
                self.buf.extend_from_slice(&chunk[start..i]);
                let line = std::mem::take(&mut self.buf);
                self.line(&line, &mut out)?;
                if b == b'\r' {
                    if i + 1 < chunk.len() {
                        if chunk[i + 1] == b'\n' {
                            i += 1;
                        }
                    } else {
                        self.skip_lf = true;
                    }
                }
                start = i + 1;
            }
            i += 1;
        }
        self.buf.extend_from_slice(&chunk[start..]);
        if self.buf.len() > MAX_LINE_BYTES {
            return Err(ProviderError::Malformed("event-stream line too long".into()));
        }
        Ok(out)
    }

    /// Call at end of stream: a final event without its blank line still counts.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, ProviderError> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let line = std::mem::take(&mut self.buf);
            self.line(&line, &mut out)?;
        }
        self.line(b"", &mut out)?;
        Ok(out.pop())
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<SseEvent>) -> Result<(), ProviderError> {
        if line.is_empty() {
            if !self.data.is_empty() {
                out.push(SseEvent { event: self.event.take(), data: self.data.join("\n") });
                self.data.clear();
            }
            self.event = None;
            return Ok(());
        }
        let line = std::str::from_utf8(line)
            .map_err(|_| ProviderError::Malformed("event-stream is not UTF-8".into()))?;
        if line.starts_with(':') {
            return Ok(()); // comment / keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match field {
            "data" => self.data.push(value.to_string()),
            "event" => self.event = Some(value.to_string()),
            _ => {} // id, retry: not needed for one-shot responses
        }
        Ok(())
    }
}

/// Decodes a response body into events. A gap longer than `idle` between
/// two chunks is a [`ProviderError::Timeout`]; dropping the stream closes
/// the connection (that is how callers cancel).
pub fn events<S>(body: S, idle: Duration) -> impl Stream<Item = Result<SseEvent, ProviderError>> + Send
where
    S: Stream<Item = Result<Bytes, reqwest::Error>> + Send + Unpin + 'static,
{
    async_stream::try_stream! {
        let mut body = body;
        let mut decoder = SseDecoder::default();
        loop {
            let next = tokio::time::timeout(idle, body.next()).await.map_err(|_| ProviderError::Timeout)?;
            match next {
                Some(chunk) => {
                    let chunk = chunk.map_err(ProviderError::from_reqwest)?;
                    for ev in decoder.push(&chunk)? {
                        yield ev;
                    }
                }
                None => {
                    if let Some(ev) = decoder.finish()? {
                        yield ev;
                    }
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_in_pieces(input: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        for c in input.chunks(piece.max(1)) {
            out.extend(d.push(c).unwrap());
        }
        out.extend(d.finish().unwrap());
        out
    }

    #[test]
    fn decodes_events_whatever_the_chunking() {
        let input = "event: message_start\ndata: {\"a\":1}\n\n: keep-alive\n\ndata: line1\ndata: line2\r\n\r\ndata:no-space\r\rdata: é✓\n\n";
        let want = vec![
            SseEvent { event: Some("message_start".into()), data: "{\"a\":1}".into() },
            SseEvent { event: None, data: "line1\nline2".into() },
            SseEvent { event: None, data: "no-space".into() },
            SseEvent { event: None, data: "é✓".into() },
        ];
        for piece in [1, 2, 3, 5, 7, 64, 10_000] {
            assert_eq!(decode_in_pieces(input.as_bytes(), piece), want, "piece size {piece}");
        }
    }

    #[test]
    fn last_event_without_blank_line_is_kept() {
        assert_eq!(
            decode_in_pieces(b"data: [DONE]", 4),
            vec![SseEvent { event: None, data: "[DONE]".into() }]
        );
        assert!(decode_in_pieces(b"", 1).is_empty());
        assert!(
            decode_in_pieces(b"event: ping\n\n", 3).is_empty(),
            "an event without data is not dispatched"
        );
    }

    #[test]
    fn invalid_utf8_and_endless_lines_are_errors() {
        let mut d = SseDecoder::default();
        assert!(matches!(d.push(b"data: \xff\xfe\n"), Err(ProviderError::Malformed(_))));
        let mut d = SseDecoder::default();
        let big = vec![b'a'; MAX_LINE_BYTES + 1];
        assert!(matches!(d.push(&big), Err(ProviderError::Malformed(_))));
    }
}
