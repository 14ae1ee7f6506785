#!/usr/bin/env bats
# ec-s3put.bats: the lake writer on file:// destinations: objects read back with gzip, zstd
# and tar, partitioning, rotation, hostile values, bad input, the sink role (ack, journal,
# manifests, restore, replay after kill -9), signals and usage errors.
# The S3 side (s3rver, signatures, faults) is in ec-s3put-s3.bats.

load helpers/common

setup() {
	common_setup
	P=$EC_BIN/ec-s3put
	[ -x "$P" ] || {
		echo "ec-s3put is not built: $P (run make)"
		return 1
	}
	IN=$DATA_DIR/ec-s3put/orders.ndjson
	L=$T/lake
}

teardown() {
	if [ -n "${BG_PID:-}" ]; then
		kill -KILL "$BG_PID" 2>/dev/null || true
		wait "$BG_PID" 2>/dev/null || true
	fi
	common_teardown
}

# put ARGS...: ec-s3put; stdout in $T/out, stderr in $T/err, exit status in $status.
put() {
	status=0
	"$P" "$@" >"$T/out" 2>"$T/err" || status=$?
}

expect_status() {
	if [ "$status" != "$1" ]; then
		echo "exit status $status, expected $1; stderr:"
		head -c 2000 "$T/err"
		return 1
	fi
}

# expect_file FILE: compare FILE with the expected text on stdin.
expect_file() {
	cat >"$T/expected"
	if ! cmp -s "$T/expected" "$1"; then
		show_diff "$1" "$T/expected" "$1"
		return 1
	fi
}

# decompress FILE: the NDJSON inside an object, whatever its format.
decompress() {
	case $1 in
	*.tar.gz) tar -xzOf "$1" ;;
	*.tar.zst) zstd -qdc "$1" | tar -xOf - ;;
	*.tar) tar -xOf "$1" ;;
	*.ndjson.gz) gzip -dc "$1" ;;
	*.ndjson.zst) zstd -qdc "$1" ;;
	*.ndjson) cat "$1" ;;
	*) echo "unknown object $1" >&2; return 1 ;;
	esac
}

# contents DIR: the records of a partition: its objects decompressed in key order.
contents() {
	local f
	for f in $(find "$1" -maxdepth 1 -type f -name 'part-*' | sort); do
		decompress "$f" || return 1
	done
}

# lines N...: those lines of $IN.
lines() {
	local n
	for n in "$@"; do
		sed -n "${n}p" "$IN"
	done
}

# objects: the lake's object files, relative, sorted (no manifests).
objects() {
	(cd "$L" && find . -type f -name 'part-*' | sed 's|^\./||' | sort)
}

# by_field INPUT FIELD OUTDIR: OUTDIR/VALUE holds INPUT's lines whose FIELD is VALUE, in order.
by_field() {
	/usr/bin/python3 - "$@" <<'PY'
import json, os, sys
src, field, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
files = {}
with open(src, 'rb') as f:
    for raw in f:
        if not raw.strip():
            continue
        v = json.loads(raw)[field]
        if v not in files:
            files[v] = open(os.path.join(out, v), 'wb')
        files[v].write(raw)
for f in files.values():
    f.close()
PY
}

# check_by_category INPUT: every cat=VALUE partition of the lake holds exactly INPUT's
# records of that category, in input order, and there is no other partition.
check_by_category() {
	local v bad=0
	by_field "$1" category "$T/want"
	for v in $(ls "$T/want"); do
		contents "$L/cat=$v" >"$T/got" || bad=1
		cmp -s "$T/want/$v" "$T/got" || { echo "partition cat=$v differs"; bad=1; }
	done
	[ "$(ls "$L" | grep -vx _manifests | sort)" = "$(ls "$T/want" | sed 's/^/cat=/' | sort)" ] ||
		{ echo "partitions: $(ls "$L" | tr '\n' ' ')"; bad=1; }
	return $bad
}

gen_flat() {
	"$EC_BIN/ec-gen" --format flat --orders "${2:-300}" --seed 7 >"$1"
}

# ---------------------------------------------------------------------------
# Objects read back: every format gives exactly the input records per partition, in order.

