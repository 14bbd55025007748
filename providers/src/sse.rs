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
/// Largest event we accept: endless `data:` lines without the blank line
/// that ends an event are broken too.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Default)]
pub struct SseDecoder {
    buf: Vec<u8>,
    event: Option<String>,
    /// The event's `data:` lines so far, each followed by `\n`.
    data: String,
    /// The previous chunk ended with `\r`: a leading `\n` belongs to it.
    skip_lf: bool,
}

impl SseDecoder {
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, ProviderError> {
        let mut out = Vec::new();
        let mut chunk = chunk;
        // An empty chunk between the `\r` and the `\n` does not separate them.
        if self.skip_lf && !chunk.is_empty() {
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
                let mut data = std::mem::take(&mut self.data);
                data.pop(); // the last line's `\n`
                out.push(SseEvent { event: self.event.take(), data });
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
            "data" => {
                if self.data.len() + value.len() >= MAX_EVENT_BYTES {
                    return Err(ProviderError::Malformed("event-stream event too large".into()));
                }
                self.data.push_str(value);
                self.data.push('\n');
            }
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

/// Property tests: any bytes, cut anywhere, decode to the same events as a
/// line-by-line reading of the whole stream.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    /// Pieces of event streams: fields, separators of every kind, comments,
    /// multibyte and invalid UTF-8, so inputs reach every branch.
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            6 => prop::sample::select(vec![
                &b"data:"[..], b"data: ", b"data", b"event:", b"event: ", b"id: 7", b"retry: 5", b":", b": ping",
                b"\n", b"\n", b"\r", b"\r\n", b"\n\n", b" ", b"x", b"{\"a\":1}", b"[DONE]", "é✓".as_bytes(),
                b"\xc3", b"\xa9", b"\xff", b"\0", b"data:data:",
            ])
            .prop_map(<[u8]>::to_vec),
            1 => prop::collection::vec(any::<u8>(), 0..16),
        ];
        prop_oneof![
            4 => prop::collection::vec(piece, 0..64).prop_map(|p| p.concat()),
            1 => prop::collection::vec(any::<u8>(), 0..4096),
        ]
    }

    /// Decodes `input` pushed in pieces cut at `cuts` (any positions, repeats
    /// allowed: repeats make empty chunks).
    fn decode_cut(input: &[u8], cuts: &[usize]) -> Result<Vec<SseEvent>, ()> {
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut d = SseDecoder::default();
        let mut out = Vec::new();
        let mut from = 0;
        for to in cuts.into_iter().chain([input.len()]) {
            out.extend(d.push(&input[from..to]).map_err(|_| ())?);
            from = to;
        }
        out.extend(d.finish().map_err(|_| ())?);
        Ok(out)
    }

    /// The event-stream rules read straight from the specification: split
    /// into lines at `\r\n`, `\r` or `\n`; `data` lines accumulate, a blank
    /// line dispatches, the end of the stream dispatches too.
    fn reference(input: &[u8]) -> Result<Vec<SseEvent>, ()> {
        let mut lines: Vec<&[u8]> = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i < input.len() {
            if input[i] == b'\n' || input[i] == b'\r' {
                lines.push(&input[start..i]);
                if input[i] == b'\r' && input.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            i += 1;
        }
        lines.push(&input[start..]);
        lines.push(b"");
        let (mut out, mut event, mut data) = (Vec::new(), None, Vec::<String>::new());
        for line in lines {
            if line.is_empty() {
                if !data.is_empty() {
                    out.push(SseEvent { event: event.take(), data: data.join("\n") });
                    data.clear();
                }
                event = None;
                continue;
            }
            let line = std::str::from_utf8(line).map_err(|_| ())?;
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => data.push(value.to_string()),
                "event" => event = Some(value.to_string()),
                _ => {}
            }
        }
        Ok(out)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_cutting_decodes_like_the_specification(
            input in stream(),
            cuts in prop::collection::vec(any::<usize>(), 0..24),
        ) {
            let want = reference(&input);
            prop_assert_eq!(decode_cut(&input, &[]), want.clone());
            prop_assert_eq!(decode_cut(&input, &cuts), want.clone());
            if let Ok(events) = want {
                // Each event needs a `data` line and, but for the last, a blank line.
                prop_assert!(6 * events.len() <= input.len() + 2);
                let size: usize = events.iter().map(|e| e.data.len() + e.event.as_ref().map_or(0, String::len)).sum();
                prop_assert!(size <= input.len());
                prop_assert!(events.iter().all(|e| !e.data.contains('\r')));
            }
        }

        #[test]
        fn byte_by_byte_equals_all_at_once(input in stream()) {
            let every: Vec<usize> = (0..input.len()).collect();
            prop_assert_eq!(decode_cut(&input, &every), decode_cut(&input, &[]));
        }
    }

    #[test]
    fn an_empty_chunk_between_cr_and_lf_is_no_blank_line() {
        // `data: a\r` | `` | `\ndata: b\n\n` is one event with two lines.
        let input = b"data: a\r\ndata: b\n\n";
        let want = vec![SseEvent { event: None, data: "a\nb".into() }];
        assert_eq!(decode_cut(input, &[8, 8]), Ok(want.clone()));
        assert_eq!(reference(input), Ok(want));
    }

    #[test]
    fn endless_data_lines_without_a_blank_line_are_an_error() {
        let mut d = SseDecoder::default();
        let line = format!("data: {}\n", "x".repeat(1 << 20));
        let failed = (0..32).map(|_| d.push(line.as_bytes())).any(|r| r.is_err());
        assert!(failed, "32 MB of one event were accepted");
    }
}
