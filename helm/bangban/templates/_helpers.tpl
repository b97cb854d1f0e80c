{{/*
The services of the platform, in start order, with what each one needs. Fixed by the code, not by values:
  database — reads BANGBAN__DATABASE__URL (every service but the gateway);
  pii      — encrypts personal data (bangban_platform::pii::cipher_from_settings: intake, notification, evaluation).
*/}}
{{- define "bangban.catalog" -}}
gateway: { binary: bangban-gateway, database: false, pii: false }
intake: { binary: bangban-intake, database: true, pii: true }
planning: { binary: bangban-planning, database: true, pii: false }
routing: { binary: bangban-routing, database: true, pii: false }
deadline: { binary: bangban-deadline, database: true, pii: false }
notification: { binary: bangban-notification, database: true, pii: true }
evaluation: { binary: bangban-evaluation, database: true, pii: true }
{{- end -}}

{{- define "bangban.serviceNames" -}}
{{- list "gateway" "intake" "planning" "routing" "deadline" "notification" "evaluation" | toJson -}}
{{- end -}}

{{- define "bangban.fullname" -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<component> */}}
{{- define "bangban.componentName" -}}
{{- printf "%s-%s" (include "bangban.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "bangban.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource. Call with the root context. */}}
{{- define "bangban.labels" -}}
helm.sh/chart: {{ include "bangban.chart" . }}
app.kubernetes.io/name: bangban
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: bangban
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Labels of a component's resources: dict "root" $ "component" "intake". */}}
{{- define "bangban.componentLabels" -}}
{{ include "bangban.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of a component: dict "root" $ "component" "intake". */}}
{{- define "bangban.selectorLabels" -}}
app.kubernetes.io/name: bangban
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
Deep merge where a key present in `over` always wins (also false, 0 and ""), maps merged key by key, lists
replaced. Returns JSON. dict "base" <map> "over" <map>
*/}}
{{- define "bangban.merge" -}}
{{- $out := deepCopy (.base | default dict) -}}
{{- range $k, $v := (.over | default dict) -}}
{{- if and (kindIs "map" $v) (kindIs "map" (get $out $k)) -}}
{{- $_ := set $out $k (include "bangban.merge" (dict "base" (get $out $k) "over" $v) | fromJson) -}}
{{- else -}}
{{- $_ := set $out $k $v -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/* The effective settings of one service: defaults merged with services.<name>. dict "root" $ "name" "intake"; JSON. */}}
{{- define "bangban.service" -}}
{{- $over := get .root.Values.services .name | default dict -}}
{{- include "bangban.merge" (dict "base" .root.Values.defaults "over" $over) -}}
{{- end -}}

{{/* Whether a service is deployed: "true" or "". dict "root" $ "name" "intake" */}}
{{- define "bangban.enabled" -}}
{{- $svc := get .root.Values.services .name | default dict -}}
{{- if or (not (hasKey $svc "enabled")) $svc.enabled -}}true{{- end -}}
{{- end -}}

{{- define "bangban.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* BANGBAN__HTTP__PUBLIC_URL: publicUrl, else https://<ingress.host>/ (http:// without TLS), else the gateway's in-cluster address. */}}
{{- define "bangban.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl -}}
{{- else if and .Values.ingress.enabled .Values.ingress.host -}}
{{- printf "%s://%s/" (ternary "https" "http" (and .Values.ingress.tls.enabled true)) .Values.ingress.host -}}
{{- else -}}
{{- printf "http://%s.%s.svc:8080/" (include "bangban.componentName" (dict "root" . "component" "gateway")) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key of the database URL: JSON {name, key}. */}}
{{- define "bangban.databaseSecret" -}}
{{- if .Values.database.url -}}
{{- dict "name" (include "bangban.componentName" (dict "root" . "component" "database")) "key" "url" | toJson -}}
{{- else -}}
{{- dict "name" (required "database.existingSecret (or database.url) is required" .Values.database.existingSecret) "key" .Values.database.key | toJson -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key of the PII key: JSON {name, key}. */}}
{{- define "bangban.piiSecret" -}}
{{- if .Values.pii.generate -}}
{{- dict "name" (include "bangban.componentName" (dict "root" . "component" "pii")) "key" "key" | toJson -}}
{{- else -}}
{{- dict "name" (required "pii.existingSecret is required (or pii.generate: true for a test installation)" .Values.pii.existingSecret) "key" .Values.pii.key | toJson -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret with BANGBAN_NATS_PASSWORD_<USER> (internal NATS). */}}
{{- define "bangban.natsPasswordsSecret" -}}
{{- .Values.nats.auth.existingPasswordsSecret | default (include "bangban.componentName" (dict "root" . "component" "nats-passwords")) -}}
{{- end -}}

{{/* BANGBAN_NATS_PASSWORD_<USER> of a NATS user name (as nats_permissions.rs names them). */}}
{{- define "bangban.natsPasswordVariable" -}}
{{- printf "BANGBAN_NATS_PASSWORD_%s" (. | upper | replace "-" "_") -}}
{{- end -}}

{{/*
The NATS accounts: files/nats/accounts.json (generated by tests/tests/e2e/nats_permissions.rs) with the
tenant templates instantiated for the offices (the generated list plus nats.extraOffices) and the integrators
(nats.integrators). JSON {platform: {account, users, flow_control_export}, tenants: [...]}.
*/}}
{{- define "bangban.natsAccounts" -}}
{{- $data := .Files.Get "files/nats/accounts.json" | fromJson -}}
{{- $tenants := list -}}
{{- $offices := concat $data.offices (.Values.nats.extraOffices | default list) -}}
{{- $seen := dict -}}
{{- range $offices -}}
{{- $code := toString .code -}}
{{- if hasKey $seen $code -}}
{{- fail (printf "nats.extraOffices: office %s is already defined" $code) -}}
{{- end -}}
{{- $_ := set $seen $code true -}}
{{- $text := toJson $data.tenant_templates.office.tenant -}}
{{- $name := toJson (toString .name) | trimPrefix "\"" | trimSuffix "\"" -}}
{{- $text = $text | replace "{code}" $code | replace "{CODE}" (upper $code) | replace "{name}" $name -}}
{{- $tenants = append $tenants ($text | fromJson) -}}
{{- end -}}
{{- range (.Values.nats.integrators | default list) -}}
{{- $id := toString .id -}}
{{- if hasKey $seen (printf "integrator-%s" $id) -}}
{{- fail (printf "nats.integrators: integrator %s is defined twice" $id) -}}
{{- end -}}
{{- $_ := set $seen (printf "integrator-%s" $id) true -}}
{{- $text := toJson $data.tenant_templates.integrator.tenant -}}
{{- $description := toJson (toString (.description | default $id)) | trimPrefix "\"" | trimSuffix "\"" -}}
{{- $text = $text | replace "{id}" $id | replace "{ID}" ($id | upper | replace "-" "_") | replace "{description}" $description -}}
{{- $tenants = append $tenants ($text | fromJson) -}}
{{- end -}}
{{- dict "platform" $data.platform "tenants" $tenants | toJson -}}
{{- end -}}

{{/*
Replicas of the tenants' streams: nats.tenantStreams.replicas, or nats.streamReplicas when that is 0. A number.
*/}}
{{- define "bangban.tenantStreamReplicas" -}}
{{- $r := int64 ((.Values.nats.tenantStreams | default dict).replicas | default 0) -}}
{{- if lt $r 1 -}}{{- $r = int64 .Values.nats.streamReplicas -}}{{- end -}}
{{- max $r 1 -}}
{{- end -}}

{{/* Whether the chart provisions the tenants' streams (the ConfigMap and the hook Job): "true" or "". */}}
{{- define "bangban.tenantStreamsEnabled" -}}
{{- if and (not .Values.nats.external) (.Values.nats.tenantStreams | default dict).enabled -}}true{{- end -}}
{{- end -}}

{{/* One user of the NATS configuration, as nats_permissions.rs's render_user writes it. */}}
{{- define "bangban.natsUser" }}
      # {{ .note }}
      { user: {{ .name | quote }}, password: ${{ .password_variable }}
        permissions: {
{{- if kindIs "invalid" .publish }}
          publish: { allow: [">"] }
{{- else }}
          publish: { allow: [
{{- range .publish }}
            {{ . | quote }}
{{- end }}
          ] }
{{- end }}
          subscribe: { allow: [
{{- range .subscribe }}
            {{ . | quote }}
{{- end }}
          ] }
{{- if .allow_responses }}
          allow_responses: true
{{- end }}
        }
      }
{{- end -}}

{{/*
bangban-auth.conf, from bangban.natsAccounts. A tenant account's `max_file` is the generated one (its stream's
max_bytes) times the tenants' stream replicas: a clustered server reserves max_bytes x replicas of the account's
limit for a stream (nats-server 2.9.10 and 2.15.1 refuse an R3 stream of 1 GiB in an account of 1 GiB with
"insufficient storage resources available"). With 1 replica it is exactly deploy/nats/bangban-auth.conf.
*/}}
{{- define "bangban.natsAuthConf" -}}
{{- $accounts := include "bangban.natsAccounts" . | fromJson -}}
{{- $platform := $accounts.platform -}}
{{- $replicas := include "bangban.tenantStreamReplicas" . | int64 -}}
# Rendered by the Helm chart bangban from files/nats/accounts.json (generated by
# tests/tests/e2e/nats_permissions.rs); deploy/nats/README.md explains the design. Every password is a
# variable resolved from the server's environment (the Secret {{ include "bangban.natsPasswordsSecret" . }}).
accounts {
  {{ $platform.account }} {
    jetstream: {{ include "bangban.platformJetStream" . }}
    users: [
{{- range $platform.users }}{{ include "bangban.natsUser" . }}{{ end }}
    ]
    exports: [
{{- range $accounts.tenants }}
{{- $t := . }}
      # {{ $t.id }}: its stream's source (with its filter only), the deliveries, the live feed
{{- range $t.exports }}
      { {{ .kind }}: {{ .subject | quote }}, accounts: [{{ $t.account }}] }
{{- end }}
{{- end }}
{{- if $accounts.tenants }}
      # flow control of the sources (without it a source stalls after a burst)
      { {{ $platform.flow_control_export.kind }}: {{ $platform.flow_control_export.subject | quote }}, accounts: [{{ range $i, $t := $accounts.tenants }}{{ if $i }}, {{ end }}{{ $t.account }}{{ end }}] }
{{- end }}
    ]
  }
{{- range $accounts.tenants }}
{{- $t := . }}

  # {{ $t.description }}
  {{ $t.account }} {
    jetstream: { max_mem: {{ int64 $t.jetstream.max_mem }}, max_file: {{ mul (int64 $t.jetstream.max_file) $replicas }}, max_streams: {{ int64 $t.jetstream.max_streams }}, max_consumers: {{ int64 $t.jetstream.max_consumers }} }
    users: [
{{- range $t.users }}{{ include "bangban.natsUser" . }}{{ end }}
    ]
    imports: [
{{- range $t.imports }}
{{- if .to }}
      { {{ .kind }}: { account: {{ $platform.account }}, subject: {{ .subject | quote }} }, to: {{ .to | quote }} }
{{- else }}
      { {{ .kind }}: { account: {{ $platform.account }}, subject: {{ .subject | quote }} } }
{{- end }}
{{- end }}
    ]
  }
{{- end }}
}
{{ end -}}

{{/* The JetStream limits of the platform's account (nats.platformJetStream): max_file per copy of a stream times
nats.streamReplicas (a clustered server counts every replica against the account), max_mem as given. Fails when
the account cannot hold the gateway's streams, which reserve their max_bytes in it. */}}
{{- define "bangban.platformJetStream" -}}
{{- $js := .Values.nats.platformJetStream -}}
{{- $mib := 1048576 -}}
{{- $reserved := add (int64 .Values.gateway.audit.maxMiB) (int64 .Values.gateway.sessions.maxMiB) -}}
{{- if le (int64 $js.maxFileMiB) $reserved -}}
{{- fail (printf "nats.platformJetStream.maxFileMiB (%d) must exceed what the gateway's streams reserve in the account BANGBAN, gateway.audit.maxMiB + gateway.sessions.maxMiB = %d MiB, and leave room for BANGBAN_EVENTS and BANGBAN_DLQ" (int64 $js.maxFileMiB) $reserved) -}}
{{- end -}}
{ max_mem: {{ mul (int64 $js.maxMemMiB) $mib }}, max_file: {{ mul (int64 $js.maxFileMiB) $mib (int64 .Values.nats.streamReplicas) }} }
{{- end -}}

{{/* Every NATS user name of the rendered configuration: JSON list. */}}
{{- define "bangban.natsUserNames" -}}
{{- $accounts := include "bangban.natsAccounts" . | fromJson -}}
{{- $names := list -}}
{{- range $accounts.platform.users }}{{ $names = append $names .name }}{{ end -}}
{{- range $accounts.tenants }}{{ range .users }}{{ $names = append $names .name }}{{ end }}{{ end -}}
{{- toJson $names -}}
{{- end -}}

{{/* A NetworkPolicy egress rule: dict "ports" (list of numbers) "protocols" (list) "to" (peers). */}}
{{- define "bangban.egressRule" -}}
- ports:
{{- range $port := .ports }}
{{- range $proto := ($.protocols | default (list "TCP")) }}
    - { protocol: {{ $proto }}, port: {{ int64 $port }} }
{{- end }}
{{- end }}
{{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end -}}
