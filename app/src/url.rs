//! Building URLs in the browser and on the server alike (no `web_sys`).

/// Percent-encodes a query-string value or path segment: everything but
/// RFC 3986's unreserved characters, byte by byte (so UTF-8 survives).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_and_non_ascii_bytes_are_escaped() {
        assert_eq!(encode_component("ada-lovelace_1.~"), "ada-lovelace_1.~");
        assert_eq!(encode_component("/invite/a b?c=d&e"), "%2Finvite%2Fa%20b%3Fc%3Dd%26e");
        assert_eq!(encode_component("é"), "%C3%A9");
    }
}
