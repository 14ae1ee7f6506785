#!/usr/bin/env bats
# outages.bats: outages inside a running checkpointed pipeline (issue 7): PostgreSQL
# stopped and restarted under a write load, every Kafka broker down, S3 failing for a
# while; the pipeline waits, retries and loses nothing, and an outage longer than the
# retry budget ends it with status 69 and a rerun that still delivers everything once.

load ../helpers/common
load ../helpers/pg
load ../helpers/s3
load ../helpers/kafka
load chaos

setup_file() {
	pg_start outage
	s3_start lake
}

teardown_file() {
	s3_stop
	pg_stop
}

setup() {
	common_setup
	require_built ec-cdc ec-gen ec-kcat ec-s3put
	PIDS=()
	LOAD_PID=
}

teardown() {
	local p
	for p in "${PIDS[@]}" $LOAD_PID; do
		kill -KILL "$p" 2>/dev/null || true
	done
	# A test that failed with the server down leaves it up for the next one.
	pg_is_up || pg_up
	fault_proxy_stop
	kafka_stop
	common_teardown
}

# ---- Helpers ----

# ms_since NS: milliseconds since the date +%s%N value NS.
ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds, polling every 0.1 s; fails after SECONDS.
wait_for() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	echo "wait_for: '$*' still false after ${secs}s"
	if [ -s "${D:-}/stderr" ]; then
		echo "the stages' stderr ($D/stderr):"
		grep -v '^%' "$D/stderr" | tail -n 10
	fi
	return 1
}

# pg_is_up: the server of pg_start is running (pg_ctl's view).
pg_is_up() {
	[ -z "${PG_DIR:-}" ] || pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1
}

# pg_down: stop the server as a crash would (immediate: no shutdown checkpoint, every
# connection cut), keeping its data for pg_up. pg_stop of helpers/pg removes the data.
pg_down() {
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null
}

# pg_up: start the stopped server again, on its port, with the settings of pg_start.
pg_up() {
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -l "$PG_DIR/log" \
		-o "-p $PGPORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c fsync=off -c full_page_writes=off" \
		start >/dev/null || {
		echo "pg_up: the server did not start; its log:"
		tail -n 20 "$PG_DIR/log"
		return 1
	}
	pg_wait_ready
}

# pg_bounce: a clean restart (fast shutdown: sessions cut, shutdown checkpoint), saying
# what the server logged when the shutdown does not finish in 30 s.
pg_bounce() {
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null || {
		echo "pg_bounce: the server did not shut down; its log:"
		tail -n 20 "$PG_DIR/log"
		return 1
	}
	pg_up
}

# write_load TABLE FROM TO: insert rows FROM..TO into TABLE in transactions of 25 rows,
# 20 a second at most, each retried every 0.1 s until it commits (ON CONFLICT makes a
# retry of a commit whose answer was lost harmless): the committed rows are exactly
# FROM..TO, whatever the outages.
write_load() {
	local table=$1 i=$2 to=$3 last
	while [ "$i" -le "$to" ]; do
		last=$((i + 24 > to ? to : i + 24))
		if psql -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO $table SELECT g, 'row ' || g FROM generate_series($i, $last) g ON CONFLICT DO NOTHING" \
			>/dev/null 2>&1; then
			i=$((last + 1))
			sleep 0.05
		else
			sleep 0.1
		fi
	done
}

# landed: the records in the objects the sink has reported so far ($D/objects).
landed() {
	jq -s '[.[] | .records // empty] | add // 0' "$D/objects" 2>/dev/null
}

# landed_at_least N: the sink has reported objects holding N records or more.
landed_at_least() {
	[ "$(landed)" -ge "$1" ]
}

# committed_ids: the ids of the committed change events of $D's lake, sorted numerically,
# duplicates kept; fails when the lake is not a clean committed state.
committed_ids() {
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete "$D/lake" "$D/ack.json" >"$D/committed" ||
		return 1
	grep -v '^== ' "$D/committed" | jq -r '(.after // .before).id' | sort -n
}

# exactly_once N: every id 1..N is committed once, and nothing else.
exactly_once() {
	committed_ids >"$D/ids" || return 1
	if ! seq 1 "$1" | cmp -s - "$D/ids"; then
		echo "committed ids are not 1..$1 once each: $(sort -n "$D/ids" | uniq -d | wc -l) duplicated, $(comm -23 <(seq 1 "$1" | sort) <(sort -u "$D/ids") | wc -l) missing"
		seq 1 "$1" | diff - "$D/ids" | head -n 10
		return 1
	fi
}