@test "gzip (default): each partition's objects gunzip to its records in input order" {
	gen_flat "$T/in"
	put -t .event_time -p 'cat={.category}' "file://$L" "$T/in"
	expect_status 0
	check_by_category "$T/in"
	objects | grep -qv '\.ndjson\.gz$' && { objects; return 1; }
	# gzip's own integrity check on every object.
	for f in $(find "$L" -name 'part-*'); do gzip -t "$f"; done
}

@test "zstd, none, and --tar with each: objects decompress to the input records" {
	local z tar
	gen_flat "$T/in"
	for z in gzip zstd none; do
		if [ "$z" = zstd ] && ! command -v zstd >/dev/null; then
			echo "# zstd CLI not installed: zstd objects not checked" >&3
			continue
		fi
		for tar in "" --tar; do
			rm -rf "$L"
			put -z "$z" $tar -t .event_time -p 'cat={.category}' "file://$L" "$T/in"
			expect_status 0
			check_by_category "$T/in" || { echo "failed: -z $z $tar"; return 1; }
		done
	done
}

@test "suffixes follow the format: .ndjson.gz .ndjson.zst .ndjson .tar.gz .tar.zst .tar" {
	local z tar
	for z in gzip zstd none; do
		for tar in "" --tar; do
			rm -rf "$L"
			put -z "$z" $tar "file://$L" "$IN"
			expect_status 0
			objects >"$T/names"
			case "$z$tar" in
			gzip) want=part-00000001-00000.ndjson.gz ;;
			zstd) want=part-00000001-00000.ndjson.zst ;;
			none) want=part-00000001-00000.ndjson ;;
			gzip--tar) want=part-00000001-00000.tar.gz ;;
			zstd--tar) want=part-00000001-00000.tar.zst ;;
			none--tar) want=part-00000001-00000.tar ;;
			esac
			echo "$want" | expect_file "$T/names"
		done
	done
	# Without --time and --partition, one object holds every record, blank lines dropped.
	rm -rf "$L"
	put -z none "file://$L" "$IN"
	grep -v '^$' "$IN" | expect_file "$L/part-00000001-00000.ndjson"
}

@test "tar: one member named like the object, mode 0644, mtime the newest record's time" {
	put --tar -t .ts -p 'table={.table}' "file://$L" "$IN"
	expect_status 0
	tar -tvzf "$L/table=orders/part-00000001-00000.tar.gz" >"$T/list"
	# The newest orders record is id 8 at 2026-11-23T00:00:00Z.
	grep -q '^-rw-r--r-- 0/0 .* 2026-11-23 00:00 part-00000001-00000.ndjson$' "$T/list" || { cat "$T/list"; return 1; }
	[ "$(wc -l <"$T/list")" = 1 ]
}

@test "reproducible bytes: gzip header mtime 0, no name; two runs write identical lakes" {
	gen_flat "$T/in"
	put -t .event_time -p 'cat={.category}' "file://$L" "$T/in"
	mv "$L" "$T/first"
	put -t .event_time -p 'cat={.category}' "file://$L" "$T/in"
	mv "$L" "$T/second"
	# Objects byte for byte; manifests differ only in the directory they name.
	[ "$(cd "$T/first" && find . -type f | sort)" = "$(cd "$T/second" && find . -type f | sort)" ]
	for f in $(cd "$T/first" && find . -name 'part-*'); do
		cmp "$T/first/$f" "$T/second/$f"
	done
	sed 's|/second/|/first/|g' "$T/second/_manifests/epoch-00000001.json" | cmp - "$T/first/_manifests/epoch-00000001.json"
	f=$(find "$T/first" -name 'part-*' | head -n 1)
	# Bytes 4-7 of a gzip header are the mtime, byte 3 the flags (no FNAME).
	[ "$(od -An -tx1 -j3 -N5 "$f" | tr -d ' ')" = "0000000000" ]
}

# ---------------------------------------------------------------------------
# Partitioning

