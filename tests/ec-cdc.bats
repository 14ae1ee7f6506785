#!/usr/bin/env bats
# ec-cdc.bats: change events from a real PostgreSQL server: types, operations, TOAST,
# schema changes, snapshots, slot health and the cross-check against wal2json.
# Failures, reconnects and checkpoints are in ec-cdc-recovery.bats.

load helpers/common
load helpers/pg

setup_file() {
	pg_start cdc
}

teardown_file() {
	pg_stop
}

setup() {
	common_setup
	CDC=$EC_BIN/ec-cdc
	[ -x "$CDC" ] || {
		echo "ec-cdc is not built: $CDC (run make)"
		return 1
	}
}

teardown() {
	# The server has ten slots: each test's go with it.
	pg_query "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active" >/dev/null || true
	common_teardown
}

# cdc_collect N OUT ARGS...: run ec-cdc ARGS until OUT holds N lines (at most 30 s),
# then stop it with SIGTERM. Returns ec-cdc's exit status; stderr goes to OUT.err.
cdc_collect() {
	local n=$1 out=$2 pid i status=0
	shift 2
	"$CDC" "$@" >"$out" 2>"$out.err" &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		[ "$(wc -l <"$out")" -ge "$n" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || status=$?
	return "$status"
}

# The "after" object of each event, its bytes as written (jq would round 12.50 and big integers).
after_raw() {
	sed -E 's/^\{"before":(null|\{[^}]*\}),"after":(.*),"source":\{.*$/\2/' "$@"
}

# slot_and_pub NAME TABLES: a pgoutput slot NAME and a publication NAME for TABLES, before any change.
slot_and_pub() {
	pg_query "CREATE PUBLICATION $1 FOR TABLE $2" >/dev/null
	pg_query "SELECT pg_create_logical_replication_slot('$1', 'pgoutput')" >/dev/null
}

@test "ec-cdc: every supported type streams typed as documented, equal to what psql reads" {
	pg_run_file "$DATA_DIR/ec-cdc/types.sql"
	slot_and_pub types types
	pg_run_file "$DATA_DIR/ec-cdc/types-rows.sql"
	cdc_collect 2 "$T/out" -s types -p types
	after_raw "$T/out" >"$T/after"
	diff -u "$DATA_DIR/ec-cdc/types.out" "$T/after"
	# The text-like values are psql's own text, byte for byte.
	for col in n n2 t vc u iv tm dt; do
		want=$(pg_query "SELECT coalesce($col::text, '<null>') FROM types WHERE id = 1")
		got=$(jq -r ".after.$col // \"<null>\"" <(head -n 1 "$T/out"))
		[ "$want" = "$got" ] || {
			echo "$col: psql '$want', ec-cdc '$got'"
			return 1
		}
	done
	# The same converter types the snapshot: the same values.
	cdc_collect 2 "$T/snap" --snapshot only -p types
	after_raw "$T/snap" | diff -u "$DATA_DIR/ec-cdc/types.out" -
	[ "$(jq -r '.op + .source.snapshot' "$T/snap" | tr '\n' ' ')" = "rtrue rlast " ]
}

@test "ec-cdc: inserts, updates, deletes and truncate with REPLICA IDENTITY DEFAULT and FULL" {
	pg_query "CREATE TABLE ops_d (id int PRIMARY KEY, v text); CREATE TABLE ops_f (id int PRIMARY KEY, v text);
		ALTER TABLE ops_f REPLICA IDENTITY FULL" >/dev/null
	slot_and_pub ops "ops_d, ops_f"
	for t in ops_d ops_f; do
		pg_query "INSERT INTO $t VALUES (1, 'a'), (2, 'b'); UPDATE $t SET v = 'c' WHERE id = 1;
			UPDATE $t SET id = 3 WHERE id = 2; DELETE FROM $t WHERE id = 1" >/dev/null
	done
	pg_query "TRUNCATE ops_d, ops_f" >/dev/null
	cdc_collect 12 "$T/out" -s ops -p ops --name shopdb
	jq -c '[.source.table, .op, .before, .after]' "$T/out" >"$T/got"
	cat >"$T/want" <<-'EOF'
		["ops_d","c",null,{"id":1,"v":"a"}]
		["ops_d","c",null,{"id":2,"v":"b"}]
		["ops_d","u",null,{"id":1,"v":"c"}]
		["ops_d","u",{"id":2,"v":null},{"id":3,"v":"b"}]
		["ops_d","d",{"id":1,"v":null},null]
		["ops_f","c",null,{"id":1,"v":"a"}]
		["ops_f","c",null,{"id":2,"v":"b"}]
		["ops_f","u",{"id":1,"v":"a"},{"id":1,"v":"c"}]
		["ops_f","u",{"id":2,"v":"b"},{"id":3,"v":"b"}]
		["ops_f","d",{"id":1,"v":"c"},null]
		["ops_d","t",null,null]
		["ops_f","t",null,null]
	EOF
	diff -u "$T/want" "$T/got"
	# Debezium's envelope, in ec-gen's field order, commit time as both ts_ms.
	first=$(head -n 1 "$T/out")
	[ "$(jq -c 'keys_unsorted' <<<"$first")" = '["before","after","source","op","ts_ms"]' ]
	[ "$(jq -c '.source | keys_unsorted' <<<"$first")" = "$("$EC_BIN/ec-gen" -n 1 | head -n 1 | jq -c '.source | keys_unsorted')" ]
	jq -e '.source.name == "shopdb" and .source.db == "cdc" and .source.connector == "postgresql"
		and .source.snapshot == "false" and .ts_ms == .source.ts_ms and (.source.txId | type) == "number"
		and (.source.sequence | fromjson | length) == 2' <<<"$first"
	# One transaction: one txId and commit time; LSNs grow.
	[ "$(head -n 5 "$T/out" | jq -r '[.source.txId, .ts_ms] | @text' | sort -u | wc -l)" = 1 ]
	jq -s -e '[.[].source.lsn] as $l | $l == ($l | sort)' "$T/out"
	# The sequence's first element is the end of the previous transaction.
	prev=$(sed -n 6p "$T/out" | jq -r '.source.sequence | fromjson | .[0]')
	[ "$prev" -gt "$(sed -n 5p "$T/out" | jq -r '.source.lsn')" ]
}

@test "ec-cdc: an unchanged TOASTed value is a placeholder, and whole with REPLICA IDENTITY FULL" {
	pg_query "CREATE TABLE big (id int PRIMARY KEY, n int, doc text); CREATE TABLE bigf (id int PRIMARY KEY, n int, doc text);
		ALTER TABLE bigf REPLICA IDENTITY FULL" >/dev/null
	slot_and_pub toast "big, bigf"
	for t in big bigf; do
		pg_query "INSERT INTO $t SELECT 1, 0, string_agg(md5(i::text), '') FROM generate_series(1, 400) i;
			UPDATE $t SET n = 1" >/dev/null
	done
	cdc_collect 4 "$T/out" -s toast -p toast
	doc=$(pg_query "SELECT doc FROM big")
	[ "${#doc}" -eq 12800 ]
	[ "$(sed -n 1p "$T/out" | jq -r .after.doc)" = "$doc" ]
	[ "$(sed -n 2p "$T/out" | jq -r .after.doc)" = "__ec_unavailable_value" ]
	[ "$(sed -n 2p "$T/out" | jq -r .after.n)" = 1 ]
	[ "$(sed -n 4p "$T/out" | jq -r .after.doc)" = "$doc" ]
	[ "$(sed -n 4p "$T/out" | jq -r .before.doc)" = "$doc" ]
}

@test "ec-cdc: ADD COLUMN mid-stream: later events carry the new column" {
	pg_query "CREATE TABLE grow (id int PRIMARY KEY)" >/dev/null
	slot_and_pub grow grow
	pg_query "INSERT INTO grow VALUES (1); ALTER TABLE grow ADD COLUMN price numeric(8,2) DEFAULT 9.99;
		INSERT INTO grow VALUES (2, 1.25); ALTER TABLE grow DROP COLUMN price; INSERT INTO grow VALUES (3)" >/dev/null
	cdc_collect 3 "$T/out" -s grow -p grow
	jq -c .after "$T/out" >"$T/got"
	printf '%s\n' '{"id":1}' '{"id":2,"price":"1.25"}' '{"id":3}' | diff -u - "$T/got"
}

@test "ec-cdc: --snapshot initial then streaming under concurrent writes: every row exactly once" {
	pg_query "CREATE TABLE snap (id int PRIMARY KEY, v int); INSERT INTO snap SELECT i, i FROM generate_series(1, 20000) i;
		CREATE PUBLICATION snap FOR TABLE snap" >/dev/null
	# A writer that keeps inserting (and updating) while the slot and its snapshot are made.
	(for ((i = 0; i < 40; i++)); do
		pg_query "INSERT INTO snap SELECT 100000 + $i * 50 + g, 0 FROM generate_series(1, 50) g;
			UPDATE snap SET v = v + 1 WHERE id = $((i + 1))" >/dev/null
		sleep 0.05
	done) &
	writer=$!
	"$CDC" -s snap -p snap --create-slot --fetch-size 1000 >"$T/out" 2>"$T/err" &
	pid=$!
	wait "$writer"
	pg_query "INSERT INTO snap VALUES (-1, 0)" >/dev/null
	for ((i = 0; i < 300; i++)); do
		grep -q '"id":-1,' "$T/out" && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid"
	# The state rebuilt from the events (r and c set a row, u replaces it) is the table.
	jq -r 'select(.op == "r" or .op == "c" or .op == "u") | [.op, .after.id, .after.v] | @tsv' "$T/out" >"$T/ev"
	awk -F'\t' '$1 != "u" { n[$2]++ } { v[$2] = $3 } END { for (k in n) if (n[k] != 1) { print "twice: " k; bad = 1 }
		for (k in v) print k "\t" v[k] > "/dev/stderr"; exit bad }' "$T/ev" 2>"$T/state"
	sort -n "$T/state" >"$T/state.sorted"
	pg_query "SELECT id, v FROM snap ORDER BY id" >"$T/table"
	diff "$T/table" "$T/state.sorted"
	[ "$(jq -r 'select(.op == "r") | .source.snapshot' "$T/out" | sort | uniq -c | awk '{print $2 ":" $1}' | tr '\n' ' ')" = "last:1 true:$(($(grep -c '"op":"r"' "$T/out") - 1)) " ]
}

