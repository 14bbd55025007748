//! Multinomial logistic regression: the classifier head over sentence
//! embeddings. Features are standardized (each dimension to mean 0 and
//! variance 1 over the training set — sentence vectors share a large common
//! direction that otherwise swamps the rest), then the weights minimise the
//! mean cross-entropy plus an L2 penalty by full-batch gradient descent with
//! Nesterov momentum: deterministic, no randomness, the same model from the
//! same data on every machine.
//!
//! With a few thousand examples it trains in about a second; it beats
//! taking the nearest example's label because every example of a class
//! votes, and it gives probabilities that thresholds can be calibrated on.

/// How to train.
#[derive(Debug, Clone, Copy)]
pub struct Training {
    /// Weight of the L2 penalty on the weights (not the biases).
    pub l2: f32,
    pub iterations: usize,
    pub rate: f32,
    pub momentum: f32,
}

impl Default for Training {
    /// Chosen by cross-validation on the copilot's examples.
    fn default() -> Self {
        Training { l2: 0.01, iterations: 300, rate: 0.5, momentum: 0.9 }
    }
}

#[derive(Debug, Clone)]
pub struct Softmax {
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// `classes` rows of `dims + 1` (the bias last).
    weights: Vec<f32>,
    classes: usize,
}

impl Softmax {
    /// Trains on rows `x` (all the same length) with labels `y < classes`.
    ///
    /// # Panics
    /// On no rows, rows of different lengths, or a label out of range: the
    /// caller builds both from its own data.
    pub fn train(x: &[&[f32]], y: &[usize], classes: usize, t: &Training) -> Softmax {
        assert!(!x.is_empty() && x.len() == y.len() && classes > 0, "training data");
        assert!(y.iter().all(|c| *c < classes), "label out of range");
        let (n, d) = (x.len(), x[0].len());
        assert!(x.iter().all(|r| r.len() == d), "rows of one length");
        let mut mean = vec![0f32; d];
        for r in x {
            for (m, v) in mean.iter_mut().zip(*r) {
                *m += v / n as f32;
            }
        }
        let mut var = vec![0f32; d];
        for r in x {
            for ((s, v), m) in var.iter_mut().zip(*r).zip(&mean) {
                *s += (v - m) * (v - m) / n as f32;
            }
        }
        let inv_std: Vec<f32> = var.iter().map(|v| 1.0 / (v.sqrt() + 1e-6)).collect();
        // Standardized rows with a constant 1 for the bias.
        let w1 = d + 1;
        let mut z = vec![1f32; n * w1];
        for (i, r) in x.iter().enumerate() {
            for j in 0..d {
                z[i * w1 + j] = (r[j] - mean[j]) * inv_std[j];
            }
        }
        let mut w = vec![0f32; classes * w1];
        let mut velocity = vec![0f32; classes * w1];
        let mut ahead = vec![0f32; classes * w1];
        let mut grad = vec![0f32; classes * w1];
        let mut p = vec![0f32; classes];
        for _ in 0..t.iterations {
            for ((a, w), v) in ahead.iter_mut().zip(&w).zip(&velocity) {
                *a = w + t.momentum * v;
            }
            grad.iter_mut().for_each(|g| *g = 0.0);
            for (row, label) in z.chunks_exact(w1).zip(y) {
                logits_into(&ahead, row, &mut p);
                softmax_in_place(&mut p);
                p[*label] -= 1.0;
                for (c, pc) in p.iter().enumerate() {
                    let g = &mut grad[c * w1..][..w1];
                    for (gj, zj) in g.iter_mut().zip(row) {
                        *gj += pc * zj;
                    }
                }
            }
            for c in 0..classes {
                for j in 0..w1 {
                    let k = c * w1 + j;
                    let penalty = if j < d { t.l2 * ahead[k] } else { 0.0 };
                    let g = grad[k] / n as f32 + penalty;
                    velocity[k] = t.momentum * velocity[k] - t.rate * g;
                    w[k] += velocity[k];
                }
            }
        }
        Softmax { mean, inv_std, weights: w, classes }
    }

    pub fn classes(&self) -> usize {
        self.classes
    }

    /// The probability of each class for `x` (same length as the training
    /// rows); they sum to 1.
    pub fn probabilities(&self, x: &[f32]) -> Vec<f32> {
        let mut row: Vec<f32> =
            x.iter().zip(&self.mean).zip(&self.inv_std).map(|((v, m), s)| (v - m) * s).collect();
        row.push(1.0);
        let mut p = vec![0f32; self.classes];
        logits_into(&self.weights, &row, &mut p);
        softmax_in_place(&mut p);
        p
    }
}

fn logits_into(w: &[f32], row: &[f32], out: &mut [f32]) {
    for (o, wc) in out.iter_mut().zip(w.chunks_exact(row.len())) {
        *o = dot(wc, row);
    }
}

/// Eight independent sums, so the compiler may use vector registers
/// (it may not reorder one running float sum itself).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let split = a.len().min(b.len()) / 8 * 8;
    for (x, y) in a[..split].chunks_exact(8).zip(b[..split].chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + a[split..].iter().zip(&b[split..]).map(|(x, y)| x * y).sum::<f32>()
}

fn softmax_in_place(p: &mut [f32]) {
    let max = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in p.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for v in p.iter_mut() {
        *v /= sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three clusters in the plane, a little overlap.
    fn clusters() -> (Vec<Vec<f32>>, Vec<usize>) {
        let centres = [(0.0, 0.0), (3.0, 0.0), (0.0, 3.0)];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (c, (cx, cy)) in centres.iter().enumerate() {
            for i in 0..30 {
                let a = i as f32 * 0.7;
                x.push(vec![cx + a.sin() * 0.8, cy + a.cos() * 0.8]);
                y.push(c);
            }
        }
        (x, y)
    }

    #[test]
    fn learns_separable_classes_and_gives_probabilities() {
        let (x, y) = clusters();
        let rows: Vec<&[f32]> = x.iter().map(Vec::as_slice).collect();
        let m = Softmax::train(&rows, &y, 3, &Training::default());
        let correct = rows.iter().zip(&y).filter(|(r, c)| argmax(&m.probabilities(r)) == **c).count();
        assert_eq!(correct, rows.len());
        let p = m.probabilities(&[3.0, 0.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[1] > 0.9, "{p:?}");
        let between = m.probabilities(&[1.5, 0.0]);
        assert!(between[1] < 0.9 && between[0] < 0.9, "unsure between two clusters: {between:?}");
    }

    #[test]
    fn training_is_deterministic() {
        let (x, y) = clusters();
        let rows: Vec<&[f32]> = x.iter().map(Vec::as_slice).collect();
        let a = Softmax::train(&rows, &y, 3, &Training::default());
        let b = Softmax::train(&rows, &y, 3, &Training::default());
        assert_eq!(a.weights, b.weights);
    }

    #[test]
    fn a_constant_dimension_does_not_break_standardization() {
        let x = [vec![1.0, 0.0], vec![1.0, 1.0]];
        let rows: Vec<&[f32]> = x.iter().map(Vec::as_slice).collect();
        let m = Softmax::train(&rows, &[0, 1], 2, &Training::default());
        assert!(m.probabilities(&[1.0, 1.0]).iter().all(|p| p.is_finite()));
    }

    fn argmax(p: &[f32]) -> usize {
        p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i).unwrap()
    }
}
