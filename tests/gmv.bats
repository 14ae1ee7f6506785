#!/usr/bin/env bats
# gmv.bats: the demo's GMV pipelines checked against PostgreSQL: ec-gen's SQL history loaded
# under audit triggers (tests/data/gmv/audit.sql), GMV computed there, exact equality per window.

load helpers/common
load helpers/pg

# The cases, one database each: ec-gen's options, the same for the SQL history
# and for the change events the pipelines read.
#   demo     the demo's seed and order rate (ec-gen's default 5% of late commits), 12000 orders
#   late     eleven hours of a quieter shop, 30% of order events committed up to 30s late
#   inorder  no late events: every change is committed when it happens
case_opts() {
	case $1 in
	demo) echo '--orders 12000 --order-rate 0.4 --seed 42' ;;
	late) echo '--orders 4000 --order-rate 0.1 --seed 7 --out-of-order 0.3' ;;
	inorder) echo '--orders 3000 --order-rate 0.2 --seed 3 --out-of-order 0' ;;
	*) return 1 ;;
	esac
}

setup_file() {
	pg_start gmv
}

teardown_file() {
	pg_stop
}

setup() {
	common_setup
	export PATH="$EC_BIN:$PATH"
	require_built ec-gen ec-join ec-state ec-window
}

teardown() {
	common_teardown
}

# Event time in epoch ms from "2026-11-01T00:00:08.123Z" (jq 1.6 has no fractional seconds).
JQ_MS='def ms: capture("^(?<s>[^.]+)\\.(?<ms>[0-9]{3})Z$") | (.s + "Z" | fromdateiso8601) * 1000 + (.ms | tonumber);'

# load_case NAME: database NAME (then PGDATABASE) holds the case's SQL history,
# loaded with the audit triggers in place before the first row; $CASE_DBZ names
# the same history as change events. Each case is loaded once per run of this file.
load_case() {
	local name=$1 opts dir=$BATS_FILE_TMPDIR
	opts=$(case_opts "$name")
	CASE_DBZ=$dir/$name.dbz
	export PGDATABASE=$name
	[ -e "$dir/$name.loaded" ] && return 0
	# shellcheck disable=SC2086 # the options are words
	ec-gen --format sql $opts >"$dir/$name.sql"
	# shellcheck disable=SC2086
	ec-gen $opts >"$CASE_DBZ"
	# ec-gen's own schema first, so the triggers exist before its rows arrive.
	grep -E '^(SET|CREATE TABLE|ALTER TABLE) ' "$dir/$name.sql" >"$dir/$name.schema.sql"
	[ "$(grep -c '^CREATE TABLE' "$dir/$name.schema.sql")" -eq 4 ] || {
		echo "load_case: expected 4 CREATE TABLE lines in ec-gen's SQL"
		return 1
	}
	echo "DROP DATABASE IF EXISTS $name" | psql -X -q -d postgres -v ON_ERROR_STOP=1
	pg_create_db "$name"
	pg_run_file "$dir/$name.schema.sql"
	pg_run_file "$DATA_DIR/gmv/audit.sql"
	pg_run_file "$dir/$name.sql"
	touch "$dir/$name.loaded"
}

# run_pipeline OUT FUNCTION [ARG...]: FUNCTION reads $CASE_DBZ and writes OUT;
# fails, showing the tools' diagnostics, when any stage of it fails.
run_pipeline() {
	local out=$1 status=0
	shift
	(
		set -o pipefail
		"$@" <"$CASE_DBZ" >"$out" 2>"$T/pipeline.err"
	) || status=$?
	if [ "$status" -ne 0 ]; then
		echo "--- the pipeline failed (status $status):"
		head -n 20 "$T/pipeline.err"
		return 1
	fi
}

# GMV by customer city per hour, as the demo computes it (tests/helpers/demo), at
# the time each change happened (updated_at): a change is committed (source.ts_ms)
# up to 30 s after it happened and arrives up to 30 s out of order, hence 60 s.
city_pipeline() {
	ec-join --time .ts_ms --max-delay 30s --dim customers --drop-dims \
		--attach 'orders: city = customers[.after.customer_id].city' |
		ec-state --table orders --time .after.updated_at --measure gmv=.after.total_amount \
			--counted PAID,SHIPPED,COMPLETED |
		ec-window --time ._state.at --max-delay 60s --where .source.table=orders --window 'tumble 1h' \
			--group-by city=._join.city --agg 'gmv=sum(._state.gmv_delta)'
}