# expect_statuses S...: the exit statuses of the pipeline's stages (pipe_wait) are S...
expect_statuses() {
	if [ "${STATUSES[*]}" != "$*" ]; then
		echo "exit statuses ${STATUSES[*]}, expected $*; stderr:"
		tail -n 20 "$D/stderr"
		return 1
	fi
}

# ---- 1. PostgreSQL ----

# ec-cdc --ack | ec-s3put --ack file://: the CDC segment of pipeline (b), landing in a lake.
stage_cdc() {
	exec "$EC_BIN/ec-cdc" -s "$TABLE" -p "$TABLE" --create-slot --create-publication -t "$TABLE" \
		--ack "$D/ack.json" --checkpoint-interval 200ms --retries "$CDC_RETRIES"
}
stage_cdc_put() {
	exec "$EC_BIN/ec-s3put" --max-records 200 --ack "$D/ack.json" --state-dir "$D/s3put" "file://$D/lake"
}

# cdc_table NAME: a table for one test's write load.
cdc_table() {
	TABLE=$1
	pg_query "CREATE TABLE $TABLE (id int PRIMARY KEY, v text)" >/dev/null
}

# lake_has_id N: an object in $D's lake holds the change event of row N (the load's last
# row: it commits last, so everything before it has landed too).
lake_has_id() {
	local f
	for f in "$D"/lake/part-*; do
		[ -e "$f" ] && gzip -dc "$f" | grep -q "\"after\":{\"id\":$1," && return 0
	done
	return 1
}

@test "PostgreSQL stopped for seconds, then restarted, under a write load: ec-cdc reconnects, every committed row lands once" {
	cdc_table pgo
	D=$T/run CDC_RETRIES=10
	pipe_start stage_cdc stage_cdc_put
	write_load pgo 1 600 &
	LOAD_PID=$!
	wait_for 30 landed_at_least 150
	# Down for 3 s in the middle of the load: its inserts fail and are retried.
	kill -0 "$LOAD_PID"
	pg_down
	before=$(landed)
	sleep 3
	pg_up
	up=$(date +%s%N)
	wait_for 30 landed_at_least $((before + 25))
	resumed=$(ms_since "$up")
	wait "$LOAD_PID"
	# A restart (fast shutdown) while more rows flow.
	write_load pgo 601 1000 &
	LOAD_PID=$!
	wait_for 30 landed_at_least 650
	kill -0 "$LOAD_PID"
	pg_bounce
	wait "$LOAD_PID"
	LOAD_PID=
	wait_for 30 landed_at_least 1000
	kill -TERM "${PIDS[0]}"
	pipe_wait
	expect_statuses 0 0
	exactly_once 1000
	# ec-cdc waited and retried with backoff through both outages.
	[ "$(grep -c 'ec-cdc: .*reconnecting' "$D/stderr")" -ge 2 ]
	retries=$(grep -c 'ec-cdc: .*retrying' "$D/stderr")
	[ "$retries" -ge 2 ]
	echo "# down 3 s: rows flowed again ${resumed} ms after the server was back; $retries retries in all" >&3
}

@test "PostgreSQL down longer than ec-cdc's --retries: exit 69 with a clear message; the rerun resumes, every row once" {
	cdc_table pgl
	D=$T/run CDC_RETRIES=2
	pipe_start stage_cdc stage_cdc_put
	write_load pgl 1 600 &
	LOAD_PID=$!
	wait_for 30 landed_at_least 200
	kill -0 "$LOAD_PID"
	pg_down
	down=$(date +%s%N)
	pipe_wait
	gave_up=$(ms_since "$down")
	# ec-cdc gave up; the sink saw the end of its input and stopped cleanly.
	expect_statuses 69 0
	grep -q 'ec-cdc: error: .*gave up after 2 retries' "$D/stderr"
	[ "$(grep -c 'ec-cdc: .*retrying' "$D/stderr")" -eq 2 ]
	# Backoff 0.5 s then 1 s, each at least halved by the jitter.
	[ "$gave_up" -ge 700 ]
	acked=$(jq .id "$D/ack.json")
	# What the stopped run committed is not the whole load (the check can tell).
	run exactly_once 600
	[ "$status" -ne 0 ]
	pg_up
	pipe_start stage_cdc stage_cdc_put
	wait "$LOAD_PID"
	LOAD_PID=
	wait_for 30 lake_has_id 600
	kill -TERM "${PIDS[0]}"
	pipe_wait
	expect_statuses 0 0
	head -n 1 "$D/objects" | grep -qx "{\"_ec\":\"restore\",\"id\":$acked}"
	exactly_once 600
	echo "# down for good: ec-cdc exited 69 after ${gave_up} ms (--retries 2); the rerun restored checkpoint $acked" >&3
}