@test "partition by time and a field; missing, null and empty fields go to the Hive default" {
	put -t .ts -p 'dt={time:%Y-%m-%d}/table={.table}' -z none "file://$L" "$IN"
	expect_status 0
	objects >"$T/names"
	expect_file "$T/names" <<'EOF'
dt=2026-11-22/table=customers/part-00000001-00000.ndjson
dt=2026-11-22/table=items/part-00000001-00000.ndjson
dt=2026-11-22/table=orders/part-00000001-00000.ndjson
dt=2026-11-23/table=__HIVE_DEFAULT_PARTITION__/part-00000001-00000.ndjson
dt=2026-11-23/table=items/part-00000001-00000.ndjson
dt=2026-11-23/table=orders/part-00000001-00000.ndjson
EOF
	lines 1 2 4 7 | expect_file "$L/dt=2026-11-22/table=orders/part-00000001-00000.ndjson"
	lines 3 6 | expect_file "$L/dt=2026-11-22/table=customers/part-00000001-00000.ndjson"
	lines 8 | expect_file "$L/dt=2026-11-22/table=items/part-00000001-00000.ndjson"
	lines 9 | expect_file "$L/dt=2026-11-23/table=orders/part-00000001-00000.ndjson"
	lines 10 11 12 | expect_file "$L/dt=2026-11-23/table=__HIVE_DEFAULT_PARTITION__/part-00000001-00000.ndjson"
	lines 13 | expect_file "$L/dt=2026-11-23/table=items/part-00000001-00000.ndjson"
}

@test "--default-partition names the partition of missing fields" {
	put -p 'table={.table}' --default-partition unknown -z none "file://$L" "$IN"
	expect_status 0
	lines 10 11 12 | expect_file "$L/table=unknown/part-00000001-00000.ndjson"
}

@test "--time without --partition: dt={time:%Y-%m-%d} in UTC" {
	put -t .ts -z none "file://$L" "$IN"
	expect_status 0
	lines 1 2 3 4 6 7 8 | expect_file "$L/dt=2026-11-22/part-00000001-00000.ndjson"
	lines 9 10 11 12 13 | expect_file "$L/dt=2026-11-23/part-00000001-00000.ndjson"
}

@test "--tz: {time:...} in local time (Asia/Jakarta, UTC+7)" {
	put -t .ts --tz Asia/Jakarta -p 'dt={time:%Y-%m-%d}/hour={time:%H}' -z none "file://$L" "$IN"
	expect_status 0
	# 13:59:31Z is 20:59 local; 23:59:59.999Z is 06:59 the next day; 17:05+07:00 is 17:05.
	lines 1 | expect_file "$L/dt=2026-11-22/hour=20/part-00000001-00000.ndjson"
	lines 7 | expect_file "$L/dt=2026-11-22/hour=17/part-00000001-00000.ndjson"
	lines 8 | expect_file "$L/dt=2026-11-23/hour=06/part-00000001-00000.ndjson"
	lines 9 10 | expect_file "$L/dt=2026-11-23/hour=07/part-00000001-00000.ndjson"
}

@test "numeric times with --time-unit s; a number field value partitions by its text" {
	printf '%s\n' '{"t":1795356000,"n":42}' '{"t":1795356000.5,"n":4.50}' '{"t":1795442400,"n":true}' >"$T/in"
	put -t .t --time-unit s -p 'dt={time:%Y-%m-%d}/n={.n}' -z none "file://$L" "$T/in"
	expect_status 0
	objects >"$T/names"
	expect_file "$T/names" <<'EOF'
dt=2026-11-22/n=4.50/part-00000001-00000.ndjson
dt=2026-11-22/n=42/part-00000001-00000.ndjson
dt=2026-11-23/n=true/part-00000001-00000.ndjson
EOF
}

