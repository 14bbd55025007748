//! Bytes to rows: encoding detection (UTF-8, UTF-16 with a BOM, Windows-1252),
//! delimiter sniffing and the CSV reader, with errors that name the problem.

#[allow(unused_imports)]
use super::*;

/// Bytes → text. UTF-8 (BOM optional), UTF-16 with a BOM, and otherwise
/// Windows-1252, which is what spreadsheet software in Western Europe
/// writes when it does not write UTF-8. Line endings become `\n` (Windows
/// `\r\n`, old Mac `\r`), so reported line numbers match what an editor shows.
pub fn decode(data: &[u8]) -> ServiceResult<(String, Encoding)> {
    let (text, encoding) = decode_raw(data)?;
    let text = if text.contains('\r') { text.replace("\r\n", "\n").replace('\r', "\n") } else { text };
    Ok((text, encoding))
}

pub(super) fn decode_raw(data: &[u8]) -> ServiceResult<(String, Encoding)> {
    if data.is_empty() {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    if let Some(rest) = data.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return std::str::from_utf8(rest).map(|s| (s.to_string(), Encoding::Utf8)).map_err(|_| {
            ServiceError::new(ErrorCode::CsvMalformed).with_detail("invalid UTF-8 after a UTF-8 mark")
        });
    }
    for (bom, enc) in [([0xFF, 0xFE], Encoding::Utf16le), ([0xFE, 0xFF], Encoding::Utf16be)] {
        if let Some(rest) = data.strip_prefix(&bom) {
            if rest.len() % 2 != 0 {
                return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("truncated UTF-16"));
            }
            let units = rest.chunks_exact(2).map(|c| {
                if enc == Encoding::Utf16le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            });
            let text: String = char::decode_utf16(units)
                .collect::<Result<_, _>>()
                .map_err(|_| ServiceError::new(ErrorCode::CsvMalformed).with_detail("invalid UTF-16"))?;
            return Ok((text, enc));
        }
    }
    match std::str::from_utf8(data) {
        Ok(s) => {
            if s.contains('\0') {
                return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("binary content"));
            }
            Ok((s.to_string(), Encoding::Utf8))
        }
        Err(_) => {
            if data.contains(&0) {
                return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("binary content"));
            }
            Ok((data.iter().map(|&b| windows_1252(b)).collect(), Encoding::Windows1252))
        }
    }
}

pub(super) fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}',
        '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[(b - 0x80) as usize],
        _ => b as char,
    }
}

/// The delimiter that splits the header line into the most fields
/// (`,` `;` tab `|`; quotes respected). French spreadsheets use `;`.
pub fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 4];
    let cands = [b',', b';', b'\t', b'|'];
    let mut in_quotes = false;
    for b in text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => break,
            _ if !in_quotes => {
                if let Some(i) = cands.iter().position(|c| *c == b) {
                    counts[i] += 1;
                }
            }
            _ => {}
        }
    }
    let best = (0..4).max_by_key(|i| (counts[*i], 3 - i)).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        cands[best]
    }
}

#[cfg(test)]
pub(super) fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes())
}

pub(super) fn headers_of<R: std::io::Read>(rdr: &mut csv::Reader<R>) -> ServiceResult<Vec<String>> {
    let h = rdr.headers().map_err(csv_error)?;
    let headers: Vec<String> = h
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let s = s.trim();
            if s.is_empty() {
                format!("Column {}", i + 1)
            } else {
                s.chars().take(100).collect()
            }
        })
        .collect();
    if headers.is_empty() || (headers.len() == 1 && h.get(0).is_none_or(|s| s.trim().is_empty())) {
        return Err(ServiceError::new(ErrorCode::CsvEmpty));
    }
    if headers.len() > MAX_COLUMNS {
        return Err(ServiceError::new(ErrorCode::CsvMalformed)
            .with_detail(format!("more than {MAX_COLUMNS} columns")));
    }
    Ok(headers)
}

