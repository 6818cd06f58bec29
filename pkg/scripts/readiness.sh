#!/bin/bash
# readiness of StatefulSet {{.StatefulSet}}: the primary is ready when it
# answers. A replica is ready while it can serve a read: its SQL thread
# applies without error, at most {{.MaxLagSeconds}} s behind the primary
# ({{.MaxLagAnnotation}}), and its IO thread runs or has been reconnecting
# to the primary for less than {{.ReconnectGraceSeconds}} s
# ({{.ReconnectGraceAnnotation}}): a restart of the primary does not empty
# the replicas' Service, and a replica that lost its primary for longer
# leaves it. What is wrong is in the message (the pod's Unhealthy event).
set -uo pipefail

{{template "ordinal" (.Ordinal "readiness")}}
if ((ordinal == 0)); then
  exec {{.Client}}{{.ClientAuth}} -h 127.0.0.1 -e "SELECT 1"
fi
{{- if .ChecksDivergence}}
if [[ -f {{.DataDir}}/{{.RefusedMarker}} ]]; then
  echo "readiness: the sidecar refused to replicate: $(<{{.DataDir}}/{{.RefusedMarker}})" >&2
  exit 1
fi
{{- end}}
replication_status() {
  {{.Client}}{{.ClientAuth}} -h 127.0.0.1 {{.Replication.StatusArgs}}
}
if ! status=$(replication_status 2>&1); then
  echo "readiness: the server does not answer: $status" >&2
  exit 1
fi
if [[ -z $status ]]; then
  # A new replica's sidecar configures replication a moment after the
  # server first answers, which is when the kubelet first runs this probe:
  # a server up for less than 10 s gets up to 3 s for it, rather than a
  # failure that keeps the pod out of its Services for a whole period
  # (the probe's timeout is 5 s).
  uptime=$({{.Client}}{{.ClientAuth}} -h 127.0.0.1 -N -B -e "SHOW GLOBAL STATUS LIKE 'Uptime'" 2>/dev/null) || uptime=
  uptime=${uptime##*[[:space:]]}
  if [[ $uptime =~ ^[0-9]+$ ]] && ((uptime < 10)); then
    for ((tries = 0; tries < 15; tries++)); do
      sleep 0.2
      if ! status=$(replication_status 2>&1); then
        echo "readiness: the server does not answer: $status" >&2
        exit 1
      fi
      [[ -z $status ]] || break
    done
  fi
fi
# field NAME prints the value of NAME in the replication status.
field() {
  local line
  while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}
    if [[ $line == "$1:"* ]]; then
      line=${line#"$1:"}
      printf '%s' "${line# }"
      return
    fi
  done <<<"$status"
}
since={{.DataDir}}/{{.ReconnectingMarker}}
io=$(field {{.Replication.IORunning}})
applier=$(field {{.Replication.SQLRunning}})
io_error=$(field Last_IO_Error)
sql_error=$(field Last_SQL_Error)
if [[ -z $status ]]; then
  echo "readiness: replication is not configured" >&2
  exit 1
fi
if [[ $applier != Yes ]]; then
  echo "readiness: the SQL thread does not run${sql_error:+: $sql_error}" >&2
  exit 1
fi
case $io in
Yes)
  rm -f "$since"
  lag=$(field {{.Replication.Lag}})
  if [[ $lag =~ ^[0-9]+$ ]] && ((lag > {{.MaxLagSeconds}})); then
    echo "readiness: ${lag} s behind the primary, more than {{.MaxLagSeconds}} s ({{.MaxLagAnnotation}})" >&2
    exit 1
  fi
  exit 0
  ;;
Connecting)
  now=$(date +%s)
  first=$(cat "$since" 2>/dev/null)
  if [[ ! $first =~ ^[0-9]+$ ]] || ((first > now)); then
    first=$now
    echo "$now" >"$since"
  fi
  if ((now - first < {{.ReconnectGraceSeconds}})); then
    echo "readiness: reconnecting to the primary for $((now - first)) s; ready for up to {{.ReconnectGraceSeconds}} s ({{.ReconnectGraceAnnotation}})${io_error:+: $io_error}"
    exit 0
  fi
  echo "readiness: the primary has not answered for $((now - first)) s, more than {{.ReconnectGraceSeconds}} s ({{.ReconnectGraceAnnotation}})${io_error:+: $io_error}" >&2
  exit 1
  ;;
esac
rm -f "$since"
echo "readiness: the IO thread does not run${io_error:+: $io_error}" >&2
exit 1
