#!/usr/bin/env bats
# ec-join.bats: stream-table enrichment: golden cases (join orderings, updates, deletes,
# --inner, preloaded rows, bad input), checkpoints, and categories checked with jq on ec-gen output.

load helpers/common

setup() {
	common_setup
	J=$EC_BIN/ec-join
	[ -x "$J" ] || {
		echo "ec-join is not built: $J (run make)"
		return 1
	}
}

teardown() {
	common_teardown
}

@test "ec-join: join orderings: dimension first, fact first within --wait, beyond --wait" {
	golden ec-join dim-before-fact fact-before-dim beyond-wait wait-end-of-input
}

@test "ec-join: dimension updates: a fact joins the version valid at its event time" {
	golden ec-join update-by-time update-watermark
}

@test "ec-join: --follow emits facts again when their row changes, in event-time order" {
	golden ec-join follow follow-late follow-retain
}

@test "ec-join: --follow: a restore from a snapshot gives the same output as an uninterrupted run" {
	"$EC_BIN/ec-gen" --orders 2000 --seed 7 --ack "$T/ack" --checkpoint-records 2000 >"$T/in"
	args=(--time .ts_ms --max-delay 30s --dim products --dim orders --follow orders --drop-dims
		--attach 'order_items: category = products[.after.product_id].category'
		--attach 'order_items: order_status = orders[.after.order_id].status' --state-dir "$T/state")
	"$J" "${args[@]}" <"$T/in" >"$T/want"
	rm -rf "$T/state"
	n=$(grep -n '"_ec":"barrier","id":3,' "$T/in" | cut -d: -f1)
	[ -n "$n" ]
	head -n "$n" "$T/in" | "$J" "${args[@]}" | sed '/"_ec":"barrier","id":3,/q' >"$T/out1"
	{ echo '{"_ec":"restore","id":3}'; tail -n +"$((n + 1))" "$T/in"; } | "$J" "${args[@]}" >"$T/out2"
	grep -v '"_ec"' "$T/want" >"$T/a"
	cat "$T/out1" "$T/out2" | grep -v '"_ec"' >"$T/b"
	cmp "$T/a" "$T/b" || { show_diff restore "$T/a" "$T/b"; return 1; }
	# Items were emitted again after the barrier for orders that changed before it.
	grep -q '"order_status":"COMPLETED"' "$T/out2"
	grep -q '"follow":' "$T/state/snapshot-3.ndjson"
}

