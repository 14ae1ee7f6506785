#!/usr/bin/env bats
# ec-kcat.bats: produce, consume, list and mock against `ec-kcat mock` (several brokers and
# partitions), with Debian's kcat as the second client in both directions.

load helpers/common
load helpers/kafka

setup() {
	common_setup
	require_tool ec-kcat
	command -v kcat >/dev/null || skip "kcat is not installed"
	KC="$EC_BIN/ec-kcat"
	kafka_start --brokers 3 -t orders:8 -t small:2
}

teardown() {
	kafka_stop
	common_teardown
}

# Flat order lines with strictly increasing event times (one a second from 2026-11-01T00:00:00Z).
flat_lines() {
	/usr/bin/python3 -c '
import json, sys
for i in range(int(sys.argv[1])):
    print(json.dumps({"order_id": i % 37, "seq": i + 1, "status": "NEW",
                      "event_time": "2026-11-01T%02d:%02d:%02dZ" % (i // 3600, i // 60 % 60, i % 60),
                      "amount": "%d.99" % i}, separators=(",", ":")))' "$1"
}

@test "mock: prints its bootstrap servers, answers commands, keeps running after EOF" {
	[[ $EC_KAFKA_BROKERS =~ ^127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+$ ]]
	kafka_cmd 'topic extra 5'
	kafka_cmd 'rtt 2 10'
	kafka_cmd 'errors Produce 1 NOT_LEADER_FOR_PARTITION'
	kafka_cmd 'clear Produce'
	run kafka_cmd 'frobnicate 1'
	[ "$status" -ne 0 ]
	grep -q "unknown mock command 'frobnicate'" "$KAFKA_DIR/err"
	kcat -b "$EC_KAFKA_BROKERS" -L -t extra >"$T/md"
	grep -q 'topic "extra" with 5 partitions' "$T/md"
	# stdin closed: still serving until a signal.
	exec {KAFKA_FD}>&-
	KAFKA_FD=
	sleep 0.3
	kill -0 "$KAFKA_PID"
	kcat -b "$EC_KAFKA_BROKERS" -L -t orders | grep -q 'topic "orders" with 8 partitions'
}

@test "produce: keys, headers and timestamps as kcat -C sees them; keyed partitions equal the Java partitioner" {
	flat_lines 300 >"$T/in"
	"$KC" produce -t orders --key .order_id -H status=.status -H amount=.amount --timestamp .event_time --source-id ec <"$T/in" >"$T/out"
	[ ! -s "$T/out" ]
	kcat -b "$EC_KAFKA_BROKERS" -C -t orders -e -q -f '%k %p %T %h %s\n' >"$T/got"
	[ "$(wc -l <"$T/got")" -eq 300 ]
	# Every message: its key's partition as the Java client's murmur2 would choose it.
	awk '{print $1}' "$T/got" | "$DATA_DIR/ec-kcat/murmur2.py" 8 >"$T/java"
	awk '{print $1, $2}' "$T/got" >"$T/ours"
	diff "$T/java" "$T/ours"
	# The timestamp is the event time; headers from fields plus ec-source/ec-pos.
	grep -q '^5 [0-9] 1793491205000 status=NEW,amount=5.99,ec-source=ec,ec-pos=6 {"order_id":5,"seq":6,' "$T/got"
	# Values are the input lines, byte for byte.
	cut -d' ' -f5- "$T/got" | sort >"$T/values"
	sort "$T/in" | diff - "$T/values"
}

@test "produce: topic template, Debezium key form, several key fields, tombstones after deletes" {
	cat >"$T/in" <<'IN'
{"before":null,"after":{"id":7,"sku":"A"},"source":{"schema":"public","table":"products"},"op":"c"}
{"before":{"id":7,"sku":"A"},"after":null,"source":{"schema":"public","table":"products"},"op":"d"}
{"before":null,"after":{"id":1,"name":"x"},"source":{"schema":"public","table":"customers"},"op":"r"}
IN
	"$KC" produce -t 'shop.{.source.schema}.{.source.table}' --key .after.id --key-format debezium --tombstones --source-id ec <"$T/in"
	kcat -b "$EC_KAFKA_BROKERS" -C -t shop.public.products -e -q -Z -f '%k|%s|%h\n' >"$T/p"
	cat "$T/p"
	[ "$(wc -l <"$T/p")" -eq 3 ]
	sed -n 1p "$T/p" | grep -q '^{"id":7}|{"before":null'
	sed -n 2p "$T/p" | grep -q '^{"id":7}|{"before":{"id":7'
	sed -n 3p "$T/p" | grep -q '^{"id":7}|NULL|ec-source=ec,ec-pos=3$'
	kcat -b "$EC_KAFKA_BROKERS" -C -t shop.public.customers -e -q -f '%k\n' | grep -qx '{"id":1}'
	# Several fields: a JSON array of their values.
	echo '{"a":"x","b":2}' | "$KC" produce -t small --key .a,.b
	kcat -b "$EC_KAFKA_BROKERS" -C -t small -e -q -f '%k\n' | grep -qx '\["x",2\]'
}

@test "produce: bad lines get the documented errors: non-JSON, missing key, oversized, bad topic" {
	printf '{"id":1}\nnot json\n' >"$T/in"
	run "$KC" produce -t small --key .id <"$T/in"
	[ "$status" -eq 65 ]
	[[ $output == *"stdin:2: column 2: invalid JSON"* ]]
	printf '{"id":1}\n{"x":2}\n' | { run "$KC" produce -t small --key .id; [ "$status" -eq 65 ]; [[ $output == *"stdin:2: key field .id is missing"* ]]; }
	big=$(head -c 3000 /dev/zero | tr '\0' x)
	printf '{"id":1}\n{"id":2,"pad":"%s"}\n{"t":"bad topic"}\n{"id":3}\n' "$big" >"$T/in2"
	"$KC" produce -t small -X message.max.bytes=2000 --dead-letter "$T/dead" <"$T/in2"
	[ "$(wc -l <"$T/dead")" -eq 1 ]
	grep -q '"line":2,"reason":"message of [0-9]* bytes is larger than message.max.bytes"' "$T/dead"
	# Larger than the whole producer queue: it could never get in, so it is bad input, not a hang.
	run timeout 20 "$KC" produce -t small -X queue.buffering.max.kbytes=1 <<<"{\"id\":9,\"pad\":\"$big\"}"
	[ "$status" -eq 65 ]
	[[ $output == *"stdin:1: message of "*" bytes is larger than queue.buffering.max.kbytes"* ]]
	run "$KC" produce -t 'x.{.t}' <<<'{"t":"bad topic"}'
	[ "$status" -eq 65 ]
	[[ $output == *"stdin:1: topic: 'x.bad topic' is not a valid topic name"* ]]
	# Lines before a fatal one are delivered: 1 + 1 + 3 (the bad topic name is no field of a static -t).
	[ "$(kcat -b "$EC_KAFKA_BROKERS" -C -t small -e -q | wc -l)" -eq 5 ]
}

@test "produce: a broker down mid-stream, then up: no loss, no duplicates" {
	flat_lines 3000 >"$T/in"
	kafka_cmd 'down 1'
	{ head -n 1500 "$T/in"; sleep 1; tail -n 1500 "$T/in"; } | "$KC" produce -t orders --key .order_id &
	pid=$!
	sleep 1.5
	kafka_cmd 'up 1'
	wait "$pid"
	kcat -b "$EC_KAFKA_BROKERS" -C -t orders -e -q | sort >"$T/got"
	sort "$T/in" | diff - "$T/got"
}

@test "produce: injected request errors are retried without loss or duplicates" {
	flat_lines 500 >"$T/in"
	kafka_cmd 'errors Produce 4 NOT_LEADER_FOR_PARTITION'
	kafka_cmd 'errors Metadata 2 LEADER_NOT_AVAILABLE'
	"$KC" produce -t orders --key .order_id <"$T/in"
	kcat -b "$EC_KAFKA_BROKERS" -C -t orders -e -q | sort >"$T/got"
	sort "$T/in" | diff - "$T/got"
}

@test "produce: brokers gone past --timeout exits 69 naming the input line" {
	kafka_cmd 'down 1'
	kafka_cmd 'down 2'
	kafka_cmd 'down 3'
	run "$KC" produce -t small --timeout 2s <<<'{"id":1}'
	[ "$status" -eq 69 ]
	[[ $output == *"stdin:1: delivery failed: "* ]]
	# librdkafka's own messages go through the tool's log: JSON with --log-format json, none with -q.
	"$KC" produce -t small --timeout 1s --log-format json <<<'{"id":1}' 2>"$T/err" || true
	grep -q '"msg":"librdkafka ' "$T/err"
	jq -e . "$T/err" >/dev/null
	run "$KC" produce -t small --timeout 1s -q <<<'{"id":1}'
	[ "$status" -eq 69 ]
	[ "${#lines[@]}" -eq 1 ]
}

@test "consume: kcat -P writes, consume reads objects; other values follow --errors naming topic/partition:offset" {
	printf '{"a":1}\n{"b":\n' >/dev/null
	printf '{"a":1}\n[1,2]\n{"c":3}\n' | kcat -b "$EC_KAFKA_BROKERS" -P -t small -p 1
	run "$KC" consume -t small -e
	[ "$status" -eq 65 ]
	[[ $output == *"small/1:1: "* ]]
	"$KC" consume -t small -e --errors skip >"$T/out" 2>"$T/err"
	printf '{"a":1}\n{"c":3}\n' | diff - "$T/out"
	grep -q 'small/1:1:' "$T/err"
	# --count and --partitions
	"$KC" consume -t small -c 1 --partitions 1 --errors skip >"$T/one"
	printf '{"a":1}\n' | diff - "$T/one"
}

@test "consume: --from and --until by time (the mock answers -1 by time: the search path)" {
	flat_lines 600 | "$KC" produce -t orders -p 3 --timestamp .event_time
	# 00:05:00 to 00:07:00: seq 301..420
	"$KC" consume -t orders -e --from 2026-11-01T00:05:00Z --until 2026-11-01T00:07:00Z -vv >"$T/out" 2>"$T/err"
	[ "$(wc -l <"$T/out")" -eq 120 ]
	head -n 1 "$T/out" | grep -q '"seq":301,'
	tail -n 1 "$T/out" | grep -q '"seq":420,'
	grep -q 'no offset by time from the broker: searching' "$T/err"
	# A relative time long ago reads everything; one in the future nothing.
	[ "$("$KC" consume -t orders -e --from -3650d | wc -l)" -eq 600 ]
	[ "$("$KC" consume -t orders -e --from 2099-01-01 | wc -l)" -eq 0 ]
}

@test "consume --envelope | produce --envelope copies key, headers, partition, timestamp and value" {
	flat_lines 50 | "$KC" produce -t orders --key .order_id -H st=.status --timestamp .event_time
	printf 'plain text\n' | kcat -b "$EC_KAFKA_BROKERS" -P -t orders -p 2 -k k1 -H h=v
	"$KC" consume -t orders -e --envelope >"$T/a"
	[ "$(wc -l <"$T/a")" -eq 51 ]
	grep -q '"key":"k1","headers":{"h":"v"},"value":"plain text"}' "$T/a"
	kafka_cmd 'topic copy 8'
	"$KC" produce --envelope -t copy <"$T/a"
	"$KC" consume -t copy -e --envelope >"$T/b"
	# Equal but for the topic (and the offsets, which the copy assigns afresh but equal here).
	sed 's/"topic":"orders"/"topic":"copy"/' "$T/a" | sort >"$T/a2"
	sort "$T/b" | diff "$T/a2" -
	kcat -b "$EC_KAFKA_BROKERS" -C -t copy -e -q -f '%p %k %T %h\n' | grep -q '^2 k1 [0-9]* h=v$'
	# --base64 for binary.
	"$KC" consume -t copy --partitions 2 -e --envelope --base64 | grep -q '"key":"azE=",'
}

@test "consume -G: a group of two consumers rebalances; each message reaches one of them" {
	kafka_cmd 'topic grp 4'
	# Short group timeouts so that the rebalance takes seconds, not the default 45; frequent
	# commits because the mock refuses a commit once a rebalance has begun (Kafka takes it).
	X=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 -X auto.commit.interval.ms=100)
	wait_for() {
		for ((i = 0; i < 200; i++)); do
			eval "$1" && return 0
			sleep 0.1
		done
		echo "timed out: $1"
		cat "$T/e1" "$T/e2" 2>/dev/null
		return 1
	}
	lag() { "$KC" list -t grp -G g2 | grep -o '"lag":[0-9]*' | cut -d: -f2 | paste -sd+ | bc; }
	"$KC" consume -t grp -G g2 -v "${X[@]}" >"$T/c1" 2>"$T/e1" &
	p1=$!
	wait_for 'grep -q "assigned 4 partitions" "$T/e1"'
	flat_lines 200 | "$KC" produce -t grp --key .order_id
	# What the first member wrote is committed before the second one joins.
	wait_for '[ "$(lag)" = 0 ]'
	[ "$(wc -l <"$T/c1")" -eq 200 ]
	"$KC" consume -t grp -G g2 -v "${X[@]}" >"$T/c2" 2>"$T/e2" &
	p2=$!
	# The first member gives up half of the partitions to the second.
	wait_for 'grep -q "assigned 2 partitions" "$T/e2"'
	wait_for 'grep -q "revoked 4 partitions" "$T/e1"'
	wait_for 'grep -q "assigned 2 partitions" "$T/e1"'
	flat_lines 400 | tail -n 200 | "$KC" produce -t grp --key .order_id
	wait_for '[ "$(cat "$T/c1" "$T/c2" | wc -l)" -ge 400 ]'
	kill "$p1" "$p2"
	wait "$p1" "$p2" || true
	# Both members took a share of the second half.
	[ "$(wc -l <"$T/c1")" -gt 200 ]
	[ -s "$T/c2" ]
	cat "$T/c1" "$T/c2" | sort >"$T/all"
	flat_lines 400 | sort | diff - "$T/all"
}

