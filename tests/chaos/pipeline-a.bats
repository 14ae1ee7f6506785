#!/usr/bin/env bats
# pipeline-a.bats: exactly-once under kill -9 (issue 7, pipeline a): ec-gen | ec-join |
# ec-state | ec-window | ec-s3put file://, killed at random moments and restarted, must
# commit the dataset of one uninterrupted run; SIGTERM drains; the jq idiom of ec(7).
#
# EC_CHAOS_SEED=N replays the random choices of a failed run (its seed is printed).

load ../helpers/common
load chaos

setup() {
	common_setup
	require_built ec-gen ec-join ec-state ec-window ec-s3put
	chaos_seed
}

teardown() {
	local p
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
	common_teardown
}

# A run of pipeline (a) takes about 7 s paced at 12000 records/s (87k change records);
# each kill lands within its first second, so 20 kills leave work for the last run.
@test "pipeline (a): 20 kill -9 of a random stage at a random moment; the committed output equals an uninterrupted run" {
	export CHAOS_ORDERS=15000 CHAOS_INTERVAL=200ms
	reference "${PIPE_A[@]}"
	CHAOS_RATE=12000 chaos 20 1000 "${PIPE_A[@]}"
	same_dataset
	# Every checkpoint was acknowledged and the history reached its end.
	grep -qxF '{"_ec":"end"}' "$T/chaos/objects"
	[ "$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$T/chaos/ack.json")" = \
		"$(grep '"_ec":"barrier"' "$T/chaos/objects" | tail -n 1 | sed 's/.*"id":\([0-9]*\),.*/\1/')" ]
}

@test "ec-gen | ec-window | ec-s3put: 20 kill -9 at random moments; the committed output equals an uninterrupted run" {
	export CHAOS_ORDERS=16000 CHAOS_INTERVAL=150ms
	reference "${PIPE_FLAT[@]}"
	CHAOS_RATE=8000 chaos 20 1000 "${PIPE_FLAT[@]}"
	same_dataset
}

# damage DIR: a copy of the checkpointed run in $T/ck (its manifests naming the copy's
# objects) for the checker to catch.
damage() {
	rm -rf "$1"
	cp -a "$T/ck" "$1"
	sed -i "s|file://$T/ck/lake/|file://$1/lake/|g" "$1"/lake/_manifests/*
}

@test "the comparison fails on a dropped, a duplicated or a stray object and on an unacknowledged manifest" {
	export CHAOS_ORDERS=3000 CHAOS_INTERVAL=20ms
	reference "${PIPE_A[@]}"
	D=$T/ck CKPT=1 CHAOS_RATE=30000 pipe_run "${PIPE_A[@]}"
	same_dataset "$T/ck"
	[ "$(ls "$T/ck/lake/_manifests" | wc -l)" -gt 2 ]
	damage "$T/copy"
	same_dataset "$T/copy"
	# Dropped: the last object of the first epoch and its manifest entry.
	damage "$T/drop"
	/usr/bin/python3 - "$T/drop/lake" <<-'PY'
		import json, os, sys
		lake = sys.argv[1]
		path = os.path.join(lake, "_manifests", sorted(os.listdir(os.path.join(lake, "_manifests")))[0])
		m = json.load(open(path))
		gone = m["objects"].pop()
		os.unlink(gone["uri"][len("file://"):])
		json.dump(m, open(path, "w"))
	PY
	run same_dataset "$T/drop"
	[ "$status" -ne 0 ]
	[[ "$output" == *"differs from the uninterrupted run"* ]]
	# Duplicated: an object written again in a later, acknowledged epoch.
	damage "$T/dup"
	/usr/bin/python3 - "$T/dup/lake" "$T/dup/ack.json" <<-'PY'
		import json, os, shutil, sys
		lake, ack = sys.argv[1], sys.argv[2]
		a = json.load(open(ack))
		manifests = os.path.join(lake, "_manifests")
		first = json.load(open(os.path.join(manifests, sorted(os.listdir(manifests))[0])))["objects"][0]
		src = first["uri"][len("file://"):]
		dst = os.path.join(os.path.dirname(src), "part-%08d-00000.ndjson.gz" % (a["id"] + 1))
		shutil.copy(src, dst)
		obj = dict(first, uri="file://" + dst)
		json.dump({"epoch": a["id"] + 1, "objects": [obj]},
			  open(os.path.join(manifests, "epoch-%08d.json" % (a["id"] + 1)), "w"))
		json.dump({"id": a["id"] + 1, "pos": a["pos"]}, open(ack, "w"))
	PY
	run same_dataset "$T/dup"
	[ "$status" -ne 0 ]
	[[ "$output" == *"differs from the uninterrupted run"* ]]
	# A stray object that no manifest lists.
	damage "$T/stray"
	cp "$(find "$T/stray/lake" -name 'part-*' | head -n 1)" "$T/stray/lake/part-99999999-00000.ndjson.gz"
	run same_dataset "$T/stray"
	[ "$status" -ne 0 ]
	[[ "$output" == *"is in no committed manifest"* ]]
	# A manifest beyond the acknowledged checkpoint.
	damage "$T/unacked"
	echo '{"id":1,"pos":1}' >"$T/unacked/ack.json"
	run same_dataset "$T/unacked"
	[ "$status" -ne 0 ]
	[[ "$output" == *"beyond the acknowledged checkpoint 1"* ]]
}

@test "SIGTERM to the source: every stage exits 0, the last barrier is acknowledged, the output so far is committed; a rerun completes it" {
	export CHAOS_ORDERS=15000 CHAOS_INTERVAL=200ms
	reference "${PIPE_A[@]}"
	D=$T/term
	CKPT=1 CHAOS_RATE=12000 pipe_start "${PIPE_A[@]}"
	sleep "1.$((RANDOM % 1000))"
	kill -TERM "${PIDS[0]}"
	pipe_wait
	[ "${STATUSES[*]}" = "0 0 0 0 0" ] || { echo "exit statuses ${STATUSES[*]}"; cat "$D/stderr"; false; }
	# The last barrier went through every stage and was acknowledged with its position.
	last=$(grep '"_ec":"barrier"' "$D/objects" | tail -n 1)
	[[ "$last" =~ ^\{\"_ec\":\"barrier\",\"id\":([0-9]+),\"pos\":([0-9]+), ]]
	[ "$(cat "$D/ack.json")" = "{\"id\":${BASH_REMATCH[1]},\"pos\":${BASH_REMATCH[2]}}" ]
	# After it, only what the stages wrote at the end of their input: objects of the next,
	# unacknowledged epoch, which are not committed and which the rerun replaces.
	epoch=$(printf '%08d' $((BASH_REMATCH[1] + 1)))
	tail -n +"$(($(grep -n '"_ec":"barrier"' "$D/objects" | tail -n 1 | cut -d: -f1) + 1))" "$D/objects" >"$T/after"
	run grep -cv "^{\"uri\":\"file://$D/lake/[^\"]*/part-$epoch-[0-9]*\\.ndjson\\.gz\"" "$T/after"
	[ "$output" = 0 ]
	# Stopped, not ended: no end record, and only part of the history was read.
	run grep -cF '"_ec":"end"' "$D/objects"
	[ "$output" = 0 ]
	[ "${BASH_REMATCH[2]}" -gt 1000 ]
	[ "${BASH_REMATCH[2]}" -lt "$("$EC_BIN/ec-gen" --orders 15000 --order-rate 0.4 --seed 42 | wc -l)" ]
	/usr/bin/python3 "$CHAOS_DIR/committed.py" "$D/lake" "$D/ack.json" >"$T/term.data"
	prefix_dataset "$T/term.data"
	[ "$(wc -l <"$T/term.data")" -lt "$(wc -l <"$T/ref.data")" ]
	# The same command again completes the history, exactly once.
	CKPT=1 CHAOS_RATE=0 pipe_run "${PIPE_A[@]}"
	same_dataset "$D"
}

