# pg.bash: start and stop a throwaway PostgreSQL server (Debian's, 15) for bats tests.
#
#   load helpers/pg
#   pg_start [DB]          # exports PGHOST PGPORT PGUSER PGDATABASE (DB, default "shop")
#   psql -c ...            # libpq's variables make plain psql reach it
#   pg_create_db NAME      # another database on the same server
#   pg_run_file FILE [DB]  # run a SQL file, stopping at its first error
#   pg_query 'SQL' [DB]    # print rows unaligned, tab-separated, no header
#   pg_stop                # in teardown or teardown_file; safe when pg_start never ran
#
# The server refuses to run as root, so as root the data directory belongs
# to the postgres user and the server tools run through su. Every server
# has its own temp dir (data, socket, log) and a free loopback port, so two
# test runs side by side never meet. wal_level=logical with replication
# slots and senders lets change-data-capture tests use it too; fsync is off
# because the data is thrown away. A missing server is an error, never a
# skip: tests/helpers/install-deps installs it.
#
# Called from setup_file, the exports reach every test of the file.

# The directory holding initdb and pg_ctl, newest major version first.
pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
	done | sort -t/ -k5 -V -r | head -n 1
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
pg_free_port() {
	local port i
	for ((i = 0; i < 50; i++)); do
		port=$((20000 + RANDOM % 30000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# Run a server tool as the owner of the data directory.
pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then
		su postgres -s /bin/sh -c "cd / && $(printf '%q ' "$@")"
	else
		"$@"
	fi
}

# pg_start [DB]: a fresh server with database DB (default shop), ready for queries.
pg_start() {
	local db=${1:-shop} bin port i
	bin=$(pg_bindir)
	if [ -z "$bin" ]; then
		echo "pg_start: no PostgreSQL server found under /usr/lib/postgresql (Debian package postgresql; tests/helpers/install-deps installs it)" >&2
		return 1
	fi
	if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "pg_start: running as root needs the postgres user (Debian package postgresql creates it)" >&2
		return 1
	fi
	PG_DIR=$(mktemp -d /tmp/ec-pg.XXXXXX)
	export PG_DIR
	chmod 755 "$PG_DIR"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$PG_DIR" || return 1
	fi
	if ! pg_as_owner "$bin/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
		>"$PG_DIR/initdb.log" 2>&1; then
		echo "pg_start: initdb failed:" >&2
		cat "$PG_DIR/initdb.log" >&2
		return 1
	fi
	# Another process may take the port between the probe and the start: retry.
	for ((i = 0; i < 5; i++)); do
		port=$(pg_free_port) || break
		if pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -w -t 60 -l "$PG_DIR/log" \
			-o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c fsync=off -c full_page_writes=off" \
			start >/dev/null 2>&1; then
			export PG_BIN=$bin
			export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
			pg_wait_ready || return 1
			pg_create_db "$db" || return 1
			export PGDATABASE=$db
			return 0
		fi
	done
	echo "pg_start: the server did not start; its log:" >&2
	cat "$PG_DIR/log" >&2 2>/dev/null
	return 1
}

# Wait until the server answers a query (pg_ctl -w already waits; this makes sure over TCP).
pg_wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		psql -X -q -At -d postgres -c 'SELECT 1' >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "pg_start: the server on port $PGPORT does not answer; its log:" >&2
	cat "$PG_DIR/log" >&2 2>/dev/null
	return 1
}

# pg_create_db NAME: an empty database (UTF-8, C collation, as the server's template).
pg_create_db() {
	local name=${1:?pg_create_db: NAME}
	# Variables are interpolated in psql's input, not in -c: feed the statement on stdin.
	echo 'CREATE DATABASE :"name";' |
		psql -X -q -v ON_ERROR_STOP=1 -d postgres -v name="$name" >/dev/null
}

# pg_run_file FILE [DB]: run FILE with psql, stopping at the first error; quiet when
# all goes well, psql's output and the failing statement on stderr otherwise.
pg_run_file() {
	local file=${1:?pg_run_file: FILE} db=${2:-${PGDATABASE:-}} out status=0
	out=$(psql -X -q -v ON_ERROR_STOP=1 -d "$db" -f "$file" 2>&1 >/dev/null) || status=$?
	if [ "$status" -ne 0 ]; then
		echo "pg_run_file: $file failed (psql status $status):" >&2
		printf '%s\n' "$out" >&2
	fi
	return "$status"
}

# pg_query 'SQL' [DB]: rows unaligned, tab-separated, no header or footer.
pg_query() {
	local sql=${1:?pg_query: SQL} db=${2:-${PGDATABASE:-}}
	psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$db" -c "$sql"
}

# pg_stop: stop the server (no checkpoint: the data is thrown away) and remove its directory.
pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	if [ -n "${PG_BIN:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$PG_DIR"
	unset PG_DIR PG_BIN PGHOST PGPORT PGUSER PGDATABASE
}

# pg_restart [SETTING=VALUE...]: restart the server on its port, with extra -c settings
# (e.g. wal_level=replica); without any, with the settings pg_start used.
pg_restart() {
	local extra="" kv
	for kv in "$@"; do
		extra+=" -c $kv"
	done
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || return 1
	pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -t 60 -l "$PG_DIR/log" \
		-o "-p $PGPORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c fsync=off -c full_page_writes=off$extra" \
		start >/dev/null 2>&1 || {
		echo "pg_restart: the server did not start again; its log:" >&2
		tail -n 20 "$PG_DIR/log" >&2
		return 1
	}
	pg_wait_ready
}
