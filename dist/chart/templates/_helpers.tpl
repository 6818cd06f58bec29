{{/* The prefix of every object's name: the release's name. */}}
{{- define "mrw.prefix" -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "mrw.labels" -}}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mysql-replication-webhook
{{- end -}}

{{/* The manager's pods. */}}
{{- define "mrw.selector" -}}
app.kubernetes.io/name: mysql-replication-webhook
control-plane: controller-manager
{{- end -}}

{{- define "mrw.image" -}}
{{ .Values.manager.image.repository }}:{{ .Values.manager.image.tag | default (printf "v%s" .Chart.AppVersion) }}
{{- end -}}

{{- define "mrw.serviceAccount" -}}
{{ include "mrw.prefix" . }}-controller-manager
{{- end -}}

{{- define "mrw.webhookService" -}}
{{ include "mrw.prefix" . }}-webhook-service
{{- end -}}
