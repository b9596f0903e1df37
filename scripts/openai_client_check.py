#!/usr/bin/env python3
"""The official `openai` Python client against a running `distill-lab serve`: lists models, buys completions
with logprobs and echo, streams one (stream=True), hits the rate limit (429 with Retry-After), and is refused (401) with a bad key.
Exits non-zero on the first check that fails; prints one line per check. Not a load test.

usage: openai_client_check.py --base-url http://127.0.0.1:PORT/v1 --key KEY --limited-key KEY2
(--limited-key: a key of an account whose burst the script may spend to reach the rate limit)
"""
import argparse
import sys

import openai


def check(condition, message):
    if not condition:
        print("FAIL: " + message)
        sys.exit(1)
    print("ok: " + message)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--limited-key", required=True)
    ap.add_argument("--max-requests", type=int, default=200, help="most requests spent looking for the rate limit")
    args = ap.parse_args()

    client = openai.OpenAI(base_url=args.base_url, api_key=args.key, max_retries=0, timeout=60)

    models = client.models.list()
    ids = [m.id for m in models.data]
    check(len(ids) == 1, f"models.list() returns the served model: {ids}")
    model = ids[0]

    c = client.completions.create(model=model, prompt="abcab", max_tokens=6, logprobs=3, temperature=0.8, seed=7)
    choice = c.choices[0]
    lp = choice.logprobs
    check(len(lp.tokens) == c.usage.completion_tokens == 6, f"completion of 6 tokens with logprobs: {choice.text!r}")
    check(all(t is not None and t <= 0 for t in lp.token_logprobs), "every generated token has a logprob <= 0")
    check(all(len(d) == 3 for d in lp.top_logprobs), "top_logprobs holds 3 alternatives per position")
    check(c.usage.prompt_tokens == 5 and c.usage.total_tokens == 11, f"usage block: {c.usage.prompt_tokens} + {c.usage.completion_tokens}")

    again = client.completions.create(model=model, prompt="abcab", max_tokens=6, logprobs=3, temperature=0.8, seed=7)
    check(again.choices[0].text == choice.text, "the same seed gives the same completion")

    e = client.completions.create(model=model, prompt="abcabc", max_tokens=0, echo=True, logprobs=2)
    elp = e.choices[0].logprobs
    check(e.choices[0].text == "abcabc" and len(elp.tokens) == 6, "echo with max_tokens=0 returns the prompt")
    check(elp.token_logprobs[0] is None and all(x is not None for x in elp.token_logprobs[1:]),
          "echo scores every prompt token after the first")

    both = client.completions.create(model=model, prompt=["abc", "cab"], max_tokens=4, n=2, echo=True, logprobs=1)
    check(len(both.choices) == 4 and all(ch.text.startswith(p) for ch, p in zip(both.choices, ["abc", "abc", "cab", "cab"])),
          "a list of 2 prompts with n=2 and echo gives 4 choices, each starting with its prompt")

    streamed = list(client.completions.create(model=model, prompt="abcab", max_tokens=6, logprobs=3, temperature=0.8,
                                              seed=7, stream=True, stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].text for ch in streamed if ch.choices)
    check(text == choice.text, f"stream=True gives the same text as the plain answer, token by token: {text!r}")
    tokens = [t for ch in streamed if ch.choices and ch.choices[0].logprobs for t in ch.choices[0].logprobs.tokens]
    check(tokens == lp.tokens, "the streamed chunks carry the same tokens and logprobs")
    finishes = [ch.choices[0].finish_reason for ch in streamed if ch.choices and ch.choices[0].finish_reason]
    check(finishes == [choice.finish_reason], f"one finish reason, in the last chunk: {finishes}")
    check(streamed[-1].usage is not None and streamed[-1].usage.completion_tokens == 6,
          "stream_options include_usage sends the usage block last")

    ids_prompt = client.completions.create(model=model, prompt=[1, 2, 3], max_tokens=3)
    check(ids_prompt.usage.prompt_tokens == 3, "a prompt of token ids is accepted")

    try:
        client.completions.create(model="no-such-model", prompt="a", max_tokens=1)
        check(False, "an unknown model is refused")
    except openai.NotFoundError as err:
        check(err.status_code == 404, "an unknown model is refused with 404")

    try:
        client.completions.create(model=model, prompt="a", max_tokens=-1)
        check(False, "negative max_tokens is refused")
    except openai.BadRequestError as err:
        check(err.status_code == 400 and "max_tokens" in str(err), "negative max_tokens is refused with 400 naming the field")

    limited = openai.OpenAI(base_url=args.base_url, api_key=args.limited_key, max_retries=0, timeout=60)
    hit = None
    for i in range(args.max_requests):
        try:
            limited.completions.create(model=model, prompt="ab", max_tokens=1)
        except openai.RateLimitError as err:
            hit = (i, err)
            break
    check(hit is not None, "the rate limit is reached within the burst")
    i, err = hit
    retry = err.response.headers.get("retry-after")
    check(err.status_code == 429 and retry is not None and int(retry) >= 1,
          f"request {i + 1} gets 429 with Retry-After: {retry} ({err.response.headers.get('retry-after-ms')} ms)")

    patient = openai.OpenAI(base_url=args.base_url, api_key=args.limited_key, max_retries=3, timeout=60)
    ok = patient.completions.create(model=model, prompt="ab", max_tokens=1)
    check(len(ok.choices) == 1, "the client's own retry honours Retry-After and then succeeds")

    bad = openai.OpenAI(base_url=args.base_url, api_key="dl-not-a-key", max_retries=0)
    try:
        bad.models.list()
        check(False, "a bad key is refused")
    except openai.AuthenticationError as err:
        check(err.status_code == 401, "a bad key is refused with 401")

    print("all checks passed")


if __name__ == "__main__":
    main()
