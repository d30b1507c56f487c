#!/usr/bin/python3
"""The key hash of docs/scale-out.md#the-key-hash, written from the
documentation alone (as a client or batch job in another language would):
prints how many rows of a sample forecasts CSV (int64 keys store_id,
item_id, horizon_days) fall in each of N shards, one count per line.
Usage: shard_of.py CSV N"""
import csv
import sys

MASK = 0xFFFFFFFFFFFFFFFF


def shard_of(key_bytes, shards):
    h = 0xcbf29ce484222325
    for b in key_bytes:
        h = ((h ^ b) * 0x100000001b3) & MASK
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & MASK
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & MASK
    h ^= h >> 31
    return (h * shards) >> 64


def main():
    path, shards = sys.argv[1], int(sys.argv[2])
    counts = [0] * shards
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            key = b"".join(((int(row[c]) ^ (1 << 63)) & MASK).to_bytes(8, "big")
                           for c in ("store_id", "item_id", "horizon_days"))
            counts[shard_of(key, shards)] += 1
    print("\n".join(str(c) for c in counts))


if __name__ == "__main__":
    main()
