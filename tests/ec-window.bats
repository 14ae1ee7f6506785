#!/usr/bin/env bats
# ec-window.bats: event-time windowed aggregation: golden cases, bad input,
# checkpoints, streaming behaviour, and GMV checked against jq on ec-gen output.

load helpers/common

setup() {
	common_setup
	W=$EC_BIN/ec-window
	[ -x "$W" ] || {
		echo "ec-window is not built: $W (run make)"
		return 1
	}
	WIN='"window_start":"2026-11-22T14:00:00.000Z","window_end":"2026-11-22T14:01:00.000Z"'
}

teardown() {
	if [ -n "${BG_PID:-}" ]; then
		kill -KILL "$BG_PID" 2>/dev/null || true
		wait "$BG_PID" 2>/dev/null || true
	fi
	common_teardown
}

# ew INPUT ARGS...: ec-window on INPUT; stdout in $T/out, stderr in $T/err, exit status in $status.
ew() {
	local in=$1
	shift
	status=0
	"$W" "$@" <"$in" >"$T/out" 2>"$T/err" || status=$?
}

# expect_status N: fail with stderr shown unless the last ew exited N.
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

# wait_for CONDITION...: poll up to 10 s for a command to succeed.
wait_for() {
	local i
	for i in $(seq 100); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------------------
# Golden cases: tests/data/ec-window/CASE.{args,in,out,err,status,files/}

@test "golden: every case in tests/data/ec-window" {
	golden_all ec-window
}

@test "golden: empty input writes nothing and says nothing" {
	golden ec-window empty blank-lines
}

@test "golden: one record" {
	golden ec-window one-record
}

@test "golden: tumbling 1m, two group-bys, count sum avg min max first last count_distinct" {
	golden ec-window tumble-aggs
}

@test "golden: money is exact (0.1+0.2=0.3, numeric strings, 38 digits, scale kept)" {
	golden ec-window money-exact
}

@test "golden: a sum overflowing 38 digits exits 65 naming the line" {
	golden ec-window sum-overflow sum-overflow-negative
}

@test "golden: hopping windows" {
	golden ec-window hop
}

@test "golden: session windows merge when a record bridges two sessions" {
	golden ec-window session
}

@test "golden: cumulate 1d every 6h, in UTC and in Asia/Jakarta" {
	golden ec-window cumulate cumulate-tz
}

@test "golden: calendar day and month in Asia/Jakarta start at 17:00Z" {
	golden ec-window tz-jakarta-day tz-jakarta-month
}

@test "golden: DST days in America/New_York last 23 and 25 hours" {
	golden ec-window dst-new-york
}

@test "golden: windows across midnight and the new year" {
	golden ec-window midnight-hop midnight-tumble cumulate
}

@test "golden: out-of-order records within --max-delay all count" {
	golden ec-window out-of-order
}

@test "golden: late records are counted and warned about" {
	golden ec-window late-counted
}

@test "golden: --late FILE gets exactly the raw lines of late records" {
	golden ec-window late-file
}

@test "golden: --allowed-lateness re-emits corrected windows with \"update\":true" {
	golden ec-window allowed-lateness
}

@test "golden: --weight retractions cancel in count, sum, avg and count_distinct" {
	golden ec-window retractions
}

@test "golden: --top '2 by gmv'" {
	golden ec-window top
}

@test "golden: --where selects and excludes" {
	golden ec-window where
}

@test "golden: --where compares a string's value, escapes decoded (as --group-by does)" {
	golden ec-window where-escaped
}

@test "golden: group keys: canonical strings, ordered by their JSON bytes" {
	golden ec-window group-order
}

@test "golden: nested, quoted and indexed paths" {
	golden ec-window paths
}

@test "golden: min/max/first/last/count(PATH)/count_distinct on mixed values" {
	golden ec-window agg-values
}

@test "golden: time as PostgreSQL text, offsets, fractions, epoch ms and --time-unit s" {
	golden ec-window time-text-forms time-unit-s time-unit-us time-unit-ns
}

@test "golden: control records pass through in order, byte for byte, never counted" {
	golden ec-window control-passthrough crlf no-final-newline
}

@test "golden: bad input exits 65 with file, line, column and reason" {
	golden ec-window bad-json bad-json-truncated bad-json-trailing bad-after-blank-lines \
		not-object-array not-object-string not-object-number not-object-null \
		time-missing time-wrong-type-bool time-wrong-type-null time-wrong-type-object \
		time-number-out-of-range time-unparseable time-bad-date \
		invalid-utf8 invalid-utf8-overlong invalid-utf8-key nul-in-string nul-between nul-after \
		sum-not-a-number number-too-long weight-not-integer max-line-boundary
}

@test "golden: --errors skip counts and warns, the other lines aggregate" {
	golden ec-window skip-one max-line-skip
}

@test "golden: --errors skip rejects only the record whose sum would overflow" {
	golden ec-window skip-sum-overflow
}

@test "golden: --dead-letter FILE gets file, line, reason, raw (and raw_base64)" {
	golden ec-window dead-letter
	# Warnings are rate-limited: the first one and the summary are certain.
	head -n 1 "$T/golden/dead-letter/.stderr" |
		grep -qxF 'ec-window: warning: stdin:2: column 1: expected object, got array (skipped; 1 bad lines so far)'
	tail -n 1 "$T/golden/dead-letter/.stderr" |
		grep -qxF 'ec-window: warning: bad input lines written to the dead-letter file: 6'
}

@test "golden: usage errors exit 64 with the reason and 'Try ... --help'" {
	local a c cases=()
	for a in "$DATA_DIR"/ec-window/usage-*.args; do
		c=${a##*/}
		cases+=("${c%.args}")
	done
	golden ec-window "${cases[@]}" restore-without-state-dir
}

# ---------------------------------------------------------------------------
# Input handling beyond the golden cases

@test "file arguments: positions name the file; '-' is stdin; a missing file exits 66" {
	cd "$T"
	printf '%s\n' '{"ts":"2026-11-22T14:00:01Z"}' >a.ndjson
	printf '%s\n' '{"ts":"2026-11-22T14:00:02Z"}' >stdin.ndjson
	printf '%s\n' '{"ts":"2026-11-22T14:00:03Z"}' '{"ts":"2026-11-22T14:00:04Z",' >b.ndjson
	status=0
	"$W" -t .ts a.ndjson - b.ndjson <stdin.ndjson >out 2>err || status=$?
	expect_status 65
	expect_file err <<-'EOF'
	ec-window: error: b.ndjson:2: column 30: unexpected end of input
	EOF
	status=0
	"$W" -t .ts a.ndjson - a.ndjson <stdin.ndjson >out 2>err || status=$?
	expect_status 0
	expect_file out <<-EOF
	{$WIN,"count":3}
	EOF
	status=0
	"$W" -t .ts a.ndjson nope.ndjson >out 2>err || status=$?
	expect_status 66
	expect_file err <<-'EOF'
	ec-window: error: cannot open nope.ndjson: No such file or directory
	EOF
}

@test "high cardinality: 20,000 groups in one window, sorted by key bytes" {
	# Two records per key, keys in a scrambled order, amounts a.bc plus 0.01.
	awk 'BEGIN {
		for (i = 0; i < 20000; i++) {
			k = (i * 7919) % 20000
			printf "{\"ts\":17953560%05d,\"sku\":\"s%05d\",\"amount\":\"%d.%02d\"}\n", i, k, k, k % 100
		}
		for (i = 0; i < 20000; i++)
			printf "{\"ts\":17953560%05d,\"sku\":\"s%05d\",\"amount\":0.01}\n", 20000 + i, (i * 13) % 20000
	}' >"$T/in"
	awk -v win="$WIN" 'BEGIN {
		for (k = 0; k < 20000; k++) {
			c = k * 100 + k % 100 + 1
			printf "{%s,\"sku\":\"s%05d\",\"n\":2,\"gmv\":%d.%02d}\n", win, k, int(c / 100), c % 100
		}
	}' >"$T/expected"
	ew "$T/in" -t .ts -g .sku -a 'n=count(),gmv=sum(.amount)'
	expect_status 0
	[ "$(wc -l <"$T/out")" -eq 20000 ]
	cmp -s "$T/expected" "$T/out" || { show_diff out "$T/expected" "$T/out"; false; }
	[ ! -s "$T/err" ]
}

