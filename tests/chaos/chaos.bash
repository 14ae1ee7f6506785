# chaos.bash: run checkpointed pipelines as separate processes, kill -9 one of them at a
# random moment, restart, and compare the committed output with an uninterrupted run.
#
# A pipeline is a list of stage functions; each execs one tool, so that the pid bats
# sees is the tool's own. Stages are joined by named pipes in the run's directory $D:
# the last one writes $D/objects, all of them append their stderr to $D/stderr.
# Stage functions read $D (the run's directory) and $CKPT (non-empty: checkpoints on).

CHAOS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The seed of every random choice: EC_CHAOS_SEED replays a failure.
chaos_seed() {
	CHAOS_SEED=${EC_CHAOS_SEED:-$(((RANDOM << 15) | RANDOM))}
	RANDOM=$CHAOS_SEED
	echo "# EC_CHAOS_SEED=$CHAOS_SEED" >&3
}

# The source: ORDERS and RATE (records per second of wall clock, 0 = as fast as possible).
: "${CHAOS_ORDERS:=6000}" "${CHAOS_RATE:=0}" "${CHAOS_INTERVAL:=100ms}"
gen_opts() {
	GEN_OPTS=(--orders "$CHAOS_ORDERS")
	[ "$CHAOS_RATE" = 0 ] || GEN_OPTS+=(--rate "$CHAOS_RATE")
	[ -z "$CKPT" ] || GEN_OPTS+=(--ack "$D/ack.json" --checkpoint-interval "$CHAOS_INTERVAL")
}
stage_gen() {
	gen_opts
	exec "$EC_BIN/ec-gen" --order-rate 0.4 --seed 42 "${GEN_OPTS[@]}"
}

# Pipeline (a), as tests/helpers/demo lands GMV per category per minute.
stage_join() {
	exec "$EC_BIN/ec-join" --time .ts_ms --max-delay 30s --dim products --dim orders --follow orders \
		--drop-dims --attach 'order_items: category = products[.after.product_id].category' \
		--attach 'order_items: order_status = orders[.after.order_id].status' \
		--attach 'order_items: order_time = orders[.after.order_id].updated_at' \
		${CKPT:+--state-dir "$D/join"}
}
stage_state() {
	exec "$EC_BIN/ec-state" --table order_items --key .after.order_id,.after.product_id \
		--state ._join.order_status --time ._join.order_time \
		--measure 'gmv=.after.quantity*.after.unit_price' --counted PAID,SHIPPED,COMPLETED \
		${CKPT:+--state-dir "$D/state"}
}
stage_window() {
	exec "$EC_BIN/ec-window" --time ._state.at --max-delay 60s --where .source.table=order_items \
		--window 'tumble 1m' --group-by category=._join.category --agg 'gmv=sum(._state.gmv_delta)' \
		--agg 'changes=count()' ${CKPT:+--state-dir "$D/window"}
}
stage_put() {
	exec "$EC_BIN/ec-s3put" --time .window_start --max-records 500 \
		${CKPT:+--ack "$D/ack.json" --state-dir "$D/s3put"} "file://$D/lake"
}
PIPE_A=(stage_gen stage_join stage_state stage_window stage_put)

# A shorter pipeline: flat order lines in 10-minute windows by city and status, by day and status.
stage_flat_gen() {
	gen_opts
	exec "$EC_BIN/ec-gen" --format flat --seed 7 "${GEN_OPTS[@]}"
}
stage_flat_window() {
	exec "$EC_BIN/ec-window" --time .event_time --max-delay 30s --window 'tumble 10m' \
		--group-by city=.city --group-by status=.status --agg 'amount=sum(.amount)' \
		--agg 'lines=count()' ${CKPT:+--state-dir "$D/window"}
}
stage_flat_put() {
	exec "$EC_BIN/ec-s3put" --time .window_start --max-records 300 -p 'dt={time:%Y-%m-%d}/status={.status}' \
		${CKPT:+--ack "$D/ack.json" --state-dir "$D/s3put"} "file://$D/lake"
}
PIPE_FLAT=(stage_flat_gen stage_flat_window stage_flat_put)

# pipe_start STAGE...: start the stages joined by named pipes; their pids in PIDS.
pipe_start() {
	local n=$# i=0 in out st
	PIDS=()
	mkdir -p "$D"
	rm -f "$D"/fifo.*
	for ((i = 1; i < n; i++)); do
		mkfifo "$D/fifo.$i"
	done
	i=0
	for st in "$@"; do
		in=$D/fifo.$i out=$D/fifo.$((i + 1))
		[ "$i" -gt 0 ] || in=/dev/null
		[ "$((i + 1))" -lt "$n" ] || out=$D/objects
		"$st" <"$in" >"$out" 2>>"$D/stderr" &
		PIDS+=($!)
		i=$((i + 1))
	done
}

