//! A BERT encoder's forward pass on the CPU, in plain Rust: embeddings,
//! `layers` × (self-attention, feed-forward), each followed by a residual
//! LayerNorm, as Hugging Face's `BertModel` computes it in eval mode. One
//! sentence at a time: an utterance is a few dozen tokens, so the work is
//! matrix × vector products whose weights stream from memory once per call.

use crate::q4::Q4Matrix;
use crate::safetensors::Tensors;
use crate::EmbedError;

/// Where a model's parameters come from, by their Hugging Face names
/// (`encoder.layer.0.attention.self.query.weight`, …): a safetensors
/// checkpoint or a packed 4-bit file.
pub(crate) trait Weights {
    /// A tensor as f32, row-major, after checking its shape.
    fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError>;

    /// The word-embedding table, which may stay in its stored form: it is
    /// most of a multilingual model and only a few rows are read per call.
    fn word_table(&self, vocab: usize, hidden: usize) -> Result<WordTable, EmbedError> {
        Ok(WordTable::F32(self.f32("embeddings.word_embeddings.weight", &[vocab, hidden])?))
    }
}

impl Weights for Tensors {
    fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, EmbedError> {
        Tensors::f32(self, name, shape)
    }
}

pub(crate) enum WordTable {
    F32(Vec<f32>),
    Q4(Q4Matrix),
}

impl WordTable {
    fn row_into(&self, id: usize, out: &mut [f32]) {
        match self {
            WordTable::F32(w) => out.copy_from_slice(&w[id * out.len()..][..out.len()]),
            WordTable::Q4(m) => m.row_into(id, out),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hidden: usize,
    pub heads: usize,
    pub layers: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    pub vocab: usize,
    pub eps: f32,
}

impl Config {
    /// Reads a Hugging Face `config.json`; only BERT with exact GELU is run.
    pub fn from_json(text: &str) -> Result<Self, EmbedError> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| EmbedError::Config(e.to_string()))?;
        let n = |k: &str| {
            v[k].as_u64()
                .map(|n| n as usize)
                .filter(|n| *n > 0)
                .ok_or_else(|| EmbedError::Config(format!("{k} missing")))
        };
        if v["model_type"].as_str() != Some("bert") {
            return Err(EmbedError::Config("only BERT models are supported".into()));
        }
        if v["hidden_act"].as_str() != Some("gelu") {
            return Err(EmbedError::Config("only the exact GELU activation is supported".into()));
        }
        let c = Config {
            hidden: n("hidden_size")?,
            heads: n("num_attention_heads")?,
            layers: n("num_hidden_layers")?,
            intermediate: n("intermediate_size")?,
            max_positions: n("max_position_embeddings")?,
            vocab: n("vocab_size")?,
            eps: v["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32,
        };
        if !c.hidden.is_multiple_of(c.heads) {
            return Err(EmbedError::Config("hidden_size must divide into the heads".into()));
        }
        Ok(c)
    }
}

struct Linear {
    w: Vec<f32>,
    b: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

struct Norm {
    g: Vec<f32>,
    b: Vec<f32>,
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

pub struct Bert {
    pub config: Config,
    words: WordTable,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
    kernel: Kernel,
}

impl Bert {
    pub(crate) fn load(config: Config, t: &impl Weights) -> Result<Self, EmbedError> {
        let h = config.hidden;
        let linear = |name: &str, inputs: usize, outputs: usize| -> Result<Linear, EmbedError> {
            Ok(Linear {
                w: t.f32(&format!("{name}.weight"), &[outputs, inputs])?,
                b: t.f32(&format!("{name}.bias"), &[outputs])?,
                inputs,
                outputs,
            })
        };
        let norm = |name: &str| -> Result<Norm, EmbedError> {
            Ok(Norm { g: t.f32(&format!("{name}.weight"), &[h])?, b: t.f32(&format!("{name}.bias"), &[h])? })
        };
        let layers = (0..config.layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    q: linear(&format!("{p}.attention.self.query"), h, h)?,
                    k: linear(&format!("{p}.attention.self.key"), h, h)?,
                    v: linear(&format!("{p}.attention.self.value"), h, h)?,
                    attn_out: linear(&format!("{p}.attention.output.dense"), h, h)?,
                    attn_norm: norm(&format!("{p}.attention.output.LayerNorm"))?,
                    up: linear(&format!("{p}.intermediate.dense"), h, config.intermediate)?,
                    down: linear(&format!("{p}.output.dense"), config.intermediate, h)?,
                    out_norm: norm(&format!("{p}.output.LayerNorm"))?,
                })
            })
            .collect::<Result<Vec<_>, EmbedError>>()?;
        Ok(Bert {
            words: t.word_table(config.vocab, h)?,
            positions: t.f32("embeddings.position_embeddings.weight", &[config.max_positions, h])?,
            token_type: t.f32("embeddings.token_type_embeddings.weight", &[2, h])?,
            embed_norm: norm("embeddings.LayerNorm")?,
            layers,
            kernel: Kernel::detect(),
            config,
        })
    }

