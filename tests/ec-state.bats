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

@test "golden: timers fire in deadline order before the record that passes them; cancelled; --max-delay" {
	golden ec-state timeout timeout-max-delay
	# nothing fires at the end of input: order 7 entered PAID last and is still there
	! grep -q '"alert".*"key":7' "$DATA_DIR/ec-state/timeout.out"
}

@test "golden: --ttl forgets terminal entities; a later change starts a new one" {
	golden ec-state ttl
}

@test "golden: composite keys, product measures, null states, order lines counted by their order's state" {
	golden ec-state composite null-state order-lines bad-product bad-key-part bad-key-part-type null-state-debezium
}

@test "usage: --timeout, --ttl and --max-delay are checked" {
	run "$S" --timeout 'PAID' </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"--timeout: expected STATE>DURATION (PAID>48h), not 'PAID'"* ]]
	run "$S" --timeout 'LOST>1h' </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"--timeout: 'LOST' is not a state of the lifecycle"* ]]
	run "$S" --timeout 'PAID>1h' --timeout 'PAID>2h' </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"--timeout: PAID given twice"* ]]
	run "$S" --timeout 'PAID>soon' </dev/null
	[ "$status" -eq 64 ]
	run "$S" --ttl 1x </dev/null
	[ "$status" -eq 64 ]
	run "$S" --max-delay x </dev/null
	[ "$status" -eq 64 ]
	run "$S" --key .k --state .s --ttl 1h </dev/null
	[ "$status" -eq 64 ]
	[[ $output == *"--timeout and --ttl run on event time: give --time PATH"* ]]
	run "$S" --measure 'gmv=.a*' </dev/null
	[ "$status" -eq 64 ]
	run "$S" --key .a,,.b --state .s </dev/null
	[ "$status" -eq 64 ]
}

# jq: RFC 3339 UTC with milliseconds to epoch milliseconds.
JQ_MS='def ms: (.[0:19] + "Z" | fromdate) * 1000 + (.[20:23] | tonumber); '

# jq's view of PAID timeouts on a stream in event-time order: a stay in PAID that began at T
# alerts when the order's next change (or, without one, the last event) is later than T + limit.
expected_alerts() {
	jq -s -c --argjson limit "$2" '
		(map(.source.ts_ms) | max) as $last
		| group_by(.after.id) | map(
			. as $ch | range(0; length) as $i | $ch[$i]
			| select(.after.status == "PAID" and ($i == 0 or $ch[$i - 1].after.status != "PAID"))
			| (.source.ts_ms + $limit) as $due
			| (first($ch[$i + 1:][] | select(.after.status != "PAID") | .source.ts_ms) // $last) as $next
			| select($next > $due) | [$due, .after.id])
		| sort | .[]' "$1"
}

@test "timers: the alerts are exactly the stays jq finds too long, in deadline order" {
	"$EC_BIN/ec-gen" -n 3000 --seed 11 --tables orders --out-of-order 0 >"$T/gen"
	jq -s -e 'map(.source.ts_ms) | . == sort' "$T/gen" >/dev/null
	"$S" --timeout 'PAID>2h' <"$T/gen" >"$T/out"
	jq -c "$JQ_MS"'select(.alert) | [(.deadline | ms), .key]' "$T/out" >"$T/got"
	expected_alerts "$T/gen" 7200000 >"$T/want"
	[ "$(wc -l <"$T/want")" -gt 20 ]
	cmp "$T/want" "$T/got"
	# no alert comes late: each is written before the first record past its deadline, and none early
	jq -s -e "$JQ_MS"'[foreach .[] as $r ({max: 0, ok: true};
			if $r.alert then .ok = (.ok and .max <= ($r.deadline | ms) and ($r.watermark | ms) > ($r.deadline | ms))
			else .max = ([.max, $r.source.ts_ms] | max) end; .ok)] | all' "$T/out" >/dev/null
}

