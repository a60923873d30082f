#!/bin/sh
# Entrypoint of the offline postgres stand-in (build-standins.sh): what the
# official image's docker-entrypoint.sh does for the variables Lift's compose
# file sets. On first start (no PG_VERSION in PGDATA) it runs initdb as the
# postgres user with POSTGRES_USER as superuser and POSTGRES_PASSWORD as its
# password, allows password logins (scram-sha-256) from any address, and
# creates POSTGRES_DB on a temporary socket-only server; then it runs the
# server in the foreground as the postgres user, never as root.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ "${1:-}" != postgres ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	: "${POSTGRES_PASSWORD:?the postgres stand-in, like the official image, needs POSTGRES_PASSWORD}"
	user=${POSTGRES_USER:-postgres}
	db=${POSTGRES_DB:-$user}
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words, as in the official image
	initdb --username="$user" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --locale=C ${POSTGRES_INITDB_ARGS:-} >/dev/null
	rm -f "$pwfile"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	if [ "$db" != postgres ]; then
		pg_ctl --silent --wait --options="-c listen_addresses=''" start >/dev/null
		# psql interpolates :"db" (quoted identifier) from stdin, not from -c.
		echo 'CREATE DATABASE :"db";' | psql --quiet --no-psqlrc --set ON_ERROR_STOP=1 \
			--username="$user" --dbname=postgres --set db="$db" >/dev/null
		pg_ctl --silent --wait --mode=fast stop >/dev/null
	fi
	echo "postgres stand-in: initialised $PGDATA (user $user, database $db)"
fi

exec "$@"
