#!/usr/bin/env bats
# ec-state.bats: lifecycle state per entity: golden cases for every transition rule,
# duplicates, out-of-order changes, GMV deltas, bad input, and GMV checked against jq.

load helpers/common

setup() {
	common_setup
	S=$EC_BIN/ec-state
	[ -x "$S" ] || {
		echo "ec-state is not built: $S (run make)"
		return 1
	}
}

teardown() {
	common_teardown
}

@test "golden: every case in tests/data/ec-state" {
	golden_all ec-state
}

@test "machine: a bad line is a usage error naming file and line" {
	printf 'NEW -> PAID\nPAID SHIPPED\n' >"$T/m"
	run "$S" --machine "$T/m" </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"ec-state: error: --machine $T/m:2: expected 'FROM -> TO', got 'PAID SHIPPED'"* ]]
	printf 'CANCELLED -> NEW\nterminal: CANCELLED\n' >"$T/m"
	run "$S" --machine "$T/m" </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"$T/m:1: CANCELLED is terminal but has a transition"* ]]
}

# jq's view of GMV: the final image of every order (by LSN), counted states only, in cents.
final_gmv_cents() {
	jq -s '[.[] | select(.source.table == "orders")]
		| group_by(.after.id // .before.id)
		| map(max_by(.source.lsn))
		| map(select(.op != "d" and (.after.status | IN("PAID", "SHIPPED", "COMPLETED")))
			| .after.total_amount | tonumber * 100 | round)
		| add' "$1"
}

@test "gmv: the deltas over ec-gen's whole output sum to the GMV of the final order states" {
	"$EC_BIN/ec-gen" -n 3000 --seed 7 >"$T/gen"
	"$S" --table orders --measure gmv=.after.total_amount --version-field .source.lsn <"$T/gen" >"$T/out"
	want=$(final_gmv_cents "$T/gen")
	got=$(jq -s '[.[] | ._state.gmv_delta // empty] | map(. * 100 | round) | add' "$T/out")
	[ "$got" = "$want" ]
	# and exactly, in decimal, through ec-window
	"$EC_BIN/ec-window" -t ._state.at -w 'tumble 1000d' --where .source.table=orders \
		-a 'gmv=sum(._state.gmv_delta)' <"$T/out" >"$T/win"
	[ "$(jq -s '[.[].gmv] | add * 100 | round' "$T/win")" = "$want" ]
	# every other table passes through byte for byte
	cmp <(grep -v '"table":"orders"' "$T/gen") <(grep -v '"table":"orders"' "$T/out")
}

@test "gmv: without --version-field the same sum holds on ec-gen's stream" {
	"$EC_BIN/ec-gen" -n 2000 --seed 3 --tables orders >"$T/gen"
	"$S" --measure gmv=.after.total_amount <"$T/gen" >"$T/out"
	[ "$(jq -s '[.[] | ._state.gmv_delta * 100 | round] | add' "$T/out")" = "$(final_gmv_cents "$T/gen")" ]
}

@test "dump: every tracked entity at the end of input" {
	printf '%s\n' '{"k":"a","s":"NEW","amt":"5.00","t":1000}' '{"k":"a","s":"PAID","amt":"5.00","t":2000}' \
		'{"k":7,"s":"NEW","amt":1,"t":1500}' >"$T/in"
	"$S" --key .k --state .s --time .t --measure gmv=.amt --dump "$T/dump" <"$T/in" >/dev/null
	sort "$T/dump" >"$T/got"
	printf '%s\n' '{"key":"a","state":"PAID","since":"1970-01-01T00:00:02.000Z","gmv":5.00}' \
		'{"key":7,"state":"NEW","since":"1970-01-01T00:00:01.500Z","gmv":1}' >"$T/want"
	cmp "$T/want" "$T/got"
}

@test "checkpoints: a restore from a snapshot gives the same output as an uninterrupted run" {
	"$EC_BIN/ec-gen" -n 400 --tables orders >"$T/gen"
	head -n 500 "$T/gen" >"$T/a"
	tail -n +501 "$T/gen" >"$T/b"
	args=(--measure gmv=.after.total_amount --version-field .source.lsn --state-dir "$T/st")
	"$S" --measure gmv=.after.total_amount --version-field .source.lsn <"$T/gen" >"$T/whole"
	{ echo '{"_ec":"restore","id":0}'; cat "$T/a"; echo '{"_ec":"barrier","id":1,"pos":500,"acked":0}'; } |
		"$S" "${args[@]}" >"$T/first"
	ls "$T/st" | grep -q .
	{ echo '{"_ec":"restore","id":1}'; cat "$T/b"; } | "$S" "${args[@]}" >"$T/second"
	cat "$T/first" "$T/second" | grep -v '"_ec"' >"$T/resumed"
	cmp "$T/whole" "$T/resumed"
	# a snapshot made with other options is refused
	run "$S" --measure gmv=.after.total_amount --state-dir "$T/st" <<<'{"_ec":"restore","id":1}'
	[ "$status" -eq 65 ]
}