@test "ec-cdc: --snapshot only with --where backfills the matching rows and exits" {
	pg_query "CREATE TABLE orders_w (id int PRIMARY KEY, created_at timestamptz);
		INSERT INTO orders_w SELECT i, '2026-11-01'::timestamptz + i * interval '1 day' FROM generate_series(1, 10) i" >/dev/null
	slots=$(pg_query "SELECT count(*) FROM pg_replication_slots")
	run "$CDC" --snapshot only --tables orders_w --where 'orders_w:created_at >= '\''2026-11-08'\'''
	[ "$status" -eq 0 ]
	[ "$(jq -r .after.id <<<"$output" | tr '\n' ' ')" = "7 8 9 10 " ]
	[ "$(jq -r .after.created_at <<<"$output" | head -n 1)" = "2026-11-08T00:00:00Z" ]
	# A backfill needs no slot and leaves none.
	[ "$(pg_query "SELECT count(*) FROM pg_replication_slots")" -eq "$slots" ]
}

@test "ec-cdc: --decimal number and --time-unit ms" {
	pg_query "CREATE TABLE fmt (id int PRIMARY KEY, amount numeric(10,2), at timestamptz);
		INSERT INTO fmt VALUES (1, 12.50, '2026-11-22 13:59:31.004911+00')" >/dev/null
	run "$CDC" --snapshot only --tables fmt --decimal number --time-unit ms
	[ "$status" -eq 0 ]
	[ "$(after_raw <<<"$output")" = '{"id":1,"amount":12.50,"at":1795355971004}' ]
}

