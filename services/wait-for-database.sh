#!/bin/sh
# Container entrypoint helper: wait until the database in $1 (a URI) accepts TCP connections, then
# run the rest of the arguments. CI starts PostgreSQL and the server as service containers at the
# same time, and a server that finds no database at start-up exits.
set -eu
uri="$1"
shift
hostport=$(echo "$uri" | sed -n 's|^[a-z+0-9]*://[^@/]*@\([^/?]*\).*|\1|p')
if [ -n "$hostport" ]; then
  host=${hostport%:*}
  port=${hostport##*:}
  [ "$port" = "$hostport" ] && port=5432
  i=0
  until nc -z "$host" "$port" 2>/dev/null || python3 -c "import socket,sys; socket.create_connection(('$host', $port), 2)" 2>/dev/null; do
    i=$((i + 1))
    [ "$i" -gt 120 ] && echo "database $host:$port not reachable" >&2 && exit 1
    sleep 1
  done
fi
exec "$@"
