//! How well the copilot understands prospects, on the labelled evaluation
//! set (`services/src/copilot/evaluation.tsv`): per language, accuracy, the
//! false-card rate on utterances that hold no objection, and precision and
//! recall per class — for the phrase rules alone and for the classifier as
//! a live session runs it (`semantic::judge`), with the thresholds it
//! calibrated. Prints figures; asserts nothing.
//!
//! Run: `cargo bench -p services --bench objections` (or `scripts/bench`),
//! with `HANDOO_EMBEDDING_MODEL` set as `scripts/setup.sh` does; without it
//! only the rules are measured. `OBJECTIONS_ERRORS=1` lists every miss.

use std::path::PathBuf;
use std::time::Instant;

use services::copilot::evaluation::{self, Score};
use services::copilot::semantic::{self, SemanticMatcher};

fn print(title: &str, score: &Score) {
    println!("\n== {title} ==");
    print!("{score}");
    if std::env::var("OBJECTIONS_ERRORS").as_deref() == Ok("1") {
        for (lang, s) in &score.by_language {
            for (line, expected, got, text) in &s.errors {
                println!("    {lang} line {line}: expected {expected}, got {got}: {text}");
            }
        }
    }
}

fn main() {
    let cases = evaluation::cases();
    println!("evaluation set: {} utterances", cases.len());
    print("phrase rules alone", &evaluation::score(&cases, |c| evaluation::rules_label(&c.text)));

    let Some(dir) = std::env::var_os("HANDOO_EMBEDDING_MODEL").map(PathBuf::from) else {
        println!("\nHANDOO_EMBEDDING_MODEL unset: the semantic matcher is not measured");
        return;
    };
    let t = Instant::now();
    let matcher = SemanticMatcher::load(&dir).expect("load the embedding model");
    println!(
        "\nclassifier ready in {:.1} s ({} examples)",
        t.elapsed().as_secs_f64(),
        matcher.examples_len()
    );
    for lang in domain::Locale::ALL {
        let t: Vec<String> = domain::copilot::objection::ObjectionKind::ALL
            .iter()
            .map(|k| format!("{} {:.2}", k.as_str(), matcher.threshold(lang, Some(*k))))
            .collect();
        println!("  calibrated thresholds {}: {}", lang.as_str(), t.join(", "));
    }
    let mut times = Vec::new();
    let score = evaluation::score(&cases, |c| {
        let t = Instant::now();
        let got = evaluation::live_label(&matcher, c);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        got
    });
    print(&format!("classifier, as a live session runs it ({})", dir.display()), &score);
    let blind_sets = evaluation::blind_sets();
    for (name, set) in &blind_sets {
        let blind = evaluation::score(set, |c| evaluation::live_label(&matcher, c));
        print(&format!("the same on the blind {name} set ({} utterances)", set.len()), &blind);
    }
    let pooled: Vec<_> = blind_sets.into_iter().flat_map(|(_, set)| set).collect();
    let all = evaluation::score(&pooled, |c| evaluation::live_label(&matcher, c));
    print(&format!("the blind sets pooled ({} utterances)", pooled.len()), &all);
    println!("\n== utterances the classifier is unsure of (asked to the organisation's LLM, if any) ==");
    let sets = [("evaluation set", cases.clone()), ("blind sets pooled", pooled)];
    for (name, set) in &sets {
        for lang in domain::Locale::ALL {
            let (mut quiet, mut quiet_asked, mut missed, mut missed_asked, mut right) = (0, 0, 0, 0, 0);
            let mine: Vec<_> = set.iter().filter(|c| c.language == lang).collect();
            for c in &mine {
                let j = semantic::judgement(Some(&matcher), &c.text, Some(c.language));
                let got = j.cards.first().map_or(evaluation::NONE, |d| d.kind.as_str());
                let asked = j.unsure.is_some();
                if got == c.label {
                    right += 1;
                } else if asked {
                    // What an LLM that answered right would win.
                    right += usize::from(got == evaluation::NONE);
                }
                if c.label == evaluation::NONE {
                    quiet += 1;
                    quiet_asked += usize::from(asked);
                } else if got == evaluation::NONE {
                    missed += 1;
                    missed_asked += usize::from(asked);
                }
            }
            println!(
                "  {name}, {}: {quiet_asked} of {quiet} quiet utterances asked, {missed_asked} of {missed} missed objections; \
                 an LLM right on those would make accuracy {:.1} %",
                lang.as_str(),
                right as f32 * 100.0 / mine.len().max(1) as f32
            );
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    if !times.is_empty() {
        let p = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!("  per utterance: p50 {:.1} ms, p95 {:.1} ms (n={})", p(0.5), p(0.95), times.len());
    }
}