    /// The last hidden state, `ids.len()` rows of `hidden` values. Ids must
    /// be below the vocabulary size and at most `max_positions` long (the
    /// tokenizer guarantees both).
    pub fn forward(&self, ids: &[u32]) -> Vec<f32> {
        let h = self.config.hidden;
        let seq = ids.len().min(self.config.max_positions);
        let mut x = vec![0f32; seq * h];
        for (t, id) in ids.iter().take(seq).enumerate() {
            let id = (*id as usize).min(self.config.vocab - 1);
            let row = &mut x[t * h..(t + 1) * h];
            self.words.row_into(id, row);
            let (p, ty) = (&self.positions[t * h..][..h], &self.token_type[..h]);
            for i in 0..h {
                row[i] += p[i] + ty[i];
            }
        }
        layer_norm(&mut x, &self.embed_norm, h, self.config.eps);
        for layer in &self.layers {
            x = self.layer(layer, &x, seq);
        }
        x
    }

    fn layer(&self, l: &Layer, x: &[f32], seq: usize) -> Vec<f32> {
        let (h, eps) = (self.config.hidden, self.config.eps);
        let q = self.kernel.linear(&l.q, x, seq);
        let k = self.kernel.linear(&l.k, x, seq);
        let v = self.kernel.linear(&l.v, x, seq);
        let heads = self.config.heads;
        let dh = h / heads;
        let scale = 1.0 / (dh as f32).sqrt();
        let mut ctx = vec![0f32; seq * h];
        let mut scores = vec![0f32; seq];
        for head in 0..heads {
            let off = head * dh;
            for i in 0..seq {
                let qi = &q[i * h + off..][..dh];
                let mut max = f32::NEG_INFINITY;
                for (j, s) in scores.iter_mut().enumerate() {
                    *s = self.kernel.dot(qi, &k[j * h + off..][..dh]) * scale;
                    max = max.max(*s);
                }
                let mut sum = 0.0;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let out = &mut ctx[i * h + off..][..dh];
                for (j, s) in scores.iter().enumerate() {
                    let p = s / sum;
                    for (o, vj) in out.iter_mut().zip(&v[j * h + off..][..dh]) {
                        *o += p * vj;
                    }
                }
            }
        }
        let mut a = self.kernel.linear(&l.attn_out, &ctx, seq);
        for (ai, xi) in a.iter_mut().zip(x) {
            *ai += xi;
        }
        layer_norm(&mut a, &l.attn_norm, h, eps);
        let mut up = self.kernel.linear(&l.up, &a, seq);
        for u in up.iter_mut() {
            *u = gelu(*u);
        }
        let mut out = self.kernel.linear(&l.down, &up, seq);
        for (oi, ai) in out.iter_mut().zip(&a) {
            *oi += ai;
        }
        layer_norm(&mut out, &l.out_norm, h, eps);
        out
    }
}