@test "ec-cdc: matches pg_recvlogical with wal2json (format-version 2) on the same changes" {
	pg_query "CREATE TABLE xc (id int PRIMARY KEY, name text, amount numeric(12,2), ok boolean, at timestamptz, f float8)" >/dev/null
	slot_and_pub xc xc
	# Debian's 15.20 loads only the output plugins listed in output_plugin_libraries (a list
	# setting: unquoted names); wal2json is not among them by default.
	pg_query "ALTER SYSTEM SET output_plugin_libraries = pgoutput, test_decoding, wal2json" >/dev/null
	pg_query "SELECT pg_reload_conf()" >/dev/null
	sleep 0.2
	pg_query "SELECT pg_create_logical_replication_slot('xc_w2j', 'wal2json')" >/dev/null
	pg_query "INSERT INTO xc SELECT i, 'n' || i || E'\"\\\\', i * 1.25, i % 2 = 0, '2026-11-01'::timestamptz + i * interval '1 minute', i / 3.0 FROM generate_series(1, 300) i;
		UPDATE xc SET amount = amount + 0.01 WHERE id % 7 = 0; DELETE FROM xc WHERE id % 11 = 0" >/dev/null
	end=$(pg_query "SELECT pg_current_wal_lsn()")
	n=$((300 + 42 + 27))
	cdc_collect "$n" "$T/ec" -s xc -p xc
	pg_recvlogical -d cdc -S xc_w2j --start -o format-version=2 -o include-transaction=false --endpos "$end" -f "$T/w2j"
	/usr/bin/python3 - "$T/ec" "$T/w2j" <<-'EOF'
		import json, sys
		from decimal import Decimal
		ops = {"c": "I", "u": "U", "d": "D"}
		def ec_rows(path):
		    for line in open(path):
		        e = json.loads(line, parse_float=Decimal)
		        row = e["after"] or e["before"]
		        yield (ops[e["op"]], e["source"]["table"], {k: v for k, v in row.items() if v is not None})
		def w2j_rows(path):
		    for line in open(path):
		        e = json.loads(line, parse_float=Decimal)
		        cols = e.get("columns") or e.get("identity")
		        yield (e["action"], e["table"], {c["name"]: c["value"] for c in cols if c["value"] is not None})
		def norm(v):
		    # wal2json writes numeric and float unquoted and timestamps in PostgreSQL's text.
		    if isinstance(v, str) and len(v) >= 19 and v[10] == " ":
		        return v.replace(" ", "T").replace("+00", "Z")
		    return str(v) if not isinstance(v, bool) else v
		a = [(o, t, {k: norm(v) for k, v in r.items()}) for o, t, r in ec_rows(sys.argv[1])]
		b = [(o, t, {k: norm(v) for k, v in r.items()}) for o, t, r in w2j_rows(sys.argv[2])]
		assert len(a) == len(b) == 369, (len(a), len(b))
		for x, y in zip(a, b):
		    if x != y:
		        print("ec-cdc :", x); print("wal2json:", y); sys.exit(1)
	EOF
}

