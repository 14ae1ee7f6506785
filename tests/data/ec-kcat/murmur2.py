#!/usr/bin/python3
# murmur2.py: the Java client's default partitioner for keys on stdin (one a line): prints "KEY PARTITION".
# Usage: murmur2.py PARTITIONS < keys. Checks itself first against values from Kafka's own tests.
import sys


def murmur2(data):
    m, r = 0x5bd1e995, 24
    h = (0x9747b28c ^ len(data)) & 0xffffffff
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & 0xffffffff
        k ^= k >> r
        k = (k * m) & 0xffffffff
        h = (h * m) & 0xffffffff
        h ^= k
    rest, idx = len(data) % 4, n4 * 4
    if rest >= 3:
        h ^= data[idx + 2] << 16
    if rest >= 2:
        h ^= data[idx + 1] << 8
    if rest >= 1:
        h ^= data[idx]
        h = (h * m) & 0xffffffff
    h ^= h >> 13
    h = (h * m) & 0xffffffff
    h ^= h >> 15
    return h


def signed(h):
    return h - (1 << 32) if h & 0x80000000 else h


# org.apache.kafka.common.utils.UtilsTest#testMurmur2
for key, want in (("21", -973932308), ("foobar", -790332482), ("abc", 479470107)):
    assert signed(murmur2(key.encode())) == want, key

parts = int(sys.argv[1])
for line in sys.stdin:
    key = line.rstrip("\n")
    print(key, (murmur2(key.encode()) & 0x7fffffff) % parts)