# ec(7), WHAT BREAKS A PIPELINE: a jq filter must keep the control records.
jq_pipeline() {
	local filter=$1 dir=$2
	mkdir -p "$dir"
	"$EC_BIN/ec-gen" --orders 2000 --tables orders --ack "$dir/ack.json" --checkpoint-records 1000 |
		jq -c "$filter" |
		"$EC_BIN/ec-window" --time .ts_ms --window 'tumble 1h' --agg 'paid=count()' --state-dir "$dir/window" |
		"$EC_BIN/ec-s3put" --time .window_start --ack "$dir/ack.json" --state-dir "$dir/s3put" \
			"file://$dir/lake" >"$dir/objects"
}

@test "ec(7): jq 'select(has(\"_ec\") or ...)' keeps the checkpoints; a filter that drops them acknowledges nothing" {
	command -v jq >/dev/null || skip "jq is not installed"
	jq_pipeline 'select(has("_ec") or .after.status == "PAID")' "$T/keep"
	grep -qxF '{"_ec":"end"}' "$T/keep/objects"
	last=$(grep '"_ec":"barrier"' "$T/keep/objects" | tail -n 1)
	[[ "$last" =~ \"id\":([0-9]+),\"pos\":([0-9]+), ]]
	[ "$(cat "$T/keep/ack.json")" = "{\"id\":${BASH_REMATCH[1]},\"pos\":${BASH_REMATCH[2]}}" ]
	[ "${BASH_REMATCH[1]}" -gt 2 ]
	# What it committed: the PAID orders, counted per hour, as without checkpoints.
	"$EC_BIN/ec-gen" --orders 2000 --tables orders | jq -c 'select(.after.status == "PAID")' |
		"$EC_BIN/ec-window" --time .ts_ms --window 'tumble 1h' --agg 'paid=count()' |
		"$EC_BIN/ec-s3put" --time .window_start "file://$T/ref/lake" >/dev/null
	/usr/bin/python3 "$CHAOS_DIR/committed.py" --complete "$T/ref/lake" >"$T/ref.data"
	same_dataset "$T/keep"
	grep -q '"paid":' "$T/ref.data"
	# The naive filter drops restore and barriers: nothing is ever acknowledged.
	jq_pipeline 'select(.after.status == "PAID")' "$T/drop"
	[ ! -e "$T/drop/ack.json" ]
	run grep -c '"_ec"' "$T/drop/objects"
	[ "$output" = 0 ]
}
