#!/usr/bin/env bats
# ec-gen.bats: the synthetic shop: determinism, formats, lifecycle, checkpoints, CLI, and a real PostgreSQL load.

: "${EC_BIN:=$BATS_TEST_DIRNAME/../.build/bin}"
load helpers/pg

setup() {
	T=$BATS_TEST_TMPDIR
}

teardown() {
	# A generator left running by a failed test would hold bats' output open.
	if [ -n "${BG_PID:-}" ]; then
		kill -KILL "$BG_PID" 2>/dev/null || true
	fi
	pg_stop
}

gen() {
	"$EC_BIN/ec-gen" "$@"
}

# Event time in epoch ms from "2026-11-01T00:00:08.123Z" (jq 1.6 has no fractional seconds).
JQ_MS='def ms: capture("^(?<s>[^.]+)\\.(?<ms>[0-9]{3})Z$") | (.s + "Z" | fromdateiso8601) * 1000 + (.ms | tonumber);'

@test "--help and --version" {
	run gen --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: ec-gen [OPTION]..." ]]
	[[ "$output" == *"--format debezium|sql|flat"* ]]
	[[ "$output" == *"--checkpoint-records N"* ]]
	run gen --version
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^ec-gen\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "the same seed gives the same bytes, another seed other bytes" {
	for f in debezium sql flat; do
		gen --format "$f" --orders 300 --seed 11 > "$T/a"
		gen --format "$f" --orders 300 --seed 11 > "$T/b"
		gen --format "$f" --orders 300 --seed 12 > "$T/c"
		cmp "$T/a" "$T/b"
		run cmp -s "$T/a" "$T/c"
		[ "$status" -eq 1 ]
	done
}

@test "--orders N gives N order inserts in every format" {
	gen --orders 257 > "$T/d"
	run jq -n '[inputs | select(.source.table == "orders" and .op == "c")] | length' "$T/d"
	[ "$output" = 257 ]
	run jq -n '[inputs | select(.source.table == "orders" and .op == "c") | .after.id] | (min, max)' "$T/d"
	[ "${lines[0]}" = 1 ] && [ "${lines[1]}" = 257 ]
	gen --format flat --orders 257 > "$T/f"
	run jq -n '[inputs | select(.status == "NEW") | .order_id] | unique | length' "$T/f"
	[ "$output" = 257 ]
	gen --format sql --orders 257 > "$T/s"
	run grep -c '^INSERT INTO orders ' "$T/s"
	[ "$output" = 257 ]
}

@test "every line is one JSON object" {
	for f in debezium flat; do
		gen --format "$f" --orders 500 > "$T/out"
		n=$(wc -l < "$T/out")
		[ "$n" -gt 1000 ]
		run jq -c 'if type == "object" then 1 else error("not an object") end' "$T/out"
		[ "$status" -eq 0 ]
		[ "${#lines[@]}" -eq "$n" ]
	done
}

@test "debezium: snapshot first, then the stream with rising LSNs and txIds" {
	gen --orders 300 --customers 50 --products 20 > "$T/d"
	# 50 customers and 20 products as reads, the last one marked "last".
	run jq -n -r '[limit(70; inputs)] | map(.op) | unique | join(",")' "$T/d"
	[ "$output" = r ]
	run jq -n -r '[inputs | select(.op == "r") | .source.snapshot] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$T/d"
	[ "$output" = "last=1 true=69" ]
	run jq -n -r '[inputs | select(.op == "r")] | last | "\(.source.table) \(.after.id)"' "$T/d"
	[ "$output" = "products 20" ]
	# After the snapshot: LSN strictly rising, txId and ts_ms never falling, ts_ms = source.ts_ms.
	run jq -n 'reduce (inputs | select(.op != "r")) as $e ({lsn: 0, tx: 0, ts: 0, bad: 0};
		if $e.source.lsn <= .lsn or $e.source.txId < .tx or $e.ts_ms < .ts or $e.ts_ms != $e.source.ts_ms
		then .bad += 1 else . end | .lsn = $e.source.lsn | .tx = $e.source.txId | .ts = $e.ts_ms) | .bad' "$T/d"
	[ "$output" = 0 ]
	# Envelope as the CDC tool writes it.
	run jq -n -r '[inputs | select(.op == "c" and .source.table == "orders")][0]
		| [.source.version, .source.connector, .source.name, .source.db, .source.schema, .source.snapshot, .before] | map(tostring) | join(" ")' "$T/d"
	[[ "$output" =~ ^[0-9.]+\ postgresql\ shop\ shop\ public\ false\ null$ ]]
	run jq -n '[inputs | select(.op == "c" and .source.table == "orders")][0] | (.source.sequence | fromjson) == [null, (.source.lsn | tostring)]' "$T/d"
	[ "$output" = true ]
}

