//! CSV import: upload (decode, sniff the delimiter, suggest a mapping), dry
//! run (a report per row), and the import itself as a background job.
//!
//! The file is stored in chunks as it arrives and read back as a stream
//! (never whole in memory). The job runs in **one transaction**: a failure at row 80,000 leaves no
//! partial rows, and a job can only be started once (a conditional
//! `pending → running` update), so a double click or a retried request never
//! imports twice. The job runs on the job runner (`crate::jobs`): its progress
//! is written to the import's row, so any node reports it, and a job whose
//! node died is taken over when its lease expires (nothing was written, so
//! it starts again from a clean slate).
//!
//! By concern: [`decode`] (bytes to rows), [`upload`], [`plan`] (the dry run
//! and the job share it), [`job`] (on the runner) and [`write`] (one
//! transaction).

// Shared with the submodules, which each start with `use super::*`: a
// name used only there reads as unused here.
#[allow(unused_imports)]
use std::collections::{BTreeMap, HashMap};
#[allow(unused_imports)]
use std::sync::atomic::{AtomicU64, Ordering};
#[allow(unused_imports)]
use std::sync::Arc;

#[allow(unused_imports)]
use domain::phone::{infer_timezone, normalize_phone};
#[allow(unused_imports)]
use domain::prospect::{normalize_tags, normalize_text, split_tags, CustomFieldDef, ProspectStatus};
#[allow(unused_imports)]
use domain::prospect_import::{
    suggest_mapping, DryRunReport, DuplicatePolicy, Encoding, ImportJob, ImportOptions, ImportPreview,
    JobState, RowIssue, RowReport, Target, MAX_REPORTED_ROWS,
};
#[allow(unused_imports)]
use domain::{ErrorCode, Permission};
#[allow(unused_imports)]
use entity::{prospect_imports as imports, prospect_notes as notes, prospects};
#[allow(unused_imports)]
use sea_orm::sea_query::{Expr, Query, SimpleExpr};
#[allow(unused_imports)]
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
#[allow(unused_imports)]
use serde::{Deserialize, Serialize};
#[allow(unused_imports)]
use serde_json::{json, Value};
#[allow(unused_imports)]
use uuid::Uuid;

#[allow(unused_imports)]
use super::{compliance, custom_fields, custom_of, search_text, timeline};
#[allow(unused_imports)]
use crate::events::EventBus;
use crate::{jobs, new_id, now, OrgCtx, ServiceError, ServiceResult};

pub const MAX_COLUMNS: usize = 200;
/// Rows per INSERT on SQLite (its parameter limit); PostgreSQL batches are
/// one JSON document each and can be larger.
const BATCH: usize = 400;
const PG_BATCH: usize = 5000;

mod decode;
mod job;
mod plan;
mod store;
mod upload;
mod write;

#[allow(unused_imports)]
use self::{decode::*, job::*, plan::*, store::*, upload::*, write::*};