fn layer_norm(x: &mut [f32], n: &Norm, h: usize, eps: f32) {
    for row in x.chunks_exact_mut(h) {
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&n.g).zip(&n.b) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// BERT's "gelu": the exact form with erf, not the tanh approximation.
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The inner loops, compiled twice on x86-64: for the baseline (SSE2) and
/// for AVX2 with fused multiply-add, picked once at load time — four times
/// the arithmetic per instruction for the same code.
#[derive(Clone, Copy)]
enum Kernel {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2Fma,
}

impl Kernel {
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            return Kernel::Avx2Fma;
        }
        Kernel::Portable
    }

    fn linear(self, l: &Linear, x: &[f32], seq: usize) -> Vec<f32> {
        match self {
            Kernel::Portable => linear_with::<false>(l, x, seq),
            // SAFETY: chosen only when the CPU reported AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { linear_avx2_fma(l, x, seq) },
        }
    }

    fn dot(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Kernel::Portable => dot(a, b),
            // SAFETY: as above.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2Fma => unsafe { dot_avx2_fma(a, b) },
        }
    }
}

/// As [`linear_with`], four tokens per pass over a weight row: each 8-wide
/// piece of the row is loaded once for four fused multiply-adds, and the four
/// sums are independent chains the CPU overlaps.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn linear_avx2_fma(l: &Linear, x: &[f32], seq: usize) -> Vec<f32> {
    use std::arch::x86_64::*;
    let n = l.inputs;
    let split = n / 8 * 8;
    let mut y = vec![0f32; seq * l.outputs];
    for (o, (w, b)) in l.w.chunks_exact(n).zip(&l.b).enumerate() {
        let mut t = 0;
        while t + 4 <= seq {
            let rows = &x[t * n..(t + 4) * n];
            let mut lanes = [[0f32; 8]; 4];
            // SAFETY: AVX2 and FMA are enabled on this function, which is
            // selected only when the CPU has them; every load reads 8 floats
            // at an offset below `split` ≤ n within `w` or a row of `rows`.
            unsafe {
                let mut acc = [_mm256_setzero_ps(); 4];
                let mut i = 0;
                while i < split {
                    let wv = _mm256_loadu_ps(w.as_ptr().add(i));
                    for (k, a) in acc.iter_mut().enumerate() {
                        *a = _mm256_fmadd_ps(_mm256_loadu_ps(rows.as_ptr().add(k * n + i)), wv, *a);
                    }
                    i += 8;
                }
                for (k, a) in acc.iter().enumerate() {
                    _mm256_storeu_ps(lanes[k].as_mut_ptr(), *a);
                }
            }
            for (k, l8) in lanes.iter().enumerate() {
                let row = &rows[k * n..(k + 1) * n];
                let tail: f32 = (split..n).map(|i| row[i] * w[i]).sum();
                y[(t + k) * l.outputs + o] = b + l8.iter().sum::<f32>() + tail;
            }
            t += 4;
        }
        for t in t..seq {
            y[t * l.outputs + o] = b + dot_fused(&x[t * n..][..n], w);
        }
    }
    y
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_avx2_fma(a: &[f32], b: &[f32]) -> f32 {
    dot_fused(a, b)
}

/// `x · Wᵀ + b` for `seq` rows. Weight rows are the outer loop: each is read
/// from memory once and reused, hot in L1, for every token.
#[inline(always)]
fn linear_with<const FUSED: bool>(l: &Linear, x: &[f32], seq: usize) -> Vec<f32> {
    let mut y = vec![0f32; seq * l.outputs];
    for (o, (w, b)) in l.w.chunks_exact(l.inputs).zip(&l.b).enumerate() {
        for t in 0..seq {
            let row = &x[t * l.inputs..][..l.inputs];
            y[t * l.outputs + o] = b + if FUSED { dot_fused(row, w) } else { dot(row, w) };
        }
    }
    y
}

