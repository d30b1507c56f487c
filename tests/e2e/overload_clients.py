#!/usr/bin/python3
"""Offers predstore more batch lookups than it runs at once, over HTTP
(urllib) and the Redis protocol (redis-py, Debian's python3-redis), from
many threads at the same time, and reports what each front end answered.

usage: overload_clients.py HTTP_PORT RESP_PORT KEYS.json THREADS CALLS
KEYS.json: {"keys": [[store, item, horizon], ...]} (every key is stored).
Prints one JSON object: per front end, the calls answered in full, the
refusals, one refusal as the client saw it, and any wrong answer.
"""
import json
import sys
import threading
import urllib.error
import urllib.request

import redis

http_port, resp_port = int(sys.argv[1]), int(sys.argv[2])
keys = json.load(open(sys.argv[3]))["keys"]
threads, calls = int(sys.argv[4]), int(sys.argv[5])
lock = threading.Lock()
report = {"http": {"ok": 0, "refused": 0, "refusal": None, "wrong": []},
          "resp": {"ok": 0, "refused": 0, "refusal": None, "wrong": []}}
body = json.dumps({"key_columns": ["store_id", "item_id", "horizon_days"],
                   "keys": [{"values": [{"int64_value": str(v)} for v in key]} for key in keys]}).encode()
resp_keys = ["forecasts:%d:%d:%d" % tuple(key) for key in keys]


def tally(front_end, ok, refusal=None, wrong=None):
    with lock:
        entry = report[front_end]
        if ok:
            entry["ok"] += 1
        elif refusal is not None:
            entry["refused"] += 1
            entry["refusal"] = entry["refusal"] or refusal
        if wrong is not None and len(entry["wrong"]) < 5:
            entry["wrong"].append(wrong)


def http_caller():
    url = "http://127.0.0.1:%d/v1/tables/forecasts:batchLookup" % http_port
    for _ in range(calls):
        request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request) as answer:
                results = json.loads(answer.read())["results"]
                found = sum(1 for r in results if r.get("found"))
                tally("http", found == len(keys), wrong=None if found == len(keys) else "found %d" % found)
        except urllib.error.HTTPError as error:
            refusal = {"status": error.code, "retry_after": error.headers.get("Retry-After"),
                       "body": json.loads(error.read())}
            tally("http", False, refusal=refusal if error.code == 429 else None,
                  wrong=None if error.code == 429 else refusal)


def resp_caller():
    client = redis.Redis(host="127.0.0.1", port=resp_port, decode_responses=True)
    for _ in range(calls):
        try:
            values = client.mget(resp_keys)
            missing = sum(1 for v in values if v is None)
            tally("resp", missing == 0, wrong=None if missing == 0 else "missing %d" % missing)
        except redis.exceptions.ResponseError as error:
            text = str(error)
            refused = text.startswith("TRYAGAIN")
            tally("resp", False, refusal=text if refused else None, wrong=None if refused else text)


workers = [threading.Thread(target=http_caller) for _ in range(threads)]
workers += [threading.Thread(target=resp_caller) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps(report))
