{{- define "embed-idp.fullname" -}}
{{ .Release.Name }}
{{- end -}}

{{- define "embed-idp.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "embed-idp.labels" -}}
{{ include "embed-idp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "embed-idp.secretName" -}}
{{- if .Values.secret.create -}}
{{ include "embed-idp.fullname" . }}-secrets
{{- else -}}
{{ .Values.secret.existingSecret }}
{{- end -}}
{{- end -}}

{{- define "embed-idp.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{- define "embed-idp.env" -}}
- name: NODE_ENV
  value: production
- name: PORT
  value: "3000"
- name: PUBLIC_URL
  value: {{ .Values.publicUrl | quote }}
# Nothing is written under DATA_DIR in production (SECRETS_KEY given, no embedded Postgres);
# it points at the writable emptyDir all the same.
- name: DATA_DIR
  value: /tmp/embed-idp
{{- range $name, $value := .Values.env }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- if .Values.workers }}
- name: WORKERS
  value: {{ .Values.workers | quote }}
{{- end }}
{{- end -}}

{{- define "embed-idp.securityContext" -}}
runAsNonRoot: true
# The node user of the node:*-bookworm-slim image (the Dockerfile's USER node).
runAsUser: 1000
runAsGroup: 1000
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}