# pipe_wait: wait for every stage; their exit statuses in STATUSES.
pipe_wait() {
	local p s
	STATUSES=()
	for p in "${PIDS[@]}"; do
		s=0
		wait "$p" 2>/dev/null || s=$?	# no "Killed" notice for the victim
		STATUSES+=("$s")
	done
}

# pipe_run STAGE...: one run to its end; fails unless every stage exits 0.
pipe_run() {
	pipe_start "$@"
	pipe_wait
	if [ "${STATUSES[*]}" != "$(printf '0 %.0s' "$@" | sed 's/ $//')" ]; then
		echo "exit statuses ${STATUSES[*]} ($*); stderr:"
		tail -n 20 "$D/stderr"
		return 1
	fi
}

# reference STAGE...: one uninterrupted run without checkpoints in $T/ref; its dataset in $T/ref.data.
reference() {
	D=$T/ref CKPT= pipe_run "$@"
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete "$T/ref/lake" >"$T/ref.data"
	# A dataset too small to tell runs apart would prove nothing.
	[ "$(wc -l <"$T/ref.data")" -gt 1000 ]
}

# alive PID: whether the process still runs (and is no zombie of ours yet reaped).
alive() {
	kill -0 "$1" 2>/dev/null
}

# execed PID: wait (at most 5 s) until the stage runs its tool. A shell killed before its
# exec, while it opens a named pipe, would leave its neighbour blocked in open(2) for good:
# that is not what a kill of the tool does.
execed() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ "$(cat "/proc/$1/comm" 2>/dev/null)" == ec-* ]] && return 0
		alive "$1" || return 0
		sleep 0.05
	done
}

# chaos KILLS MAX_MS STAGE...: restart the checkpointed pipeline in $T/chaos until KILLS
# kill -9 have landed on a live stage, each at a random moment below MAX_MS after the
# start; then run it to its end. Every stage but the victim must exit 0 each time (its
# reader may exit 65 on the half line the kill left).
chaos() {
	local kills=$1 max_ms=$2 landed=0 runs=0 victim ms s i
	shift 2
	D=$T/chaos
	CKPT=1
	CHAOS_LOG=
	while [ "$landed" -lt "$kills" ]; do
		runs=$((runs + 1))
		[ "$runs" -le $((kills * 3)) ] || { echo "only $landed kills landed in $runs runs"; return 1; }
		victim=$((RANDOM % $#))
		ms=$((RANDOM % max_ms))
		pipe_start "$@"
		sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
		execed "${PIDS[$victim]}"
		if alive "${PIDS[$victim]}"; then
			kill -KILL "${PIDS[$victim]}"
			landed=$((landed + 1))
		else
			victim=-1
		fi
		pipe_wait
		for i in "${!STATUSES[@]}"; do
			s=${STATUSES[$i]}
			[ "$i" = "$victim" ] && continue
			# The victim's reader may get half a line (a write cut short by the
			# kill): bad input, exit 65, and the restart replays it anyway.
			[ "$i" = $((victim + 1)) ] && [ "$s" = 65 ] && [ "$victim" -ge 0 ] && continue
			if [ "$s" != 0 ]; then
				echo "run $runs: stage $i (${*:$((i + 1)):1}) exited $s; victim $victim at ${ms}ms; stderr:"
				tail -n 20 "$D/stderr"
				return 1
			fi
		done
		CHAOS_LOG+="${victim}@${ms}:$(cat "$D/ack.json" 2>/dev/null | tr -d '\n') "
	done
	pipe_run "$@"
	CHAOS_RUNS=$runs
	echo "# $landed kills in $runs runs; victim@ms:ack after each: $CHAOS_LOG" >&3
}

# same_dataset [DIR]: the committed output of DIR (default $T/chaos), a pipeline that ran
# to its end, equals the reference byte for byte.
same_dataset() {
	local dir=${1:-$T/chaos}
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete "$dir/lake" "$dir/ack.json" >"$T/chaos.data" || return 1
	if ! cmp -s "$T/ref.data" "$T/chaos.data"; then
		echo "committed output differs from the uninterrupted run (seed $CHAOS_SEED):"
		diff "$T/ref.data" "$T/chaos.data" | head -n 20
		return 1
	fi
}

# prefix_dataset DATA: every partition of dataset DATA holds the first records of the same
# partition of the reference, and DATA is not empty: the output of a stopped run.
prefix_dataset() {
	/usr/bin/python3 - "$T/ref.data" "$1" <<'PY'
import sys

def parts(path):
    out, cur = {}, None
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"== "):
                cur = out.setdefault(line, [])
            else:
                cur.append(line)
    return out

ref, got = parts(sys.argv[1]), parts(sys.argv[2])
if not got:
    sys.exit("no committed output at all")
for name, lines in got.items():
    if ref.get(name, [])[:len(lines)] != lines:
        sys.exit("partition %s is not a prefix of the uninterrupted run's" % name.decode().strip())
PY
}
