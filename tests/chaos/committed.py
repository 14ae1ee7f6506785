#!/usr/bin/python3
"""committed.py: the committed dataset of an ec-s3put file:// lake, in a canonical order.

Usage: committed.py [--complete | --listed] [--uri URI] LAKE_DIR [ACK_FILE]

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
and left out. With --listed (a run stopped after its last acknowledged checkpoint) also an
object file that no manifest lists at all, acknowledged or not: unacknowledged manifests
are not committed, but leftovers of earlier runs that a restore failed to remove are caught.

--uri URI names the objects as the manifests do when LAKE_DIR is a copy of another store
(s3://BUCKET/PREFIX synced with `aws s3 sync`): an object URI/REL is the file LAKE_DIR/REL.
The default is file://LAKE_DIR.
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


def committed_objects(lake, uri_prefix, ack, complete, unacked):
    """The relative paths of the objects the acknowledged manifests list; those of the
    manifests beyond the acknowledged id go to the set unacked."""
    mdir = os.path.join(lake, "_manifests")
    names = sorted(os.listdir(mdir)) if os.path.isdir(mdir) else []
    seen = {}
    for name in names:
        m = MANIFEST.match(name)
        if not m:
            fail("unexpected file in _manifests: %s" % name)
        epoch = int(m.group(1))
        beyond = ack is not None and epoch > ack
        if beyond and complete:
            fail("manifest %s is beyond the acknowledged checkpoint %d" % (name, ack))
        with open(os.path.join(mdir, name)) as f:
            manifest = json.load(f)
        for obj in manifest["objects"]:
            uri = obj["uri"]
            prefix = uri_prefix + "/"
            if beyond:
                unacked.add(uri[len(prefix):] if uri.startswith(prefix) else uri)
                continue
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
    complete = listed_only = False
    uri_prefix = None
    while args and args[0].startswith("--"):
        if args[0] == "--complete":
            complete = True
        elif args[0] == "--listed":
            listed_only = True
        elif args[0] == "--uri" and len(args) > 1:
            uri_prefix = args[1].rstrip("/")
            args = args[1:]
        else:
            break
        args = args[1:]
    if len(args) not in (1, 2) or (complete and listed_only):
        fail("usage: committed.py [--complete | --listed] [--uri URI] LAKE_DIR [ACK_FILE]")
    lake = os.path.abspath(args[0])
    if uri_prefix is None:
        uri_prefix = "file://" + lake
    ack = acked_id(args[1] if len(args) == 2 else None)
    unacked = set()
    listed = committed_objects(lake, uri_prefix, ack, complete, unacked)
    if complete:
        check_no_strays(lake, listed)
    elif listed_only:
        check_no_strays(lake, unacked.union(listed))
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