@test "list: brokers, partitions with leaders and watermarks, a group's committed offsets and lag" {
	flat_lines 40 | "$KC" produce -t small --key .order_id
	"$KC" list -t small >"$T/l"
	[ "$(grep -c '"broker":' "$T/l")" -eq 3 ]
	grep -q '"topic":"small","partition":0,"leader":[1-3],"replicas":\[[1-3],[1-3],[1-3]\],"low":0,"high":[0-9]*}' "$T/l"
	"$KC" consume -t small -G lg -c 10 >/dev/null
	"$KC" list -t small -G lg >"$T/g"
	total=$(grep -o '"high":[0-9]*' "$T/g" | cut -d: -f2 | paste -sd+ | bc)
	[ "$total" -eq 40 ]
	lag=$(grep -o '"lag":[0-9]*' "$T/g" | cut -d: -f2 | paste -sd+ | bc)
	[ "$lag" -eq 30 ]
}

# Messages of TOPIC as "ec-pos" header values, one a line (kcat -C, no dedup).
positions() {
	kcat -b "$EC_KAFKA_BROKERS" -C -t "$1" -e -q -f '%h\n' | grep -o 'ec-pos=[0-9]*' | cut -d= -f2
}

@test "produce --ack: killed with -9 mid-stream, rerun: consume reads every record once, kcat -C shows the replays" {
	kafka_cmd 'topic eo 4'
	gen() { "$EC_BIN/ec-gen" -n 400 --format flat --ack "$T/ack" --checkpoint-records 50; }
	# The first run's input, fed by hand: restore, 50 records, barrier, 50, barrier, 27 records.
	gen >"$T/run1"
	mkfifo "$T/fifo"
	"$KC" produce -t eo --key .order_id --ack "$T/ack" --state-dir "$T/sd" <"$T/fifo" >"$T/ctl1" &
	pid=$!
	exec {w}>"$T/fifo"
	head -n 130 "$T/run1" >&"$w"
	for ((i = 0; i < 100; i++)); do
		[ "$(kcat -b "$EC_KAFKA_BROKERS" -C -t eo -e -q | wc -l)" -ge 127 ] && break
		sleep 0.1
	done
	# Delivered but not acknowledged: records 101..127. Now the crash.
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	exec {w}>&-
	grep -qx '{"id":2,"pos":100,"records":100}' "$T/ack"
	gen | "$KC" produce -t eo --key .order_id --ack "$T/ack" --state-dir "$T/sd" >"$T/ctl2"
	# produce writes only control records to stdout.
	! grep -v '"_ec"' "$T/ctl2"
	"$EC_BIN/ec-gen" -n 400 --format flat | sort >"$T/want"
	"$KC" consume -t eo -e -v >"$T/got" 2>"$T/err"
	sort "$T/got" | diff "$T/want" -
	# The topic itself holds the replayed duplicates: the dedup did the work.
	total=$(kcat -b "$EC_KAFKA_BROKERS" -C -t eo -e -q | wc -l)
	[ "$total" -eq $(($(wc -l <"$T/want") + 27)) ]
	grep -q 'dropped [1-9][0-9]* replayed messages' "$T/err"
	# Same record, same number: every position appears once or twice (a replay), never with another record.
	[ "$(positions eo | sort -n | uniq | wc -l)" -eq "$(wc -l <"$T/want")" ]
}

