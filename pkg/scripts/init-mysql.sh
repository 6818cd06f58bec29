#!/bin/bash
# init-mysql: writes server-id.cnf from the pod's ordinal and picks the primary
# (ordinal 0) or the replica configuration of StatefulSet {{.StatefulSet}}.
set -euo pipefail

{{template "ordinal" (.Ordinal "init-mysql")}}
{{template "pod-host" (.Peers "init-mysql")}}
host=$(pod_host "$ordinal")

# server-id=0 has a special meaning, so ids start at 100. A replica reports
# its pod's name to the primary (SHOW REPLICAS).
{
  echo "[mysqld]"
  echo "server-id=$((100 + ordinal))"
  echo "report_host=${host%.}"
} >{{.InitConfDir}}/server-id.cnf

if [[ $ordinal -eq 0 ]]; then
  cp {{.ConfigMapDir}}/{{.PrimaryConfigKey}} {{.InitConfDir}}/
else
  cp {{.ConfigMapDir}}/{{.ReplicaConfigKey}} {{.InitConfDir}}/
fi
echo "init-mysql: ordinal $ordinal, server-id $((100 + ordinal))"

# InnoDB's buffer pool follows the database container's memory limit (or
# request): 60% of it, rounded down to 1024M steps from 1G on (a multiple of
# every chunk size and instance count the servers round a size up to) and
# to 128M steps below, at least 128M. buffer-pool.cnf sorts before the
# primary's and the replicas' .cnf, so those and a .cnf of the user's win.
memory=${ {{- .MemoryEnv}}:-}
if [[ $memory =~ ^[0-9]{1,9}$ ]] && ((memory > 0)); then
  pool=$((memory * 60 / 100))
  if ((pool >= 1024)); then
    pool=$((pool / 1024 * 1024))
  else
    pool=$((pool / 128 * 128))
  fi
  ((pool >= 128)) || pool=128
  printf '[mysqld]\ninnodb_buffer_pool_size=%dM\n' "$pool" >{{.InitConfDir}}/buffer-pool.cnf
  echo "init-mysql: innodb_buffer_pool_size ${pool}M, from the database container's ${memory}Mi"
else
  rm -f {{.InitConfDir}}/buffer-pool.cnf
fi
{{- if .Credentials}}

{{template "password-length" (.PasswordLimit "init-mysql" .RootPasswordEnv)}}
# The clients of the other containers read the root password from this file;
# the server reads only *.cnf files, and the password never reaches a command
# line or a log.
umask 077
# The value is double-quoted (a Secret made from a file often ends with a
# newline, which stays part of it).
{{template "option-quote"}}
password=$(option_quoted "${ {{- .RootPasswordEnv}}}")
printf '[client]\nuser=root\npassword="%s"\n[xtrabackup]\nuser=root\npassword="%s"\n' \
  "$password" "$password" >{{.InitConfDir}}/{{.ClientOptionName}}.tmp
mv {{.InitConfDir}}/{{.ClientOptionName}}.tmp {{.InitConfDir}}/{{.ClientOptionName}}
{{- end}}
{{- if .Metrics}}

# The exporter's client options: the metrics user, which the primary's
# sidecar keeps, over 127.0.0.1. The exporter runs as a user of its own:
# the file is readable by the pod's containers (the volume is the pod's).
{{template "sql-password" "init-mysql"}}
{{template "quote-password" (.QuotedPassword "replication_password" .ReplicationPasswordEnv)}}
{{template "metrics-password" .}}
printf '[client]\nuser={{.MetricsUser}}\npassword=%s\nhost=127.0.0.1\nport={{.MySQLPort}}\n' "$metrics_password" \
  >{{.InitMetricsDir}}/{{.MetricsOptionName}}.tmp
chmod 0644 {{.InitMetricsDir}}/{{.MetricsOptionName}}.tmp
mv {{.InitMetricsDir}}/{{.MetricsOptionName}}.tmp {{.InitMetricsDir}}/{{.MetricsOptionName}}
echo "init-mysql: the exporter reads the server as {{.MetricsUser}}"
{{- end}}