@test "hostile values stay inside the prefix: ../, /, NUL, newlines, %, 10 KB values" {
	/usr/bin/python3 - "$T/in" <<'PY'
import json, sys
vals = ["../../etc/passwd", "..", ".", "/abs/path", "a/b", "x\u0000y", "line1\nline2", "100%", "%2F",
        "~tilde", "dots...", "k=v:w*?\"'#[]^{}\\", "\u00e9t\u00e9 \u2603", "A" * 10240, "A" * 10239 + "B"]
with open(sys.argv[1], "w") as f:
    for i, v in enumerate(vals):
        f.write(json.dumps({"i": i, "v": v}) + "\n")
PY
	mkdir -p "$T/box"
	L=$T/box/lake
	put -p 'v={.v}' -z none "file://$L" "$T/in"
	expect_status 0
	# Nothing outside the lake; every object is exactly two levels down.
	[ "$(find "$T/box" -mindepth 1 -maxdepth 1)" = "$L" ]
	[ "$(find "$L" -type f -name 'part-*' | wc -l)" = 15 ]
	[ "$(find "$L" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 16 ]	# 15 partitions and _manifests
	find "$L" -type f -name 'part-*' | while read -r f; do
		[ "${f#"$L"/v=*/}" = part-00000001-00000.ndjson ] || { echo "bad path $f"; exit 1; }
	done
	objects >"$T/names"
	grep -qxF 'v=%2E%2E%2F%2E%2E%2Fetc%2Fpasswd/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=%2E%2E/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=%2E/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=%2Fabs%2Fpath/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=x%00y/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=line1%0Aline2/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=100%25/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=%252F/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=%7Etilde/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=dots%2E%2E%2E/part-00000001-00000.ndjson' "$T/names"
	grep -qxF 'v=k%3Dv%3Aw%2A%3F%22%27%23%5B%5D%5E%7B}%5C/part-00000001-00000.ndjson' "$T/names"
	grep -qxF "v=$(printf '\303\251t\303\251 \342\230\203')/part-00000001-00000.ndjson" "$T/names"
	# The two 10 KB values: cut to 128 bytes with a hash suffix, and still distinct.
	grep -E '^v=A{111}~[0-9a-f]{16}/' "$T/names" | sort -u >"$T/long"
	[ "$(wc -l <"$T/long")" = 2 ] || { cat "$T/names"; return 1; }
	# Each record is in its own partition, byte for byte.
	[ "$(cat "$L"/v=*/part-* | wc -l)" = 15 ]
	cat "$L"/v=*/part-* | sort | cmp - <(sort "$T/in")
}

@test "template errors are usage errors (64)" {
	local t
	for t in 'dt={time:%Y' 'a}' '{time:%Y}' '../{.x}' '/abs/{.x}' 'a//{.x}' '{.x}/' '{.bad path}' './{.x}'; do
		put -p "$t" "file://$L" </dev/null
		[ "$status" = 64 ] || { echo "template '$t': exit $status"; cat "$T/err"; return 1; }
		grep -q -- '--partition' "$T/err" || { echo "template '$t':"; cat "$T/err"; return 1; }
	done
	[ ! -e "$L" ]
}

# ---------------------------------------------------------------------------
# Rotation

@test "--max-records: objects of N records, numbered per partition" {
	gen_flat "$T/in"
	put -t .event_time -p 'cat={.category}' --max-records 25 "file://$L" "$T/in"
	expect_status 0
	check_by_category "$T/in"
	for d in "$L"/cat=*; do
		n=$(ls "$d" | wc -l)
		total=$(contents "$d" | wc -l)
		[ "$n" = $(((total + 24) / 25)) ] || { echo "$d: $n objects for $total records"; return 1; }
		for f in $(ls "$d" | sort | head -n -1); do
			[ "$(decompress "$d/$f" | wc -l)" = 25 ] || { echo "$d/$f"; return 1; }
		done
		ls "$d" | sort | awk -v d="$d" '{ want = sprintf("part-00000001-%05d.ndjson.gz", NR - 1);
			if ($0 != want) { print d ": " $0 " != " want; exit 1 } }'
	done
}

@test "--max-bytes: rotation once the uncompressed NDJSON reaches SIZE" {
	gen_flat "$T/in"
	put -p 'cat={.category}' --max-bytes 4k -z none "file://$L" "$T/in"
	expect_status 0
	check_by_category "$T/in"
	for f in $(find "$L" -name 'part-*'); do
		size=$(stat -c %s "$f")
		last=$(tail -n 1 "$f" | wc -c)
		# Below 4096 before its last record; the last one may cross the limit.
		[ $((size - last)) -lt 4096 ] || { echo "$f: $size bytes"; return 1; }
	done
	[ "$(find "$L" -name 'part-*' | wc -l)" -gt 13 ]
}