# A line of about 100 MB: {"ts":...,"pad":"xxxx..."}
big_line() {
	printf '{"ts":"2026-11-22T14:00:00Z","pad":"'
	head -c 100000000 /dev/zero | tr '\0' x
	printf '"}\n'
}

@test "a 100 MB line: exit 65 'line longer than 16777216 bytes (--max-line)'" {
	{
		echo '{"ts":"2026-11-22T14:00:01Z"}'
		big_line
		echo '{"ts":"2026-11-22T14:00:02Z"}'
	} >"$T/in"
	ew "$T/in" -t .ts
	expect_status 65
	expect_file "$T/err" <<-'EOF'
	ec-window: error: stdin:2: line longer than 16777216 bytes (--max-line)
	EOF
	[ ! -s "$T/out" ]
}

@test "a 100 MB line with --errors skip: skipped in bounded memory, the rest aggregates" {
	{
		echo '{"ts":"2026-11-22T14:00:01Z"}'
		big_line
		echo '{"ts":"2026-11-22T14:00:02Z"}'
	} >"$T/in"
	status=0
	/usr/bin/time -f '%M' -o "$T/rss" "$W" -t .ts --errors skip <"$T/in" >"$T/out" 2>"$T/err" || status=$?
	expect_status 0
	expect_file "$T/out" <<-EOF
	{$WIN,"count":2}
	EOF
	expect_file "$T/err" <<-'EOF'
	ec-window: warning: stdin:2: line longer than 16777216 bytes (--max-line) (skipped; 1 bad lines so far)
	ec-window: warning: bad input lines skipped: 1
	EOF
	# Peak RSS in KiB: the line is never held whole (16 MiB limit plus buffers).
	# AddressSanitizer's shadow memory adds its own, so the bound is for plain builds.
	echo "peak RSS $(cat "$T/rss") KiB"
	[ -n "${EC_SANITIZED:-}" ] || [ "$(cat "$T/rss")" -lt 65536 ]
}

