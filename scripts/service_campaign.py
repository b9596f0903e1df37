#!/usr/bin/env python3
"""A proxy-account extraction campaign against a running `distill-lab serve` (loopback only): N proxy keys
send random-token prompts (the simulator's `random_tokens` strategy) buying 8-token completions, beside a
few honest keys sending natural text; the server's detectors ban live. Prints who was banned, when, and what
the campaign had bought by then. Standard library only. Not the simulator: see docs/service.md.

usage: service_campaign.py --base-url http://127.0.0.1:PORT --admin-key KEY [--proxies 100] [--queries 150] [--natural FILE]
"""
import argparse
import json
import random
import statistics
import threading
import time
import urllib.error
import urllib.request


def call(base, key, path, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read()), {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}"), dict(e.headers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--admin-key", required=True)
    ap.add_argument("--proxies", type=int, default=100)
    ap.add_argument("--queries", type=int, default=150, help="queries each proxy tries to buy")
    ap.add_argument("--honest", type=int, default=20)
    ap.add_argument("--honest-queries", type=int, default=60)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="write the per-account log as JSON here")
    ap.add_argument("--natural", help="honest users' text, one a line (default: sampled from the teacher with the admin key)")
    a = ap.parse_args()
    assert a.base_url.startswith("http://127.0.0.1") or a.base_url.startswith("http://localhost"), "loopback only"
    rng = random.Random(a.seed)

    status, models, _ = call(a.base_url, a.admin_key, "/v1/models")
    model = models["data"][0]["id"]
    V = models["data"][0]["x_lab"]["vocabulary_size"]
    run = "%d" % int(time.time())

    # Honest traffic: natural text, taken from the teacher's own samples (what its users would write).
    natural = [line.strip() for line in open(a.natural) if len(line.strip()) >= 8] if a.natural else []
    while len(natural) < 40:
        s, body, _ = call(a.base_url, a.admin_key, "/v1/completions",
                          {"model": model, "prompt": [rng.randrange(1, V)], "max_tokens": 40, "n": 8, "seed": rng.randrange(1 << 30)})
        if s != 200:
            raise SystemExit(f"cannot sample natural text with the admin key: {s} {body}")
        natural += [c["text"] for c in body["choices"] if len(c["text"]) >= 8]

    accounts = []
    for i in range(a.proxies):
        s, body, _ = call(a.base_url, a.admin_key, "/admin/keys", {"name": f"proxy-{run}-{i}"})
        accounts.append({"name": body["name"], "key": body["key"], "role": "proxy", "todo": a.queries})
    for i in range(a.honest):
        s, body, _ = call(a.base_url, a.admin_key, "/admin/keys", {"name": f"honest-{run}-{i}"})
        accounts.append({"name": body["name"], "key": body["key"], "role": "honest", "todo": a.honest_queries})
    for acc in accounts:
        acc.update(served=0, tokens=0, rate_limited=0, banned_at=None, served_at_ban=None)

    start = time.time()
    lock = threading.Lock()

    def worker(mine, seed):
        r = random.Random(seed)
        live = list(mine)
        while live:
            acc = live[r.randrange(len(live))]
            if acc["role"] == "proxy":
                prompt = [r.randrange(V) for _ in range(r.randint(8, 32))]
            else:
                text = r.choice(natural)
                n = r.randint(8, min(32, len(text)))
                at = r.randrange(len(text) - n + 1)
                prompt = text[at:at + n]
            s, body, headers = call(a.base_url, acc["key"], "/v1/completions", {"model": model, "prompt": prompt, "max_tokens": 8})
            with lock:
                if s == 200:
                    acc["served"] += 1
                    acc["tokens"] += body["usage"]["completion_tokens"]
                    acc["todo"] -= 1
                elif s == 429:
                    acc["rate_limited"] += 1
                elif s == 403:
                    acc["banned_at"] = round(time.time() - start, 2)
                    acc["served_at_ban"] = acc["served"]
                    acc["todo"] = 0
                else:
                    raise SystemExit(f"unexpected {s}: {body}")
                if acc["todo"] <= 0:
                    live.remove(acc)
            if s == 429:
                time.sleep(float(headers.get("retry-after-ms", "100")) / 1000)

    order = accounts[:]
    rng.shuffle(order)
    threads = [threading.Thread(target=worker, args=(order[w::a.workers], a.seed * 1000 + w)) for w in range(a.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.time() - start

    s, summary, _ = call(a.base_url, a.admin_key, "/admin/summary")
    names = {acc["id"]: acc["account"] for acc in summary["accounts"]}
    by_name = {acc["name"]: acc for acc in accounts}
    for alarm in summary["alarms"]:
        acc = by_name.get(names.get(alarm["account"]))
        if acc is not None and "detector" not in acc:
            acc["detector"] = alarm["detector"]
            acc["alarm_served"] = alarm["served"]

    proxies = [x for x in accounts if x["role"] == "proxy"]
    honest = [x for x in accounts if x["role"] == "honest"]
    banned = [x for x in proxies if x["banned_at"] is not None]
    print(f"campaign: {len(proxies)} proxies x {a.queries} queries, {len(honest)} honest x {a.honest_queries}; wall {wall:.1f} s; "
          f"detectors {summary['detectors']}")
    print("| | accounts | banned | queries bought | completion tokens bought | median served at ban | median ban time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, group in (("proxies", proxies), ("honest", honest)):
        b = [x for x in group if x["banned_at"] is not None]
        med = statistics.median([x["served_at_ban"] for x in b]) if b else "-"
        when = statistics.median([x["banned_at"] for x in b]) if b else "-"
        print(f"| {label} | {len(group)} | {len(b)} | {sum(x['served'] for x in group)} | {sum(x['tokens'] for x in group)} | {med} | {when} |")
    detectors = {}
    for x in banned:
        detectors[x.get("detector", "?")] = detectors.get(x.get("detector", "?"), 0) + 1
    print("bans by detector:", detectors)
    print("first bans (account, detector, served then, seconds):",
          [(x["name"].split("-")[-1], x.get("detector"), x["served_at_ban"], x["banned_at"]) for x in sorted(banned, key=lambda x: x["banned_at"])[:5]])
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"wall_seconds": wall, "detectors": summary["detectors"],
                       "accounts": [{k: v for k, v in x.items() if k != "key"} for x in accounts]}, f, indent=1)


if __name__ == "__main__":
    main()