@test "produce --ack: unkeyed messages go round robin by position; restore takes the counter from the ack file" {
	printf '{"_ec":"restore","id":0}\n{"a":1}\n{"a":2}\n{"a":3}\n{"_ec":"barrier","id":1,"pos":3,"acked":0}\n{"a":4}\n' >"$T/in"
	"$KC" produce -t small --ack "$T/ack" --state-dir "$T/sd" <"$T/in" >"$T/out"
	grep -qx '{"id":1,"pos":3,"records":3}' "$T/ack"
	printf '{"_ec":"restore","id":0}\n{"_ec":"barrier","id":1,"pos":3,"acked":0}\n' | diff - "$T/out"
	kcat -b "$EC_KAFKA_BROKERS" -C -t small -e -q -f '%p %h %s\n' | sort >"$T/got"
	printf '0 ec-source=ec,ec-pos=1 {"a":1}\n0 ec-source=ec,ec-pos=3 {"a":3}\n1 ec-source=ec,ec-pos=2 {"a":2}\n1 ec-source=ec,ec-pos=4 {"a":4}\n' | diff - "$T/got"
	# The replay after restore 1 numbers {"a":4} 4 again.
	printf '{"_ec":"restore","id":1}\n{"a":4}\n' | "$KC" produce -t small --ack "$T/ack" --state-dir "$T/sd" --source-id s1 >/dev/null
	kcat -b "$EC_KAFKA_BROKERS" -C -t small -e -q -f '%p %h %s\n' | grep -c 'ec-pos=4 {"a":4}' | grep -qx 2
	printf '{"_ec":"restore","id":7}\n' | { run "$KC" produce -t small --ack "$T/ack" --state-dir "$T/sd"; [ "$status" -eq 65 ]; }
}