@test "a 100 MB line with --dead-letter: the first 256 bytes as raw, later line numbers right" {
	{
		echo '{"ts":"2026-11-22T14:00:01Z"}'
		big_line
		echo '{"ts":"2026-11-22T14:00:02Z",}'
		echo '{"ts":"2026-11-22T14:00:03Z"}'
	} >"$T/in"
	ew "$T/in" -t .ts --dead-letter "$T/dl.ndjson"
	expect_status 0
	expect_file "$T/out" <<-EOF
	{$WIN,"count":2}
	EOF
	prefix=$(tail -c +31 "$T/in" | head -c 256)
	[ "$(wc -l <"$T/dl.ndjson")" -eq 2 ]
	jq -e -s --arg raw "$prefix" '.[] | select(.line == 2) | .file == "stdin" and .reason == "line longer than 16777216 bytes (--max-line)" and .raw == $raw and (has("raw_base64") | not)' "$T/dl.ndjson"
	jq -e 'select(.line == 3) | .reason == "column 30: invalid JSON: unexpected '"'"'}'"'"'" and .raw == "{\"ts\":\"2026-11-22T14:00:02Z\",}"' "$T/dl.ndjson"
}

@test "a line over --max-line read through a pipe in pieces: the next line is read whole" {
	{
		echo '{"ts":"2026-11-22T14:00:01Z"}'
		printf '{"pad":"'
		head -c 300000 /dev/zero | tr '\0' x
		printf '"}\n'
		echo '{"ts":"2026-11-22T14:00:02Z"}'
	} >"$T/in"
	# Through a pipe the long line arrives in several reads (64 KiB each).
	cat "$T/in" | "$W" -t .ts --max-line 100k --dead-letter "$T/dl.ndjson" >"$T/out" 2>"$T/err"
	expect_file "$T/out" <<-EOF
	{$WIN,"count":2}
	EOF
	jq -c '[.line, .reason]' "$T/dl.ndjson" >"$T/dl.got"
	expect_file "$T/dl.got" <<-'EOF'
	[2,"line longer than 102400 bytes (--max-line)"]
	EOF
}

