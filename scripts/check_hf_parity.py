#!/usr/bin/env python3
# check_hf_parity.py: opens a DistillLab checkpoint directory with transformers' GPT2LMHeadModel and
# compares its log-probabilities with the ones DistillLab computed (`distill-lab logprobs --json`).
# It is not a test runner or a converter: it never writes a checkpoint, and needs torch (CPU) + transformers.
"""Usage:
  check_hf_parity.py --checkpoint DIR --logprobs FILE [--tolerance 1e-4]
  check_hf_parity.py --checkpoint DIR --load-only

FILE is JSON, either
  {"tokens": [ids...], "logprobs": [[V floats] per position]}   full next-token distributions, or
  {"tokens": [ids...], "next_token_logprobs": [T-1 floats]}       log p(tokens[t+1] | tokens[..t]).

Exit status: 0 parity holds, 1 difference above tolerance, 2 bad input or a checkpoint that
transformers does not load cleanly (missing, unexpected or mismatched keys, or weights that differ
from model.safetensors).
"""
import argparse
import json
import os
import sys


def fail(message, status=2):
    print(f"check_hf_parity: {message}", file=sys.stderr)
    sys.exit(status)


def load_model(directory):
    """Loads with loading info so that silently re-initialised weights are an error, not a warning."""
    import torch
    from transformers import GPT2LMHeadModel

    if not os.path.isdir(directory):
        fail(f"{directory}: checkpoint directory does not exist")
    # Eager attention is the plain softmax(QK^T/sqrt(d))V that DistillLab computes.
    model, info = GPT2LMHeadModel.from_pretrained(
        directory, output_loading_info=True, attn_implementation="eager", dtype=torch.float32
    )
    problems = {k: v for k, v in info.items() if v}
    if problems:
        fail(f"{directory}: transformers did not load the checkpoint cleanly: {problems}")
    model.eval()
    return model


def check_weights(model, directory):
    """Every tensor in model.safetensors must reach the model unchanged (names, layout, values)."""
    import torch
    from safetensors.torch import load_file

    stored = load_file(os.path.join(directory, "model.safetensors"))
    state = model.state_dict()
    for name, tensor in stored.items():
        key = name if name in state else f"transformer.{name}"
        if key not in state:
            fail(f"model.safetensors tensor {name!r} has no counterpart in GPT2LMHeadModel")
        if tuple(state[key].shape) != tuple(tensor.shape):
            fail(f"{name!r}: shape {tuple(tensor.shape)} in the file, {tuple(state[key].shape)} in the model")
        if not torch.equal(state[key].float(), tensor.float()):
            fail(f"{name!r}: the model's values differ from the file's")
    if not torch.equal(state["lm_head.weight"], state["transformer.wte.weight"]):
        fail("lm_head.weight is not tied to transformer.wte.weight")
    print(f"loaded {len(stored)} tensors; every one equals model.safetensors; lm_head is tied to wte")


def reference_logprobs(model, tokens):
    import torch

    config = model.config
    if not tokens:
        fail("'tokens' is empty")
    if len(tokens) > config.n_positions:
        fail(f"{len(tokens)} tokens exceed n_positions {config.n_positions}")
    bad = [t for t in tokens if not isinstance(t, int) or not 0 <= t < config.vocab_size]
    if bad:
        fail(f"token ids {bad[:5]} are outside 0..<{config.vocab_size}")
    with torch.no_grad():
        logits = model(torch.tensor([tokens], dtype=torch.long)).logits[0]
    # float64 so that the reference's own rounding is far below any tolerance worth asking for.
    return torch.log_softmax(logits.double(), dim=-1)


def compare(model, payload, tolerance):
    import torch

    tokens = payload.get("tokens")
    if not isinstance(tokens, list):
        fail("the logprobs file needs a 'tokens' list")
    reference = reference_logprobs(model, tokens)
    T, V = reference.shape
    if "logprobs" in payload:
        ours = torch.tensor(payload["logprobs"], dtype=torch.float64)
        if ours.dim() != 2 or ours.shape[1] != V or ours.shape[0] not in (T, T - 1):
            fail(f"'logprobs' has shape {tuple(ours.shape)}; expected ({T}, {V}) or ({T - 1}, {V})")
        theirs = reference[: ours.shape[0]]
        what = f"{ours.shape[0]} positions x {V} tokens"
    elif "next_token_logprobs" in payload:
        ours = torch.tensor(payload["next_token_logprobs"], dtype=torch.float64)
        if ours.dim() != 1 or ours.shape[0] != T - 1:
            fail(f"'next_token_logprobs' has {tuple(ours.shape)} entries; expected {T - 1} (one per token after the first)")
        targets = torch.tensor(tokens[1:], dtype=torch.long)
        theirs = reference[: T - 1].gather(1, targets[:, None])[:, 0]
        what = f"{T - 1} next-token log-probabilities"
    else:
        fail("the logprobs file needs 'logprobs' or 'next_token_logprobs'")
    difference = (ours - theirs).abs()
    worst = difference.max().item()
    index = torch.nonzero(difference == worst)[0].tolist()
    print(f"compared {what}: max |ours - transformers| = {worst:.3e} at index {index} (tolerance {tolerance:g})")
    if not worst <= tolerance:  # also catches NaN
        print("PARITY FAILED", file=sys.stderr)
        sys.exit(1)
    print("parity OK")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="DistillLab checkpoint directory")
    parser.add_argument("--logprobs", help="JSON written by `distill-lab logprobs --json`")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max absolute difference (default 1e-4)")
    parser.add_argument("--load-only", action="store_true", help="only check that transformers loads the weights exactly")
    args = parser.parse_args()
    if not args.load_only and not args.logprobs:
        parser.error("give --logprobs FILE, or --load-only")

    model = load_model(args.checkpoint)
    check_weights(model, args.checkpoint)
    if args.load_only:
        return
    try:
        with open(args.logprobs) as f:
            payload = json.load(f)
    except (OSError, json.JSONDecodeError) as error:
        fail(f"{args.logprobs}: {error}")
    if not isinstance(payload, dict):
        fail(f"{args.logprobs}: expected a JSON object")
    compare(model, payload, args.tolerance)


if __name__ == "__main__":
    main()