pub use self::decode::{decode, sniff_delimiter};
pub use self::job::{job, list_jobs, start, watch, ImportHandler, IMPORT_JOB};
pub use self::plan::{dry_run, problems_csv};
pub use self::upload::{
    forget_stale_uploads, human_bytes, upload, ImportLimits, MAX_PENDING_UPLOADS, UPLOAD_TTL_HOURS,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        assert_eq!(decode(b"a,b\n1,2").unwrap().1, Encoding::Utf8);
        let (t, e) = decode(b"\xEF\xBB\xBFnom;pr\xC3\xA9nom").unwrap();
        assert_eq!((t.as_str(), e), ("nom;prénom", Encoding::Utf8));
        let (t, e) = decode(b"soci\xE9t\xE9;\x80").unwrap();
        assert_eq!((t.as_str(), e), ("société;€", Encoding::Windows1252));
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("é,b".encode_utf16().flat_map(|u| u.to_le_bytes())).collect();
        assert_eq!(decode(&utf16).unwrap(), ("é,b".to_string(), Encoding::Utf16le));
        assert_eq!(decode(b"").unwrap_err().code, ErrorCode::CsvEmpty);
        assert_eq!(decode(b"\x89PNG\r\n\x1a\n\0\0").unwrap_err().code, ErrorCode::CsvMalformed);
    }

    #[test]
    fn delimiters_are_sniffed_from_the_header_line() {
        assert_eq!(sniff_delimiter("a,b,c\n1;2;3;4;5"), b',');
        assert_eq!(sniff_delimiter("nom;prénom;\"a,b\"\n"), b';');
        assert_eq!(sniff_delimiter("a\tb\tc"), b'\t');
        assert_eq!(sniff_delimiter("single"), b',');
    }

    fn opts(mapping: Vec<Target>) -> ImportOptions {
        ImportOptions {
            mapping,
            new_fields: vec![],
            duplicates: DuplicatePolicy::Skip,
            default_region: None,
            tags: vec![],
        }
    }

    #[test]
    fn the_plan_reports_every_kind_of_bad_row() {
        let csv = "name,phone,email,status\n\
                   Jean Dupont,06 12 34 56 78,jean@acme.fr,interested\n\
                   Bad Phone,12,,\n\
                   No Contact,,,\n\
                   ,0612345679,,\n\
                   Dup In File,06 12 34 56 78,,\n\
                   Ragged,0612345670\n\
                   \"Multi\nLine\",0612345671,bad@,new\n\
                   Existing,0612345672,,maybe\n\
                   Existing Two,0612345673,,\n";
        let mapping = vec![Target::FullName, Target::Phone, Target::Email, Target::Status];
        let mut existing = Existing::default();
        let known = Uuid::now_v7();
        existing.by_phone.insert("+33612345673".into(), known);
        let plan = plan(csv, b',', &opts(mapping), &[], &[], Some("FR"), &existing).unwrap();
        let r = &plan.report;
        assert_eq!(r.total_rows, 9);
        assert_eq!(r.to_create, 1);
        assert_eq!(r.duplicates_in_file, 1);
        assert_eq!(r.duplicates_existing, 1);
        assert_eq!(r.invalid, 6);
        let kinds = |row: u64| -> Vec<String> {
            r.rows
                .iter()
                .find(|x| x.row == row)
                .map(|x| x.issues.iter().map(issue_key).collect())
                .unwrap_or_default()
        };
        assert_eq!(kinds(2), vec!["invalid_phone"]);
        assert_eq!(kinds(3), vec!["missing_contact"]);
        assert_eq!(kinds(4), vec!["missing_name"]);
        assert_eq!(kinds(5), vec!["duplicate_in_file"]);
        assert_eq!(kinds(6), vec!["ragged"]);
        assert_eq!(kinds(7), vec!["invalid_email"]);
        assert_eq!(kinds(8), vec!["invalid_status"]);
        assert_eq!(kinds(9), vec!["duplicate_existing"]);
        // The quoted newline makes row 8 start on line 9 of the file.
        assert_eq!(r.rows.iter().find(|x| x.row == 8).unwrap().line, 10);
        let created = &plan.creates[0];
        assert_eq!((created.first.as_str(), created.last.as_str()), ("Jean", "Dupont"));
        assert_eq!(created.phone.as_deref(), Some("+33612345678"));
        assert_eq!(created.timezone, "Europe/Paris");
        assert_eq!(created.status, ProspectStatus::Interested);
    }

    #[test]
    fn options_are_checked_against_the_file() {
        let e = check_options(&opts(vec![Target::Phone]), 2, &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::MappingInvalid);
        let e = check_options(&opts(vec![Target::Phone, Target::Phone]), 2, &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::MappingInvalid);
        let e = check_options(&opts(vec![Target::FirstName, Target::Company]), 2, &[]).unwrap_err();
        assert_eq!(e.detail.as_deref(), Some("map a phone or an email column"));
        let e = check_options(&opts(vec![Target::Phone, Target::Custom("nope".into())]), 2, &[]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidFieldName);
        assert!(check_options(&opts(vec![Target::Phone, Target::Ignore]), 2, &[]).is_ok());
    }
}

