# kafka.bash: a Kafka cluster for a test: `ec-kcat mock` on loopback, steered through a FIFO.
#
#   kafka_start [MOCK OPTIONS]   start it; exports EC_KAFKA_BROKERS
#   kafka_cmd 'down 1'           send one command (see ec-kcat(1), MOCK COMMANDS) and wait for its reply
#   kafka_stop                   stop it (teardown)

kafka_start() {
	KAFKA_DIR=$T/kafka
	mkdir -p "$KAFKA_DIR"
	mkfifo "$KAFKA_DIR/in"
	"$EC_BIN/ec-kcat" mock "$@" <"$KAFKA_DIR/in" >"$KAFKA_DIR/out" 2>"$KAFKA_DIR/err" 3>&- &
	KAFKA_PID=$!
	# Hold the FIFO open for writing so the mock's stdin stays open between commands.
	exec {KAFKA_FD}>"$KAFKA_DIR/in"
	local i
	for ((i = 0; i < 100; i++)); do
		[ -s "$KAFKA_DIR/out" ] && break
		sleep 0.05
	done
	EC_KAFKA_BROKERS=$(head -n 1 "$KAFKA_DIR/out")
	[ -n "$EC_KAFKA_BROKERS" ] || {
		echo "ec-kcat mock did not start: $(cat "$KAFKA_DIR/err")"
		return 1
	}
	export EC_KAFKA_BROKERS
}

kafka_cmd() {
	local before i
	before=$(wc -l <"$KAFKA_DIR/out")
	echo "$*" >&"$KAFKA_FD"
	for ((i = 0; i < 100; i++)); do
		[ "$(wc -l <"$KAFKA_DIR/out")" -gt "$before" ] && break
		sleep 0.02
	done
	[ "$(tail -n 1 "$KAFKA_DIR/out")" = ok ] || {
		echo "mock command '$*' failed: $(tail -n 3 "$KAFKA_DIR/err")"
		return 1
	}
}

kafka_stop() {
	[ -n "${KAFKA_PID:-}" ] || return 0
	kill "$KAFKA_PID" 2>/dev/null || true
	wait "$KAFKA_PID" 2>/dev/null || true
	[ -n "${KAFKA_FD:-}" ] && exec {KAFKA_FD}>&-
	KAFKA_PID=
}