@test "ec-join: a restore from a chain of delta snapshots equals an uninterrupted run; pruning keeps the chain" {
	"$EC_BIN/ec-gen" --orders 2000 --seed 7 --ack "$T/ack" --checkpoint-records 300 >"$T/gen"
	# As if the sink acknowledged each barrier at once: barrier N says acked N-1.
	awk '/"_ec":"barrier"/ { match($0, /"id":[0-9]+/); id = substr($0, RSTART + 5, RLENGTH - 5)
		sub(/"acked":[0-9]+/, "\"acked\":" (id - 1)) } { print }' "$T/gen" >"$T/in"
	args=(--time .ts_ms --max-delay 30s --dim products --dim orders --follow orders --drop-dims
		--attach 'order_items: category = products[.after.product_id].category'
		--attach 'order_items: order_status = orders[.after.order_id].status' --state-dir "$T/state")
	"$J" "${args[@]}" <"$T/in" >"$T/want"
	rm -rf "$T/state"
	n=$(grep -n '"_ec":"barrier","id":20,' "$T/in" | cut -d: -f1)
	[ -n "$n" ]
	head -n "$n" "$T/in" | "$J" "${args[@]}" >"$T/run1"
	# Acked 19 needs the chain from the full snapshot it starts at: every link is kept, nothing older.
	full=$(head -n 1 "$T/state/snapshot-19.ndjson" | sed -n 's/.*,"full":\([0-9]*\).*/\1/p')
	[ "$full" -gt 1 ] && [ "$full" -le 19 ]
	head -n 1 "$T/state/snapshot-$full.ndjson" | grep -q ",\"full\":$full}\$"
	for ((i = 1; i <= 20; i++)); do
		if [ "$i" -lt "$full" ]; then
			[ ! -e "$T/state/snapshot-$i.ndjson" ]
		else
			[ -e "$T/state/snapshot-$i.ndjson" ]
		fi
	done
	# Crash after the last barrier whose snapshot is a delta, at least two deep in its chain.
	k=$(for f in "$T/state"/snapshot-*.ndjson; do head -n 1 "$f" | sed -n 's/.*,"prev":\([0-9]*\)}$/\1/p'; done |
		sort -n | tail -n 1)
	k=$((k + 1))
	full=$(head -n 1 "$T/state/snapshot-$k.ndjson" | sed -n 's/.*,"full":\([0-9]*\).*/\1/p')
	[ "$k" -ge "$((full + 2))" ]
	# Deltas hold what changed: together far less than writing the whole state each time
	# (the state at each link is at least half the chain up to it, or a full one is written).
	for ((i = full; i <= k; i++)); do wc -c <"$T/state/snapshot-$i.ndjson"; done |
		awk 'NR > 1 { deltas += $1 } { chain += $1; if (NR > 1) states += chain / 2 }
			END { exit !(deltas * 2 < states) }'
	# Re-emitted followers are written as their new times only; new ones with their fact as it came;
	# row changes as the versions added, in the order they came.
	cat $(seq -f "$T/state/snapshot-%g.ndjson" "$((full + 1))" "$k") >"$T/deltas"
	grep -q '^{"uptos":1,"key":"[0-9]*","upto":\[[0-9,]*\]}$' "$T/deltas"
	grep -q '^{"follow":1,"key":"[0-9]*","upto":[0-9]*,"fact":{"before":' "$T/deltas"
	grep -q '^{"version":1,"key":"[0-9]*","time":[0-9]*,"vals":\["\\"[A-Z]*\\""\]}$' "$T/deltas"
	cp -r "$T/state" "$T/kept"
	grep -v '"_ec"' "$T/want" >"$T/a"
	# A crash after any link of the chain: the restore from it goes on as if nothing happened.
	for ((j = full + 1; j <= k; j++)); do
		rm -rf "$T/state"
		cp -r "$T/kept" "$T/state"
		sed "/\"_ec\":\"barrier\",\"id\":$j,/q" "$T/run1" >"$T/out1"
		n=$(grep -n "\"_ec\":\"barrier\",\"id\":$j," "$T/in" | cut -d: -f1)
		{ echo "{\"_ec\":\"restore\",\"id\":$j}"; tail -n +"$((n + 1))" "$T/in"; } | "$J" "${args[@]}" >"$T/out2"
		cat "$T/out1" "$T/out2" | grep -v '"_ec"' >"$T/b"
		cmp "$T/a" "$T/b" || { show_diff "chain to $j" "$T/a" "$T/b"; return 1; }
	done
	# A missing link is a lost state: refused, as a missing snapshot is.
	rm "$T/kept/snapshot-$((full + 1)).ndjson"
	run "$J" "${args[@]/$T\/state/$T/kept}" <<<"{\"_ec\":\"restore\",\"id\":$k}"
	[ "$status" -eq 66 ]
	[[ "$output" == *"snapshot-$((full + 1)).ndjson is missing"* ]]
}