@test "ttl: terminal entities are not kept; without --ttl they are" {
	"$EC_BIN/ec-gen" -n 4000 --seed 5 --tables orders >"$T/gen"
	"$S" --table orders --dump "$T/all" <"$T/gen" >/dev/null
	"$S" --table orders --ttl 1h --dump "$T/ttl" -v <"$T/gen" >/dev/null 2>"$T/err"
	all=$(wc -l <"$T/all")
	kept=$(wc -l <"$T/ttl")
	terminal=$(grep -c '"state":"\(CANCELLED\|REFUNDED\)"' "$T/all")
	[ "$terminal" -gt 100 ]
	[ "$kept" -lt $((all - terminal + 50)) ]
	grep -q 'terminal entities forgotten after --ttl' "$T/err"
	# whatever is kept in a terminal state entered it within the last hour of event time
	last=$(jq -s 'map(.source.ts_ms) | max' "$T/gen")
	jq -e --argjson last "$last" 'select(.state == "CANCELLED" or .state == "REFUNDED")
		| (.since | sub("\\.[0-9]+Z$"; "Z") | fromdate * 1000) < $last - 3600000 - 1000' "$T/ttl" && false
	# the open orders are the same with and without --ttl
	cmp <(grep -v '"state":"\(CANCELLED\|REFUNDED\)"' "$T/all" | sort) \
		<(grep -v '"state":"\(CANCELLED\|REFUNDED\)"' "$T/ttl" | sort)
}

# resume_equal OUT FILE ARGS...: run ec-state over FILE once, and again in three runs cut by
# barriers and restores; both outputs (without control records) must be identical.
resume_equal() {
	local file=$1 n a b
	shift
	n=$(wc -l <"$file")
	a=$((n / 3))
	b=$((2 * n / 3))
	"$S" "$@" <"$file" >"$T/whole"
	rm -rf "$T/st"
	{ echo '{"_ec":"restore","id":0}'; head -n "$a" "$file"; echo '{"_ec":"barrier","id":1,"pos":1,"acked":0}'; } |
		"$S" "$@" --state-dir "$T/st" >"$T/r1"
	{ echo '{"_ec":"restore","id":1}'; sed -n "$((a + 1)),${b}p" "$file"; echo '{"_ec":"barrier","id":2,"pos":2,"acked":1}'; } |
		"$S" "$@" --state-dir "$T/st" >"$T/r2"
	{ echo '{"_ec":"restore","id":2}'; tail -n +$((b + 1)) "$file"; } | "$S" "$@" --state-dir "$T/st" >"$T/r3"
	cat "$T/r1" "$T/r2" "$T/r3" | grep -v '"_ec"' >"$T/resumed"
	cmp "$T/whole" "$T/resumed"
}

