#!/usr/bin/python3
"""Drives predstore's Redis-protocol front end with redis-py, Debian's
python3-redis: GET, HGET, HMGET, HGETALL, MGET, EXISTS and a pipeline, each
compared with the answers gRPC Lookup gave for the same keys.

usage: resp_clients.py PORT EXPECTED.json [PASSWORD]
EXPECTED.json: {"value_columns": [...], "rows": [{"key": "forecasts:1:2:3",
"values": [853.07, 1066.3375] or null for a miss}, ...]}
Prints one line per mismatch and exits 1 if there was one.
"""
import json
import sys

import redis

port, expected_file = int(sys.argv[1]), sys.argv[2]
password = sys.argv[3] if len(sys.argv) > 3 else None
expected = json.load(open(expected_file))
columns, rows = expected["value_columns"], expected["rows"]
client = redis.Redis(host="127.0.0.1", port=port, password=password, decode_responses=True)
failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")


def numbers(text):
    return None if text is None else [float(v) for v in text.split(",")]


check("PING", client.ping(), True)
for row in rows:
    key, values = row["key"], row["values"]
    check(f"GET {key}", numbers(client.get(key)), values)
    want_hash = {} if values is None else {c: v for c, v in zip(columns, values)}
    got_hash = {c: float(v) for c, v in client.hgetall(key).items()}
    check(f"HGETALL {key}", got_hash, want_hash)
    first = client.hget(key, columns[0])
    check(f"HGET {key} {columns[0]}", None if first is None else float(first), None if values is None else values[0])
    got_fields = client.hmget(key, [columns[-1], "no_such_column"])
    check(f"HMGET {key}", [None if v is None else float(v) for v in got_fields],
          [None if values is None else values[-1], None])

keys = [row["key"] for row in rows]
check("MGET", [numbers(v) for v in client.mget(keys)], [row["values"] for row in rows])
check("EXISTS", client.exists(*keys), sum(row["values"] is not None for row in rows))

pipe = client.pipeline(transaction=False)
for _ in range(20):
    for key in keys:
        pipe.get(key)
answers = pipe.execute()
check("pipeline", [numbers(v) for v in answers], [row["values"] for row in rows] * 20)

for line in failures:
    print(line)
print(f"{len(rows)} keys, {len(failures)} mismatches")
sys.exit(1 if failures else 0)
