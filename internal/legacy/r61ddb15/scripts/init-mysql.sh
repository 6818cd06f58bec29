#!/bin/bash
# init-mysql: writes server-id.cnf from the pod's ordinal and picks the primary
# (ordinal 0) or the replica configuration of StatefulSet {{.StatefulSet}}.
set -euo pipefail

{{template "ordinal" (.Ordinal "init-mysql")}}

# server-id=0 has a special meaning, so ids start at 100.
{
  echo "[mysqld]"
  echo "server-id=$((100 + ordinal))"
} >{{.InitConfDir}}/server-id.cnf

if [[ $ordinal -eq 0 ]]; then
  cp {{.ConfigMapDir}}/{{.PrimaryConfigKey}} {{.InitConfDir}}/
else
  cp {{.ConfigMapDir}}/{{.ReplicaConfigKey}} {{.InitConfDir}}/
fi
echo "init-mysql: ordinal $ordinal, server-id $((100 + ordinal))"
{{- if .Credentials}}

# The clients of the other containers read the root password from this file;
# the server reads only *.cnf files, and the password never reaches a command
# line or a log.
umask 077
# The value is double-quoted; the option file reader turns \\ \" \n \r \t
# back into what they stand for, so no password can end the value or add a
# line (a Secret made from a file often ends with a newline).
password=${ROOT_PASSWORD//\\/\\\\}
password=${password//\"/\\\"}
password=${password//$'\n'/\\n}
password=${password//$'\r'/\\r}
password=${password//$'\t'/\\t}
printf '[client]\nuser=root\npassword="%s"\n[xtrabackup]\nuser=root\npassword="%s"\n' \
  "$password" "$password" >{{.InitOptionFile}}.tmp
mv {{.InitOptionFile}}.tmp {{.InitOptionFile}}
{{- end}}