@test "--errors skip: every kind of bad line is skipped and counted, the good ones aggregate" {
	{
		echo '{"ts":"2026-11-22T14:00:01Z","v":1}'
		echo '{"ts":"2026-11-22T14:00:01Z",}'
		echo '[1]'
		echo '"s"'
		echo '7'
		echo '{"v":1}'
		echo '{"ts":"yesterday","v":1}'
		echo '{"ts":false,"v":1}'
		printf '{"ts":"2026-11-22T14:00:02Z","c":"\xff"}\n'
		printf '{"ts":"2026-11-22T14:00:02Z","c":"\0"}\n'
		echo '{"ts":"2026-11-22T14:00:03Z","v":2}'
		echo '{"ts":"2026-11-22T14:00:04Z","v":"abc"}'
		echo '{"ts":"2026-11-22T14:00:05Z","v":4}'
	} >"$T/in"
	ew "$T/in" -t .ts -a 'n=count(),v=sum(.v)' --errors skip
	expect_status 0
	expect_file "$T/out" <<-EOF
	{$WIN,"n":3,"v":7}
	EOF
	# Warnings are rate-limited (one a second): the first one and the total are certain.
	head -n 1 "$T/err" | grep -qxF "ec-window: warning: stdin:2: column 30: invalid JSON: unexpected '}' (skipped; 1 bad lines so far)"
	tail -n 1 "$T/err" | grep -qxF 'ec-window: warning: bad input lines skipped: 10'
}

@test "--dead-letter: raw_base64 holds the exact bytes of invalid UTF-8 and NUL lines" {
	{
		echo '{"ts":"2026-11-22T14:00:01Z"}'
		printf '{"ts":"2026-11-22T14:00:02Z","c":"\xff\xfe"}\n'
		printf '{"ts":"2026-11-22T14:00:03Z","c":"a\0b"}\n'
	} >"$T/in"
	ew "$T/in" -t .ts --dead-letter "$T/dl.ndjson"
	expect_status 0
	for n in 2 3; do
		sed -n "${n}p" "$T/in" | head -c -1 >"$T/want"
		jq -r "select(.line == $n) | .raw_base64" "$T/dl.ndjson" | base64 -d >"$T/got"
		cmp "$T/want" "$T/got"
	done
	tail -n 1 "$T/err" | grep -qxF 'ec-window: warning: bad input lines written to the dead-letter file: 2'
}

# ---------------------------------------------------------------------------
# Checkpoints (DESIGN.md §4): --state-dir, restore and barrier records

# The reference run: restore 0, records, three barriers; windows with lateness updates.
checkpoint_input() {
	cat <<-'EOF'
	{"_ec":"restore","id":0}
	{"ts":"2026-11-22T14:00:10Z","k":"a","v":1,"u":"u1"}
	{"ts":"2026-11-22T14:00:50Z","k":"b","v":2,"u":"u2"}
	{"ts":"2026-11-22T14:01:10Z","k":"a","v":4,"u":"u1"}
	{"ts":"2026-11-22T14:00:55Z","k":"a","v":8,"u":"u3"}
	{"_ec":"barrier","id":1,"pos":6,"acked":0}
	{"ts":"2026-11-22T14:01:45Z","k":"b","v":16,"u":"u2"}
	{"ts":"2026-11-22T14:00:59Z","k":"b","v":32,"u":"u9"}
	{"ts":"2026-11-22T14:02:05Z","k":"a","v":64,"u":"u1"}
	{"ts":"2026-11-22T14:01:50Z","k":"b","v":128,"u":"u4"}
	{"_ec":"barrier","id":2,"pos":11,"acked":1}
	{"ts":"2026-11-22T14:02:40Z","k":"c","v":256,"u":"u5"}
	{"_ec":"barrier","id":3,"pos":13,"acked":2}
	EOF
}

CKPT_ARGS=(-t .ts -g .k --allowed-lateness 30s -a 'n=count(),gmv=sum(.v),users=count_distinct(.u)')

checkpoint_expected() {
	local w0='"window_start":"2026-11-22T14:00:00.000Z","window_end":"2026-11-22T14:01:00.000Z"'
	local w1='"window_start":"2026-11-22T14:01:00.000Z","window_end":"2026-11-22T14:02:00.000Z"'
	local w2='"window_start":"2026-11-22T14:02:00.000Z","window_end":"2026-11-22T14:03:00.000Z"'
	cat <<-EOF
	{"_ec":"restore","id":0}
	{$w0,"k":"a","n":1,"gmv":1,"users":1}
	{$w0,"k":"b","n":1,"gmv":2,"users":1}
	{$w0,"k":"a","n":2,"gmv":9,"users":2,"update":true}
	{"_ec":"barrier","id":1,"pos":6,"acked":0}
	{$w1,"k":"a","n":1,"gmv":4,"users":1}
	{$w1,"k":"b","n":1,"gmv":16,"users":1}
	{$w1,"k":"b","n":2,"gmv":144,"users":2,"update":true}
	{"_ec":"barrier","id":2,"pos":11,"acked":1}
	{"_ec":"barrier","id":3,"pos":13,"acked":2}
	{$w2,"k":"a","n":1,"gmv":64,"users":1}
	{$w2,"k":"c","n":1,"gmv":256,"users":1}
	EOF
}

