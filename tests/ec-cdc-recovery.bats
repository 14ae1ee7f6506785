#!/usr/bin/env bats
# ec-cdc-recovery.bats: ec-cdc against misconfigured, unreachable, restarted and killed
# servers and consumers: documented errors and exit codes, reconnects without gaps,
# checkpoints (--ack) that survive kill -9, and memory bounded by a huge transaction.

load helpers/common
load helpers/pg

setup_file() {
	pg_start cdcr
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
	common_teardown
}

# wait_lines N FILE [SECONDS]: until FILE holds at least N lines (default at most 30 s).
wait_lines() {
	local n=$1 file=$2 i
	for ((i = 0; i < ${3:-30} * 10; i++)); do
		[ -f "$file" ] && [ "$(wc -l <"$file")" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "wait_lines: $file has $(wc -l <"$file" 2>/dev/null) lines, not $n" >&2
	return 1
}

# The ids of the data events in FILE, one per line, sorted; duplicates kept.
ids_of() {
	jq -r 'select(has("_ec") | not) | (.after // .before).id' "$1" | sort -n
}

@test "ec-cdc: wal_level below logical is a configuration error (78) that names the fix" {
	# The server refuses wal_level=replica while logical slots exist: this test runs first.
	pg_restart wal_level=replica
	run "$CDC" --create-slot --create-publication
	pg_restart
	[ "$status" -eq 78 ]
	[[ $output == *"wal_level is 'replica'"*"wal_level = logical"* ]]
}

@test "ec-cdc: missing privilege, publication or slot, a busy slot and bad usage give documented errors" {
	pg_query "CREATE TABLE cfg (id int PRIMARY KEY); CREATE ROLE app LOGIN; CREATE PUBLICATION cfg FOR TABLE cfg" >/dev/null
	run "$CDC" -d "user=app" -p cfg -s cfg --create-slot
	[ "$status" -eq 78 ]
	[[ $output == *"replication role"*"ALTER ROLE"*"REPLICATION"* ]]
	run "$CDC" -p nopub -s cfg --create-slot
	[ "$status" -eq 78 ]
	[[ $output == *'publication "nopub" does not exist'*"--create-publication"* ]]
	run "$CDC" -p cfg -s noslot
	[ "$status" -eq 78 ]
	[[ $output == *'replication slot "noslot" does not exist'*"--create-slot"* ]]
	# A slot some other consumer holds: retried, then 69.
	pg_query "SELECT pg_create_logical_replication_slot('cfg', 'pgoutput')" >/dev/null
	pg_recvlogical -d cdcr -S cfg --start -o proto_version=1 -o publication_names=cfg -f /dev/null &
	other=$!
	for ((i = 0; i < 50; i++)); do
		[ "$(pg_query "SELECT active FROM pg_replication_slots WHERE slot_name = 'cfg'")" = t ] && break
		sleep 0.1
	done
	run "$CDC" -p cfg -s cfg --retries 1
	kill "$other"
	wait "$other" || true
	[ "$status" -eq 69 ]
	[[ $output == *'replication slot "cfg" is active'*"gave up after 1 retries"* ]]
	run "$CDC" --snapshot sometimes
	[ "$status" -eq 64 ]
	run "$CDC" --ack "$T/ack" --snapshot only
	[ "$status" -eq 64 ]
	echo '{"id":3,"pos":17}' >"$T/bad.ack"
	run "$CDC" -p cfg -s cfg --ack "$T/bad.ack"
	[ "$status" -eq 65 ]
}

@test "ec-cdc: an unreachable server is retried with backoff, then exit 69" {
	port=$(pg_free_port)
	start=$(date +%s%N)
	run "$CDC" -d "host=127.0.0.1 port=$port dbname=x connect_timeout=2" --retries 2
	elapsed=$((($(date +%s%N) - start) / 1000000))
	[ "$status" -eq 69 ]
	[[ $output == *"Connection refused"*"gave up after 2 retries"* ]]
	[ "$(grep -c retrying <<<"$output")" -eq 2 ]
	# 0.5 s then 1 s of backoff, each at least halved by the jitter.
	[ "$elapsed" -ge 700 ]
}

@test "ec-cdc: pg_terminate_backend and a server restart mid-stream: reconnects, every row once" {
	pg_query "CREATE TABLE rc (id int PRIMARY KEY); CREATE PUBLICATION rc FOR TABLE rc" >/dev/null
	"$CDC" -s rc -p rc --create-slot --retries 20 -v >"$T/out" 2>"$T/err" &
	pid=$!
	pg_query "INSERT INTO rc SELECT generate_series(1, 100)" >/dev/null
	wait_lines 100 "$T/out"
	pg_query "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'rc'" >/dev/null
	pg_query "INSERT INTO rc SELECT generate_series(101, 200)" >/dev/null
	wait_lines 200 "$T/out"
	pg_restart
	pg_query "INSERT INTO rc SELECT generate_series(201, 300)" >/dev/null
	wait_lines 300 "$T/out"
	kill -TERM "$pid"
	wait "$pid"
	ids_of "$T/out" >"$T/ids"
	seq 1 300 | diff - "$T/ids"
	[ "$(grep -c 'reconnecting' "$T/err")" -ge 2 ]
}

# A sink of the checkpoint protocol: data lines land in OUT only with the barrier
# that closes them, then the ack file says so; a killed pipeline loses what was not
# acked. SEEN gets every line as it arrives.
write_sink() {
	cat >"$T/sink.py" <<-'EOF'
		import json, os, sys
		ack, out, seen = sys.argv[1], sys.argv[2], sys.argv[3]
		pending = []
		with open(out, "a") as f, open(seen, "a") as s:
		    for line in sys.stdin:
		        r = json.loads(line)
		        s.write(line)
		        s.flush()
		        if r.get("_ec") == "barrier":
		            f.writelines(pending)
		            f.flush()
		            pending = []
		            with open(ack + ".tmp", "w") as a:
		                json.dump({"id": r["id"], "pos": r["pos"]}, a)
		            os.rename(ack + ".tmp", ack)
		        elif "_ec" not in r:
		            pending.append(line)
	EOF
}

# run_pipeline: ec-cdc --ack into the sink, in the background ($CDC_PID, $SINK_PID).
run_pipeline() {
	rm -f "$T/pipe"
	mkfifo "$T/pipe"
	/usr/bin/python3 "$T/sink.py" "$T/ack" "$T/landed" "$T/seen" <"$T/pipe" &
	SINK_PID=$!
	"$CDC" -s ack -p ack --create-slot --ack "$T/ack" "$@" >"$T/pipe" 2>>"$T/err" &
	CDC_PID=$!
}

@test "ec-cdc --ack: kill -9, then a rerun resumes after the acked LSN with no gap and no repeat" {
	pg_query "CREATE TABLE ack (id int PRIMARY KEY, v text); CREATE PUBLICATION ack FOR TABLE ack;
		INSERT INTO ack SELECT g, 'snap' FROM generate_series(1, 50) g" >/dev/null
	write_sink
	run_pipeline --checkpoint-interval 200ms
	# The snapshot is one epoch: it lands whole with the first barrier.
	wait_lines 50 "$T/landed"
	for ((b = 0; b < 10; b++)); do
		pg_query "INSERT INTO ack SELECT g, 'one' FROM generate_series(51 + $b * 10, 60 + $b * 10) g" >/dev/null
	done
	wait_lines 150 "$T/landed"
	# The slot's confirmed position follows the ack file.
	for ((i = 0; i < 50; i++)); do
		pos=$(jq -r .pos "$T/ack")
		[ "$(pg_query "SELECT confirmed_flush_lsn = '$pos' FROM pg_replication_slots WHERE slot_name = 'ack'")" = t ] && break
		sleep 0.1
	done
	[ "$(pg_query "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'ack'")" = "$pos" ]
	# More changes, and the source dies with them written but not acknowledged.
	kill -9 "$CDC_PID"
	wait "$SINK_PID" || true
	wait "$CDC_PID" || true
	run_pipeline --checkpoint-interval 1h
	pg_query "INSERT INTO ack SELECT g, 'two' FROM generate_series(151, 250) g" >/dev/null
	for ((i = 0; i < 300; i++)); do
		grep -q '"id":250,' "$T/seen" && break
		sleep 0.1
	done
	kill -9 "$CDC_PID"
	wait "$SINK_PID" || true
	wait "$CDC_PID" || true
	landed=$(wc -l <"$T/landed")
	pg_query "INSERT INTO ack SELECT g, 'three' FROM generate_series(251, 300) g; UPDATE ack SET v = 'upd' WHERE id <= 5" >/dev/null
	run_pipeline --checkpoint-interval 200ms
	wait_lines 305 "$T/landed"
	kill -TERM "$CDC_PID"
	wait "$CDC_PID"
	wait "$SINK_PID"
	jq -r 'select(.op != "u") | .after.id' "$T/landed" | sort -n >"$T/ids"
	seq 1 300 | diff - "$T/ids"
	[ "$(jq -r 'select(.op == "u") | .after.id' "$T/landed" | sort -n | tr '\n' ' ')" = "1 2 3 4 5 " ]
	[ "$(jq -r 'select(.op == "r") | .after.id' "$T/landed" | wc -l)" -eq 50 ]
	[ "$landed" -eq 150 ]
}

@test "ec-cdc --ack: a run that died before its snapshot was acknowledged snapshots again" {
	pg_query "CREATE TABLE ack2 (id int PRIMARY KEY); CREATE PUBLICATION ack2 FOR TABLE ack2;
		INSERT INTO ack2 SELECT generate_series(1, 10)" >/dev/null
	pg_query "SELECT pg_create_logical_replication_slot('ack2', 'pgoutput')" >/dev/null
	"$CDC" -s ack2 -p ack2 --ack "$T/none.ack" --checkpoint-interval 200ms -v >"$T/out" 2>"$T/err" &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '"_ec":"barrier"' "$T/out" && break
		sleep 0.1
	done
	kill -TERM "$pid"
	wait "$pid"
	grep -q "dropping the slot to snapshot again" "$T/err"
	output=$(cat "$T/out")
	[ "$(grep -c '"op":"r"' <<<"$output")" -eq 10 ]
	[ "$(head -n 1 <<<"$output")" = '{"_ec":"restore","id":0}' ]
	# The first barrier's position is the new slot's consistent point.
	pos=$(grep '"_ec":"barrier"' <<<"$output" | head -n 1 | jq -r .pos)
	[ "$(pg_query "SELECT restart_lsn <= '$pos' FROM pg_replication_slots WHERE slot_name = 'ack2'")" = t ]
}

@test "ec-cdc: a huge transaction streams with bounded memory" {
	rows=300000
	# Sanitizers are slower, and ASan keeps freed memory resident (its quarantine):
	# fewer rows, and the memory bound is checked by the plain build only.
	[ -n "${EC_SANITIZED:-}" ] && rows=30000
	pg_query "CREATE TABLE huge (id int PRIMARY KEY, a text, b text, c numeric(12,2), d timestamptz);
		CREATE PUBLICATION huge FOR TABLE huge" >/dev/null
	pg_query "SELECT pg_create_logical_replication_slot('huge', 'pgoutput')" >/dev/null
	pg_query "INSERT INTO huge SELECT g, md5(g::text), md5((g + 1)::text), g / 100.0, now() FROM generate_series(1, $rows) g" >/dev/null
	"$CDC" -s huge -p huge >"$T/out" 2>"$T/err" &
	pid=$!
	wait_lines "$rows" "$T/out" 60
	# The peak resident size so far (VmHWM), read before the process ends.
	rss_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
	kill -TERM "$pid"
	wait "$pid"
	[ "$(wc -l <"$T/out")" -eq "$rows" ]
	bytes=$(wc -c <"$T/out")
	echo "rows $rows, output $((bytes / 1024)) KiB, max RSS $rss_kb KiB" >&3
	# The output is far larger than what the process ever held.
	[ -n "${EC_SANITIZED:-}" ] || [ "$((rss_kb * 1024 * 3))" -lt "$bytes" ]
}

@test "ec-cdc: a lost slot (its WAL removed) is a configuration error (78); --drop-slot clears it" {
	# Last in this file: it invalidates every slot on the server.
	pg_query "SELECT pg_create_logical_replication_slot('lost', 'pgoutput'); CREATE PUBLICATION lost FOR ALL TABLES;
		CREATE TABLE filler (x int)" >/dev/null
	pg_query "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'" >/dev/null
	pg_query "SELECT pg_reload_conf()" >/dev/null
	for i in 1 2 3; do
		pg_query "INSERT INTO filler SELECT generate_series(1, 1000); SELECT pg_switch_wal()" >/dev/null
	done
	pg_query "CHECKPOINT" >/dev/null
	[ "$(pg_query "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lost'")" = lost ]
	run "$CDC" -s lost -p lost
	[ "$status" -eq 78 ]
	[[ $output == *'replication slot "lost" is lost'*"--drop-slot"* ]]
	run "$CDC" status -s lost
	[ "$(jq -r .wal_status <<<"$output")" = lost ]
	run "$CDC" -s lost --drop-slot
	[ "$status" -eq 0 ]
	[ "$(pg_query "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'lost'")" -eq 0 ]
	pg_query "ALTER SYSTEM RESET max_slot_wal_keep_size" >/dev/null
	pg_query "SELECT pg_reload_conf()" >/dev/null
}
