{{/* Names, labels and the checks that values.schema.json cannot express. */}}

{{- define "carebridge.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/*
The full name. Cut at 52 characters, not Kubernetes' 63: the StatefulSet adds a revision-hash label
of the name plus 11 characters, and each pod's name (the name plus "-N") becomes its audit chain,
which the gateway allows up to 64 characters.
*/}}
{{- define "carebridge.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "carebridge.selectorLabels" -}}
app.kubernetes.io/name: {{ include "carebridge.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "carebridge.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "carebridge.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "carebridge.serviceAccountName" -}}
{{- default (include "carebridge.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "carebridge.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
The kubelet's probes. Over TLS they use HTTPS (the kubelet does not verify the certificate). With
client certificates required the handshake refuses the kubelet, which cannot present one
(kubernetes/kubernetes#64866), so the probes fall back to a TCP connect: the pod is still restarted
if the listener dies, but readiness no longer sees /readyz turn 503 while draining (Kubernetes
takes a terminating pod out of the endpoints anyway).
*/}}
{{- define "carebridge.probe" -}}
{{- $root := index . 0 -}}
{{- $path := index . 1 -}}
{{- $tls := $root.Values.tls -}}
{{- if and $tls.enabled (eq (toString $tls.clientAuth) "required") }}
tcpSocket:
  port: fhir
{{- else }}
httpGet:
  path: {{ $path }}
  port: fhir
  scheme: {{ ternary "HTTPS" "HTTP" $tls.enabled }}
{{- end }}
{{- end -}}

{{/* Checks across values; rendering fails with the message. */}}
{{- define "carebridge.validate" -}}
{{- $v := .Values -}}
{{- if and (eq $v.database.mode "sqlite") (gt (int $v.replicaCount) 1) -}}
{{- fail (printf "SQLite mode runs one replica (replicaCount is %d): set database.mode=postgres for more" (int $v.replicaCount)) -}}
{{- end -}}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled" -}}
{{- end -}}
{{- if and $v.metrics.enabled (eq (int $v.metrics.port) (int $v.port)) -}}
{{- fail "metrics.port must differ from port" -}}
{{- end -}}
{{- if and $v.auth.jwksFile.existingSecret $v.auth.jwksFile.existingConfigMap -}}
{{- fail "auth.jwksFile: give existingSecret or existingConfigMap, not both" -}}
{{- end -}}
{{- if and $v.auth.hs256Secret.existingSecret (not (has "HS256" $v.auth.algorithms)) -}}
{{- fail "auth.hs256Secret is set but HS256 is not among auth.algorithms (the gateway refuses that)" -}}
{{- end -}}
{{- if and $v.tls.clientCaSecret $v.tls.clientCaConfigMap -}}
{{- fail "tls: give clientCaSecret or clientCaConfigMap, not both" -}}
{{- end -}}
{{- if and $v.outboundCa.existingSecret $v.outboundCa.existingConfigMap -}}
{{- fail "outboundCa: give existingSecret or existingConfigMap, not both" -}}
{{- end -}}
{{- end -}}