@test "--max-age: rotate when a record is DURATION of event time past the object's first" {
	printf '%s\n' '{"t":"2026-11-22T10:00:00Z","k":1}' '{"t":"2026-11-22T10:04:59Z","k":2}' \
		'{"t":"2026-11-22T10:05:00Z","k":3}' '{"t":"2026-11-22T10:01:00Z","k":4}' \
		'{"t":"2026-11-22T10:10:00Z","k":5}' >"$T/in"
	put -t .t -p 'all' --max-age 5m -z none "file://$L" "$T/in"
	expect_status 0
	sed -n '1,2p' "$T/in" | expect_file "$L/all/part-00000001-00000.ndjson"
	sed -n '3,4p' "$T/in" | expect_file "$L/all/part-00000001-00001.ndjson"
	sed -n '5p' "$T/in" | expect_file "$L/all/part-00000001-00002.ndjson"
}

@test "barriers rotate every open object; epochs and sequence numbers in the keys" {
	printf '%s\n' '{"_ec":"restore","id":0}' '{"p":"a","n":1}' '{"p":"b","n":2}' \
		'{"_ec":"barrier","id":1,"pos":2,"acked":0}' '{"p":"a","n":3}' \
		'{"_ec":"barrier","id":2,"pos":3,"acked":1}' '{"_ec":"barrier","id":3,"pos":3,"acked":2}' \
		'{"p":"a","n":4}' >"$T/in"
	put -p 'p={.p}' -z none "file://$L" "$T/in"
	expect_status 0
	objects >"$T/names"
	expect_file "$T/names" <<'EOF'
p=a/part-00000001-00000.ndjson
p=a/part-00000002-00000.ndjson
p=a/part-00000004-00000.ndjson
p=b/part-00000001-00000.ndjson
EOF
	# Manifests for epochs with objects only (3 had none).
	[ "$(cd "$L/_manifests" && ls | tr '\n' ' ')" = "epoch-00000001.json epoch-00000002.json epoch-00000004.json " ]
}

@test "memory stays bounded: 120 partitions open over 100 MB of input" {
	"$EC_BIN/ec-gen" --format flat --orders 7000 --seed 3 >"$T/in"
	for _ in 1 2 3 4; do cat "$T/in"; done >"$T/in4"
	[ "$(stat -c %s "$T/in4")" -gt 90000000 ]
	/usr/bin/time -f '%M' -o "$T/rss" "$P" -t .event_time --max-bytes 1G \
		-p 'city={.city}/device={.device}' "file://$L" "$T/in4" >"$T/out"
	[ "$(wc -l <"$T/out")" -ge 100 ]
	echo "# peak RSS $(tail -n 1 "$T/rss") KB" >&3
	[ -n "${EC_SANITIZED:-}" ] || [ "$(tail -n 1 "$T/rss")" -lt 65536 ]
	# Everything landed.
	[ "$(find "$L" -name 'part-*' -exec gzip -dc {} + | wc -l)" = "$(wc -l <"$T/in4")" ]
}

# ---------------------------------------------------------------------------
# stdout

@test "stdout: one line per object, control records forwarded in order" {
	printf '%s\n' '{"_ec":"restore","id":0}' '{"t":"2026-11-22T10:00:00Z","p":"a"}' \
		'{"t":"2026-11-22T10:00:02.5Z","p":"a"}' '{"t":"2026-11-22T09:00:00Z","p":"b"}' \
		'{"_ec":"other","x":1}' '{"_ec":"barrier","id":1,"pos":3,"acked":0}' >"$T/in"
	put -t .t -p 'p={.p}' -z none "file://$L" "$T/in"
	expect_status 0
	expect_file "$T/out" <<EOF
{"_ec":"restore","id":0}
{"_ec":"other","x":1}
{"uri":"file://$L/p=a/part-00000001-00000.ndjson","records":2,"bytes":76,"min_time":"2026-11-22T10:00:00.000Z","max_time":"2026-11-22T10:00:02.500Z"}
{"uri":"file://$L/p=b/part-00000001-00000.ndjson","records":1,"bytes":37,"min_time":"2026-11-22T09:00:00.000Z","max_time":"2026-11-22T09:00:00.000Z"}
{"_ec":"barrier","id":1,"pos":3,"acked":0}
EOF
	[ "$(stat -c %s "$L/p=a/part-00000001-00000.ndjson")" = 76 ]
	# Without --time the times are null.
	rm -rf "$L"
	put -p 'p={.p}' -z none "file://$L" <(head -n 2 "$T/in")
	expect_file "$T/out" <<EOF
{"_ec":"restore","id":0}
{"uri":"file://$L/p=a/part-00000001-00000.ndjson","records":1,"bytes":37,"min_time":null,"max_time":null}
EOF
}