@test "state-dir: an uninterrupted checkpointed run; snapshots written, pruned by acked" {
	checkpoint_input >"$T/in"
	ew "$T/in" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 0
	checkpoint_expected | expect_file "$T/out"
	# Barrier 3 acked 2: snapshots older than 2 are gone; nothing else is left behind.
	[ "$(cd "$T/st" && ls -A | tr '\n' ' ')" = "snapshot-2.ndjson snapshot-3.ndjson " ]
}

@test "state-dir: snapshot files appear at each barrier" {
	checkpoint_input | head -n 6 >"$T/in"
	ew "$T/in" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 0
	[ -s "$T/st/snapshot-1.ndjson" ]
	checkpoint_input | head -n 11 >"$T/in"
	ew "$T/in" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 0
	[ "$(cd "$T/st" && ls -A | tr '\n' ' ')" = "snapshot-1.ndjson snapshot-2.ndjson " ]
}

@test "state-dir: a snapshot that cannot be put in place: exit 74, nothing from its barrier on is passed on" {
	checkpoint_input >"$T/in"
	# A directory holds snapshot 2's name: writing it succeeds, the rename into place fails.
	mkdir -p "$T/st/snapshot-2.ndjson/in-the-way"
	ew "$T/in" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 74
	grep -q 'snapshot-2.ndjson.tmp.*rename' "$T/err"
	# Barrier 1 and what came before barrier 2 are out; barrier 2 and the windows after it are not.
	checkpoint_expected | sed '/"id":2,/,$d' | expect_file "$T/out"
}

# Cut a run after barrier N, resume from snapshot N: the sink's view (output up to the
# acked barrier, then everything after the restore) equals the uninterrupted run.
resume_check() {
	local n=$1 cut_line=$2
	rm -rf "$T/st"
	# Run 1 reads a little past the barrier and ends; what it wrote after the barrier
	# belongs to an unacknowledged epoch and is discarded, as after a crash.
	checkpoint_input | head -n $((cut_line + 1)) >"$T/in1"
	ew "$T/in1" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 0
	[ -f "$T/st/snapshot-$n.ndjson" ]
	sed "/\"_ec\":\"barrier\",\"id\":$n,/q" "$T/out" >"$T/view"
	# Run 2: the source replays from the acked position, after a restore record.
	{
		echo "{\"_ec\":\"restore\",\"id\":$n}"
		checkpoint_input | tail -n +$((cut_line + 1))
	} >"$T/in2"
	ew "$T/in2" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 0
	head -n 1 "$T/out" | grep -qxF "{\"_ec\":\"restore\",\"id\":$n}"
	tail -n +2 "$T/out" >>"$T/view"
	checkpoint_expected | expect_file "$T/view"
}

@test "state-dir: cut at barrier 1 and resumed from its snapshot = one uninterrupted run" {
	resume_check 1 6
}

@test "state-dir: cut at barrier 2 and resumed from its snapshot = one uninterrupted run" {
	resume_check 2 11
}

