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