@test "produce --transactional-id: one transaction per epoch, the protocol runs through" {
	printf '{"_ec":"restore","id":0}\n{"a":1}\n{"_ec":"barrier","id":1,"pos":1,"acked":0}\n{"a":2}\n{"_ec":"barrier","id":2,"pos":2,"acked":1}\n' |
		"$KC" produce -t small --ack "$T/ack" --state-dir "$T/sd" --transactional-id tx1 >"$T/out"
	grep -qx '{"id":2,"pos":2,"records":2}' "$T/ack"
	[ "$(kcat -b "$EC_KAFKA_BROKERS" -C -t small -e -q -X isolation.level=read_committed | wc -l)" -eq 2 ]
}

@test "consume --ack --until: the complete history ends with an end record before the last barrier; -e does not end it" {
	flat_lines 600 | "$KC" produce -t orders -p 3 --timestamp .event_time
	"$KC" consume -t orders --partitions 3 --until 2026-11-01T00:07:00Z --ack "$T/a1" >"$T/o1"
	[ "$(grep -vc '"_ec"' "$T/o1")" -eq 420 ]
	[ "$(tail -n 2 "$T/o1" | head -n 1)" = '{"_ec":"end"}' ]
	tail -n 1 "$T/o1" | grep -q '^{"_ec":"barrier","id":1,'
	# An increment (-e) stops, it does not end: the next run goes on from its position.
	"$KC" consume -t orders --partitions 3 -e --ack "$T/a2" >"$T/o2"
	[ "$(grep -vc '"_ec"' "$T/o2")" -eq 600 ]
	run grep -c '"_ec":"end"' "$T/o2"
	[ "$output" = 0 ]
	# The partition's end before --until: the history asked for is not complete yet.
	"$KC" consume -t orders --partitions 3 -e --until 2099-01-01 --ack "$T/a3" >"$T/o3"
	run grep -c '"_ec":"end"' "$T/o3"
	[ "$output" = 0 ]
}