# GMV by product category per minute, as the demo computes it: each order line
# counts while its order counts. ec-join --follow writes a line again on every
# change of its order, with the order's status and the time the change happened
# (updated_at); ec-window waits for late commits on top of --follow's disorder.
category_pipeline() {
	ec-join --time .ts_ms --max-delay 30s --dim products --dim orders \
		--follow orders --drop-dims \
		--attach 'order_items: category = products[.after.product_id].category' \
		--attach 'order_items: order_status = orders[.after.order_id].status' \
		--attach 'order_items: order_time = orders[.after.order_id].updated_at' |
		ec-state --table order_items --key .after.order_id,.after.product_id \
			--state ._join.order_status --time ._join.order_time \
			--measure 'gmv=.after.quantity*.after.unit_price' --counted PAID,SHIPPED,COMPLETED |
		ec-window --time ._state.at --max-delay 60s --where .source.table=order_items --window 'tumble 1m' \
			--group-by category=._join.category --agg 'gmv=sum(._state.gmv_delta)'
}

# late_crossings MS: the order changes that move GMV and were committed
# (source.ts_ms) in another window of MS milliseconds than they happened
# (updated_at): id, change, amount, updated_at, commit time.
late_crossings() {
	jq -r --argjson w "$1" "$JQ_MS"'
		def counted: . == "PAID" or . == "SHIPPED" or . == "COMPLETED";
		select(.source.table == "orders" and .before != null)
		| select((.before.status | counted) != (.after.status | counted))
		| select((.after.updated_at | ms / $w | floor) != (.source.ts_ms / $w | floor))
		| "order \(.after.id) \(.before.status)->\(.after.status) \(.after.total_amount) happened \(.after.updated_at) committed \(.source.ts_ms / 1000 | todate)"' \
		"$CASE_DBZ"
}

# check_windows OUT ORACLE TOTALS KEY WINDOW_MS: the pipeline's output OUT equals
# the database's GMV view ORACLE window by window, and its sums per KEY over all
# windows equal the final-state view TOTALS. Prints every difference.
check_windows() {
	local out=$1 oracle=$2 totals=$3 key=$4 window_ms=$5 ok=0 n
	n=$(pg_query "SELECT count(*) FROM $oracle WHERE gmv <> 0")
	echo "# $n non-zero windows in the database, $(wc -l <"$out") windows from the pipeline"
	# Something to compare: dozens of windows at least, on both sides.
	[ "$n" -ge 30 ] || { echo "--- only $n windows in the database"; ok=1; }
	[ "$(wc -l <"$out")" -ge 30 ] || { echo "--- only $(wc -l <"$out") windows from the pipeline"; ok=1; }
	psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -v oracle="$oracle" -v key="$key" \
		-f "$DATA_DIR/gmv/compare.sql" <"$out" >"$T/windows.diff"
	if [ -s "$T/windows.diff" ]; then
		echo "--- $(wc -l <"$T/windows.diff") windows differ (window_start, $key, database, pipeline):"
		head -n 40 "$T/windows.diff"
		echo "--- order changes committed in another window than they happened:"
		late_crossings "$window_ms" | head -n 20
		ok=1
	fi
	n=$(pg_query "SELECT count(*) - count(DISTINCT (doc->'window_start', doc->'$key')) FROM pipe_windows")
	[ "$n" -eq 0 ] || { echo "--- $n windows written more than once"; ok=1; }
	psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -v totals="$totals" -v key="$key" \
		-f "$DATA_DIR/gmv/totals.sql" >"$T/totals.diff"
	if [ -s "$T/totals.diff" ]; then
		echo "--- GMV over all windows differs from the final state ($key, final state, pipeline):"
		head -n 40 "$T/totals.diff"
		ok=1
	fi
	return "$ok"
}

@test "the database sees the change events' history: the same order changes, in order, at updated_at" {
	local name late
	for name in demo late inorder; do
		load_case "$name"
		# Every orders change, in commit order: the trigger log against the change events.
		pg_query "SELECT order_id, coalesce(new_status, 'null'), to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM gmv_order_log ORDER BY seq" \
			>"$T/pg.changes"
		jq -r 'select(.source.table == "orders") | [.after.id, .after.status, .after.updated_at] | @tsv' \
			"$CASE_DBZ" >"$T/dbz.changes"
		[ "$(wc -l <"$T/pg.changes")" -gt 5000 ]
		diff "$T/dbz.changes" "$T/pg.changes" | head -n 20
		cmp -s "$T/dbz.changes" "$T/pg.changes"
		# Each order's logged deltas add up to its final GMV, and its lines' deltas to its lines.
		run pg_query 'SELECT * FROM gmv_log_mismatch LIMIT 10'
		[ "$status" -eq 0 ] && [ -z "$output" ] || { echo "--- $name: orders whose log does not add up: $output"; false; }
		# Commit time (source.ts_ms) is the time of the change (updated_at), except for
		# late events: those are committed later, by at most --max-delay (30s).
		late=$(jq -r "$JQ_MS"'select(.source.table == "orders") | .source.ts_ms - (.after.updated_at | ms)' "$CASE_DBZ" |
			awk '$1 < 0 || $1 > 30000 { bad++ } $1 > 0 { late++ } END { print (bad || NR < 5000 ? "bad" : late + 0) }')
		echo "# $name: $late order changes committed after they happened"
		[ "$late" != bad ]
		if [ "$name" = inorder ]; then
			[ "$late" -eq 0 ]
		else
			[ "$late" -gt 100 ]
		fi
	done
}

