# common.bash: shared bats setup: where the tools are, a temp dir per test, golden cases.
#
# Load it with `load helpers/common` and call common_setup from setup().
#
# Golden cases (jq style) live in tests/data/TOOL/:
#   CASE.args    the arguments, one line, word-split and unquoted by the shell
#   CASE.in      standard input (exact bytes; may be empty)
#   CASE.out     expected standard output (exact bytes)
#   CASE.err     expected standard error (exact bytes; optional: unchecked without it)
#   CASE.status  expected exit status (optional, default 0)
#   CASE.files/  files the run must leave behind in its working directory, each
#                compared byte for byte (optional: --late FILE, --dead-letter FILE)
# Each case runs in an empty working directory of its own, so relative file
# names in CASE.args land there.

: "${EC_BIN:=$BATS_TEST_DIRNAME/../.build/bin}"
EC_BIN=$(cd "$EC_BIN" 2>/dev/null && pwd || echo "$EC_BIN")
export EC_BIN
DATA_DIR="$BATS_TEST_DIRNAME/data"

# A fresh temp dir per test in $T; C locale so sort and byte counts mean bytes.
common_setup() {
	if [ -n "${BATS_TEST_TMPDIR:-}" ]; then
		T=$BATS_TEST_TMPDIR
	else
		T=$(mktemp -d)
		COMMON_OWN_TMP=$T
	fi
	export LC_ALL=C TZ=UTC
}

common_teardown() {
	if [ -n "${COMMON_OWN_TMP:-}" ]; then
		rm -rf "$COMMON_OWN_TMP"
	fi
}

# Fail (never skip) unless every TOOL has been built.
require_built() {
	local tool
	for tool in "$@"; do
		[ -x "$EC_BIN/$tool" ] || {
			echo "$tool is not built: $EC_BIN/$tool (run make)"
			return 1
		}
	done
}

# Skip this test unless TOOL has been built.
require_tool() {
	[ -x "$EC_BIN/$1" ] || skip "$1 is not built ($EC_BIN/$1)"
}

# Print the differences between two files, labelled, at most 40 lines.
show_diff() {
	local label=$1 want=$2 got=$3
	echo "--- $label: expected (<) vs actual (>)"
	diff -a "$want" "$got" | head -n 40
}

# golden_run TOOL CASE_DIR CASE: run one golden case. Succeeds when stdout,
# stderr (if CASE.err exists), the exit status and CASE.files/ all match;
# otherwise prints every difference and fails.
golden_run() {
	local tool=$1 dir=$2 name=$3
	local work=$T/golden/$name want_status=0 status ok=0 f
	local args

	dir=$(cd "$dir" && pwd)
	rm -rf "$work"
	mkdir -p "$work"
	args=$(cat "$dir/$name.args")
	if [ -f "$dir/$name.status" ]; then
		want_status=$(tr -d ' \n' <"$dir/$name.status")
	fi
	status=0
	(
		cd "$work" || exit 99
		eval "exec \"\$EC_BIN/$tool\" $args" <"$dir/$name.in" >"$work/.stdout" 2>"$work/.stderr"
	) || status=$?
	if [ "$status" != "$want_status" ]; then
		echo "--- $name: exit status $status, expected $want_status"
		ok=1
	fi
	if ! cmp -s "$dir/$name.out" "$work/.stdout"; then
		show_diff "$name stdout" "$dir/$name.out" "$work/.stdout"
		ok=1
	fi
	if [ -f "$dir/$name.err" ] && ! cmp -s "$dir/$name.err" "$work/.stderr"; then
		show_diff "$name stderr" "$dir/$name.err" "$work/.stderr"
		ok=1
	fi
	if [ -d "$dir/$name.files" ]; then
		for f in "$dir/$name.files"/*; do
			[ -e "$f" ] || continue
			if [ ! -f "$work/${f##*/}" ]; then
				echo "--- $name: file ${f##*/} was not written"
				ok=1
			elif ! cmp -s "$f" "$work/${f##*/}"; then
				show_diff "$name file ${f##*/}" "$f" "$work/${f##*/}"
				ok=1
			fi
		done
	fi
	if [ "$ok" != 0 ] && [ -z "$(cat "$dir/$name.err" 2>/dev/null)" ] && [ -s "$work/.stderr" ]; then
		echo "--- $name stderr:"
		head -n 10 "$work/.stderr"
	fi
	return "$ok"
}

# golden_all TOOL: run every case of tests/data/TOOL; report each failing case, fail if any.
golden_all() {
	local tool=$1 dir=$DATA_DIR/$1 a name failed=() n=0
	for a in "$dir"/*.args; do
		[ -e "$a" ] || continue
		name=${a##*/}
		name=${name%.args}
		n=$((n + 1))
		golden_run "$tool" "$dir" "$name" || failed+=("$name")
	done
	echo "# $n golden cases, ${#failed[@]} failed${failed:+: ${failed[*]}}"
	[ "$n" -gt 0 ] && [ "${#failed[@]}" -eq 0 ]
}

# golden TOOL CASE...: run the named cases of tests/data/TOOL (for a @test of their own);
# every case runs, and the failing ones are named.
golden() {
	local tool=$1 name failed=()
	shift
	for name in "$@"; do
		if [ ! -f "$DATA_DIR/$tool/$name.args" ]; then
			echo "--- no golden case $DATA_DIR/$tool/$name.args"
			failed+=("$name")
		elif ! golden_run "$tool" "$DATA_DIR/$tool" "$name"; then
			failed+=("$name")
		fi
	done
	[ "${#failed[@]}" -eq 0 ] || { echo "# failed: ${failed[*]}"; return 1; }
}