@test "consume --ack: resumes from the acknowledged offsets, commits them to the group" {
	flat_lines 300 | "$KC" produce -t orders --key .order_id
	kafka_cmd 'topic copy 8'
	pipe() {
		"$KC" consume -t orders -G cg --ack "$T/cack" --checkpoint-interval 200ms -e \
			-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 |
			"$KC" produce -t copy --key .order_id --ack "$T/cack" --state-dir "$T/sd"
	}
	pipe >"$T/ctl1"
	grep -q '"offsets":{"orders":{"0":' "$T/cack"
	flat_lines 400 | tail -n 100 | "$KC" produce -t orders --key .order_id
	pipe >"$T/ctl2"
	head -n 1 "$T/ctl2" | grep -q '{"_ec":"restore","id":[1-9]'
	# Nothing twice in the copy: the second run started at the acknowledged offsets.
	kcat -b "$EC_KAFKA_BROKERS" -C -t copy -e -q | sort >"$T/copy"
	flat_lines 400 | sort | diff - "$T/copy"
	# A third run with nothing new commits what the second got acknowledged: lag 0.
	pipe >/dev/null
	"$KC" list -t orders -G cg >"$T/l"
	! grep -q '"lag":[1-9]' "$T/l"
	[ "$(grep -c '"committed":[0-9]' "$T/l")" -eq 8 ]
}