@test "ec-join: changes that outgrew the state make a full snapshot, not a delta; it restores the same" {
	args=(-t .t -d products --drop-dims -a 'order_items: products[.after.product_id].category' --state-dir "$T/state")
	# Product 1 changes 300 times between barriers 1 and 2: its versions come and go, the state stays small.
	{
		echo '{"_ec":"restore","id":0}'
		echo '{"source":{"table":"products"},"op":"r","after":{"id":1,"category":"c0"},"t":1000}'
		echo '{"_ec":"barrier","id":1,"acked":0}'
		for ((i = 1; i <= 300; i++)); do
			echo "{\"source\":{\"table\":\"products\"},\"op\":\"u\",\"after\":{\"id\":1,\"category\":\"c$i\"},\"t\":$((1000 + i * 10))}"
		done
		echo '{"_ec":"barrier","id":2,"acked":1}'
	} >"$T/part1"
	echo '{"source":{"table":"order_items"},"op":"c","after":{"order_id":1,"product_id":1},"t":9000}' >"$T/rest"
	cat "$T/part1" "$T/rest" | "$J" "${args[@]}" | grep -v '"_ec"' >"$T/want"
	grep -q '"category":"c300"' "$T/want"
	rm -rf "$T/state"
	"$J" "${args[@]}" <"$T/part1" >/dev/null
	head -n 1 "$T/state/snapshot-2.ndjson" | grep -q ',"full":2}$'
	[ "$(grep -c '^{"dim":0,"key":"1",' "$T/state/snapshot-2.ndjson")" -eq 1 ]
	! grep -q '"version"' "$T/state/snapshot-2.ndjson"
	{ echo '{"_ec":"restore","id":2}'; cat "$T/rest"; } | "$J" "${args[@]}" | grep -v '"_ec"' >"$T/got"
	cmp "$T/want" "$T/got"
}

@test "ec-join: an end record decides every waiting and followed fact before the last barrier" {
	"$EC_BIN/ec-gen" --orders 300 --seed 7 --ack "$T/ack" --checkpoint-records 500 >"$T/in"
	grep -qxF '{"_ec":"end"}' "$T/in"
	base=(--time .ts_ms --max-delay 30s --dim products --dim orders --follow orders --drop-dims
		--attach 'order_items: order_status = orders[.after.order_id].status')
	args=("${base[@]}" --state-dir "$T/state")
	"$J" "${args[@]}" <"$T/in" >"$T/out"
	# The last barrier is the last line: everything was written before it, so it is acknowledged.
	tail -n 1 "$T/out" | grep -q '^{"_ec":"barrier",'
	grep -v '"_ec"' "$T/in" | "$J" "${base[@]}" >"$T/want"
	grep -v '"_ec"' "$T/out" >"$T/got"
	cmp "$T/want" "$T/got" || { show_diff end "$T/want" "$T/got"; return 1; }
	# A restart from that barrier has nothing left to decide.
	id=$(tail -n 1 "$T/out" | sed 's/.*"id":\([0-9]*\),.*/\1/')
	run "$J" "${args[@]}" <<<"{\"_ec\":\"restore\",\"id\":$id}"
	[ "$status" -eq 0 ]
	[ "$output" = "{\"_ec\":\"restore\",\"id\":$id}" ]
}

@test "ec-join: --follow and --retain usage errors" {
	st=0
	"$J" -t .t -d orders --follow customers -a 'orders[.o].status' </dev/null 2>"$T/err" || st=$?
	[ "$st" = 64 ]
	grep -q 'no --dim table named customers' "$T/err"
	st=0
	"$J" -t .t -d orders --retain 1h -a 'orders[.o].status' </dev/null 2>"$T/err" || st=$?
	[ "$st" = 64 ]
	grep -q -- '--retain needs --follow' "$T/err"
}

@test "ec-join: deletes, --inner with --reject, preloaded rows, several tables" {
	golden ec-join delete inner preload several
}

@test "ec-join: bad input and usage errors" {
	golden ec-join bad-missing-key bad-key-type bad-envelope bad-dim-key bad-time bad-skip \
		usage-unknown-table usage-bad-attach usage-reject-without-inner
}

@test "ec-join: every golden case passes" {
	golden_all ec-join
}

