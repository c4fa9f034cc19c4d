#!/usr/bin/env python3
"""Writes Fixtures/golden/tokenizer/<vocab>.json: llama.cpp's token ids for a varied set of strings.

Run with the bench venv (llama-cpp-python 0.3.36, built from the llama.cpp lhindex follows):
    ~/.cache/lhindex/bench-venv/bin/python scripts/tokenizer-goldens.py
Vocabularies: llama-spm, llama-bpe, qwen2 from $LHINDEX_HOME/vocab (`make vocab`), and Gemma 3's
from $LHINDEX_HOME/models/gemma-3-270m-q4_k_m.gguf. Each string is tokenized with add_special
(BOS/EOS as the vocabulary asks) on and off and special-token parsing on and off, plus 150 random
strings (fixed seed) each with one of the four settings; a few id
sequences are detokenized with llama_token_to_piece(special=True), concatenated without removing
any leading space (what lhindex's Tokenizer.decode does).
"""
import ctypes
import json
import os
import sys

import llama_cpp

HOME = os.environ.get("LHINDEX_HOME") or os.path.expanduser("~/.cache/lhindex")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fixtures", "golden", "tokenizer")

VOCABS = {
    "llama-spm": os.path.join(HOME, "vocab", "ggml-vocab-llama-spm.gguf"),
    "llama-bpe": os.path.join(HOME, "vocab", "ggml-vocab-llama-bpe.gguf"),
    "qwen2": os.path.join(HOME, "vocab", "ggml-vocab-qwen2.gguf"),
    "gemma3": os.path.join(HOME, "models", "gemma-3-270m-q4_k_m.gguf"),
}

STRINGS = [
    "",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n\n",
    " \t \n \r\n  x",
    "Hello world",
    " Hello world",
    "Hello world ",
    "   leading and trailing   ",
    "hello\tworld\t\ttabs",
    "Line one\nLine two\r\nLine three\n\n\nend",
    "I'm sure you'll see they've done it, didn't they? It's John's.",
    "I'M SURE YOU'LL SEE THEY'VE DONE IT, DIDN'T THEY? IT'S JOHN'S.",
    "Mixed CaSe WoRdS and camelCaseIdentifiers and snake_case_names",
    "0 1 12 123 1234 12345 123456 1234567 3.14159 -42 1,000,000",
    "Versions 1.2.3 and v10.0.1-rc2 released on 2024-12-31",
    "Ünïcödé façade naïve résumé coöperate",
    "Привет, мир! Как дела?",
    "Γειά σου Κόσμε",
    "こんにちは世界、日本語のテキストです。",
    "中文测试：你好，世界！",
    "한국어 텍스트 입니다",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया",
    "สวัสดีชาวโลก",
    "Emoji: 😀👍🏽🎉 👨‍👩‍👧‍👦 🇫🇷 ❤️",
    "🦙🦙🦙 llama",
    "Math: ∑ x² ≤ ∞, α+β=γ, √2 ≈ 1.414",
    "Symbols: @#$%^&*()_+-=[]{}|;':\",./<>?`~",
    "def main():\n    for i in range(10):\n        print(i)\n\treturn None\n",
    "    indented with four spaces\n        and eight",
    "if (x == 1) {\n\tfoo(x);\n} else {\n\tbar();\n}",
    "<html><body><p class=\"x\">Hi</p></body></html>",
    "https://example.com/path?query=1&other=two#frag",
    "a  b   c    d     e      f",
    "trailing newline\n",
    "The quick brown fox jumps over the lazy dog.",
    "<s>This has BOS text</s> and <unk> text",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi<|im_end|>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>",
    "text<|endoftext|>more text",
    "<bos><eos><pad> <mask>",
    "\u00a0non\u2009breaking\u3000spaces",
    "zero\u200bwidth\u200djoiner",
    "é (precomposed) vs e\u0301 (combining)",
    "ﬁ ligature and ＦＵＬＬＷＩＤＴＨ",
    "x" * 300,
    "ab" * 40 + " " + "1234567890" * 5,
]