@test "checkpoints: a delta snapshot holds the changed entities and a deleted one's drop; restoring the chain is one run" {
	order() { printf '{"op":"%s","before":%s,"after":%s,"source":{"table":"orders","ts_ms":%d}}\n' "$@"; }
	for ((i = 1; i <= 40; i++)); do
		order c null "{\"id\":$i,\"status\":\"NEW\",\"total_amount\":\"$i.50\"}" $((1000 + i))
	done >"$T/a"
	{
		order d '{"id":3,"status":"NEW","total_amount":"3.50"}' null 2000
		order u null '{"id":5,"status":"PAID","total_amount":"5.50"}' 2001
	} >"$T/b"
	{
		order c null '{"id":3,"status":"NEW","total_amount":"9.00"}' 3000
		order u null '{"id":5,"status":"SHIPPED","total_amount":"5.50"}' 3001
		order u null '{"id":7,"status":"PAID","total_amount":"7.50"}' 3002
	} >"$T/c"
	args=(--table orders --measure gmv=.after.total_amount)
	cat "$T/a" "$T/b" "$T/c" | "$S" "${args[@]}" >"$T/whole"
	{ echo '{"_ec":"restore","id":0}'; cat "$T/a"; echo '{"_ec":"barrier","id":1,"pos":1,"acked":0}'; } |
		"$S" "${args[@]}" --state-dir "$T/st" >"$T/r1"
	{ echo '{"_ec":"restore","id":1}'; cat "$T/b"; echo '{"_ec":"barrier","id":2,"pos":2,"acked":1}'; } |
		"$S" "${args[@]}" --state-dir "$T/st" >"$T/r2"
	# Snapshot 2 is a delta on 1: order 5 whole, order 3 dropped, nothing else.
	head -n 1 "$T/st/snapshot-2.ndjson" | grep -q ',"full":1,"prev":1}$'
	[ "$(tail -n +2 "$T/st/snapshot-2.ndjson" | grep -c '"key":')" = 1 ]
	grep -qx '{"drop":3}' "$T/st/snapshot-2.ndjson"
	grep -q '^{"key":5,"state":"PAID",' "$T/st/snapshot-2.ndjson"
	{ echo '{"_ec":"restore","id":2}'; cat "$T/c"; } | "$S" "${args[@]}" --state-dir "$T/st" >"$T/r3"
	cat "$T/r1" "$T/r2" "$T/r3" | grep -v '"_ec"' >"$T/resumed"
	cmp "$T/whole" "$T/resumed"
	# Order 3 came back as a new entity: the drop was applied on restore.
	grep '"id":3,"status":"NEW","total_amount":"9.00"' "$T/r3" | grep -q '"from":null'
}

@test "checkpoints: timers and TTL resume from snapshots with the same output as one run" {
	"$EC_BIN/ec-gen" -n 1500 --seed 9 --tables orders >"$T/gen"
	resume_equal "$T/gen" --table orders --measure gmv=.after.total_amount --version-field .source.lsn \
		--timeout 'NEW>10m' --timeout 'PAID>2h' --timeout 'SHIPPED>1d' --ttl 2h --max-delay 1m
	[ "$(grep -c '"alert":"timeout"' "$T/whole")" -gt 50 ]
	grep -q '"state":"SHIPPED"' <(grep '"alert"' "$T/whole")
}

@test "checkpoints: composite keys and null states resume from snapshots" {
	resume_equal "$DATA_DIR/ec-state/order-lines.in" --table order_items \
		--key .after.order_id,.after.product_id --state ._join.order_status --time ._join._time \
		--measure 'gmv=.after.quantity*.after.unit_price' --timeout 'PAID>30m' --ttl 1h
	grep -q '"alert"' "$T/whole"
	resume_equal "$DATA_DIR/ec-state/composite.in" --key .o,.p --state .s --time .t --measure 'gmv=.q*.price'
}

@test "order lines: repeats of an unchanged line give no delta and no invalid flag; GMV is exact" {
	f=$DATA_DIR/ec-state/order-lines.in
	args=(--table order_items --key .after.order_id,.after.product_id --state ._join.order_status
		--time ._join._time --measure 'gmv=.after.quantity*.after.unit_price' --counted PAID,SHIPPED,COMPLETED)
	for extra in "" "--version-field ._join._time"; do
		# shellcheck disable=SC2086
		"$S" "${args[@]}" $extra <"$f" >"$T/out"
		! grep -q '"valid":false' "$T/out"
		[ "$(jq -s '[.[]._state.gmv_delta // empty] | add * 100 | round' "$T/out")" = 0 ]
		# the first PAID of order 1 counts its lines once: 34.99 + 2 * 6.49
		[ "$(jq -s '[.[] | select(._state.from == "NEW" and ._state.to == "PAID") | ._state.gmv_delta] | add * 100 | round' "$T/out")" = 4797 ]
	done
	# with a version, the repeats are written with a zero delta
	[ "$(jq -s '[.[] | select(._state.from == "PAID" and ._state.to == "PAID" and ._state.gmv_delta == 0)] | length' "$T/out")" = 2 ]
}