# The category each order_items row's product had at the row's event time, computed by jq.
expected_categories() {
	jq -s -r '
		(map(select(.source.table == "products"))
		 | group_by(.after.id // .before.id)
		 | map({key: ((.[0].after.id // .[0].before.id) | tostring),
			value: (sort_by(.ts_ms) | map([.ts_ms, (if .op == "d" then null else .after.category end)]))})
		 | from_entries) as $versions
		| map(select(.source.table == "order_items"))
		| map(. as $f | [.source.lsn, .after.order_id, .after.product_id,
			([$versions[.after.product_id | tostring][] | select(.[0] <= $f.ts_ms)] | last | .[1]?)])
		| .[] | @json' "$1" | sort
}

@test "ec-join: ec-gen: every order item gets the category its product had at that time" {
	require_tool ec-gen
	"$EC_BIN/ec-gen" --seed 7 -n 2000 --customers 50 --products 20 >"$T/gen"
	# The run must cover category changes, or it would prove little.
	[ "$(jq -s 'map(select(.source.table == "products" and .op == "u"
		and .before.category != .after.category)) | length' "$T/gen")" -gt 0 ]
	expected_categories "$T/gen" >"$T/want"
	[ "$(wc -l <"$T/want")" -gt 1000 ]
	"$J" -t .ts_ms -d products -a 'order_items: products[.after.product_id].category' \
		--max-delay 30s "$T/gen" >"$T/out"
	jq -c 'select(.source.table == "order_items")
		| [.source.lsn, .after.order_id, .after.product_id, ._join.category]' "$T/out" | sort >"$T/got"
	cmp "$T/want" "$T/got" || { show_diff categories "$T/want" "$T/got"; return 1; }
	# Every record comes out once, and records that pass through keep their bytes.
	[ "$(wc -l <"$T/out")" = "$(wc -l <"$T/gen")" ]
	grep -v '"table":"order_items"' "$T/gen" | sort >"$T/a"
	grep -v '"table":"order_items"' "$T/out" | sort >"$T/b"
	cmp "$T/a" "$T/b"
}

@test "ec-join: ec-gen: city onto orders and category onto items, deterministic" {
	require_tool ec-gen
	"$EC_BIN/ec-gen" --seed 3 -n 500 >"$T/gen"
	args=(-t .ts_ms -d customers -d products --drop-dims --max-delay 30s
		-a 'orders: city = customers[.after.customer_id].city'
		-a 'order_items: category = products[.after.product_id].category')
	"$J" "${args[@]}" "$T/gen" >"$T/out1"
	"$J" "${args[@]}" <"$T/gen" >"$T/out2"
	cmp "$T/out1" "$T/out2"
	[ "$(jq -s 'map(select(._join.city == null and .source.table == "orders")) | length' "$T/out1")" = 0 ]
	[ "$(jq -s 'map(select(._join.category == null and .source.table == "order_items")) | length' "$T/out1")" = 0 ]
}

@test "ec-join: a restore from a snapshot gives the same output as an uninterrupted run" {
	local in=$BATS_TEST_DIRNAME/data/ec-join/update-by-time.in
	args=(-t .t -d products -a 'order_items: products[.after.product_id].category' --max-delay 10s
		--wait 5s --state-dir "$T/state")
	{ echo '{"_ec":"restore","id":0}'; cat "$in"; } >"$T/full"
	"$J" "${args[@]}" <"$T/full" >"$T/want"
	# Crash after a barrier in the middle: the second run restores from it.
	{ echo '{"_ec":"restore","id":0}'; head -n 3 "$in"; echo '{"_ec":"barrier","id":1,"acked":0}'; } >"$T/part1"
	"$J" "${args[@]}" <"$T/part1" >"$T/run1"
	# A kill -9 right after the barrier: what the end of input decided is never seen.
	sed '/"_ec":"barrier"/q' "$T/run1" >"$T/out1"
	{ echo '{"_ec":"restore","id":1}'; tail -n +4 "$in"; } >"$T/part2"
	"$J" "${args[@]}" <"$T/part2" >"$T/out2"
	# The uninterrupted run's data records equal both runs' data records.
	grep -v '"_ec"' "$T/want" >"$T/a"
	cat "$T/out1" "$T/out2" | grep -v '"_ec"' >"$T/b"
	cmp "$T/a" "$T/b" || { show_diff restore "$T/a" "$T/b"; return 1; }
	[ -n "$(ls "$T/state")" ]
}

@test "ec-join: restore K without --state-dir is refused" {
	st=0
	printf '%s\n' '{"_ec":"restore","id":3}' | "$J" -t .t -d products -a 'products[.p].c' >"$T/out" 2>"$T/err" || st=$?
	[ "$st" = 64 ]
	grep -q 'restore 3 needs --state-dir' "$T/err"
}