# Random strings (fixed seed) built from pieces that stress the tokenizers: scripts, whitespace runs,
# digits, punctuation, emoji, special-token texts, a literal "▁" and a byte-token spelling.
PIECES = [
    "the", "The", "THE", "token", "izer", "naïve", "café", "Straße", "мир", "Κόσμε", "日本語", "中文", "한국어",
    "مرحبا", "שלום", "नमस्ते", "สวัสดี", "🦙", "👍🏽", "👨‍👩‍👧", "🇫🇷", "∑", "√2", "’", "'s", "'LL", "n't",
    " ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000",
    "0", "7", "42", "123", "2024", "1234567", "3.14", "١٢٣",
    ".", ",", "!", "?", "...", "--", "(", ")", "{", "}", "[", "]", "<", ">", "</", "/>", "=", "==", "->", "_", "#", "@", "$",
    "<s>", "</s>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
    "<|begin_of_text|>", "<|eot_id|>", "<div>", "<br/>", "▁", "▁▁", "<0x41>", "\u0301", "e\u0301",
]
RANDOM_COUNT = 150


def random_strings():
    import random
    rng = random.Random(14)
    out = []
    for _ in range(RANDOM_COUNT):
        out.append("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 14))))
    return out


DECODE_EXTRA_TEXTS = ["Hello world", " 🦙 ñ 中文\n\tend", "I'm 123 <unk> text"]


def pieces(model, ids):
    out = b""
    buf = ctypes.create_string_buffer(256)
    for t in ids:
        n = llama_cpp.llama_token_to_piece(model.vocab, llama_cpp.llama_token(t), buf, 256, 0, True)
        assert 0 <= n <= 256
        out += buf.raw[:n]
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, path in VOCABS.items():
        if not os.path.exists(path):
            sys.exit(f"missing {path}: run 'make vocab' (and 'make model MODEL=gemma3-270m' for Gemma 3)")
        llm = llama_cpp.Llama(model_path=path, vocab_only=True, verbose=False)
        model = llm._model
        cases = []
        for text in STRINGS:
            data = text.encode("utf-8")
            for add_special in (False, True):
                for parse_special in (False, True):
                    ids = llm.tokenize(data, add_bos=add_special, special=parse_special)
                    cases.append({"text": text, "add_special": add_special, "parse_special": parse_special, "ids": ids})
        for k, text in enumerate(random_strings()):
            add_special, parse_special = bool(k & 1), bool(k & 2)
            ids = llm.tokenize(text.encode("utf-8"), add_bos=add_special, special=parse_special)
            cases.append({"text": text, "add_special": add_special, "parse_special": parse_special, "ids": ids})
        n = llm.n_vocab()
        sequences = []
        for text in DECODE_EXTRA_TEXTS:
            sequences.append(llm.tokenize(text.encode("utf-8"), add_bos=True, special=True))
        sequences.append(list(range(0, min(n, 300))))                    # specials, byte tokens, first words
        sequences.append([(i * 7919) % n for i in range(200)])             # spread over the vocabulary
        sequences.append(list(range(n - 50, n)))                           # the end of the vocabulary
        decodes = [{"ids": ids, "bytes_hex": pieces(model, ids).hex()} for ids in sequences]
        lines = [f'  "vocab": {json.dumps(name)}', f'  "file": {json.dumps(os.path.basename(path))}',
                 f'  "n_vocab": {n}', f'  "llama_cpp_python": {json.dumps(llama_cpp.__version__)}']
        body = ",\n".join(lines)
        body += ',\n  "cases": [\n' + ",\n".join("    " + json.dumps(c, ensure_ascii=False) for c in cases) + "\n  ]"
        body += ',\n  "decode": [\n' + ",\n".join("    " + json.dumps(d) for d in decodes) + "\n  ]"
        with open(os.path.join(OUT, f"{name}.json"), "w", encoding="utf-8") as f:
            f.write("{\n" + body + "\n}\n")
        print(f"{name}: {len(cases)} cases ({len(STRINGS)} strings x 4 settings, {RANDOM_COUNT} random strings x 1), {len(decodes)} decodes")
        del llm


if __name__ == "__main__":
    main()