@test "order lifecycle: only allowed transitions, full before images, every order ends" {
	gen --orders 2000 --seed 3 > "$T/d"
	cat > "$T/life.jq" <<'EOF'
def allowed: {"NEW": ["PAID", "CANCELLED"], "PAID": ["SHIPPED", "CANCELLED", "REFUNDED"],
	"SHIPPED": ["COMPLETED", "REFUNDED"], "COMPLETED": ["REFUNDED"]};
reduce (inputs | select(.source.table == "orders")) as $e ({rows: {}, bad: []};
	($e.after.id | tostring) as $k
	| if $e.op == "c" then
		(if $e.before != null or $e.after.status != "NEW" or .rows[$k] != null then .bad += [$e.after.id] else . end)
	  elif $e.op == "u" then
		(if $e.before != .rows[$k] or ((allowed[$e.before.status] // []) | index($e.after.status)) == null
		    or $e.after.updated_at < $e.before.updated_at or $e.after.created_at != $e.before.created_at
		 then .bad += [$e.after.id] else . end)
	  else .bad += [$e.after.id] end
	| .rows[$k] = $e.after)
| {bad: .bad, open: [.rows[] | select(.status | IN("COMPLETED", "CANCELLED", "REFUNDED") | not) | .id],
   statuses: ([.rows[] | .status] | unique)}
EOF
	run jq -n -c -f "$T/life.jq" "$T/d"
	[ "$status" -eq 0 ]
	[[ "$output" == '{"bad":[],"open":[],"statuses":["CANCELLED","COMPLETED","REFUNDED"]}' ]]
	# Plausible shares: most orders are paid, some cancelled, a few refunded.
	run jq -n -r '[inputs | select(.source.table == "orders" and .op == "u") | .after.status] | group_by(.) | map("\(.[0]) \(length)") | .[]' "$T/d"
	paid=$(awk '$1 == "PAID" { print $2 }' <<<"$output")
	refunded=$(awk '$1 == "REFUNDED" { print $2 }' <<<"$output")
	[ "$paid" -gt 1550 ] && [ "$paid" -lt 1850 ]
	[ "$refunded" -gt 15 ] && [ "$refunded" -lt 120 ]
}

@test "money: order totals equal the sum of their items, amounts have two decimals" {
	gen --orders 1500 --seed 5 > "$T/d"
	run jq -n -c 'reduce (inputs | select(.op == "c" and (.source.table == "orders" or .source.table == "order_items"))) as $e
		({tot: {}, items: {}};
		 if $e.source.table == "orders" then .tot[$e.after.id | tostring] = ($e.after.total_amount | tonumber * 100 | round)
		 else .items[$e.after.order_id | tostring] += ($e.after.quantity * ($e.after.unit_price | tonumber * 100 | round)) end)
		| . as $s | [$s.tot | to_entries[] | select(.value != $s.items[.key]) | .key]' "$T/d"
	[ "$output" = "[]" ]
	run jq -n '[inputs | (.after.total_amount, .after.unit_price, .after.price) | strings | select(test("^[0-9]+\\.[0-9]{2}$") | not)] | length' "$T/d"
	[ "$output" = 0 ]
	gen --format flat --orders 500 > "$T/f"
	run jq -n '[inputs | select((.amount | tonumber * 100 | round) != .quantity * (.unit_price | tonumber * 100 | round))] | length' "$T/f"
	[ "$output" = 0 ]
}

@test "out of order: about the requested share, never later than --max-delay" {
	# Order creations are dense enough that nearly every held-back one is overtaken.
	gen --format flat --orders 6000 --out-of-order 0.2 --max-delay 10s > "$T/f"
	run jq -n -r "$JQ_MS"'
		reduce (inputs | [(.event_time | ms), .status]) as [$t, $st] ({max: 0, late: 0, new: 0, worst: 0};
			(if $st == "NEW" then .new += 1 else . end)
			| if $t < .max then (if $st == "NEW" then .late += 1 else . end) | .worst = ([.worst, .max - $t] | max)
			  else .max = $t end)
		| "\(.late * 1000 / .new | floor) \(.worst)"' "$T/f"
	read -r permille worst <<<"$output"
	[ "$permille" -ge 150 ] && [ "$permille" -le 240 ]
	[ "$worst" -gt 5000 ] && [ "$worst" -le 10000 ]
	# None at all when asked for none.
	gen --format flat --orders 2000 --out-of-order 0 > "$T/f"
	run jq -n "$JQ_MS"'reduce (inputs | .event_time | ms) as $t ({max: 0, late: 0}; if $t < .max then .late += 1 else .max = $t end) | .late' "$T/f"
	[ "$output" = 0 ]
}

@test "flat: one denormalised line per item of each order event, about 400 bytes" {
	gen --format flat --orders 1000 > "$T/f"
	run jq -n -r 'input | keys_unsorted | join(",")' "$T/f"
	[ "$output" = "event_id,event_time,order_id,status,customer_id,customer_name,email,city,country,product_id,sku,product_name,category,brand,quantity,unit_price,amount,currency,payment_method,device" ]
	bytes=$(wc -c < "$T/f")
	n=$(wc -l < "$T/f")
	[ $((bytes / n)) -ge 350 ] && [ $((bytes / n)) -le 550 ]
	# The same order lines as the debezium items, for each status the order went through.
	gen --orders 1000 > "$T/d"
	a=$(jq -n '[inputs | select(.source.table == "order_items")] | length' "$T/d")
	b=$(jq -n '[inputs | select(.status == "NEW")] | length' "$T/f")
	[ "$a" = "$b" ]
	run jq -n '[inputs | .event_id] | (length == (unique | length))' "$T/f"
	[ "$output" = true ]
}

@test "--tables restricts debezium and sql output, the history stays the same" {
	gen --orders 200 > "$T/all"
	gen --orders 200 --tables orders,order_items > "$T/some"
	run jq -n -r '[inputs | .source.table] | unique | join(",")' "$T/some"
	[ "$output" = "order_items,orders" ]
	diff <(grep -E '"table":"(orders|order_items)"' "$T/all") "$T/some"
	gen --format sql --orders 50 --tables customers > "$T/s"
	run grep -c 'orders' "$T/s"
	[ "$output" = 0 ]
	grep -q '^INSERT INTO customers' "$T/s"
}

@test "sql: a preamble, transactions, quoted strings" {
	gen --format sql --orders 300 > "$T/s"
	grep -q '^SET client_min_messages' "$T/s"
	grep -q '^CREATE TABLE IF NOT EXISTS orders (id bigint PRIMARY KEY, .*total_amount numeric(12,2)' "$T/s"
	grep -q '^ALTER TABLE orders REPLICA IDENTITY FULL;$' "$T/s"
	[ "$(grep -c '^BEGIN;$' "$T/s")" = "$(grep -c '^COMMIT;$' "$T/s")" ]
	grep -q "^UPDATE orders SET status = 'PAID', updated_at = '2026-11-.*' WHERE id = [0-9]*;$" "$T/s"
	# Names with apostrophes are doubled, never left bare.
	grep -q "O''Brien\|D''Angelo" "$T/s"
	run grep -c "[^']'Brien\|[^']'Angelo" "$T/s"
	[ "$output" = 0 ]
}

@test "--ack: resume after the acknowledged position gives the tail of an uninterrupted run" {
	gen --orders 100 --ack "$T/ack" --checkpoint-records 150 > "$T/full"
	run head -n 1 "$T/full"
	[ "$output" = '{"_ec":"restore","id":0}' ]
	run sed -n 152p "$T/full"
	[ "$output" = '{"_ec":"barrier","id":1,"pos":150,"acked":0}' ]
	[ ! -e "$T/ack" ]
	data=$(grep -vc '"_ec"' "$T/full")
	run tail -n 1 "$T/full"
	[ "$output" = "{\"_ec\":\"barrier\",\"id\":$(grep -c '"barrier"' "$T/full"),\"pos\":$data,\"acked\":0}" ]
	# A sink acknowledged barrier 2: the rerun starts after record 300.
	echo '{"id":2,"pos":300}' > "$T/ack"
	gen --orders 100 --ack "$T/ack" --checkpoint-records 150 > "$T/resumed"
	run head -n 1 "$T/resumed"
	[ "$output" = '{"_ec":"restore","id":2}' ]
	grep -q '"_ec":"barrier","id":3,"pos":450,"acked":2}' "$T/resumed"
	diff <(sed 1d "$T/resumed" | sed 's/,"acked":[0-9]*}$/}/') \
		<(awk '/"_ec":"barrier","id":2,/ { on = 1; next } on' "$T/full" | sed 's/,"acked":[0-9]*}$/}/')
	# Flat positions count order lines the same way.
	gen --format flat --orders 100 --ack "$T/ack2" --checkpoint-records 40 > "$T/ffull"
	echo '{"id":3,"pos":120}' > "$T/ack2"
	gen --format flat --orders 100 --ack "$T/ack2" --checkpoint-records 40 > "$T/fresumed"
	diff <(grep -v '"_ec"' "$T/fresumed") <(grep -v '"_ec"' "$T/ffull" | tail -n +121)
}

@test "--ack: the barrier reports the id found in the ack file" {
	echo '{"id":7,"pos":0}' > "$T/ack"
	gen --orders 5 --ack "$T/ack" > "$T/out"
	run head -n 1 "$T/out"
	[ "$output" = '{"_ec":"restore","id":7}' ]
	run tail -n 1 "$T/out"
	[[ "$output" == '{"_ec":"barrier","id":8,"pos":'*',"acked":7}' ]]
}

@test "--ack: a corrupt ack file is a data error" {
	echo 'not json' > "$T/ack"
	run gen --ack "$T/ack"
	[ "$status" -eq 65 ]
	[[ "$output" == *"ec-gen: error: "*"ack"* ]]
	echo '{"id":1,"pos":"abc"}' > "$T/ack"
	run gen --ack "$T/ack"
	[ "$status" -eq 65 ]
	[[ "$output" == *'"pos" must be a record count'* ]]
}

# Start ec-gen in the background (the binary itself, so that $! is its pid).
gen_bg() {
	"$EC_BIN/ec-gen" "$@" &
	BG_PID=$!
}

@test "SIGTERM: exit 0 with a final barrier; without --ack no control records" {
	gen_bg --orders 0 --rate 3000 --ack "$T/ack" --checkpoint-records 500 > "$T/out"
	sleep 1
	kill -TERM "$BG_PID"
	rc=0
	wait "$BG_PID" || rc=$?
	[ "$rc" -eq 0 ]
	data=$(grep -vc '"_ec"' "$T/out")
	[ "$data" -gt 500 ]
	run tail -n 1 "$T/out"
	[[ "$output" == '{"_ec":"barrier","id":'*',"pos":'"$data"',"acked":0}' ]]
	gen_bg --orders 0 --rate 3000 > "$T/out2"
	sleep 0.5
	kill -INT "$BG_PID"
	rc=0
	wait "$BG_PID" || rc=$?
	[ "$rc" -eq 0 ]
	[ -s "$T/out2" ]
	run grep -c '"_ec"' "$T/out2"
	[ "$output" = 0 ]
	run jq -c . "$T/out2"
	[ "$status" -eq 0 ]
}

@test "--ack: the end of the history is an end record before a last barrier; a stop signal is no end" {
	# The last regular barrier already has the final position: a barrier still follows end.
	n=$(gen --orders 20 | wc -l)
	gen --orders 20 --ack "$T/ack" --checkpoint-records "$n" > "$T/out"
	run tail -n 3 "$T/out"
	[ "${lines[0]}" = "{\"_ec\":\"barrier\",\"id\":1,\"pos\":$n,\"acked\":0}" ]
	[ "${lines[1]}" = '{"_ec":"end"}' ]
	[ "${lines[2]}" = "{\"_ec\":\"barrier\",\"id\":2,\"pos\":$n,\"acked\":0}" ]
	# A rerun after the end acknowledged: no data, the end again, and a barrier.
	echo "{\"id\":2,\"pos\":$n}" > "$T/ack"
	run gen --orders 20 --ack "$T/ack" --checkpoint-records "$n"
	[ "$output" = "$(printf '%s\n' '{"_ec":"restore","id":2}' '{"_ec":"end"}' \
		"{\"_ec\":\"barrier\",\"id\":3,\"pos\":$n,\"acked\":2}")" ]
	gen_bg --orders 0 --rate 2000 --ack "$T/ack2" > "$T/stopped"
	sleep 0.5
	kill -TERM "$BG_PID"
	wait "$BG_PID"
	run grep -c '"_ec":"end"' "$T/stopped"
	[ "$output" = 0 ]
}

@test "SIGTERM while a write blocks on a full pipe: exit 0, whole lines, a final barrier" {
	# The write used to fail with EINTR: exit 74 and the buffered lines lost.
	mkfifo "$T/pipe"
	# The reader opens the pipe at once but reads only after the signal.
	(sleep 1.5 && cat) < "$T/pipe" > "$T/out" &
	reader=$!
	gen_bg --orders 0 --ack "$T/ack" > "$T/pipe"
	sleep 1
	kill -TERM "$BG_PID"
	rc=0
	wait "$BG_PID" || rc=$?
	wait "$reader"
	[ "$rc" -eq 0 ]
	data=$(grep -vc '"_ec"' "$T/out")
	run tail -n 1 "$T/out"
	[ "$output" = "{\"_ec\":\"barrier\",\"id\":1,\"pos\":$data,\"acked\":0}" ]
	run jq -c . "$T/out"
	[ "$status" -eq 0 ]
}

@test "a paced run ends when its reader goes away" {
	# It used to write on into the closed pipe and never end with --orders 0.
	run timeout 10 bash -c '"$1" --orders 0 --rate 500 | head -n 3 >/dev/null' _ "$EC_BIN/ec-gen"
	[ "$status" -eq 0 ]
	run timeout 10 bash -c '"$1" --orders 0 --rate 500 --ack "$2" | head -n 3 >/dev/null' _ "$EC_BIN/ec-gen" "$T/ack"
	[ "$status" -eq 0 ]
}

@test "--rate paces the output in real time" {
	run timeout -s TERM 1.5 "$EC_BIN/ec-gen" --orders 0 --rate 200 --format flat
	[ "${#lines[@]}" -ge 150 ] && [ "${#lines[@]}" -le 400 ]
}

@test "--start sets the event time; 'now' is the wall clock" {
	run bash -c '"$1" --orders 1 --start 2025-03-04T05:06:07Z | head -n 1 | jq .ts_ms' _ "$EC_BIN/ec-gen"
	[ "$output" = 1741064767000 ]
	before=$(($(date +%s) * 1000))
	run bash -c '"$1" --orders 1 --start now | head -n 1 | jq .ts_ms' _ "$EC_BIN/ec-gen"
	[ "$output" -ge "$before" ] && [ "$output" -le $((before + 10000)) ]
}

@test "usage errors exit 64 with a message" {
	for args in "--format xml" "--orders -1" "--orders 12x" "--seed" "--customers 0" "--rate 0" \
		"--out-of-order 1.5" "--max-delay soon" "--tables orders,carts" "--start yesterday" \
		"--no-such-option" "extra-operand" "--format sql --ack $T/ack" "--format flat --tables orders" \
		"--checkpoint-records 10" "--checkpoint-records 0 --ack $T/ack"; do
		run gen $args
		echo "ec-gen $args: $status: $output"
		[ "$status" -eq 64 ]
		[[ "$output" == "ec-gen: error: "* ]]
		[[ "$output" == *"Try 'ec-gen --help'"* ]]
	done
}

@test "a closed stdout ends ec-gen quietly" {
	run bash -c '"$1" --orders 0 2>"$2" | head -n 1 >/dev/null; echo "${PIPESTATUS[0]}"' _ "$EC_BIN/ec-gen" "$T/err"
	[ "$output" = 0 ]
	[ ! -s "$T/err" ]
}

@test "every option is in the man page and the completions" {
	root=$BATS_TEST_DIRNAME/..
	run gen --help-options
	[ "$status" -eq 0 ]
	for line in "${lines[@]}"; do
		opt=${line%% *}
		opt=${opt%%=*}
		grep -qF -- "${opt//-/\\-}" "$root/man/ec-gen.1" || { echo "man: $opt"; false; }
		grep -qw -- "$opt" "$root/completions/bash/ec-gen" || { echo "bash: $opt"; false; }
		grep -q -- "$opt" "$root/completions/zsh/_ec-gen" || { echo "zsh: $opt"; false; }
		grep -qE -- "-l ${opt#--}( |$)" "$root/completions/fish/ec-gen.fish" || { echo "fish: $opt"; false; }
	done
}

@test "bash completion offers the formats and the tables" {
	run bash -c 'source "$1"; COMP_WORDS=(ec-gen --format ""); COMP_CWORD=2; _ec_gen; echo "${COMPREPLY[*]}"' _ \
		"$BATS_TEST_DIRNAME/../completions/bash/ec-gen"
	[ "$output" = "debezium sql flat" ]
	run bash -c 'source "$1"; COMP_WORDS=(ec-gen --tables "orders,"); COMP_CWORD=2; _ec_gen; echo "${COMPREPLY[*]}"' _ \
		"$BATS_TEST_DIRNAME/../completions/bash/ec-gen"
	[[ "$output" == *"orders,customers"* && "$output" == *"orders,order_items"* ]]
	run bash -c 'source "$1"; COMP_WORDS=(ec-gen --check); COMP_CWORD=1; _ec_gen; echo "${COMPREPLY[*]}"' _ \
		"$BATS_TEST_DIRNAME/../completions/bash/ec-gen"
	[ "$output" = "--checkpoint-interval --checkpoint-records" ]
}

@test "PostgreSQL: the sql history loads and ends where the change events end" {
	pg_start
	gen --format sql --orders 1500 --seed 7 > "$T/shop.sql"
	psql -q -X -v ON_ERROR_STOP=1 -f "$T/shop.sql" > "$T/psql.log" 2>&1 || { cat "$T/psql.log"; false; }
	gen --orders 1500 --seed 7 > "$T/d"
	# Final status and total of every order.
	psql -X -At -F ' ' -c 'SELECT id, status, total_amount FROM orders ORDER BY id' > "$T/pg_orders"
	jq -n -r 'reduce (inputs | select(.source.table == "orders") | .after) as $a ({}; .[$a.id | tostring] = "\($a.id) \($a.status) \($a.total_amount)") | .[]' \
		"$T/d" | sort -n > "$T/dbz_orders"
	[ "$(wc -l < "$T/pg_orders")" -eq 1500 ]
	diff "$T/pg_orders" "$T/dbz_orders"
	# Every total is the sum of its items, in the database too.
	run psql -X -At -c 'SELECT count(*) FROM orders o WHERE total_amount <> (SELECT sum(quantity * unit_price) FROM order_items i WHERE i.order_id = o.id)'
	[ "$output" = 0 ]
	# Customers (sign-ups, moves) and products (price, category changes) end the same too.
	psql -X -At -F ' ' -c 'SELECT id, city, country FROM customers ORDER BY id' > "$T/pg_customers"
	jq -n -r 'reduce (inputs | select(.source.table == "customers") | .after) as $a ({}; .[$a.id | tostring] = "\($a.id) \($a.city) \($a.country)") | .[]' \
		"$T/d" | sort -n > "$T/dbz_customers"
	diff "$T/pg_customers" "$T/dbz_customers"
	psql -X -At -F ' ' -c 'SELECT id, price, category FROM products ORDER BY id' > "$T/pg_products"
	jq -n -r 'reduce (inputs | select(.source.table == "products") | .after) as $a ({}; .[$a.id | tostring] = "\($a.id) \($a.price) \($a.category)") | .[]' \
		"$T/d" | sort -n > "$T/dbz_products"
	diff "$T/pg_products" "$T/dbz_products"
}
