#!/usr/bin/env python3
# check_tokenizer_parity.py: loads a DistillLab BPE tokenizer.json with Hugging Face `tokenizers` (and with
# `transformers.PreTrainedTokenizerFast` when transformers is installed) and encodes and decodes test strings.
# It is not a trainer or a converter: it only reads the tokenizer and prints the ids Hugging Face computes.
"""Usage:
  check_tokenizer_parity.py --tokenizer FILE --strings FILE [--out FILE]

--strings is a JSON list of strings. Writes (to --out, or stdout) JSON:
  {"tokenizers": [[ids...] per string], "decoded": [text per string],
   "transformers": [[ids...] per string] or null when transformers is not installed,
   "versions": {"tokenizers": "...", "transformers": "..." or null}}
Exit status: 0 on success, 2 when the tokenizer does not load.
"""
import argparse
import json
import sys


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--strings", required=True)
    parser.add_argument("--out")
    args = parser.parse_args()

    import tokenizers

    with open(args.strings, encoding="utf-8") as f:
        strings = json.load(f)
    try:
        tok = tokenizers.Tokenizer.from_file(args.tokenizer)
    except Exception as error:  # the message is what matters to the caller
        print(f"check_tokenizer_parity: tokenizers cannot load {args.tokenizer}: {error}", file=sys.stderr)
        sys.exit(2)
    encodings = tok.encode_batch(strings, add_special_tokens=False)
    ids = [e.ids for e in encodings]
    decoded = tok.decode_batch(ids, skip_special_tokens=False)

    fast_ids = None
    transformers_version = None
    try:
        import transformers
        from transformers import PreTrainedTokenizerFast

        transformers_version = transformers.__version__
        fast = PreTrainedTokenizerFast(tokenizer_file=args.tokenizer)
        fast_ids = [fast.encode(s, add_special_tokens=False) for s in strings]
    except ImportError:
        pass

    result = {
        "tokenizers": ids,
        "decoded": decoded,
        "transformers": fast_ids,
        "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers_version},
    }
    text = json.dumps(result)  # ASCII escapes: some JSON readers drop a raw U+FEFF inside a string
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