# ---------------------------------------------------------------------------
# Bad input

@test "unparseable or missing time: exit 65 naming file and line; nothing half-written" {
	printf '%s\n' '{"t":"2026-11-22T10:00:00Z"}' '{"t":"yesterday"}' >"$T/in"
	put -t .t "file://$L" "$T/in"
	expect_status 65
	grep -q "error: $T/in:2: .t: " "$T/err" || { cat "$T/err"; return 1; }
	# The open object was dropped: no temp files, no objects.
	[ -z "$(find "$L" -type f)" ] || { find "$L"; return 1; }
	put -t .t "file://$L" <<<'{"x":1}'
	expect_status 65
	grep -q 'error: stdin:1: missing time field .t' "$T/err"
}

@test "--errors skip and --dead-letter: bad lines out, the rest landed" {
	printf '%s\n' '{"t":"2026-11-22T10:00:00Z","n":1}' '{"t":"nope","n":2}' 'not json' \
		'{"t":null,"n":3}' '{"t":"2026-11-22T11:00:00Z","n":4}' >"$T/in"
	put -t .t -z none --errors skip "file://$L" "$T/in"
	expect_status 0
	grep -q 'skipped: 3' "$T/err"
	sed -n '1p;5p' "$T/in" | expect_file "$L/dt=2026-11-22/part-00000001-00000.ndjson"
	rm -rf "$L"
	put -t .t -z none --dead-letter "$T/dead" "file://$L" "$T/in"
	expect_status 0
	[ "$(wc -l <"$T/dead")" = 3 ]
	/usr/bin/python3 -c '
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert [r["line"] for r in rows] == [2, 3, 4], rows
assert rows[0]["raw"] == "{\"t\":\"nope\",\"n\":2}", rows[0]' "$T/dead"
}

# ---------------------------------------------------------------------------
# The sink role: ack file, manifests, journal, restore, replay

@test "manifest: the epoch's objects with counts and times, same as stdout" {
	printf '%s\n' '{"_ec":"restore","id":0}' '{"t":"2026-11-22T10:00:00Z","p":"a"}' \
		'{"t":"2026-11-22T09:00:00Z","p":"b"}' '{"_ec":"barrier","id":1,"pos":2,"acked":0}' >"$T/in"
	put -t .t -p 'p={.p}' --ack "$T/ack" --state-dir "$T/st" "file://$L" "$T/in"
	expect_status 0
	{
		printf '{"epoch":1,"objects":['
		grep '"uri"' "$T/out" | paste -sd, | tr -d '\n'
		printf ']}\n'
	} | expect_file "$L/_manifests/epoch-00000001.json"
	grep -c '"uri"' "$T/out" | grep -qx 2
	echo '{"id":1,"pos":2}' | expect_file "$T/ack"
	# The journal is empty once the checkpoint is acknowledged.
	[ ! -s "$T/st/journal.ndjson" ]
}

# start_live ARGS...: ec-s3put reading the fifo $T/fifo (held open on fd 5) in the background.
start_live() {
	mkfifo "$T/fifo"
	"$P" "$@" <"$T/fifo" >"$T/out" 2>"$T/err" &
	BG_PID=$!
	exec 5>"$T/fifo"
}