/// Property tests of the pure import pipeline (decode → sniff → read →
/// plan): any bytes are either refused with a CSV error or read, never a
/// panic, and what is read is bounded by what was uploaded.
#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    use super::*;

    fn is_csv_error(e: &ServiceError) -> bool {
        matches!(e.code, ErrorCode::CsvEmpty | ErrorCode::CsvMalformed)
    }

    /// Bytes built from what CSV files are made of — delimiters, quotes,
    /// line endings, byte-order marks, Windows-1252 and UTF-8 text, NULs —
    /// so inputs reach every branch of the decoder and the reader.
    fn csv_bytes() -> impl Strategy<Value = Vec<u8>> {
        let piece = prop_oneof![
            8 => prop::sample::select(vec![
                &b","[..], b";", b"\t", b"|", b"\"", b"\"\"", b"\n", b"\n", b"\r", b"\r\n", b" ", b"a", b"Jean Dupont",
                b"name", b"phone", b"email", b"tags", b"Nom", b"06 12 34 56 78", b"+33612345678", b"x@y.fr", b"new",
                b"Europe/Paris", b"\xEF\xBB\xBF", b"\xFF\xFE", b"\xFE\xFF", b"\0", b"\xE9", b"\x80", b"\x9D",
                b"\xC3\xA9", b"\xC3", b"\xF0\x9F\x98\x80",
            ])
            .prop_map(<[u8]>::to_vec),
            1 => prop::collection::vec(any::<u8>(), 0..16),
        ];
        prop_oneof![
            6 => prop::collection::vec(piece, 0..96).prop_map(|p| p.concat()),
            2 => prop::collection::vec(any::<u8>(), 0..4096),
            // A quoted field that never ends, or ends far away.
            1 => (1usize..16_384, any::<bool>()).prop_map(|(n, close)| {
                let mut v = b"name,phone\n\"".to_vec();
                v.extend(std::iter::repeat_n(b'x', n));
                if close {
                    v.extend_from_slice(b"\",0612345678\n");
                }
                v
            }),
        ]
    }

    /// Files that look like real prospect lists, so the planner gets rows
    /// worth validating: known headers, valid and invalid values, quoted
    /// cells with delimiters and newlines, ragged and blank rows.
    fn prospect_file() -> impl Strategy<Value = String> {
        let header = prop::sample::select(vec![
            "name",
            "First name",
            "Nom",
            "Prénom",
            "Société",
            "phone",
            "Téléphone",
            "email",
            "Courriel",
            "tags",
            "status",
            "timezone",
            "note",
            "title",
            "",
            "Unknown",
            "phone",
        ]);
        let cell = prop::sample::select(vec![
            "",
            " ",
            "Jean Dupont",
            "Ada",
            "06 12 34 56 78",
            "+33 6 12 34 56 79",
            "0612345670",
            "12",
            "+1 415 555 2671",
            "x@y.fr",
            "bad@",
            "X@Y.FR",
            "new",
            "interested",
            "maybe",
            "Europe/Paris",
            "Mars/Base",
            "vip, salon;2026",
            "\"a,b\"",
            "\"multi\nline\"",
            "\"quote \"\"here\"\"\"",
            "é✓",
            "\"",
            "a\"b",
        ]);
        let delimiter = prop::sample::select(vec![",", ";", "\t", "|"]);
        (
            delimiter,
            prop::collection::vec(header, 1..8),
            prop::collection::vec(prop::collection::vec(cell, 0..9), 0..24),
            any::<bool>(),
        )
            .prop_map(|(d, headers, rows, crlf)| {
                let eol = if crlf { "\r\n" } else { "\n" };
                let mut out = headers.join(d);
                for row in rows {
                    out.push_str(eol);
                    out.push_str(&row.join(d));
                }
                out
            })
    }

    fn plan_of(text: &str, delimiter: u8, duplicates: DuplicatePolicy) -> Option<Plan> {
        let headers = headers_of(&mut reader(text, delimiter)).ok()?;
        let options = ImportOptions {
            mapping: suggest_mapping(&headers, &[]),
            new_fields: vec![],
            duplicates,
            default_region: Some("FR".into()),
            tags: vec![],
        };
        let mut existing = Existing::default();
        existing.by_phone.insert("+33612345679".into(), Uuid::nil());
        existing.by_email.insert("x@y.fr".into(), Uuid::nil());
        plan(text, delimiter, &options, &[], &[], Some("FR"), &existing).ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, max_shrink_iters: 64, ..ProptestConfig::default() })]

        #[test]
        fn any_bytes_decode_to_bounded_text_or_a_csv_error(data in csv_bytes()) {
            let (text, encoding) = match decode(&data) {
                Ok(ok) => ok,
                Err(e) => {
                    prop_assert!(is_csv_error(&e), "{:?}", e);
                    return Ok(());
                }
            };
            prop_assert!(!text.contains('\r'));
            prop_assert!(text.len() <= 3 * data.len());
            let crlf = data.windows(2).filter(|w| *w == b"\r\n").count();
            match encoding {
                Encoding::Windows1252 => {
                    prop_assert!(std::str::from_utf8(&data).is_err());
                    // One character per byte, less the `\r` of each `\r\n`.
                    prop_assert_eq!(text.chars().count(), data.len() - crlf);
                }
                Encoding::Utf8 if !data.starts_with(b"\xEF\xBB\xBF") => {
                    let raw = std::str::from_utf8(&data).unwrap();
                    prop_assert_eq!(text, raw.replace("\r\n", "\n").replace('\r', "\n"));
                }
                _ => {}
            }
        }

        #[test]
        fn any_file_is_scanned_within_bounds_or_refused(data in csv_bytes()) {
            let scanned = decode(&data).and_then(|(text, _)| {
                let s = scan(std::io::Cursor::new(text.clone().into_bytes()), 250_000)?;
                Ok((text, s))
            });
            match scanned {
                Ok((text, s)) => {
                    prop_assert!(b",;\t|".contains(&s.delimiter));
                    prop_assert_eq!(s.delimiter, sniff_delimiter(&text));
                    prop_assert!(!s.headers.is_empty() && s.headers.len() <= MAX_COLUMNS);
                    prop_assert!(s.headers.iter().all(|h| !h.is_empty() && h.chars().count() <= 100));
                    // Every record but the last ends a line, and the header is one.
                    prop_assert!(s.total >= 1 && s.total <= text.matches('\n').count() as u64);
                    prop_assert!(s.sample.len() <= 5 && s.sample.len() as u64 <= s.total);
                    prop_assert!(s.sample.iter().all(|r| r.len() <= s.headers.len()));
                    prop_assert!(s.sample.iter().flatten().all(|c| c.chars().count() <= 200));
                }
                Err(e) => prop_assert!(is_csv_error(&e), "{:?}", e),
            }
        }

        #[test]
        fn utf16_with_a_mark_decodes_to_the_same_text(s in "\\PC{0,256}", big_endian in any::<bool>()) {
            let mut data = if big_endian { vec![0xFE, 0xFF] } else { vec![0xFF, 0xFE] };
            for unit in s.encode_utf16() {
                data.extend(if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
            }
            let want = s.replace("\r\n", "\n").replace('\r', "\n");
            let enc = if big_endian { Encoding::Utf16be } else { Encoding::Utf16le };
            prop_assert_eq!(decode(&data).unwrap(), (want.clone(), enc));
            // An odd byte count is a truncated file, refused.
            data.push(0);
            prop_assert_eq!(decode(&data).unwrap_err().code, ErrorCode::CsvMalformed);
            // And with a UTF-8 mark, UTF-8 text.
            let mut utf8 = b"\xEF\xBB\xBF".to_vec();
            utf8.extend_from_slice(s.as_bytes());
            prop_assert_eq!(decode(&utf8).unwrap(), (want, Encoding::Utf8));
        }

        #[test]
        fn the_sniffed_delimiter_splits_the_header_best(file in prospect_file()) {
            let Ok((text, _)) = decode(file.as_bytes()) else { return Ok(()) };
            let d = sniff_delimiter(&text);
            let header = text.lines().next().unwrap_or_default();
            // Counted outside quotes, no other candidate occurs more often.
            let count = |c: u8| {
                let mut quoted = false;
                header
                    .bytes()
                    .filter(|b| {
                        if *b == b'"' {
                            quoted = !quoted;
                        }
                        !quoted && *b == c
                    })
                    .count()
            };
            prop_assert!(b",;\t|".iter().all(|c| count(*c) <= count(d)));
        }

        #[test]
        fn the_plan_accounts_for_every_row(file in prospect_file(), update in any::<bool>()) {
            let Ok((text, _)) = decode(file.as_bytes()) else { return Ok(()) };
            let Ok(scanned) = scan(std::io::Cursor::new(text.clone().into_bytes()), 250_000) else { return Ok(()) };
            let policy = if update { DuplicatePolicy::Update } else { DuplicatePolicy::Skip };
            let Some(plan) = plan_of(&text, scanned.delimiter, policy) else { return Ok(()) };
            let r = &plan.report;
            // The dry run counts the rows the upload counted.
            prop_assert_eq!(r.total_rows, scanned.total);
            prop_assert_eq!(r.total_rows, r.invalid + r.duplicates_in_file + r.duplicates_existing + r.to_create);
            prop_assert_eq!(plan.creates.len() as u64, r.to_create);
            prop_assert_eq!(plan.updates.len() as u64, r.to_update);
            prop_assert_eq!(r.to_update, if update { r.duplicates_existing } else { 0 });
            prop_assert!(r.rows.len() <= MAX_REPORTED_ROWS);
            prop_assert_eq!(r.problem_rows, r.total_rows - r.to_create);
            prop_assert!(r.rows.windows(2).all(|w| w[0].row < w[1].row && w[0].line <= w[1].line));
            prop_assert!(r.rows.iter().all(|x| x.row >= 1 && x.row <= r.total_rows && !x.issues.is_empty()));
            for row in plan.creates.iter().chain(plan.updates.iter().map(|(_, row)| row)) {
                prop_assert!(row.phone.is_some() || row.email.is_some());
                prop_assert!(row.phone.as_deref().is_none_or(|p| p.starts_with('+')));
                prop_assert!(!(row.first.is_empty() && row.last.is_empty() && row.company.is_empty()));
            }
        }
    }
}
