//! Sentence-embedding latency with the real model: `cargo bench -p embed`
//! (needs `HANDOO_EMBEDDING_MODEL`, which `scripts/setup.sh` provides).

use std::time::Instant;

fn main() {
    let Some(dir) = std::env::var_os("HANDOO_EMBEDDING_MODEL") else {
        println!("embed bench skipped: HANDOO_EMBEDDING_MODEL is not set (source scripts/setup.sh)");
        return;
    };
    let t = Instant::now();
    let encoder = embed::Encoder::load(dir.as_ref()).expect("model loads");
    println!("model load: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    let sentences = [
        "Honestly it's way more than we planned to spend this year.",
        "Send me something by email and I'll have a look.",
        "We already work with another provider and we're happy with them.",
        "Could you call me back next week, I'm in a meeting right now?",
        "Yes.",
        "I'm not the one who decides on this, you'd need to talk to our purchasing director, she handles every supplier contract above ten thousand euros and she is travelling until the end of the month, so it will have to wait until she is back in the office.",
    ];
    for s in sentences {
        encoder.embed(s); // warm caches
    }
    for s in sentences {
        let tokens = encoder.tokenize(s).len();
        let mut times: Vec<f64> = (0..30)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(encoder.embed(s));
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "embed {tokens:>3} tokens: p50 {:6.2} ms  p95 {:6.2} ms",
            times[times.len() / 2],
            times[times.len() * 95 / 100]
        );
    }
}
