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

pub(super) fn reader(text: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .trim(csv::Trim::None)
        .from_reader(text.as_bytes())
}

pub(super) fn headers_of(rdr: &mut csv::Reader<&[u8]>) -> ServiceResult<Vec<String>> {
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