# ---- 2. Kafka ----

# ec-gen --ack | ec-kcat produce --ack: flat order lines into topic orders, paced.
: "${KAFKA_ORDERS:=800}"
stage_kgen() {
	exec "$EC_BIN/ec-gen" --format flat -n "$KAFKA_ORDERS" --seed 5 ${GEN_RATE:+--rate "$GEN_RATE"} \
		--ack "$D/ack.json" --checkpoint-interval 200ms
}
stage_produce() {
	exec "$EC_BIN/ec-kcat" produce -t orders -k .order_id --ack "$D/ack.json" --state-dir "$D/kp" \
		${PRODUCE_TIMEOUT:+--timeout "$PRODUCE_TIMEOUT"}
}
# ec-kcat consume --ack | ec-s3put --ack file://: the topic into a lake.
stage_consume() {
	exec "$EC_BIN/ec-kcat" consume -t orders --ack "$D/ack.json" --checkpoint-interval 200ms -v
}
stage_consume_put() {
	exec "$EC_BIN/ec-s3put" --max-records 500 --ack "$D/ack.json" --state-dir "$D/s3put" "file://$D/lake"
}

# The records the producing pipeline must deliver, sorted.
kafka_want() {
	"$EC_BIN/ec-gen" --format flat -n "$KAFKA_ORDERS" --seed 5 | sort >"$T/want"
	[ "$(wc -l <"$T/want")" -gt 5000 ]
}

# same_records WANT GOT: the two files hold the same lines as multisets (sorted WANT).
same_records() {
	sort "$2" >"$2.sorted"
	if ! cmp -s "$1" "$2.sorted"; then
		echo "records differ from the input: $(comm -23 "$1" "$2.sorted" | wc -l) missing, $(comm -13 "$1" "$2.sorted" | wc -l) extra"
		diff "$1" "$2.sorted" | cut -c1-150 | head -n 10
		return 1
	fi
}

# kafka_all VERB: every broker of the 3-broker mock down or up.
kafka_all() {
	kafka_cmd "$1 1" && kafka_cmd "$1 2" && kafka_cmd "$1 3"
}

# The topic as a fresh ec-kcat consume reads it (replays dropped), into FILE.
consume_all() {
	"$EC_BIN/ec-kcat" consume -t orders -e >"$1" 2>"$T/consume-all.err" || {
		echo "ec-kcat consume -e failed:"
		grep -v '^%' "$T/consume-all.err" | tail -n 5
		return 1
	}
}

@test "every Kafka broker down for seconds under a running produce and consume: both go on, nothing lost or duplicated" {
	kafka_start --brokers 3 -t orders:4
	kafka_want
	# The producing pipeline runs about 4 s, the consuming one follows it.
	D=$T/prod GEN_RATE=1500
	pipe_start stage_kgen stage_produce
	PROD=("${PIDS[@]}")
	D=$T/cons
	pipe_start stage_consume stage_consume_put
	CONS=("${PIDS[@]}")
	PIDS=("${PROD[@]}" "${CONS[@]}")
	wait_for 30 landed_at_least 1000
	# Down with data in flight both ways.
	kill -0 "${PROD[0]}"
	kafka_all down
	before=$(landed)
	sleep 3
	stalled=$(landed)
	kafka_all up
	up=$(date +%s%N)
	wait_for 30 landed_at_least $((stalled + 100))
	resumed=$(ms_since "$up")
	PIDS=("${PROD[@]}") D=$T/prod
	pipe_wait
	expect_statuses 0 0
	D=$T/cons
	wait_for 30 landed_at_least "$(wc -l <"$T/want")"
	# A moment more for anything extra to show, then stop the consuming pipeline.
	sleep 0.5
	kill -TERM "${CONS[0]}"
	PIDS=("${CONS[@]}")
	pipe_wait
	expect_statuses 0 0
	# The consuming pipeline's committed lake, and a fresh consume, hold every record once.
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete "$D/lake" "$D/ack.json" | grep -v '^== ' >"$T/lake"
	same_records "$T/want" "$T/lake"
	consume_all "$T/all"
	same_records "$T/want" "$T/all"
	echo "# all brokers down 3 s: $before records had landed, $stalled at the end of it; flowing again ${resumed} ms after up" >&3
}

