# s3.bash: a throwaway S3 (s3rver) for bats tests, and the proxies that check and disturb it.
#
#   load helpers/s3
#   s3_start [BUCKET]        # s3rver on a free loopback port, BUCKET (default "lake") created;
#                            # exports S3_ENDPOINT S3RVER_ENDPOINT S3_BUCKET S3_DIR and
#                            # AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION
#   sigv4_proxy_start [ARGS] # a signature-checking proxy in front of S3_ENDPOINT; S3_ENDPOINT
#                            # now points at it; its verdicts go to $SIGV4_LOG (ARGS: --token T,
#                            # --secret S, --access-key ID for the expected credentials)
#   sigv4_proxy_check        # fails (printing them) on any BAD verdict or when nothing was checked
#   fault_proxy_start SPEC [ARGS]  # a fault injector in front of S3_ENDPOINT (see
#                            # tests/helpers/fault-proxy for SPEC); logs to $FAULT_LOG
#   s3_cat KEY               # the object's bytes on stdout, read with awscli from s3rver itself
#   s3_ls PREFIX             # the keys under PREFIX, one a line, sorted (awscli)
#   fault_proxy_stop; sigv4_proxy_stop; s3_stop   # in teardown; safe when never started
#
# The proxies chain: start s3rver, then the signature checker, then the
# fault injector in front of it, and every request (retries included) is
# signature-checked. The tools go through S3_ENDPOINT; awscli reads back
# from S3RVER_ENDPOINT directly. The shared credentials and config files
# point at empty files in S3_DIR, so ~/.aws never leaks in. s3rver missing
# is an error, never a skip: tests/helpers/install-deps installs it.
#
# Called from setup_file, the exports reach every test of the file.

