#!/usr/bin/env bats
# pipeline-b.bats: exactly-once through Kafka under kill -9 (issue 7, pipeline b). PostgreSQL
# under a write load feeds segment 1, ec-cdc | ec-kcat produce, into a 2-partition topic;
# segment 2, ec-kcat consume (partition 0) | ec-state | ec-window | ec-s3put, lands it in
# s3rver. Both segments are killed independently, each restarted with the same commands; the
# topic as ec-kcat consume reads it must equal one uninterrupted ec-cdc run, and the committed
# lake one uninterrupted run of segment 2 over the final topic.
#
# EC_CHAOS_SEED=N replays the random choices of a failed run (its seed is printed).

load ../helpers/common
load ../helpers/pg
load ../helpers/kafka
load ../helpers/s3
load chaos

MURMUR2=$CHAOS_DIR/../data/ec-kcat/murmur2.py

setup_file() {
	pg_start shop
	s3_start lake
	T=$BATS_FILE_TMPDIR kafka_start --brokers 1 -t chaos:2
	export KAFKA_DIR KAFKA_PID
}

teardown_file() {
	T=$BATS_FILE_TMPDIR kafka_stop
	s3_stop
	pg_stop
}

setup() {
	common_setup
	require_built ec-cdc ec-kcat ec-state ec-window ec-s3put ec-gen
	command -v kcat >/dev/null || {
		echo "kcat is not installed (Debian package kcat; tests/helpers/install-deps installs it)"
		return 1
	}
	chaos_seed
	# What the first test leaves for the second (the checker's own test).
	B=$BATS_FILE_TMPDIR/b
}

teardown() {
	local p
	for p in "${P1[@]}" "${P2[@]}" "${PIDS[@]}" ${GEN_PID:-} ${LOAD_PID:-} ${REF_PID:-}; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	common_teardown
}

# Segment 1: the orders table's changes, keyed by order id, into topic chaos.
stage_cdc() {
	exec "$EC_BIN/ec-cdc" -s chaos -p chaos --create-slot --retries 20 \
		--ack "$D/ack.json" --checkpoint-interval "$CHAOS_INTERVAL"
}
stage_produce() {
	exec "$EC_BIN/ec-kcat" produce -t chaos -k .after.id --ack "$D/ack.json" --state-dir "$D/produce" \
		${CHAOS_B_TXN:+--transactional-id chaos-b}
}
SEG1=(stage_cdc stage_produce)

# Segment 2: partition 0 of the topic (one partition: a defined order), each order's
# lifecycle and GMV deltas, per second of commit time by status and customer, to S3.
# CONSUME_OPTS: -e for the last run, -c N for the reference.
stage_consume() {
	exec "$EC_BIN/ec-kcat" consume -t chaos --partitions 0 ${CONSUME_OPTS:-} \
		${CKPT:+--ack "$D/ack.json" --checkpoint-interval "$CHAOS_INTERVAL"}
}
stage_bstate() {
	exec "$EC_BIN/ec-state" --table orders --version-field .source.lsn --measure gmv=.after.total_amount \
		${CKPT:+--state-dir "$D/state"}
}
stage_bwindow() {
	exec "$EC_BIN/ec-window" --time ._state.at --max-delay 1s --where .source.table=orders \
		--window 'tumble 1s' --group-by status=.after.status --group-by customer=.after.customer_id \
		--agg 'gmv=sum(._state.gmv_delta)' --agg 'changes=count()' ${CKPT:+--state-dir "$D/window"}
}
stage_bput() {
	exec "$EC_BIN/ec-s3put" --endpoint "$S3_ENDPOINT" --time .window_start -p 'minute={time:%H%M}' \
		--max-records 100 ${CKPT:+--ack "$D/ack.json" --state-dir "$D/s3put"} "s3://$S3_BUCKET/${D##*/}"
}
SEG2=(stage_consume stage_bstate stage_bwindow stage_bput)