pub(super) fn csv_error(e: csv::Error) -> ServiceError {
    let line = e.position().map(|p| format!(" (line {})", p.line())).unwrap_or_default();
    ServiceError::new(ErrorCode::CsvMalformed).with_detail(format!("{}{line}", e.kind_name()))
}

pub(super) trait KindName {
    fn kind_name(&self) -> &'static str;
}

impl KindName for csv::Error {
    fn kind_name(&self) -> &'static str {
        match self.kind() {
            csv::ErrorKind::Utf8 { .. } => "invalid text encoding",
            csv::ErrorKind::UnequalLengths { .. } => "rows of unequal length",
            csv::ErrorKind::Io(_) => "unreadable data",
            _ => "unreadable CSV",
        }
    }
}

/// A record with every field blank (trailing empty lines, `;;;` rows).
pub(super) fn is_blank(r: &csv::StringRecord) -> bool {
    r.iter().all(|f| f.trim().is_empty())
}

/// Decides a file's encoding while its bytes stream past, with the same
/// rules as [`decode`]: a byte-order mark wins; otherwise UTF-8 if every
/// byte sequence is, else Windows-1252; NUL bytes outside UTF-16 are binary.
#[derive(Default)]
pub(super) struct EncodingProbe {
    head: Vec<u8>,
    /// The tail of the last piece: an incomplete UTF-8 sequence.
    carry: Vec<u8>,
    utf8: bool,
    nul: bool,
    len: u64,
    started: bool,
}

impl EncodingProbe {
    pub(super) fn new() -> Self {
        EncodingProbe { utf8: true, ..Default::default() }
    }

    pub(super) fn feed(&mut self, piece: &[u8]) {
        self.started = true;
        self.len += piece.len() as u64;
        if self.head.len() < 3 {
            let take = (3 - self.head.len()).min(piece.len());
            self.head.extend_from_slice(&piece[..take]);
        }
        if !self.nul && piece.contains(&0) {
            self.nul = true;
        }
        if !self.utf8 {
            return;
        }
        let mut joined;
        let bytes = if self.carry.is_empty() {
            piece
        } else {
            joined = std::mem::take(&mut self.carry);
            joined.extend_from_slice(piece);
            &joined[..]
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => {}
            // Cut inside a character: keep its first bytes for the next piece.
            Err(e) if e.error_len().is_none() => self.carry = bytes[e.valid_up_to()..].to_vec(),
            Err(_) => self.utf8 = false,
        }
    }

    pub(super) fn finish(self) -> ServiceResult<Encoding> {
        if !self.started || self.len == 0 {
            return Err(ServiceError::new(ErrorCode::CsvEmpty));
        }
        let complete = self.utf8 && self.carry.is_empty();
        if self.head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            return if complete {
                Ok(Encoding::Utf8)
            } else {
                Err(ServiceError::new(ErrorCode::CsvMalformed)
                    .with_detail("invalid UTF-8 after a UTF-8 mark"))
            };
        }
        for (bom, enc) in [([0xFF, 0xFE], Encoding::Utf16le), ([0xFE, 0xFF], Encoding::Utf16be)] {
            if self.head.starts_with(&bom) {
                if !self.len.is_multiple_of(2) {
                    return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("truncated UTF-16"));
                }
                return Ok(enc);
            }
        }
        if self.nul {
            return Err(ServiceError::new(ErrorCode::CsvMalformed).with_detail("binary content"));
        }
        Ok(if complete { Encoding::Utf8 } else { Encoding::Windows1252 })
    }
}

/// The stored bytes as UTF-8 text with `\n` line endings, decoded as they
/// are read (what [`decode`] does to a whole file, for a stream).
pub(super) struct DecodingReader<R> {
    inner: R,
    encoding: Encoding,
    at_start: bool,
    bom_seen: usize,
    /// A `\r` ended the last block: a `\n` opening the next is its pair.
    pending_cr: bool,
    /// A UTF-16 unit cut in two, or a high surrogate waiting for its pair.
    odd: Vec<u8>,
    high: Option<u16>,
    block: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    done: bool,
}