S3_HELPERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A TCP port on 127.0.0.1 that nothing listens on right now.
s3_free_port() {
	local port tries
	for tries in $(seq 1 50); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Wait until something answers HTTP on URL (any status).
s3_wait_http() {
	local url=$1 tries
	for tries in $(seq 1 150); do
		curl -s -o /dev/null --max-time 2 "$url" && return 0
		sleep 0.1
	done
	return 1
}

# s3_start [BUCKET]: a fresh s3rver with an empty BUCKET, answering.
s3_start() {
	local bucket=${1:-lake} port tries
	if ! command -v s3rver >/dev/null 2>&1; then
		echo "s3_start: s3rver not found (npm install -g s3rver@3.7.1; tests/helpers/install-deps does it)" >&2
		return 1
	fi
	S3_DIR=$(mktemp -d /tmp/ec-s3.XXXXXX)
	export S3_DIR
	mkdir -p "$S3_DIR/data"
	: >"$S3_DIR/aws-credentials"
	: >"$S3_DIR/aws-config"
	# Another process may take the port between the probe and the start: retry.
	for tries in 1 2 3 4 5; do
		port=$(s3_free_port) || break
		s3rver -d "$S3_DIR/data" -a 127.0.0.1 -p "$port" --configure-bucket "$bucket" --silent \
			--service-endpoint localhost \
			>"$S3_DIR/s3rver.log" 2>&1 3>&- &
		S3_PID=$!
		if s3_wait_http "http://127.0.0.1:$port/" && kill -0 "$S3_PID" 2>/dev/null; then
			export S3_PID S3_BUCKET=$bucket
			export S3RVER_ENDPOINT=http://127.0.0.1:$port S3_ENDPOINT=http://127.0.0.1:$port
			export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
			export AWS_SHARED_CREDENTIALS_FILE=$S3_DIR/aws-credentials AWS_CONFIG_FILE=$S3_DIR/aws-config
			unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL \
				AWS_DEFAULT_REGION
			return 0
		fi
		kill "$S3_PID" 2>/dev/null
		wait "$S3_PID" 2>/dev/null
	done
	echo "s3_start: s3rver did not start; its log:" >&2
	cat "$S3_DIR/s3rver.log" >&2 2>/dev/null
	return 1
}

# Start a python proxy (NAME = sigv4-proxy or fault-proxy) in front of S3_ENDPOINT;
# prints its pid and port as "PID PORT". ARGS go to the proxy.
s3_proxy_launch() {
	local name=$1 log=$2 portfile pid tries
	shift 2
	portfile=$(mktemp "$S3_DIR/$name.port.XXXXXX")
	rm -f "$portfile"
	/usr/bin/python3 "$S3_HELPERS_DIR/$name" --upstream "$S3_ENDPOINT" --log "$log" \
		--port-file "$portfile" "$@" >>"$log.stderr" 2>&1 3>&- &
	pid=$!
	for tries in $(seq 1 150); do
		if [ -s "$portfile" ]; then
			echo "$pid $(cat "$portfile")"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "s3_proxy_launch: $name did not start:" >&2
	cat "$log.stderr" >&2
	kill "$pid" 2>/dev/null
	return 1
}

# Wait (at most 5 s) until process PID has gone: the proxies are not children of this shell.
s3_wait_gone() {
	local tries
	for tries in $(seq 1 50); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 0
}

# sigv4_proxy_start [ARGS]: check every signature from now on (S3_ENDPOINT moves to the proxy).
sigv4_proxy_start() {
	local out
	SIGV4_LOG=${SIGV4_LOG:-$S3_DIR/sigv4.log}
	: >"$SIGV4_LOG"
	out=$(s3_proxy_launch sigv4-proxy "$SIGV4_LOG" --region "$AWS_REGION" \
		--upstream-access-key S3RVER "$@") || return 1
	SIGV4_PID=${out% *}
	SIGV4_UPSTREAM=$S3_ENDPOINT
	export SIGV4_PID SIGV4_LOG SIGV4_UPSTREAM S3_ENDPOINT=http://127.0.0.1:${out#* }
}

# sigv4_proxy_check: every request so far was signed correctly, and there was at least one.
sigv4_proxy_check() {
	if grep -q '^BAD' "$SIGV4_LOG"; then
		echo "sigv4_proxy_check: requests with bad signatures:" >&2
		grep '^BAD' "$SIGV4_LOG" | head -n 20 >&2
		return 1
	fi
	if ! grep -q '^OK' "$SIGV4_LOG"; then
		echo "sigv4_proxy_check: no request reached the signature checker" >&2
		return 1
	fi
}

sigv4_proxy_stop() {
	[ -n "${SIGV4_PID:-}" ] || return 0
	kill "$SIGV4_PID" 2>/dev/null
	s3_wait_gone "$SIGV4_PID"
	export S3_ENDPOINT=$SIGV4_UPSTREAM
	unset SIGV4_PID SIGV4_UPSTREAM
}

# fault_proxy_start SPEC [ARGS]: disturb requests to S3_ENDPOINT as SPEC says.
fault_proxy_start() {
	local spec=${1:?fault_proxy_start: SPEC} out
	shift
	FAULT_LOG=${FAULT_LOG:-$S3_DIR/fault.log}
	: >"$FAULT_LOG"
	out=$(s3_proxy_launch fault-proxy "$FAULT_LOG" "$@" "$spec") || return 1
	FAULT_PID=${out% *}
	FAULT_UPSTREAM=$S3_ENDPOINT
	export FAULT_PID FAULT_LOG FAULT_UPSTREAM S3_ENDPOINT=http://127.0.0.1:${out#* }
}

fault_proxy_stop() {
	[ -n "${FAULT_PID:-}" ] || return 0
	kill "$FAULT_PID" 2>/dev/null
	s3_wait_gone "$FAULT_PID"
	export S3_ENDPOINT=$FAULT_UPSTREAM
	unset FAULT_PID FAULT_UPSTREAM
}

# s3_cat KEY: the object's bytes, read by awscli straight from s3rver.
s3_cat() {
	/usr/bin/aws --endpoint-url "$S3RVER_ENDPOINT" s3 cp "s3://$S3_BUCKET/${1:?s3_cat: KEY}" -
}

# s3_ls PREFIX: the keys under PREFIX, sorted (bytes).
s3_ls() {
	/usr/bin/aws --endpoint-url "$S3RVER_ENDPOINT" s3api list-objects-v2 --bucket "$S3_BUCKET" \
		--prefix "${1:-}" --query 'Contents[].Key' --output text |
		tr '\t' '\n' | grep -v '^None$' | LC_ALL=C sort
}

s3_stop() {
	fault_proxy_stop
	sigv4_proxy_stop
	[ -n "${S3_DIR:-}" ] || return 0
	if [ -n "${S3_PID:-}" ]; then
		kill "$S3_PID" 2>/dev/null
		wait "$S3_PID" 2>/dev/null
	fi
	rm -rf "$S3_DIR"
	unset S3_DIR S3_PID S3_ENDPOINT S3RVER_ENDPOINT S3_BUCKET
}