@test "state-dir: session windows resume from a snapshot and still merge" {
	local args=(-t .ts -w 'session 10m' -g .user --max-delay 30m)
	# Snapshot 1 holds three open sessions; the record after it bridges two of u1's.
	printf '%s\n' '{"_ec":"restore","id":0}' \
		'{"ts":"2026-11-22T14:00:00Z","user":"u1"}' '{"ts":"2026-11-22T14:15:00Z","user":"u1"}' \
		'{"ts":"2026-11-22T14:02:00Z","user":"u2"}' '{"_ec":"barrier","id":1,"pos":4,"acked":0}' >"$T/in1"
	printf '%s\n' '{"_ec":"restore","id":1}' \
		'{"ts":"2026-11-22T14:08:00Z","user":"u1"}' '{"ts":"2026-11-22T15:30:00Z","user":"u1"}' >"$T/in2"
	ew "$T/in1" "${args[@]}" --state-dir "$T/st"
	expect_status 0
	ew "$T/in2" "${args[@]}" --state-dir "$T/st"
	expect_status 0
	expect_file "$T/out" <<-'EOF'
	{"_ec":"restore","id":1}
	{"window_start":"2026-11-22T14:02:00.000Z","window_end":"2026-11-22T14:12:00.000Z","user":"u2","count":1}
	{"window_start":"2026-11-22T14:00:00.000Z","window_end":"2026-11-22T14:25:00.000Z","user":"u1","count":3}
	{"window_start":"2026-11-22T15:30:00.000Z","window_end":"2026-11-22T15:40:00.000Z","user":"u1","count":1}
	EOF
}

@test "state-dir: an end record closes every window before the last barrier, which saves them as written" {
	cd "$T"
	printf '%s\n' '{"_ec":"restore","id":0}' '{"ts":"2026-11-22T14:00:10Z"}' '{"ts":"2026-11-22T14:00:20Z"}' \
		'{"_ec":"end"}' '{"_ec":"barrier","id":1,"pos":2,"acked":0}' >in
	ew in -t .ts -a 'n=count()' --state-dir st
	expect_status 0
	diff -u - "$T/out" <<-EOF
	{"_ec":"restore","id":0}
	{$WIN,"n":2}
	{"_ec":"end"}
	{"_ec":"barrier","id":1,"pos":2,"acked":0}
	EOF
	# A restart from that barrier has nothing left to write.
	echo '{"_ec":"restore","id":1}' >in2
	ew in2 -t .ts -a 'n=count()' --state-dir st
	expect_status 0
	[ "$(cat "$T/out")" = '{"_ec":"restore","id":1}' ]
}

@test "state-dir: restore K deletes the snapshots newer than K" {
	checkpoint_input >"$T/in"
	ew "$T/in" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 0
	echo '{"_ec":"restore","id":2}' >"$T/in"
	ew "$T/in" "${CKPT_ARGS[@]}" --state-dir "$T/st"
	expect_status 0
	# End of input: the window still open in snapshot 2 is written.
	expect_file "$T/out" <<-'EOF'
	{"_ec":"restore","id":2}
	{"window_start":"2026-11-22T14:02:00.000Z","window_end":"2026-11-22T14:03:00.000Z","k":"a","n":1,"gmv":64,"users":1}
	EOF
	[ "$(cd "$T/st" && ls -A | tr '\n' ' ')" = "snapshot-2.ndjson " ]
}

@test "state-dir: restore of a missing snapshot exits 66 and says the state is lost" {
	cd "$T"
	mkdir st
	printf '%s\n' '{"_ec":"restore","id":5}' '{"ts":"2026-11-22T14:00:00Z"}' >in
	ew in -t .ts --state-dir st
	expect_status 66
	expect_file "$T/err" <<-'EOF'
	ec-window: error: restore 5: snapshot st/snapshot-5.ndjson is missing: the state of that checkpoint is lost; start the pipeline afresh (remove the ack file) or restore it
	EOF
	[ ! -s "$T/out" ]
}

@test "state-dir: a snapshot made with other options is refused (exit 65)" {
	cd "$T"
	checkpoint_input | head -n 6 >in
	ew in "${CKPT_ARGS[@]}" --state-dir st
	expect_status 0
	echo '{"_ec":"restore","id":1}' >in
	ew in -t .ts -g .other --state-dir st
	expect_status 65
	expect_file "$T/err" <<-'EOF'
	ec-window: error: restore 1: snapshot st/snapshot-1.ndjson was made by another tool, version or set of options; refusing to mix them
	EOF
}

# ---------------------------------------------------------------------------
# Streaming: a live pipe that stays open

# start_live ARGS...: ec-window reading the fifo $T/fifo (held open on fd 5) in the background.
start_live() {
	mkfifo "$T/fifo"
	"$W" "$@" <"$T/fifo" >"$T/out" 2>"$T/err" 3>&- &
	BG_PID=$!
	exec 5>"$T/fifo"
}

