#!/usr/bin/python3
"""committed.py: the committed dataset of an ec-s3put file:// lake, in a canonical order.

Usage: committed.py [--complete] LAKE_DIR [ACK_FILE]

The committed objects are those listed in PREFIX/_manifests/epoch-N.json with N at most
the id in ACK_FILE (every manifest without an ack file: a run without checkpoints).
They are written to stdout partition by partition (sorted), each partition's objects in
(epoch, sequence) order, decompressed, after a line "== PARTITION": the records of a
partition in the order the sink received them, whatever the epochs and object sizes were.
Two runs over the same input must give the same bytes.

The lake is also checked, and any violation exits 1 with a message on stderr: an object
listed twice, a listed object missing or holding another number of records than its
manifest says. With --complete (a pipeline that ran to its end) also a manifest beyond
the acknowledged id and an object file that no committed manifest lists (output of an
unacknowledged epoch left behind, a temporary file); without it they are not committed
and left out.
"""
import gzip
import json
import os
import re
import sys

PART = re.compile(r"^part-(\d{8})-(\d{5})\.ndjson\.gz$")
MANIFEST = re.compile(r"^epoch-(\d+)\.json$")


def fail(msg):
    sys.stderr.write("committed.py: %s\n" % msg)
    sys.exit(1)


def acked_id(path):
    if path is None:
        return None
    with open(path) as f:
        return json.load(f)["id"]


def committed_objects(lake, ack, complete):
    """The relative paths of the objects the acknowledged manifests list."""
    mdir = os.path.join(lake, "_manifests")
    names = sorted(os.listdir(mdir)) if os.path.isdir(mdir) else []
    seen = {}
    for name in names:
        m = MANIFEST.match(name)
        if not m:
            fail("unexpected file in _manifests: %s" % name)
        epoch = int(m.group(1))
        if ack is not None and epoch > ack:
            if complete:
                fail("manifest %s is beyond the acknowledged checkpoint %d" % (name, ack))
            continue
        with open(os.path.join(mdir, name)) as f:
            manifest = json.load(f)
        for obj in manifest["objects"]:
            uri = obj["uri"]
            prefix = "file://" + lake + "/"
            if not uri.startswith(prefix):
                fail("%s: object %s is not below %s" % (name, uri, prefix))
            rel = uri[len(prefix):]
            if rel in seen:
                fail("object %s is listed by %s and %s" % (rel, seen[rel][0], name))
            seen[rel] = (name, obj["records"])
    return seen


def check_no_strays(lake, listed):
    for root, dirs, files in os.walk(lake):
        dirs[:] = [d for d in dirs if d != "_manifests"]
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), lake)
            if rel not in listed:
                fail("object file %s is in no committed manifest" % rel)


def sort_key(rel):
    d, base = os.path.split(rel)
    m = PART.match(base)
    if not m:
        fail("unexpected object name %s" % rel)
    return (d, int(m.group(1)), int(m.group(2)))


def main():
    args = sys.argv[1:]
    complete = bool(args) and args[0] == "--complete"
    if complete:
        args = args[1:]
    if len(args) not in (1, 2):
        fail("usage: committed.py [--complete] LAKE_DIR [ACK_FILE]")
    lake = os.path.abspath(args[0])
    ack = acked_id(args[1] if len(args) == 2 else None)
    listed = committed_objects(lake, ack, complete)
    if complete:
        check_no_strays(lake, listed)
    out = sys.stdout.buffer
    current = None
    for rel in sorted(listed, key=sort_key):
        part = os.path.dirname(rel)
        if part != current:
            out.write(b"== " + part.encode() + b"\n")
            current = part
        with gzip.open(os.path.join(lake, rel), "rb") as f:
            data = f.read()
        if data.count(b"\n") != listed[rel][1]:
            fail("%s holds %d records, its manifest says %d" % (rel, data.count(b"\n"), listed[rel][1]))
        out.write(data)


if __name__ == "__main__":
    main()