@test "Kafka down past produce's --timeout: exit 69 naming the input line; the rerun with --ack delivers every record once" {
	kafka_start --brokers 3 -t orders:4
	kafka_want
	D=$T/prod GEN_RATE=3000 PRODUCE_TIMEOUT=2s
	pipe_start stage_kgen stage_produce
	wait_for 30 test -s "$D/ack.json"
	kafka_all down
	down=$(date +%s%N)
	pipe_wait
	gave_up=$(ms_since "$down")
	# produce gives up (ec-gen may have written everything into its queue already).
	[ "${STATUSES[1]}" = 69 ]
	grep -q 'ec-kcat: error: stdin:[0-9]*: delivery failed: .*timed out' "$D/stderr"
	gen_status=${STATUSES[0]}
	kafka_all up
	# The topic lacks the records of the stopped run's last epochs (the check can tell).
	consume_all "$T/part"
	run same_records "$T/want" "$T/part"
	[ "$status" -ne 0 ]
	acked=$(jq .id "$D/ack.json")
	GEN_RATE='' PRODUCE_TIMEOUT=''
	pipe_start stage_kgen stage_produce
	pipe_wait
	expect_statuses 0 0
	head -n 1 "$D/objects" | grep -qx "{\"_ec\":\"restore\",\"id\":$acked}"
	consume_all "$T/all"
	same_records "$T/want" "$T/all"
	echo "# brokers down for good: produce exited 69 after ${gave_up} ms (--timeout 2s), ec-gen $gen_status: $(grep 'ec-kcat: error' "$D/stderr" | head -n 1)" >&3
}

# ---- 3. S3 ----

# ec-gen --ack | ec-s3put --ack s3://: flat order lines by day and status, through the
# fault proxy ($S3_ENDPOINT when the pipeline starts) to s3rver; without CKPT the
# reference run into file://$D/lake.
: "${S3_ORDERS:=800}"
stage_sgen() {
	exec "$EC_BIN/ec-gen" --format flat -n "$S3_ORDERS" --seed 9 ${GEN_RATE:+--rate "$GEN_RATE"} \
		${CKPT:+--ack "$D/ack.json" --checkpoint-interval 200ms}
}
stage_s3put() {
	local dest=file://$D/lake
	[ -z "$CKPT" ] || dest="--endpoint $S3_ENDPOINT --retries $S3_RETRIES --ack $D/ack.json --state-dir $D/s3put s3://$S3_BUCKET/$PRE"
	# shellcheck disable=SC2086 # dest is several words on purpose
	exec "$EC_BIN/ec-s3put" -t .event_time -p 'dt={time:%Y-%m-%d}/status={.status}' --max-records 300 -v $dest
}

# s3_reference: the dataset of one run without checkpoints or outage, in $T/ref.data.
s3_reference() {
	D=$T/ref CKPT='' pipe_run stage_sgen stage_s3put
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete "$T/ref/lake" >"$T/ref.data"
	[ "$(grep -vc '^== ' "$T/ref.data")" -gt 5000 ]
}