# stop_live SIGNAL: send SIGNAL, close the pipe, wait; exit status in $status.
stop_live() {
	kill -"$1" "$BG_PID"
	exec 5>&-
	status=0
	wait "$BG_PID" || status=$?
	BG_PID=
}

@test "streaming: a barrier is forwarded at once while the input stays open" {
	start_live -t .ts --state-dir "$T/st"
	printf '%s\n' '{"_ec":"restore","id":0}' '{"ts":"2026-11-22T14:00:10Z"}' \
		'{"ts":"2026-11-22T14:01:10Z"}' '{"_ec":"barrier","id":1,"pos":3,"acked":0}' >&5
	wait_for test -f "$T/st/snapshot-1.ndjson"
	ok=0
	wait_for grep -q '"_ec":"barrier"' "$T/out" || ok=1
	cp "$T/out" "$T/seen"
	stop_live TERM
	if [ "$ok" != 0 ]; then
		echo "snapshot 1 was written but the barrier did not reach stdout within 10 s;"
		echo "stdout while running: $(wc -c <"$T/seen") bytes"
		return 1
	fi
	expect_file "$T/seen" <<-EOF
	{"_ec":"restore","id":0}
	{$WIN,"count":1}
	{"_ec":"barrier","id":1,"pos":3,"acked":0}
	EOF
}

@test "streaming: SIGTERM in a checkpointed run exits 0 and leaves open windows to the snapshot" {
	start_live -t .ts --state-dir "$T/st"
	printf '%s\n' '{"_ec":"restore","id":0}' '{"ts":"2026-11-22T14:00:10Z"}' \
		'{"ts":"2026-11-22T14:01:10Z"}' '{"_ec":"barrier","id":1,"pos":3,"acked":0}' >&5
	wait_for test -f "$T/st/snapshot-1.ndjson"
	sleep 0.2
	stop_live TERM
	expect_status 0
	expect_file "$T/out" <<-EOF
	{"_ec":"restore","id":0}
	{$WIN,"count":1}
	{"_ec":"barrier","id":1,"pos":3,"acked":0}
	EOF
}

@test "streaming: SIGTERM without checkpoints writes the open windows and exits 0" {
	start_live -t .ts
	printf '%s\n' '{"ts":"2026-11-22T14:00:10Z"}' '{"ts":"2026-11-22T14:01:10Z"}' >&5
	sleep 0.5
	stop_live TERM
	expect_status 0
	expect_file "$T/out" <<-EOF
	{$WIN,"count":1}
	{"window_start":"2026-11-22T14:01:00.000Z","window_end":"2026-11-22T14:02:00.000Z","count":1}
	EOF
}

@test "streaming: a closed stdout ends ec-window quietly" {
	awk 'BEGIN { for (i = 0; i < 200000; i++) printf "{\"ts\":%d,\"k\":%d}\n", 1795356000 + i, i % 50 }' >"$T/in"
	"$W" -t .ts --time-unit s -g .k <"$T/in" 2>"$T/err" | head -n 1 >/dev/null
	status=${PIPESTATUS[0]}
	expect_status 0
	[ ! -s "$T/err" ]
}

# ---------------------------------------------------------------------------
# With ec-gen: independent checks of the same numbers (skipped while ec-gen is not built)

# gen_flat ARGS...: deterministic flat order lines into $T/gen.ndjson.
gen_flat() {
	"$EC_BIN/ec-gen" --format flat --seed 7 --orders 3000 "$@" >"$T/gen.ndjson"
	[ -s "$T/gen.ndjson" ]
}

# Cents as a JSON number with two decimals, from an integer.
JQ_MONEY='def money: (if . < 0 then "-" else "" end) as $s | (if . < 0 then -. else . end) as $a
	| $s + (($a / 100 | floor) | tostring) + "." + (($a % 100) | tostring | if length < 2 then "0" + . else . end);
	def cents: if test("^[0-9]+\\.[0-9]{2}$") then sub("\\."; "") | tonumber else error("amount not N.NN: \(.)") end;
	def plus($s): sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 + $s | todate | sub("Z$"; ".000Z");'

