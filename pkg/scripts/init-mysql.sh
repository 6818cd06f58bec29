#!/bin/bash
# init-mysql: writes server-id.cnf from the pod's ordinal and picks the primary
# (ordinal 0) or the replica configuration of StatefulSet {{.StatefulSet}}.
set -euo pipefail

# A pod of a StatefulSet is named <statefulset>-<ordinal>; $HOSTNAME needs no
# hostname binary, which newer images lack.
if [[ ! ${HOSTNAME:-} =~ -([0-9]+)$ ]]; then
  echo "init-mysql: cannot read an ordinal from hostname '${HOSTNAME:-}'" >&2
  exit 1
fi
ordinal=$((10#${BASH_REMATCH[1]}))

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
password=${ROOT_PASSWORD//\\/\\\\}
password=${password//\"/\\\"}
printf '[client]\nuser=root\npassword="%s"\n[xtrabackup]\nuser=root\npassword="%s"\n' \
  "$password" "$password" >{{.InitOptionFile}}.tmp
mv {{.InitOptionFile}}.tmp {{.InitOptionFile}}
{{- end}}