# seg_start N: start segment N in $T/sN, checkpointed; its pids in P<N>.
seg_start() {
	local -n stages=SEG$1 pids=P$1
	D=$T/s$1 CKPT=1 pipe_start "${stages[@]}"
	pids=("${PIDS[@]}")
}

# seg_check N: every process of segment N still runs (they stop only when killed).
seg_check() {
	local -n pids=P$1
	local i
	for i in "${!pids[@]}"; do
		running "${pids[$i]}" && continue
		echo "segment $1: stage $i exited on its own (seed $CHAOS_SEED); stderr:"
		tail -n 20 "$T/s$1/stderr"
		return 1
	done
}

# running PID: whether the process runs (a zombie not yet reaped by this shell has ended).
running() {
	local state
	state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$1/status" 2>/dev/null) && [ -n "$state" ] && [ "$state" != Z ]
}

# seg_wait N WHY: wait (at most 30 s, 90 s under sanitizers) until every process of segment
# N has ended, then reap them: their exit statuses in STATUSES.
seg_wait() {
	local -n pids=P$1
	local i p limit=30
	[ -z "${EC_SANITIZED:-}" ] || limit=90
	for ((i = 0; i < limit * 10; i++)); do
		for p in "${pids[@]}"; do
			running "$p" && break
		done
		running "$p" || break
		sleep 0.1
	done
	for i in "${!pids[@]}"; do
		running "${pids[$i]}" || continue
		echo "segment $1: stage $i: $(grep '^State' "/proc/${pids[$i]}/status"), waiting in $(cat "/proc/${pids[$i]}/wchan")"
		echo "segment $1: stage $i still runs $limit s after $2 (seed $CHAOS_SEED); stderr:"
		tail -n 20 "$T/s$1/stderr"
		return 1
	done
	PIDS=("${pids[@]}")
	pipe_wait
	pids=()
}

# seg_reap N VICTIM: segment N ends after the kill of stage VICTIM; the victim's reader may
# exit 65 (half a line), every other stage must exit 0.
seg_reap() {
	local -n pids=P$1
	local victim=$2 i s
	wait "${pids[$victim]}" 2>/dev/null	# no "Killed" notice
	seg_wait "$1" "the kill of stage $victim" || return 1
	STATUSES[$victim]=killed
	SEEN+="$1:${STATUSES[*]// /,} "
	for i in "${!STATUSES[@]}"; do
		s=${STATUSES[$i]}
		[ "$i" = "$victim" ] && continue
		[ "$i" = $((victim + 1)) ] && [ "$s" = 65 ] && continue
		if [ "$s" != 0 ]; then
			echo "segment $1: stage $i exited $s after the kill of stage $victim (seed $CHAOS_SEED); stderr:"
			tail -n 20 "$T/s$1/stderr"
			return 1
		fi
	done
}

# seg_execed N: wait (at most 10 s) until every stage of segment N runs its tool. A shell
# killed before its exec, while it opens a named pipe, would leave its neighbour blocked
# in open(2) for good: that is not what a kill of the tool does.
seg_execed() {
	local -n pids=P$1
	local i p comm
	for p in "${pids[@]}"; do
		for ((i = 0; i < 100; i++)); do
			comm=$(cat "/proc/$p/comm" 2>/dev/null) || break
			[[ "$comm" == ec-* ]] && break
			sleep 0.1
		done
	done
}