/// AVX2 + FMA dot product: four independent 8-lane accumulators, so four
/// fused multiply-adds are in flight while each waits on its own latency.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn dot_fused(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let split = n / 32 * 32;
    // SAFETY: only reached from functions compiled with (and selected at
    // run time for) avx2 + fma; every load stays below `split` ≤ both lengths.
    unsafe {
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i < split {
            for (k, acc) in acc.iter_mut().enumerate() {
                let off = i + 8 * k;
                *acc = _mm256_fmadd_ps(_mm256_loadu_ps(pa.add(off)), _mm256_loadu_ps(pb.add(off)), *acc);
            }
            i += 32;
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut lanes = [0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
        lanes.iter().sum::<f32>() + (split..n).map(|j| a[j] * b[j]).sum::<f32>()
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn dot_fused(a: &[f32], b: &[f32]) -> f32 {
    dot(a, b)
}

/// Sixteen independent sums, so the compiler can keep two vector registers
/// busy without reordering float additions itself (which it may not).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 16;
    let n = a.len().min(b.len());
    let split = n / LANES * LANES;
    let mut acc = [0f32; LANES];
    for (x, y) in a[..split].chunks_exact(LANES).zip(b[..split].chunks_exact(LANES)) {
        for k in 0..LANES {
            acc[k] += x[k] * y[k];
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for i in split..n {
        sum += a[i] * b[i];
    }
    sum
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::safetensors::tests::build;

    pub fn tiny_config() -> Config {
        Config { hidden: 4, heads: 2, layers: 1, intermediate: 8, max_positions: 8, vocab: 6, eps: 1e-12 }
    }

    /// A one-layer model whose weights follow a simple formula, so the test
    /// below can recompute its output by hand with the textbook definitions.
    pub fn tiny_weights() -> Vec<u8> {
        let f =
            |n: usize, seed: f32| (0..n).map(|i| ((i as f32 + seed) * 0.37).sin() * 0.5).collect::<Vec<_>>();
        let mut t: Vec<(String, Vec<usize>, Vec<f32>)> = vec![
            ("embeddings.word_embeddings.weight".into(), vec![6, 4], f(24, 1.0)),
            ("embeddings.position_embeddings.weight".into(), vec![8, 4], f(32, 2.0)),
            ("embeddings.token_type_embeddings.weight".into(), vec![2, 4], f(8, 3.0)),
            ("embeddings.LayerNorm.weight".into(), vec![4], vec![1.0, 0.9, 1.1, 1.0]),
            ("embeddings.LayerNorm.bias".into(), vec![4], vec![0.0, 0.1, -0.1, 0.0]),
        ];
        let p = "encoder.layer.0";
        for (i, (name, o, inp)) in [
            ("attention.self.query", 4, 4),
            ("attention.self.key", 4, 4),
            ("attention.self.value", 4, 4),
            ("attention.output.dense", 4, 4),
            ("intermediate.dense", 8, 4),
            ("output.dense", 4, 8),
        ]
        .into_iter()
        .enumerate()
        {
            t.push((format!("{p}.{name}.weight"), vec![o, inp], f(o * inp, 10.0 + i as f32)));
            t.push((format!("{p}.{name}.bias"), vec![o], f(o, 20.0 + i as f32)));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.push((format!("{p}.{name}.weight"), vec![4], vec![1.0; 4]));
            t.push((format!("{p}.{name}.bias"), vec![4], vec![0.0; 4]));
        }
        let refs: Vec<(&str, Vec<usize>, Vec<f32>)> =
            t.iter().map(|(n, s, v)| (n.as_str(), s.clone(), v.clone())).collect();
        build(&refs)
    }

    /// Straightforward matrices-as-nested-loops BERT, for comparison.
    fn reference(t: &Tensors, ids: &[usize]) -> Vec<Vec<f64>> {
        let get =
            |n: &str, s: &[usize]| t.f32(n, s).unwrap().into_iter().map(f64::from).collect::<Vec<f64>>();
        let ln = |x: &mut Vec<f64>, g: &[f64], b: &[f64]| {
            let m = x.iter().sum::<f64>() / x.len() as f64;
            let v = x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / x.len() as f64;
            for (i, a) in x.iter_mut().enumerate() {
                *a = (*a - m) / (v + 1e-12).sqrt() * g[i] + b[i];
            }
        };
        let lin = |x: &[f64], n: &str, o: usize, i: usize| {
            let (w, b) = (get(&format!("{n}.weight"), &[o, i]), get(&format!("{n}.bias"), &[o]));
            (0..o).map(|r| b[r] + (0..i).map(|c| w[r * i + c] * x[c]).sum::<f64>()).collect::<Vec<f64>>()
        };
        let (we, pe, te) = (
            get("embeddings.word_embeddings.weight", &[6, 4]),
            get("embeddings.position_embeddings.weight", &[8, 4]),
            get("embeddings.token_type_embeddings.weight", &[2, 4]),
        );
        let (g, b) = (get("embeddings.LayerNorm.weight", &[4]), get("embeddings.LayerNorm.bias", &[4]));
        let mut x: Vec<Vec<f64>> = ids
            .iter()
            .enumerate()
            .map(|(t, id)| {
                let mut r: Vec<f64> = (0..4).map(|i| we[id * 4 + i] + pe[t * 4 + i] + te[i]).collect();
                ln(&mut r, &g, &b);
                r
            })
            .collect();
        let p = "encoder.layer.0";
        let q: Vec<_> = x.iter().map(|r| lin(r, &format!("{p}.attention.self.query"), 4, 4)).collect();
        let k: Vec<_> = x.iter().map(|r| lin(r, &format!("{p}.attention.self.key"), 4, 4)).collect();
        let v: Vec<_> = x.iter().map(|r| lin(r, &format!("{p}.attention.self.value"), 4, 4)).collect();
        let ones = vec![1.0; 4];
        let zeros = vec![0.0; 4];
        for i in 0..ids.len() {
            let mut ctx = vec![0.0; 4];
            for head in 0..2 {
                let s: Vec<f64> = (0..ids.len())
                    .map(|j| {
                        (0..2).map(|d| q[i][head * 2 + d] * k[j][head * 2 + d]).sum::<f64>() / 2f64.sqrt()
                    })
                    .collect();
                let z: f64 = s.iter().map(|a| a.exp()).sum();
                for j in 0..ids.len() {
                    for d in 0..2 {
                        ctx[head * 2 + d] += s[j].exp() / z * v[j][head * 2 + d];
                    }
                }
            }
            let mut a = lin(&ctx, &format!("{p}.attention.output.dense"), 4, 4);
            for d in 0..4 {
                a[d] += x[i][d];
            }
            ln(&mut a, &ones, &zeros);
            let up: Vec<f64> = lin(&a, &format!("{p}.intermediate.dense"), 8, 4)
                .into_iter()
                .map(|u| 0.5 * u * (1.0 + libm::erf(u / 2f64.sqrt())))
                .collect();
            let mut o = lin(&up, &format!("{p}.output.dense"), 4, 8);
            for d in 0..4 {
                o[d] += a[d];
            }
            ln(&mut o, &ones, &zeros);
            x[i] = o;
        }
        x
    }

    #[test]
    fn forward_pass_matches_the_textbook_definition() {
        let t = Tensors::parse(tiny_weights()).unwrap();
        let bert = Bert::load(tiny_config(), &t).unwrap();
        let ids = [2usize, 5, 1, 3];
        let got = bert.forward(&ids.map(|i| i as u32));
        let want = reference(&t, &ids);
        for (t, row) in want.iter().enumerate() {
            for (d, w) in row.iter().enumerate() {
                assert!(
                    (got[t * 4 + d] as f64 - w).abs() < 1e-4,
                    "token {t} dim {d}: {} vs {w}",
                    got[t * 4 + d]
                );
            }
        }
    }

    #[test]
    fn both_kernels_agree() {
        let a: Vec<f32> = (0..389).map(|i| (i as f32 * 0.1).cos()).collect();
        let b: Vec<f32> = (0..389).map(|i| (i as f32 * 0.2).sin()).collect();
        let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
        for k in [Kernel::Portable, Kernel::detect()] {
            assert!((k.dot(&a, &b) as f64 - exact).abs() < 1e-3);
        }
    }

    #[test]
    fn configs_that_are_not_bert_are_refused() {
        let ok = r#"{"model_type":"bert","hidden_act":"gelu","hidden_size":384,"num_attention_heads":12,"num_hidden_layers":6,"intermediate_size":1536,"max_position_embeddings":512,"vocab_size":30522}"#;
        assert_eq!(Config::from_json(ok).unwrap().heads, 12);
        assert!(Config::from_json(&ok.replace("\"gelu\"", "\"relu\"")).is_err());
        assert!(Config::from_json(&ok.replace("\"bert\"", "\"gpt2\"")).is_err());
        assert!(Config::from_json(&ok.replace("384", "385")).is_err());
        assert!(Config::from_json("not json").is_err());
        let t = Tensors::parse(tiny_weights()).unwrap();
        let wrong = Config { hidden: 8, ..tiny_config() };
        assert!(Bert::load(wrong, &t).is_err(), "shapes are checked against the config");
    }
}