@test "GMV by city per hour (the demo's pipeline) equals the database's: demo shop" {
	load_case demo
	run_pipeline "$T/out" city_pipeline
	check_windows "$T/out" gmv_city_hour gmv_city_total city 3600000
}

@test "GMV by city per hour (the demo's pipeline) equals the database's: 30% late events" {
	load_case late
	run_pipeline "$T/out" city_pipeline
	check_windows "$T/out" gmv_city_hour gmv_city_total city 3600000
}

@test "GMV by city per hour (the demo's pipeline) equals the database's: no late events" {
	load_case inorder
	run_pipeline "$T/out" city_pipeline
	check_windows "$T/out" gmv_city_hour gmv_city_total city 3600000
}

# GMV by product category per minute from ec-gen's flat order lines, which carry
# the order's status, the product's category of the moment and the time of the
# change on every line: an independent check of the database's item log that
# needs no join. jq only adds the line's key (order/product); money stays text.
flat_category_pipeline() {
	local opts
	opts=$(case_opts "$1")
	# shellcheck disable=SC2086 # the options are words
	ec-gen --format flat $opts |
		jq -c '. + {line: "\(.order_id)/\(.product_id)"}' |
		ec-state --key .line --state .status --time .event_time --measure gmv=.amount \
			--counted PAID,SHIPPED,COMPLETED |
		ec-window --time ._state.at --max-delay 30s --window 'tumble 1m' \
			--group-by category=.category --agg 'gmv=sum(._state.gmv_delta)'
}

@test "GMV by category per minute from flat order lines equals the database's" {
	local name
	for name in late inorder; do
		load_case "$name"
		run_pipeline "$T/out" flat_category_pipeline "$name"
		check_windows "$T/out" gmv_category_minute gmv_category_total category 60000
	done
}

@test "GMV by category per minute (order lines while their order counts) equals the database's: demo shop" {
	load_case demo
	run_pipeline "$T/out" category_pipeline
	check_windows "$T/out" gmv_category_minute gmv_category_total category 60000
}

@test "GMV by category per minute (order lines while their order counts) equals the database's: 30% late events" {
	load_case late
	run_pipeline "$T/out" category_pipeline
	check_windows "$T/out" gmv_category_minute gmv_category_total category 60000
}

@test "GMV by category per minute (order lines while their order counts) equals the database's: no late events" {
	load_case inorder
	run_pipeline "$T/out" category_pipeline
	check_windows "$T/out" gmv_category_minute gmv_category_total category 60000
}

@test "the comparison finds one cent in the wrong window and ignores how numbers are written" {
	load_case inorder
	run_pipeline "$T/out" city_pipeline
	check_windows "$T/out" gmv_city_hour gmv_city_total city 3600000
	# Every amount written differently (trailing zeros, an exponent), one cent moved
	# from the first window with GMV to the next window of the same city.
	/usr/bin/python3 - "$T/out" >"$T/moved" <<'PY'
import decimal, json, re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
num = re.compile(r'"gmv":(-?[0-9.eE+-]+)\}$')
first = next(i for i, l in enumerate(lines) if decimal.Decimal(num.search(l).group(1)) != 0)
city = json.loads(lines[first])["city"]
second = next(i for i in range(first + 1, len(lines)) if json.loads(lines[i])["city"] == city)
for i, l in enumerate(lines):
    d = decimal.Decimal(num.search(l).group(1))
    d += {first: decimal.Decimal("-0.01"), second: decimal.Decimal("0.01")}.get(i, 0)
    text = "%se0" % d if i % 2 else "%s000" % (d if "." in str(d) else str(d) + ".")
    print(num.sub('"gmv":' + text + "}", l))
PY
	grep -q '"gmv":[0-9.-]*e0}' "$T/moved"
	grep -q '"gmv":[0-9.-]*000}' "$T/moved"
	psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -v oracle=gmv_city_hour -v key=city \
		-f "$DATA_DIR/gmv/compare.sql" <"$T/moved" >"$T/diff"
	cat "$T/diff"
	[ "$(wc -l <"$T/diff")" -eq 2 ]
	# Each differs by exactly a cent, the first short, the second over.
	local want=-0.01 key db pipe
	while IFS=$'\t' read -r _ key db pipe; do
		[ "$(pg_query "SELECT $pipe::numeric - $db::numeric = $want")" = t ]
		want=0.01
	done <"$T/diff"
	[ "$want" = 0.01 ]
}