@test "ec-cdc status: one line per logical slot with retained WAL, wal_status and lag" {
	pg_query "SELECT pg_create_logical_replication_slot('st', 'pgoutput')" >/dev/null
	pg_query "CREATE TABLE st_fill (x int); INSERT INTO st_fill SELECT generate_series(1, 1000)" >/dev/null
	run "$CDC" status -s st
	[ "$status" -eq 0 ]
	jq -e '.slot == "st" and .plugin == "pgoutput" and .database == "cdc" and .active == false
		and .wal_status == "reserved" and .retained_bytes > 0 and .lag_bytes > 0
		and (.restart_lsn | test("^[0-9A-F]+/[0-9A-F]+$"))' <<<"$output"
	run "$CDC" status
	[ "$status" -eq 0 ]
	[ "$(wc -l <<<"$output")" -eq "$(pg_query "SELECT count(*) FROM pg_replication_slots WHERE slot_type = 'logical'")" ]
	run "$CDC" status -s no_such_slot
	[ "$status" -eq 78 ]
}

@test "ec-cdc: --heartbeat confirms the WAL end of an idle publication so WAL is not held" {
	pg_query "CREATE TABLE hb (id int); CREATE TABLE other (x int)" >/dev/null
	slot_and_pub hb hb
	pg_query "INSERT INTO other SELECT generate_series(1, 50000)" >/dev/null
	before=$(pg_query "SELECT pg_current_wal_lsn()")
	"$CDC" -s hb -p hb --heartbeat 1s --status-interval 1s >"$T/out" 2>"$T/err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		[ "$(pg_query "SELECT confirmed_flush_lsn >= '$before' FROM pg_replication_slots WHERE slot_name = 'hb'")" = t ] && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid"
	[ ! -s "$T/out" ]
	[ "$(pg_query "SELECT confirmed_flush_lsn >= '$before' FROM pg_replication_slots WHERE slot_name = 'hb'")" = t ]
}

