//! Sentence vectors kept on disk between runs, so the classifier's
//! thousands of examples are embedded once per machine (about a minute on
//! one core) rather than at every start. One file per model, named by the
//! model's fingerprint; an entry is keyed by a hash of the exact text. A
//! missing, foreign or damaged file is just an empty cache, and failing to
//! write one only costs the next start its time.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Embedding, Encoder};

const MAGIC: &[u8; 4] = b"HVC1";

/// 64-bit FNV-1a: stable across platforms and releases, unlike std's hasher.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn file(dir: &Path, encoder: &Encoder) -> PathBuf {
    dir.join(format!("vectors-{:016x}.bin", encoder.fingerprint()))
}

fn read(path: &Path, dims: usize) -> HashMap<u64, Embedding> {
    let Ok(bytes) = std::fs::read(path) else { return HashMap::new() };
    if bytes.get(..4) != Some(MAGIC) {
        return HashMap::new();
    }
    let record = 8 + dims * 4;
    bytes[4..]
        .chunks_exact(record)
        .map(|r| {
            let key = u64::from_le_bytes(r[..8].try_into().expect("8 bytes"));
            let v =
                r[8..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
            (key, v)
        })
        .collect()
}

fn write(path: &Path, vectors: &HashMap<u64, Embedding>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    out.write_all(MAGIC)?;
    let mut keys: Vec<_> = vectors.keys().collect();
    keys.sort();
    for k in keys {
        out.write_all(&k.to_le_bytes())?;
        for v in &vectors[k] {
            out.write_all(&v.to_le_bytes())?;
        }
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)
}

impl Encoder {
    /// Every text's vector, in order: from the cache under `dir` when it has
    /// them, the rest computed on all cores and added to it. `dir: None`
    /// computes everything.
    pub fn embed_all(&self, texts: &[&str], dir: Option<&Path>) -> Vec<Embedding> {
        let path = dir.map(|d| file(d, self));
        let mut known = path.as_deref().map(|p| read(p, self.dimensions())).unwrap_or_default();
        let keys: Vec<u64> = texts.iter().map(|t| fnv1a(t.as_bytes())).collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|i| !known.contains_key(&keys[*i])).collect();
        if !missing.is_empty() {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(missing.len());
            let computed: Vec<(u64, Embedding)> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let mine: Vec<usize> = missing.iter().copied().skip(t).step_by(threads).collect();
                        let keys = &keys;
                        s.spawn(move || {
                            mine.into_iter().map(|i| (keys[i], self.embed(texts[i]))).collect::<Vec<_>>()
                        })
                    })
                    .collect();
                workers.into_iter().flat_map(|w| w.join().expect("embedding thread")).collect()
            });
            known.extend(computed);
            if let Some(p) = &path {
                // Best effort: a read-only disk only means recomputing.
                let _ = write(p, &known);
            }
        }
        keys.iter().map(|k| known[k].clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_the_published_function() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn vectors_round_trip_and_damaged_files_are_ignored() {
        let dir = std::env::temp_dir().join(format!("embed-cache-{}", std::process::id()));
        let path = dir.join("v.bin");
        let mut m = HashMap::new();
        m.insert(7u64, vec![0.5f32, -1.0]);
        m.insert(3u64, vec![2.0f32, 0.25]);
        write(&path, &m).unwrap();
        assert_eq!(read(&path, 2), m);
        std::fs::write(&path, b"nonsense").unwrap();
        assert!(read(&path, 2).is_empty());
        assert!(read(&dir.join("absent"), 2).is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
