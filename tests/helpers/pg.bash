# pg.bash: start and stop a throwaway PostgreSQL server (Debian's, 15) for bats tests.
#
#   load helpers/pg
#   pg_start        # exports PGHOST PGPORT PGUSER PGDATABASE (database "shop")
#   psql -c ...
#   pg_stop         # in teardown; safe to call when pg_start never ran
#
# The server refuses to run as root, so as root the data directory belongs
# to the postgres user and the server tools run through su. It listens on a
# free loopback port and a socket in its own directory, with
# wal_level=logical so change-data-capture tests can use it too. A missing
# server is an error, never a skip: tests/helpers/install-deps installs it.

# The directory holding initdb and pg_ctl, newest major version first.
pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && echo "$d"
	done | sort -t/ -k5 -V -r | head -n 1
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
pg_free_port() {
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

# Run a server tool as the owner of the data directory.
pg_as_owner() {
	if [ "$(id -u)" = 0 ]; then
		su postgres -s /bin/sh -c "cd / && $(printf '%q ' "$@")"
	else
		"$@"
	fi
}

pg_start() {
	local bin port tries
	bin=$(pg_bindir)
	if [ -z "$bin" ]; then
		echo "pg_start: no PostgreSQL server found under /usr/lib/postgresql (Debian package postgresql; tests/helpers/install-deps installs it)" >&2
		return 1
	fi
	PG_DIR=$(mktemp -d /tmp/ec-pg.XXXXXX)
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
	for tries in 1 2 3; do
		port=$(pg_free_port) || break
		if pg_as_owner "$bin/pg_ctl" -D "$PG_DIR/data" -w -t 60 -l "$PG_DIR/log" \
			-o "-p $port -k $PG_DIR -c listen_addresses=127.0.0.1 -c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 -c fsync=off" \
			start >/dev/null 2>&1; then
			export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
			export PG_BIN=$bin PG_DIR
			psql -q -X -v ON_ERROR_STOP=1 -c 'CREATE DATABASE shop' >/dev/null || return 1
			export PGDATABASE=shop
			return 0
		fi
	done
	echo "pg_start: the server did not start; its log:" >&2
	cat "$PG_DIR/log" >&2 2>/dev/null
	return 1
}

pg_stop() {
	[ -n "${PG_DIR:-}" ] || return 0
	if [ -n "${PG_BIN:-}" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$PG_DIR"
	unset PG_DIR PG_BIN
}