wait_for() {
	local i
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

@test "ack: written only after the epoch's objects are complete; open objects are temp files" {
	start_live -t .t -p 'p={.p}' -z none --ack "$T/ack" --state-dir "$T/st" "file://$L"
	printf '%s\n' '{"_ec":"restore","id":0}' '{"t":"2026-11-22T10:00:00Z","p":"a"}' \
		'{"t":"2026-11-22T10:00:01Z","p":"b"}' >&5
	wait_for grep -q restore "$T/out"
	wait_for test -e "$L/p=b/.part-00000001-00000.ndjson.tmp"
	sleep 0.3
	# Epoch 1 is open: no ack, no object under its final name, its intents journalled.
	[ ! -e "$T/ack" ]
	[ -z "$(find "$L" -name 'part-*')" ]
	[ "$(grep -c '"epoch":1' "$T/st/journal.ndjson")" = 2 ]
	echo '{"_ec":"barrier","id":1,"pos":2,"acked":0}' >&5
	wait_for test -e "$T/ack"
	# When the ack exists, everything it covers is complete: objects and manifest, no temps.
	[ -z "$(find "$L" -name '.*')" ]
	printf '%s\n' '{"t":"2026-11-22T10:00:00Z","p":"a"}' | cmp - "$L/p=a/part-00000001-00000.ndjson"
	[ -f "$L/_manifests/epoch-00000001.json" ]
	wait_for grep -q barrier "$T/out"
	exec 5>&-
	wait "$BG_PID"
	BG_PID=
}

@test "restore K removes the objects and manifests of epochs after K" {
	printf '%s\n' '{"_ec":"restore","id":0}' '{"p":"a","n":1}' '{"_ec":"barrier","id":1,"pos":1,"acked":0}' \
		'{"p":"a","n":2}' '{"p":"b","n":3}' '{"_ec":"barrier","id":2,"pos":3,"acked":1}' \
		'{"p":"a","n":4}' '{"p":"c","n":5}' >"$T/in"
	# No ack file: nothing is acknowledged, so the journal keeps every epoch's intents.
	put -p 'p={.p}' -z none --max-records 1 --state-dir "$T/st" "file://$L" "$T/in"
	expect_status 0
	[ "$(find "$L" -name 'part-*' | wc -l)" = 5 ]
	[ -f "$L/_manifests/epoch-00000003.json" ]
	put -p 'p={.p}' -z none --state-dir "$T/st" "file://$L" <<<'{"_ec":"restore","id":1}'
	expect_status 0
	objects >"$T/names"
	echo p=a/part-00000001-00000.ndjson | expect_file "$T/names"
	[ "$(ls "$L/_manifests")" = epoch-00000001.json ]
	[ ! -s "$T/st/journal.ndjson" ]
	echo '{"_ec":"restore","id":1}' | expect_file "$T/out"
}

@test "restore K after a crash mid-epoch: temp files, rotated objects and manifests of later epochs go" {
	start_live -p 'p={.p}' -z none --max-records 2 --ack "$T/ack" --state-dir "$T/st" "file://$L"
	printf '%s\n' '{"_ec":"restore","id":0}' '{"p":"a"}' '{"_ec":"barrier","id":1,"pos":1,"acked":0}' \
		'{"p":"a"}' '{"p":"a"}' '{"p":"a"}' '{"p":"b"}' >&5
	wait_for test -e "$L/p=b/.part-00000002-00000.ndjson.tmp"
	kill -KILL "$BG_PID"
	wait "$BG_PID" || true
	BG_PID=
	exec 5>&-
	echo '{"id":1,"pos":1}' | expect_file "$T/ack"
	[ -f "$L/p=a/part-00000002-00000.ndjson" ]	# rotated, complete, but not acknowledged
	put -p 'p={.p}' -z none --ack "$T/ack" --state-dir "$T/st" "file://$L" <<<'{"_ec":"restore","id":1}'
	expect_status 0
	(cd "$L" && find . -type f | sort) >"$T/files"
	expect_file "$T/files" <<'EOF'
./_manifests/epoch-00000001.json
./p=a/part-00000001-00000.ndjson
EOF
}

@test "kill -9 mid-run, rerun from the ack with ec-gen --ack: the same objects, byte for byte" {
	local gen="$EC_BIN/ec-gen --format flat --orders 400 --seed 11 --checkpoint-records 300"
	local args=(-t .event_time -p 'dt={time:%Y-%m-%d}/cat={.category}' --max-records 30)
	# The uninterrupted run.
	$gen --ack "$T/ackA" | "$P" "${args[@]}" --ack "$T/ackA" --state-dir "$T/stA" "file://$L" >"$T/outA"
	mv "$L" "$T/lakeA"
	# The interrupted one: killed while epoch 3 is being written.
	$gen --ack "$T/ackB" >"$T/genB"
	start_live "${args[@]}" --ack "$T/ackB" --state-dir "$T/stB" "file://$L"
	head -n 750 "$T/genB" >&5
	wait_for grep -q '"id":2' "$T/ackB"
	sleep 0.3
	kill -KILL "$BG_PID"
	wait "$BG_PID" || true
	BG_PID=
	exec 5>&-
	[ -n "$(find "$L" -name '.*.tmp')" ]	# it died with open objects
	# The rerun: the source resumes after the acknowledged position with restore 2.
	$gen --ack "$T/ackB" | "$P" "${args[@]}" --ack "$T/ackB" --state-dir "$T/stB" "file://$L" >"$T/outB"
	head -n 1 "$T/outB" | grep -qx '{"_ec":"restore","id":2}'
	mv "$L" "$T/lakeB"
	(cd "$T/lakeA" && find . -type f | sort) >"$T/filesA"
	(cd "$T/lakeB" && find . -type f | sort) >"$T/filesB"
	cmp "$T/filesA" "$T/filesB" || { diff "$T/filesA" "$T/filesB" | head; return 1; }
	while read -r f; do
		cmp "$T/lakeA/$f" "$T/lakeB/$f" || { echo "$f differs"; return 1; }
	done <"$T/filesA"
	cmp "$T/ackA" "$T/ackB"
	# And the lake holds every generated record exactly once.
	find "$T/lakeB" -name 'part-*' -exec gzip -dc {} + | sort >"$T/landed"
	grep -v '"_ec"' "$T/genB" | sort | cmp - "$T/landed"
}

@test "--ack without --state-dir is a usage error; a restore without a journal warns" {
	put --ack "$T/ack" "file://$L" </dev/null
	expect_status 64
	put "file://$L" <<<'{"_ec":"restore","id":3}'
	expect_status 0
	grep -q 'restore 3 without --state-dir' "$T/err"
}

# ---------------------------------------------------------------------------
# Signals

@test "SIGTERM drains: open objects completed, manifest written, exit 0" {
	start_live -t .t -p 'p={.p}' -z none "file://$L"
	printf '%s\n' '{"t":"2026-11-22T10:00:00Z","p":"a"}' '{"t":"2026-11-22T10:00:01Z","p":"b"}' >&5
	wait_for test -e "$L/p=b/.part-00000001-00000.ndjson.tmp"
	kill -TERM "$BG_PID"
	status=0
	wait "$BG_PID" || status=$?
	BG_PID=
	exec 5>&-
	expect_status 0
	echo '{"t":"2026-11-22T10:00:00Z","p":"a"}' | expect_file "$L/p=a/part-00000001-00000.ndjson"
	echo '{"t":"2026-11-22T10:00:01Z","p":"b"}' | expect_file "$L/p=b/part-00000001-00000.ndjson"
	[ -f "$L/_manifests/epoch-00000001.json" ]
	[ "$(grep -c '"uri"' "$T/out")" = 2 ]
}

# ---------------------------------------------------------------------------
# Usage

@test "usage errors exit 64: --part-size 1M, bad DEST, options and values" {
	local args
	while IFS= read -r args; do
		eval "put $args" </dev/null
		[ "$status" = 64 ] || { echo "ec-s3put $args: exit $status"; cat "$T/err"; return 1; }
		[ -s "$T/out" ] && { echo "ec-s3put $args wrote to stdout"; return 1; }
		grep -q '^ec-s3put: error: ' "$T/err" || { echo "ec-s3put $args:"; cat "$T/err"; return 1; }
	done <<EOF
--part-size 1M s3://bucket
--part-size 6G s3://bucket
--part-size lots s3://bucket
--compression lz4 file://$L
-z gzip --level 10 file://$L
--level 0 file://$L
--max-records 0 file://$L
--max-bytes 1X file://$L
--max-age soon file://$L
--max-age 5m file://$L
--time-unit h -t .t file://$L
--tz Mars/Olympus -t .t file://$L
--default-partition '' file://$L
--retries -1 file://$L
EOF
	for args in "" "$L" "http://x/y" "s3://" "s3:///prefix" "file://relative/dir" "s3://b/a/../c"; do
		put $args </dev/null
		[ "$status" = 64 ] || { echo "DEST '$args': exit $status"; cat "$T/err"; return 1; }
	done
	grep -q 'file:// needs an absolute path' <("$P" file://relative/dir </dev/null 2>&1)
}

@test "the target directory cannot be created: exit 74" {
	touch "$T/file"
	put "file://$T/file/lake" </dev/null
	expect_status 74
}