# s3_same_dataset: the committed dataset under s3://lake/$PRE (a copy synced from
# s3rver, its manifests naming the copy) equals the reference byte for byte.
s3_same_dataset() {
	local copy=$T/copy
	rm -rf "$copy"
	/usr/bin/aws --endpoint-url "$S3RVER_ENDPOINT" s3 sync --quiet "s3://$S3_BUCKET/$PRE" "$copy"
	sed -i "s|s3://$S3_BUCKET/$PRE/|file://$copy/|g" "$copy"/_manifests/*
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete "$copy" "$D/ack.json" >"$T/s3.data" || return 1
	if ! cmp -s "$T/ref.data" "$T/s3.data"; then
		echo "the committed dataset differs from the run without an outage:"
		diff "$T/ref.data" "$T/s3.data" | cut -c1-150 | head -n 10
		return 1
	fi
}

# s3_fail ACTION: from now on every request through the proxy gets ACTION (ok: S3 is back).
s3_fail() {
	echo "$1" >"$T/s3-state.tmp"
	mv "$T/s3-state.tmp" "$T/s3-state"
}

# blocked_on_pipe PID: the process sleeps in a write to a full pipe (its reader is held up).
blocked_on_pipe() {
	[[ "$(cat "/proc/$1/wchan" 2>/dev/null)" == *pipe_write* ]]
}

# wchan_known: this kernel names the function a sleeping process waits in (some say "0").
wchan_known() {
	local p w
	sleep 2 &
	p=$!
	sleep 0.1
	w=$(cat "/proc/$p/wchan" 2>/dev/null)
	kill "$p"
	wait "$p" 2>/dev/null || true
	[[ "$w" =~ [a-z] ]]
}

# acked_id: the id in $D's ack file (0 without one).
acked_id() {
	jq .id "$D/ack.json" 2>/dev/null || echo 0
}

@test "S3 failing for seconds (503 SlowDown, 500, connection refused) under a running pipeline: the sink retries, the pipeline waits, then completes the same dataset" {
	s3_reference
	PRE=outage D=$T/run CKPT=1 GEN_RATE=1500 S3_RETRIES=16
	s3_fail ok
	fault_proxy_start "file:$T/s3-state"
	port=${S3_ENDPOINT##*:}
	pipe_start stage_sgen stage_s3put
	wait_for 30 landed_at_least 1500
	kill -0 "${PIDS[0]}"
	# 503 SlowDown, then 500, then nothing listening at all: each for 0.7 s at least and
	# until the sink has tried it (its backoff grows as it goes: the outage lasts seconds).
	s3_fail 503
	start=$(date +%s%N)
	wait_for 10 grep -q '^[0-9]* 503 ' "$FAULT_LOG"
	ack_then=$(acked_id)
	sleep 0.7
	s3_fail 500
	sleep 0.7
	wait_for 20 grep -q '^[0-9]* 500 ' "$FAULT_LOG"
	fault_proxy_stop
	# fault_proxy_start empties the log: keep the outage's part.
	cp "$FAULT_LOG" "$T/fault-outage.log"
	sleep 0.7
	wait_for 30 grep -q "ec-s3put: .*Couldn't connect to server" "$D/stderr"
	# While S3 is down no checkpoint can be acknowledged: its objects are not written.
	[ "$(acked_id)" = "$ack_then" ]
	# And the source is held up by the full pipe (it would have written all by now).
	if wchan_known; then
		wait_for 5 blocked_on_pipe "${PIDS[0]}"
	else
		echo "# /proc/PID/wchan names no functions here: back-pressure not checked" >&3
	fi
	s3_fail ok
	fault_proxy_start "file:$T/s3-state" --port "$port"
	outage=$(ms_since "$start")
	up=$(date +%s%N)
	wait_for 30 landed_at_least $(($(landed) + 1))
	resumed=$(ms_since "$up")
	pipe_wait
	expect_statuses 0 0
	grep -q 'ec-s3put: warning: .*SlowDown.*retrying' "$D/stderr"
	s3_same_dataset
	echo "# S3 down ${outage} ms: uploads went on ${resumed} ms after it was back; $(grep -c 'retry [0-9]* of' "$D/stderr") retries" >&3
}

@test "S3 failing past ec-s3put's --retries: exit 69 naming the object; the rerun completes the same dataset, every object once" {
	s3_reference
	PRE=budget D=$T/run CKPT=1 GEN_RATE=3000 S3_RETRIES=2
	s3_fail ok
	fault_proxy_start "file:$T/s3-state"
	pipe_start stage_sgen stage_s3put
	wait_for 30 landed_at_least 1000
	kill -0 "${PIDS[0]}"
	s3_fail 503
	down=$(date +%s%N)
	pipe_wait
	gave_up=$(ms_since "$down")
	[ "${STATUSES[1]}" = 69 ]
	grep -q "ec-s3put: error: .*s3://$S3_BUCKET/$PRE/.*SlowDown.*gave up after 3 tries" "$D/stderr"
	gen_status=${STATUSES[0]}
	acked=$(acked_id)
	# What the stopped run committed is not the whole dataset (the check can tell).
	run s3_same_dataset
	[ "$status" -ne 0 ]
	s3_fail ok
	S3_RETRIES=8 GEN_RATE=''
	pipe_start stage_sgen stage_s3put
	pipe_wait
	expect_statuses 0 0
	head -n 1 "$D/objects" | grep -qx "{\"_ec\":\"restore\",\"id\":$acked}"
	s3_same_dataset
	echo "# S3 down for good: ec-s3put exited 69 after ${gave_up} ms (--retries 2), ec-gen $gen_status: $(grep 'ec-s3put: error' "$D/stderr" | head -n 1 | cut -c1-200)" >&3
}