@test "ec-cdc --stream-in-progress: a transaction streamed before its commit is written whole, without rolled-back parts" {
	# A tiny decoding budget makes the server stream the large transaction in pieces.
	pg_query "ALTER SYSTEM SET logical_decoding_work_mem = '64kB'" >/dev/null
	pg_query "SELECT pg_reload_conf()" >/dev/null
	pg_query "CREATE TABLE streamed (id int PRIMARY KEY, pad text)" >/dev/null
	slot_and_pub streamed streamed
	"$CDC" -s streamed -p streamed --stream-in-progress >"$T/out" 2>"$T/err" &
	pid=$!
	psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<-'EOF'
		BEGIN;
		INSERT INTO streamed SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
		SAVEPOINT s;
		INSERT INTO streamed SELECT g, md5(g::text) FROM generate_series(100001, 102000) g;
		ROLLBACK TO s;
		INSERT INTO streamed SELECT g, md5(g::text) FROM generate_series(5001, 6000) g;
		COMMIT;
		BEGIN;
		INSERT INTO streamed SELECT g, md5(g::text) FROM generate_series(200001, 205000) g;
		ROLLBACK;
		INSERT INTO streamed VALUES (-1, 'last');
	EOF
	for ((i = 0; i < 300; i++)); do
		grep -q '"id":-1,' "$T/out" && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid"
	pg_query "ALTER SYSTEM RESET logical_decoding_work_mem" >/dev/null
	pg_query "SELECT pg_reload_conf()" >/dev/null
	[ "$(pg_query "SELECT stream_txns > 0 FROM pg_stat_replication_slots WHERE slot_name = 'streamed'")" = t ]
	jq -r .after.id "$T/out" >"$T/ids"
	{ seq 1 6000; echo -1; } | diff - "$T/ids"
	[ "$(head -n 6000 "$T/out" | jq -r '[.source.txId, .ts_ms, .op] | @text' | sort -u | wc -l)" -eq 1 ]
	jq -s -e '[.[0:6000][].source.lsn] as $l | $l == ($l | sort)' "$T/out"
}

@test "ec-cdc --tx-metadata: BEGIN and END records around each transaction, events numbered in it" {
	pg_query "CREATE TABLE txa (id int PRIMARY KEY); CREATE TABLE txb (id int PRIMARY KEY)" >/dev/null
	slot_and_pub txm "txa, txb"
	pg_query "INSERT INTO txa VALUES (1), (2); INSERT INTO txb VALUES (1); INSERT INTO txa VALUES (3)" >/dev/null
	pg_query "DELETE FROM txb" >/dev/null
	cdc_collect 9 "$T/out" -s txm -p txm --tx-metadata
	jq -c 'if .status then [.status, .event_count, .data_collections] else [.op, .source.table, .transaction.total_order, .transaction.data_collection_order] end' "$T/out" >"$T/got"
	cat >"$T/want" <<-'EOF'
		["BEGIN",null,null]
		["c","txa",1,1]
		["c","txa",2,2]
		["c","txb",3,1]
		["c","txa",4,3]
		["END",4,[{"data_collection":"public.txa","event_count":3},{"data_collection":"public.txb","event_count":1}]]
		["BEGIN",null,null]
		["d","txb",1,1]
		["END",1,[{"data_collection":"public.txb","event_count":1}]]
	EOF
	diff -u "$T/want" "$T/got"
	# One id per transaction, "txId:LSN", on the records and in the events' blocks.
	id=$(head -n 1 "$T/out" | jq -r .id)
	[[ $id == "$(sed -n 2p "$T/out" | jq -r .source.txId):"* ]]
	[ "$(head -n 6 "$T/out" | jq -r '.id // .transaction.id' | sort -u)" = "$id" ]
}

@test "ec-cdc --messages: transactional pg_logical_emit_message() records become op m events" {
	pg_query "CREATE TABLE msg (id int PRIMARY KEY)" >/dev/null
	slot_and_pub msg msg
	pg_query "BEGIN; INSERT INTO msg VALUES (1); SELECT pg_logical_emit_message(true, 'shop', 'hello'); COMMIT" >/dev/null
	pg_query "SELECT pg_logical_emit_message(false, 'shop', 'not in a transaction')" >/dev/null
	pg_query "INSERT INTO msg VALUES (2)" >/dev/null
	cdc_collect 3 "$T/out" -s msg -p msg --messages
	[ "$(jq -r '.op' "$T/out" | tr '\n' ' ')" = "c m c " ]
	sed -n 2p "$T/out" | jq -e '.message == {"prefix":"shop","content":"aGVsbG8="} and .before == null
		and .after == null and .ts_ms == .source.ts_ms'
	# Without the option the stream has no messages.
	pg_query "SELECT pg_drop_replication_slot('msg')" >/dev/null
	pg_query "SELECT pg_create_logical_replication_slot('msg', 'pgoutput')" >/dev/null
	pg_query "BEGIN; SELECT pg_logical_emit_message(true, 'shop', 'x'); INSERT INTO msg VALUES (3); COMMIT" >/dev/null
	cdc_collect 1 "$T/out2" -s msg -p msg
	[ "$(jq -r '.op' "$T/out2" | tr '\n' ' ')" = "c " ]
}
