//! Splitting a `text/event-stream` body into frames, for the browser's
//! streamed playground turns (pure, so it is tested natively).

/// Splits complete SSE frames off `buf` and returns their `data` payloads.
pub fn drain_frames(buf: &mut String) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let normalized = buf.replace("\r\n", "\n");
        if normalized.len() != buf.len() {
            *buf = normalized;
        }
        let Some(pos) = buf.find("\n\n") else { break };
        let frame: String = buf.drain(..pos + 2).collect();
        let data: Vec<&str> = frame
            .lines()
            .filter_map(|l| l.strip_prefix("data:").map(|d| d.strip_prefix(' ').unwrap_or(d)))
            .collect();
        if !data.is_empty() {
            out.push(data.join("\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_across_chunks() {
        let mut buf = String::from("data: {\"type\":\"token\",\"text\":\"a\"}\n\nda");
        assert_eq!(drain_frames(&mut buf), vec!["{\"type\":\"token\",\"text\":\"a\"}"]);
        assert_eq!(buf, "da");
        buf.push_str("ta: x\r\n\r\n: keep-alive\n\n");
        assert_eq!(drain_frames(&mut buf), vec!["x"]);
        assert!(buf.is_empty());
        let mut two = String::from("data:1\n\ndata: 2\ndata: 3\n\n");
        assert_eq!(drain_frames(&mut two), vec!["1", "2\n3"]);
    }
}
