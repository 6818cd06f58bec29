#!/bin/bash
# readiness of StatefulSet {{.StatefulSet}}: the primary is ready when it
# answers; a replica only while both replication threads run, so a Service of
# replicas never routes to a broken one.
set -uo pipefail

{{template "ordinal" (.Ordinal "readiness")}}
if ((ordinal == 0)); then
  exec {{.Client}}{{.ClientAuth}} -h 127.0.0.1 -e "SELECT 1"
fi
status=$({{.Client}}{{.ClientAuth}} -h 127.0.0.1 {{.Replication.StatusArgs}}) || exit 1
if [[ $status =~ {{.Replication.IORunning}}:\ Yes && $status =~ {{.Replication.SQLRunning}}:\ Yes ]]; then
  exit 0
fi
echo "readiness: replication is not running" >&2
exit 1