@test "ec-gen: GMV per category per minute equals jq's sum in integer cents" {
	require_tool ec-gen
	gen_flat
	ew "$T/gen.ndjson" -t .event_time -g .category -a 'gmv=sum(.amount)' --max-delay 2m
	expect_status 0
	jq -rs "$JQ_MONEY"'
		map(select(has("_ec") | not) | {m: .event_time[0:16], c: .category, cents: (.amount | cents)})
		| group_by([.m, (.c | tojson)])[]
		| (.[0].m + ":00.000Z") as $start
		| "{\"window_start\":\"\($start)\",\"window_end\":\"\($start | plus(60))\",\"category\":\(.[0].c | tojson),\"gmv\":\(map(.cents) | add | money)}"
	' "$T/gen.ndjson" >"$T/expected"
	echo "$(wc -l <"$T/expected") windows x categories"
	[ "$(wc -l <"$T/expected")" -gt 20 ]
	cmp -s "$T/expected" "$T/out" || { show_diff "ec-window vs jq" "$T/expected" "$T/out"; false; }
	! grep -q 'too late' "$T/err"
}

@test "ec-gen: distinct orders per city per hour equal jq's" {
	require_tool ec-gen
	gen_flat
	ew "$T/gen.ndjson" -t .event_time -w 'tumble 1h' -g .city -a 'orders=count_distinct(.order_id),lines=count()' --max-delay 2m
	expect_status 0
	jq -rs "$JQ_MONEY"'
		map(select(has("_ec") | not) | {h: .event_time[0:13], c: .city, o: .order_id})
		| group_by([.h, (.c | tojson)])[]
		| (.[0].h + ":00:00.000Z") as $start
		| "{\"window_start\":\"\($start)\",\"window_end\":\"\($start | plus(3600))\",\"city\":\(.[0].c | tojson),\"orders\":\(map(.o) | unique | length),\"lines\":\(length)}"
	' "$T/gen.ndjson" >"$T/expected"
	cmp -s "$T/expected" "$T/out" || { show_diff "ec-window vs jq" "$T/expected" "$T/out"; false; }
}

@test "ec-gen: daily sales in Asia/Jakarta equal jq's (local day = UTC + 7 h)" {
	require_tool ec-gen
	gen_flat --start 2026-11-01T16:50:00Z
	ew "$T/gen.ndjson" -t .event_time -w 'tumble 1d' --tz Asia/Jakarta -a 'gmv=sum(.amount),n=count()' --max-delay 2m
	expect_status 0
	jq -rs "$JQ_MONEY"'
		map(select(has("_ec") | not)
		    | {d: (.event_time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 + 25200 | todate | .[0:10]), cents: (.amount | cents)})
		| group_by(.d)[]
		| (.[0].d + "T00:00:00Z" | fromdateiso8601 - 25200 | todate | sub("Z$"; ".000Z")) as $start
		| "{\"window_start\":\"\($start)\",\"window_end\":\"\($start | plus(86400))\",\"gmv\":\(map(.cents) | add | money),\"n\":\(length)}"
	' "$T/gen.ndjson" >"$T/expected"
	echo "$(wc -l <"$T/expected") days"
	[ "$(wc -l <"$T/expected")" -gt 1 ]
	cmp -s "$T/expected" "$T/out" || { show_diff "ec-window vs jq" "$T/expected" "$T/out"; false; }
}

@test "ec-gen: with --ack barriers, ec-window --state-dir gives the same windows plus the control records" {
	require_tool ec-gen
	gen_flat
	ew "$T/gen.ndjson" -t .event_time -g .category -a 'gmv=sum(.amount)' --max-delay 2m
	expect_status 0
	cp "$T/out" "$T/plain"
	status=0
	"$EC_BIN/ec-gen" --format flat --seed 7 --orders 3000 --ack "$T/ack.json" --checkpoint-records 500 \
		>"$T/gen-ack.ndjson" || status=$?
	expect_status 0
	head -n 1 "$T/gen-ack.ndjson" | grep -q '"_ec":"restore"'
	ew "$T/gen-ack.ndjson" -t .event_time -g .category -a 'gmv=sum(.amount)' --max-delay 2m --state-dir "$T/st"
	expect_status 0
	# Control records are forwarded in order; without them the output is the plain run's.
	diff <(grep '"_ec"' "$T/gen-ack.ndjson") <(grep '"_ec"' "$T/out")
	grep -v '"_ec"' "$T/out" | cmp - "$T/plain"
	ls "$T/st" | grep -q '^snapshot-[0-9]*\.ndjson$'
}