impl<R: std::io::Read> DecodingReader<R> {
    pub(super) fn new(inner: R, encoding: Encoding) -> Self {
        DecodingReader {
            inner,
            encoding,
            at_start: true,
            bom_seen: 0,
            pending_cr: false,
            odd: Vec::new(),
            high: None,
            block: vec![0; 64 * 1024],
            out: Vec::with_capacity(96 * 1024),
            pos: 0,
            done: false,
        }
    }

    fn malformed(what: &str) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string())
    }

    /// Decodes the next block into `out`; false at the end.
    fn fill(&mut self) -> std::io::Result<bool> {
        self.out.clear();
        self.pos = 0;
        while self.out.is_empty() {
            if self.done {
                return Ok(false);
            }
            let n = self.inner.read(&mut self.block)?;
            if n == 0 {
                self.done = true;
                if !self.odd.is_empty() || self.high.is_some() {
                    return Err(Self::malformed("truncated UTF-16"));
                }
                return Ok(!self.out.is_empty());
            }
            // Taken out for the block's duration (normalising borrows `self`).
            let block = std::mem::take(&mut self.block);
            let mut bytes = &block[..n];
            let mut text = String::new();
            // The byte-order mark, which may arrive split over several reads.
            let mut owned_head: Vec<u8>;
            if self.at_start {
                let bom: &[u8] = match self.encoding {
                    Encoding::Utf8 => &[0xEF, 0xBB, 0xBF],
                    Encoding::Utf16le => &[0xFF, 0xFE],
                    Encoding::Utf16be => &[0xFE, 0xFF],
                    Encoding::Windows1252 => &[],
                };
                while self.bom_seen < bom.len() && !bytes.is_empty() && bytes[0] == bom[self.bom_seen] {
                    self.bom_seen += 1;
                    bytes = &bytes[1..];
                }
                if self.bom_seen == bom.len() {
                    self.at_start = false;
                } else if !bytes.is_empty() {
                    // Not a mark after all: its first bytes are text.
                    self.at_start = false;
                    owned_head = bom[..self.bom_seen].to_vec();
                    owned_head.extend_from_slice(bytes);
                    bytes = &owned_head[..];
                } else {
                    self.block = block;
                    continue;
                }
            }
            match self.encoding {
                Encoding::Utf8 => {
                    // Validated by the upload; invalid text surfaces as a CSV
                    // error, never as mangled data.
                    self.normalise(bytes);
                    self.block = block;
                    continue;
                }
                Encoding::Windows1252 => text.extend(bytes.iter().map(|&b| windows_1252(b))),
                Encoding::Utf16le | Encoding::Utf16be => {
                    let mut joined;
                    let bytes = if self.odd.is_empty() {
                        bytes
                    } else {
                        joined = std::mem::take(&mut self.odd);
                        joined.extend_from_slice(bytes);
                        &joined[..]
                    };
                    let whole = bytes.len() / 2 * 2;
                    self.odd = bytes[whole..].to_vec();
                    for c in bytes[..whole].chunks_exact(2) {
                        let unit = if self.encoding == Encoding::Utf16le {
                            u16::from_le_bytes([c[0], c[1]])
                        } else {
                            u16::from_be_bytes([c[0], c[1]])
                        };
                        match (self.high.take(), unit) {
                            (None, 0xD800..=0xDBFF) => self.high = Some(unit),
                            (None, 0xDC00..=0xDFFF) => return Err(Self::malformed("invalid UTF-16")),
                            (None, u) => text.push(char::from_u32(u as u32).unwrap_or('\u{FFFD}')),
                            (Some(h), 0xDC00..=0xDFFF) => {
                                let cp = 0x10000 + (((h as u32) - 0xD800) << 10) + ((unit as u32) - 0xDC00);
                                text.push(
                                    char::from_u32(cp).ok_or_else(|| Self::malformed("invalid UTF-16"))?,
                                )
                            }
                            (Some(_), _) => return Err(Self::malformed("invalid UTF-16")),
                        }
                    }
                }
            }
            self.block = block;
            let owned = text.into_bytes();
            self.normalise(&owned);
        }
        Ok(true)
    }

    /// Appends `bytes` to `out` with `\r\n` and lone `\r` turned into `\n`.
    fn normalise(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\r' => {
                    self.out.push(b'\n');
                    self.pending_cr = true;
                }
                b'\n' if self.pending_cr => self.pending_cr = false,
                _ => {
                    self.pending_cr = false;
                    self.out.push(b);
                }
            }
        }
    }
}