# seg_kill N: kill -9 a random process of segment N, reap the segment, start it again.
seg_kill() {
	local -n pids=P$1
	local victim=$((RANDOM % ${#pids[@]}))
	seg_execed "$1"
	kill -KILL "${pids[$victim]}"
	seg_reap "$1" "$victim" || return 1
	seg_start "$1"
}

# seg_stop N: SIGTERM to the source of segment N: every stage drains and exits 0.
seg_stop() {
	local -n pids=P$1
	kill -TERM "${pids[0]}"
	seg_wait "$1" "SIGTERM to its source" || return 1
	if [ "${STATUSES[*]}" != "$(printf '0 %.0s' "${PIDS[@]}" | sed 's/ $//')" ]; then
		echo "segment $1 after SIGTERM: exit statuses ${STATUSES[*]}; stderr:"
		tail -n 20 "$T/s$1/stderr"
		return 1
	fi
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# kill_schedule KILLS SPAN_MS: KILLS kill moments per segment, at random below SPAN_MS
# after now, in time order: KILL_AT (absolute ms) and KILL_SEG (1 or 2).
kill_schedule() {
	local kills=$1 span=$2 t0 i j tmp
	t0=$(now_ms)
	KILL_SEG=()
	for ((i = 0; i < kills; i++)); do
		KILL_SEG+=(1 2)
	done
	# Fisher-Yates: which segment each moment belongs to.
	for ((i = ${#KILL_SEG[@]} - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1)))
		tmp=${KILL_SEG[$i]} KILL_SEG[$i]=${KILL_SEG[$j]} KILL_SEG[$j]=$tmp
	done
	mapfile -t KILL_AT < <(for ((i = 0; i < 2 * kills; i++)); do
		echo $((t0 + (((RANDOM << 15) | RANDOM) % span)))
	done | sort -n)
}

# chaos_b KILLS SPAN_MS: kill -9 a random process of a random segment
# at KILLS random moments per segment within SPAN_MS, restarting the segment each time.
chaos_b() {
	local k wait
	kill_schedule "$1" "$2"
	SEEN=
	for k in "${!KILL_AT[@]}"; do
		wait=$((KILL_AT[k] - $(now_ms)))
		[ "$wait" -le 0 ] || sleep "$((wait / 1000)).$(printf '%03d' $((wait % 1000)))"
		seg_check 1 && seg_check 2 || return 1
		SEEN+="+$(($(now_ms) - KILL_AT[k]))ms/"
		seg_kill "${KILL_SEG[$k]}" || return 1
	done
	echo "# lateness/segment:exit statuses of each kill: $SEEN" >&3
}

# An order id above the load's whose key goes to partition P (murmur2, 2 partitions).
id_in_partition() {
	seq 1000000 1000100 | /usr/bin/python3 "$MURMUR2" 2 | awk -v p="$1" '$2 == p { print $1; exit }'
}

# wait_for FILE REGEX [SECONDS]: until a line of FILE matches (default at most 60 s).
wait_for() {
	local i
	for ((i = 0; i < ${3:-60} * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "wait_for: no line matching $2 in $1 after ${3:-60} s"
	return 1
}

# split_by_partition FILE PREFIX: FILE's change events in PREFIX.0 and PREFIX.1 by the
# partition their key (.after.id) goes to, in their order.
split_by_partition() {
	/usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    print(json.loads(line)["after"]["id"])' <"$1" | /usr/bin/python3 "$MURMUR2" 2 | cut -d' ' -f2 >"$2.keys"
	: >"$2.0"
	: >"$2.1"
	paste -d ' ' "$2.keys" "$1" | awk -v out="$2" '{
		i = index($0, " ")
		print substr($0, i + 1) > (out "." substr($0, 1, i - 1))
	}'
}

# same_topic REF DIR: each partition of the topic as read by ec-kcat consume (DIR/topic.P)
# equals the changes of the uninterrupted ec-cdc run that go to that partition, in order.
same_topic() {
	local p
	split_by_partition "$1" "$2/want"
	for p in 0 1; do
		if ! cmp -s "$2/want.$p" "$2/topic.$p"; then
			echo "partition $p of the topic differs from the uninterrupted ec-cdc run (seed $CHAOS_SEED):"
			diff "$2/want.$p" "$2/topic.$p" | cut -c 1-300 | head -n 10
			return 1
		fi
	done
}

# lake DIR NAME: s3://BUCKET/NAME copied to DIR (awscli, straight from s3rver).
lake() {
	rm -rf "$1"
	/usr/bin/aws --endpoint-url "$S3RVER_ENDPOINT" s3 sync --quiet "s3://$S3_BUCKET/$2" "$1"
}

# The load: ec-gen's shop as SQL statements (records) per second into psql; the kills'
# moments fall within SPAN ms from its start; barriers every INTERVAL; TXN=1: one Kafka
# transaction per epoch in segment 1. Sanitized tools restart slowly, so the kills and the
# load last longer: half the rate keeps each partition well below the 5 MB the mock keeps.
: "${CHAOS_B_RATE:=$([ -n "${EC_SANITIZED:-}" ] && echo 150 || echo 300)}"
: "${CHAOS_B_SPAN:=36000}" "${CHAOS_B_KILLS:=20}"

@test "pipeline (b): 20 kill -9 per segment while PostgreSQL is written; the topic and the committed lake equal uninterrupted runs" {
	export CHAOS_INTERVAL=${CHAOS_B_INTERVAL:-200ms}
	rm -rf "$B"
	mkdir -p "$B"
	# The tables, a publication of orders, and the reference slot, before any change.
	"$EC_BIN/ec-gen" -f sql -n 1 | sed '/^BEGIN;/,$d' >"$T/ddl.sql"
	pg_run_file "$T/ddl.sql"
	pg_query "CREATE PUBLICATION chaos FOR TABLE orders" >/dev/null
	pg_query "SELECT pg_create_logical_replication_slot('ref', 'pgoutput')" >/dev/null
	# Segment 1 creates its slot with an (empty) snapshot, one epoch; once that is acknowledged
	# no kill can make it snapshot again. The reference slot is advanced to the same position,
	# so both see the same transactions after the same preceding LSN (source.sequence).
	seg_start 1
	wait_for "$T/s1/ack.json" '"id":'
	pos=$(sed 's/.*"pos":"\([^"]*\)".*/\1/' "$T/s1/ack.json")
	pg_query "SELECT pg_replication_slot_advance('ref', '$pos')" >/dev/null
	seg_start 2
	# The load runs until the last kill (the kills take longer under sanitizers): ec-gen
	# stops on SIGTERM after a whole transaction.
	mkfifo "$T/load"
	psql -X -q -v ON_ERROR_STOP=1 <"$T/load" >/dev/null 2>"$T/load.err" &
	LOAD_PID=$!
	"$EC_BIN/ec-gen" -f sql --orders 0 --rate "$CHAOS_B_RATE" --seed 5 >"$T/load" 2>>"$T/load.err" &
	GEN_PID=$!
	# Its stderr takes bash's "Killed" notices.
	chaos_b "$CHAOS_B_KILLS" "$CHAOS_B_SPAN" 2>>"$T/notices"
	alive "$GEN_PID" && alive "$LOAD_PID" || { echo "the load ended early:"; cat "$T/load.err"; false; }
	kill -TERM "$GEN_PID"
	wait "$GEN_PID" && wait "$LOAD_PID" || { echo "the load failed:"; cat "$T/load.err"; false; }
	GEN_PID= LOAD_PID=
	# The sentinel: an order in partition 0 committed more than window + max-delay after the
	# last change, so that it closes every window of the load in segment 2.
	sleep 2.5
	sentinel=$(id_in_partition 0)
	pg_query "INSERT INTO orders VALUES ($sentinel, 1, 'NEW', 1.00, 'USD', now(), now())" >/dev/null
	# Segment 1 delivers it, then drains on SIGTERM.
	for ((i = 0; i < 300; i++)); do
		kcat -b "$EC_KAFKA_BROKERS" -C -t chaos -p 0 -o -1 -e -q 2>/dev/null >"$T/last"
		grep -q "\"id\":$sentinel," "$T/last" && break
		sleep 0.1
	done
	grep -q "\"id\":$sentinel," "$T/last" || { echo "segment 1 did not deliver the sentinel in 30 s"; false; }
	seg_check 1
	seg_stop 1
	# The reference: the same transactions from the reference slot, read in one go.
	"$EC_BIN/ec-cdc" -s ref -p chaos >"$B/ref.cdc" 2>"$T/ref.err" &
	REF_PID=$!
	wait_for "$B/ref.cdc" "\"id\":$sentinel,"
	kill -TERM "$REF_PID"
	wait "$REF_PID"
	REF_PID=
	# Segment 1: the topic as ec-kcat consume reads it equals the uninterrupted run.
	"$EC_BIN/ec-kcat" consume -t chaos --partitions 0 -e >"$B/topic.0"
	"$EC_BIN/ec-kcat" consume -t chaos --partitions 1 -e >"$B/topic.1"
	same_topic "$B/ref.cdc" "$B"
	[ "$(wc -l <"$B/ref.cdc")" -gt 2000 ]
	[ "$(tail -n 1 "$B/topic.0" | grep -c "\"id\":$sentinel,")" = 1 ]
	# The kills left replays in the topic itself, which the consumer dropped.
	raw=$(kcat -b "$EC_KAFKA_BROKERS" -C -t chaos -e -q | wc -l)
	echo "# topic: $raw messages, $(cat "$B"/topic.? | wc -l) once each" >&3
	[ "$raw" -gt "$(cat "$B"/topic.? | wc -l)" ]

	# Segment 2 drains on SIGTERM, then runs once more to the end of the topic.
	seg_check 2
	seg_stop 2
	D=$T/s2 CKPT=1 CONSUME_OPTS=-e pipe_run "${SEG2[@]}"
	last=$(grep '"_ec":"barrier"' "$T/s2/objects" | tail -n 1)
	[[ "$last" =~ ^\{\"_ec\":\"barrier\",\"id\":([0-9]+), ]]
	grep -q "^{\"id\":${BASH_REMATCH[1]}," "$T/s2/ack.json"
	# The reference of segment 2: one run without checkpoints over partition 0 up to the sentinel
	# (the end of its input closes the windows the sentinel closed in the checkpointed runs).
	D=$T/ref CKPT= CONSUME_OPTS="-e -c $(($(wc -l <"$B/topic.0") - 1))" pipe_run "${SEG2[@]}"
	lake "$B/ref.lake" ref
	lake "$B/chaos.lake" s2
	cp "$T/s2/ack.json" "$B/ack.json"
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete --uri "s3://$S3_BUCKET/ref" "$B/ref.lake" >"$B/ref.data"
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --listed --uri "s3://$S3_BUCKET/s2" "$B/chaos.lake" "$B/ack.json" >"$B/chaos.data"
	[ "$(wc -l <"$B/ref.data")" -gt 800 ]
	if ! cmp -s "$B/ref.data" "$B/chaos.data"; then
		echo "committed output differs from the uninterrupted run (seed $CHAOS_SEED):"
		diff "$B/ref.data" "$B/chaos.data" | head -n 20
		false
	fi
	echo "# lake: $(grep -vc '^== ' "$B/ref.data") committed records in $(find "$B/chaos.lake" -name 'part-*' | wc -l) objects; ack $(cut -c 1-60 "$B/ack.json")..." >&3
}

# damage NAME: a copy of the first test's lake in $T/NAME for the checker to catch.
damage() {
	rm -rf "$T/$1"
	cp -a "$B/chaos.lake" "$T/$1"
	cp "$B/ack.json" "$T/$1.ack"
}

# check_lake NAME: the committed dataset of the copy NAME equals the first test's reference.
check_lake() {
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --listed --uri "s3://$S3_BUCKET/s2" "$T/$1" "$T/$1.ack" >"$T/$1.data" || return 1
	if ! cmp -s "$B/ref.data" "$T/$1.data"; then
		echo "committed output differs from the uninterrupted run"
		return 1
	fi
}

@test "pipeline (b) checkers: a replayed, dropped or reordered message and a dropped, duplicated, stray or unacknowledged object fail the comparison" {
	[ -s "$B/ref.data" ] || {
		echo "the first test of this file left no output in $B (run the whole file)"
		false
	}
	# The copies the first test compared pass.
	same_topic "$B/ref.cdc" "$B"
	damage copy
	check_lake copy
	# The topic as kcat -C reads it, without dropping replays: the partition with the most.
	mkdir -p "$T/raw"
	for p in 0 1; do
		kcat -b "$EC_KAFKA_BROKERS" -C -t chaos -p "$p" -e -q >"$T/raw/topic.$p"
		echo "$(($(wc -l <"$T/raw/topic.$p") - $(wc -l <"$B/topic.$p"))) $p"
	done | sort -n | tail -n 1 >"$T/replays"
	read -r replays p <"$T/replays"
	[ "$replays" -gt 0 ]
	cp "$B/topic.$((1 - p))" "$T/raw/"
	run same_topic "$B/ref.cdc" "$T/raw"
	[ "$status" -ne 0 ]
	[[ "$output" == *"partition $p of the topic differs"* ]]
	# One message dropped; two neighbours swapped.
	mkdir -p "$T/drop" "$T/swap"
	cp "$B"/topic.? "$T/drop/"
	cp "$B"/topic.? "$T/swap/"
	sed -i '100d' "$T/drop/topic.1"
	sed -i '200{h;d};201G' "$T/swap/topic.0"
	[ "$(wc -l <"$T/swap/topic.0")" = "$(wc -l <"$B/topic.0")" ]
	run same_topic "$B/ref.cdc" "$T/drop"
	[ "$status" -ne 0 ]
	[[ "$output" == *"partition 1 of the topic differs"* ]]
	run same_topic "$B/ref.cdc" "$T/swap"
	[ "$status" -ne 0 ]
	[[ "$output" == *"partition 0 of the topic differs"* ]]

	# The lake: the last object of the first manifest dropped (file and entry).
	damage drop
	/usr/bin/python3 - "$T/drop" "s3://$S3_BUCKET/s2/" <<-'PY'
		import json, os, sys
		lake, prefix = sys.argv[1], sys.argv[2]
		path = os.path.join(lake, "_manifests", sorted(os.listdir(os.path.join(lake, "_manifests")))[0])
		m = json.load(open(path))
		gone = m["objects"].pop()
		os.unlink(os.path.join(lake, gone["uri"][len(prefix):]))
		json.dump(m, open(path, "w"))
	PY
	run check_lake drop
	[ "$status" -ne 0 ]
	[[ "$output" == *"differs from the uninterrupted run"* ]]
	# An object listed again by the last acknowledged epoch, under another name.
	damage dup
	/usr/bin/python3 - "$T/dup" "$T/dup.ack" "s3://$S3_BUCKET/s2/" <<-'PY'
		import json, os, shutil, sys
		lake, ack, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
		acked = json.load(open(ack))["id"]
		manifests = os.path.join(lake, "_manifests")
		names = [n for n in sorted(os.listdir(manifests)) if int(n[6:14]) <= acked]
		first = json.load(open(os.path.join(manifests, names[0])))["objects"][0]
		rel = first["uri"][len(prefix):]
		new = os.path.join(os.path.dirname(rel), "part-%s-99999.ndjson.gz" % names[-1][6:14])
		shutil.copy(os.path.join(lake, rel), os.path.join(lake, new))
		path = os.path.join(manifests, names[-1])
		m = json.load(open(path))
		m["objects"].append(dict(first, uri=prefix + new))
		json.dump(m, open(path, "w"))
	PY
	run check_lake dup
	[ "$status" -ne 0 ]
	[[ "$output" == *"differs from the uninterrupted run"* ]]
	# An object file that no manifest lists (a leftover a restore did not remove).
	damage stray
	f=$(find "$T/stray" -name 'part-*' | head -n 1)
	cp "$f" "${f%/*}/part-99999999-00000.ndjson.gz"
	run check_lake stray
	[ "$status" -ne 0 ]
	[[ "$output" == *"part-99999999-00000.ndjson.gz is in no committed manifest"* ]]
	# An acknowledgement that does not cover the last epochs: their output is not committed.
	damage unacked
	sed -i 's/"id":[0-9]*/"id":2/' "$T/unacked.ack"
	run check_lake unacked
	[ "$status" -ne 0 ]
	[[ "$output" == *"differs from the uninterrupted run"* ]]
}