impl<R: std::io::Read> std::io::Read for DecodingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.out.len() && !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// A CSV reader over a stream: reads up to 64 KiB ahead to sniff the
/// delimiter from the header line, then reads everything once.
/// The CSV reader over a stream whose first block was read ahead.
pub(super) type StreamCsv<R> = csv::Reader<std::io::Chain<std::io::Cursor<Vec<u8>>, R>>;

pub(super) fn stream_reader<R: std::io::Read>(
    mut text: R,
    delimiter: Option<u8>,
) -> std::io::Result<(u8, StreamCsv<R>)> {
    let mut head = vec![0u8; 64 * 1024];
    let mut filled = 0;
    while filled < head.len() {
        let n = text.read(&mut head[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    // Cut at a character boundary for sniffing (the bytes go on whole).
    let sniffable = match std::str::from_utf8(&head) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
    };
    let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(sniffable));
    let rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::None)
        .from_reader(std::io::Read::chain(std::io::Cursor::new(head), text));
    Ok((delimiter, rdr))
}

#[cfg(test)]
mod stream_tests {
    use std::io::Read;

    use super::*;

    /// Reads `data` through the probe and the decoder in pieces of `step`
    /// bytes, as a stored file would arrive.
    fn stream_decode(data: &[u8], step: usize) -> ServiceResult<(String, Encoding)> {
        let mut probe = EncodingProbe::new();
        for piece in data.chunks(step.max(1)) {
            probe.feed(piece);
        }
        let enc = probe.finish()?;
        struct Slow<'a>(&'a [u8], usize);
        impl Read for Slow<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.1.min(out.len()).min(self.0.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut text = String::new();
        DecodingReader::new(Slow(data, step.max(1)), enc)
            .read_to_string(&mut text)
            .map_err(|_| ServiceError::new(ErrorCode::CsvMalformed))?;
        Ok((text, enc))
    }

    #[test]
    fn streaming_decodes_like_the_whole_file_at_every_cut() {
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("é,b\r\n😀,x\r".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        let samples: Vec<&[u8]> = vec![
            b"a,b\r\n1,2\r3,4\n",
            b"\xEF\xBB\xBFnom;pr\xC3\xA9nom\r\n",
            b"soci\xE9t\xE9;\x80\r\n\xC3\xA9",
            &utf16,
            b"caf\xC3\xA9\xE2\x82\xAC,x",
        ];
        for data in samples {
            let whole = decode(data).unwrap();
            for step in [1, 2, 3, 5, 7, 64 * 1024] {
                assert_eq!(stream_decode(data, step).unwrap(), whole, "step {step} of {data:?}");
            }
        }
        assert_eq!(stream_decode(b"", 3).unwrap_err().code, ErrorCode::CsvEmpty);
        assert_eq!(stream_decode(b"a\0b", 3).unwrap_err().code, ErrorCode::CsvMalformed);
        assert!(stream_decode(&[0xFF, 0xFE, 0x00], 1).is_err(), "odd UTF-16");
    }
}
