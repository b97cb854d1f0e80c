{{/*
The environment of one service: dict "root" $ "name" "intake" "svc" <effective settings>. Each Secret is given
only to the services that read it, one secretKeyRef per variable.
*/}}
{{- define "bangban.env" -}}
{{- $root := .root -}}
{{- $name := .name -}}
{{- $svc := .svc -}}
{{- $v := $root.Values -}}
{{- $catalog := include "bangban.catalog" $root | fromYaml -}}
{{- $meta := get $catalog $name -}}
- name: POD_NAME
  valueFrom: { fieldRef: { fieldPath: metadata.name } }
- name: POD_NAMESPACE
  valueFrom: { fieldRef: { fieldPath: metadata.namespace } }
- name: NODE_NAME
  valueFrom: { fieldRef: { fieldPath: spec.nodeName } }
{{- $attrs := list "k8s.namespace.name=$(POD_NAMESPACE)" "k8s.pod.name=$(POD_NAME)" "k8s.node.name=$(NODE_NAME)" (printf "k8s.deployment.name=%s" (include "bangban.componentName" (dict "root" $root "component" $name))) }}
{{- range $k, $val := $v.telemetry.resourceAttributes }}
{{- $attrs = append $attrs (printf "%s=%s" $k (toString $val)) }}
{{- end }}
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ join "," $attrs | quote }}
{{- /* NATS: this service's own user and only its own credential. */}}
{{- if not $v.nats.external }}
- name: BANGBAN__NATS__USER
  value: {{ $name | quote }}
- name: BANGBAN__NATS__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "bangban.natsPasswordsSecret" $root }}
      key: {{ include "bangban.natsPasswordVariable" $name }}
{{- else if eq $v.nats.credentials.type "password" }}
- name: BANGBAN__NATS__USER
  value: {{ get ($v.nats.credentials.users | default dict) $name | default $name | quote }}
- name: BANGBAN__NATS__PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "nats.credentials.existingSecret is required with nats.external" $v.nats.credentials.existingSecret }}
      key: {{ get ($v.nats.credentials.keys | default dict) $name | default (printf "%s.password" $name) }}
{{- else if eq $v.nats.credentials.type "nkey" }}
- name: BANGBAN__NATS__NKEY_SEED_FILE
  value: /etc/bangban/nats/nkey.seed
{{- else if eq $v.nats.credentials.type "creds" }}
- name: BANGBAN__NATS__CREDS_FILE
  value: /etc/bangban/nats/user.creds
{{- end }}
{{- /* PostgreSQL: every service but the gateway. */}}
{{- if $meta.database }}
{{- $db := include "bangban.databaseSecret" $root | fromJson }}
- name: BANGBAN__DATABASE__URL
  valueFrom:
    secretKeyRef: { name: {{ $db.name }}, key: {{ $db.key }} }
{{- end }}
{{- /* The PII key: intake, notification, evaluation. */}}
{{- if $meta.pii }}
{{- $pii := include "bangban.piiSecret" $root | fromJson }}
- name: BANGBAN__PII__KEY
  valueFrom:
    secretKeyRef: { name: {{ $pii.name }}, key: {{ $pii.key }} }
{{- end }}
{{- if eq $name "gateway" }}
- name: BANGBAN__WEB__TRUSTED_PROXIES
  value: {{ join "," $v.gateway.trustedProxies | quote }}
- name: BANGBAN__WEB__SECURE_COOKIES
  value: {{ $v.gateway.secureCookies | quote }}
- name: BANGBAN__WEB__AUDIT_MAX_BYTES
  value: {{ mul (int64 $v.gateway.audit.maxMiB) 1048576 | quote }}
- name: BANGBAN__WEB__SESSIONS_MAX_BYTES
  value: {{ mul (int64 $v.gateway.sessions.maxMiB) 1048576 | quote }}
{{- with $v.gateway.oidc.clientId }}
- name: BANGBAN__WEB__OIDC_CLIENT_ID
  value: {{ . | quote }}
{{- end }}
{{- with $v.gateway.oidc.redirectUrl }}
- name: BANGBAN__WEB__OIDC_REDIRECT_URL
  value: {{ . | quote }}
{{- end }}
{{- with $v.gateway.oidc.scopes }}
- name: BANGBAN__WEB__OIDC_SCOPES
  value: {{ . | quote }}
{{- end }}
{{- with $v.gateway.oidc.clientSecret.existingSecret }}
- name: BANGBAN__WEB__OIDC_CLIENT_SECRET
  valueFrom:
    secretKeyRef: { name: {{ . }}, key: {{ $v.gateway.oidc.clientSecret.key }} }
{{- end }}
{{- with $v.gateway.hotline.existingSecret }}
- name: BANGBAN__HOTLINE__SECRET
  valueFrom:
    secretKeyRef: { name: {{ . }}, key: {{ $v.gateway.hotline.key }} }
{{- end }}
{{- if and (eq $v.auth.mode "development") $v.auth.devSecret.existingSecret }}
- name: BANGBAN__AUTH__DEV_SECRET
  valueFrom:
    secretKeyRef: { name: {{ $v.auth.devSecret.existingSecret }}, key: {{ $v.auth.devSecret.key }} }
{{- end }}
{{- end }}
{{- if eq $name "intake" }}
{{- if eq $v.storage.kind "s3" }}
- name: BANGBAN__STORAGE__BACKEND
  value: s3
- name: BANGBAN__STORAGE__S3__BUCKET
  value: {{ required "storage.s3.bucket is required with storage.kind s3" $v.storage.s3.bucket | quote }}
{{- with $v.storage.s3.region }}
- name: BANGBAN__STORAGE__S3__REGION
  value: {{ . | quote }}
{{- end }}
{{- with $v.storage.s3.endpoint }}
- name: BANGBAN__STORAGE__S3__ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: BANGBAN__STORAGE__S3__ALLOW_HTTP
  value: {{ $v.storage.s3.allowHttp | quote }}
{{- with $v.storage.s3.existingSecret }}
- name: BANGBAN__STORAGE__S3__ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: { name: {{ . }}, key: {{ $v.storage.s3.accessKeyIdKey }} }
- name: BANGBAN__STORAGE__S3__SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef: { name: {{ . }}, key: {{ $v.storage.s3.secretAccessKeyKey }} }
{{- end }}
{{- else }}
- name: BANGBAN__STORAGE__BACKEND
  value: local
- name: BANGBAN__STORAGE__LOCAL_DIR
  value: /var/lib/bangban/objects
{{- end }}
{{- end }}
{{- if eq $name "notification" }}
{{- $n := $v.notification }}
- name: BANGBAN__NOTIFICATION__PROVIDER
  value: {{ $n.provider | quote }}
- name: BANGBAN__NOTIFICATION__SIGN_NAME
  value: {{ $n.signName | quote }}
- name: BANGBAN__NOTIFICATION__QUIET_HOURS
  value: {{ $n.quietHours | quote }}
{{- $secret := $n.existingSecret }}
{{- if ne $n.provider "log" }}
{{- $secret = required (printf "notification.existingSecret is required with provider %s" $n.provider) $n.existingSecret }}
{{- end }}
{{- if eq $n.provider "webhook" }}
- name: BANGBAN__NOTIFICATION__WEBHOOK__URL
  value: {{ required "notification.webhook.url is required with provider webhook" $n.webhook.url | quote }}
- name: BANGBAN__NOTIFICATION__WEBHOOK__SECRET
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $n.keys.webhookSecret }} }
{{- end }}
{{- if eq $n.provider "aliyun" }}
{{- with $n.aliyun.endpoint }}
- name: BANGBAN__NOTIFICATION__ALIYUN__ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: BANGBAN__NOTIFICATION__ALIYUN__ACCESS_KEY_ID
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $n.keys.aliyunAccessKeyId }} }
- name: BANGBAN__NOTIFICATION__ALIYUN__ACCESS_KEY_SECRET
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $n.keys.aliyunAccessKeySecret }} }
{{- end }}
{{- if eq $n.provider "tencent" }}
- name: BANGBAN__NOTIFICATION__TENCENT__SMS_SDK_APP_ID
  value: {{ required "notification.tencent.smsSdkAppId is required with provider tencent" $n.tencent.smsSdkAppId | quote }}
{{- with $n.tencent.region }}
- name: BANGBAN__NOTIFICATION__TENCENT__REGION
  value: {{ . | quote }}
{{- end }}
{{- with $n.tencent.endpoint }}
- name: BANGBAN__NOTIFICATION__TENCENT__ENDPOINT
  value: {{ . | quote }}
{{- end }}
- name: BANGBAN__NOTIFICATION__TENCENT__SECRET_ID
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $n.keys.tencentSecretId }} }
- name: BANGBAN__NOTIFICATION__TENCENT__SECRET_KEY
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $n.keys.tencentSecretKey }} }
{{- end }}
{{- if or (eq $n.provider "aliyun") (eq $n.provider "tencent") }}
{{- /* The token the Aliyun/Tencent receipt callbacks carry; checked by notification (the gateway forwards it). */}}
- name: BANGBAN__NOTIFICATION__RECEIPT_TOKEN
  valueFrom:
    secretKeyRef: { name: {{ $secret }}, key: {{ $n.keys.receiptToken }} }
{{- end }}
{{- end }}
{{- if and (eq $name "evaluation") $v.evaluation.linkBase }}
- name: BANGBAN__EVALUATION__LINK_BASE
  value: {{ $v.evaluation.linkBase | quote }}
{{- end }}
{{- range $k, $val := ($svc.settings | default dict) }}
- name: {{ $k }}
  value: {{ $val | toString | quote }}
{{- end }}
{{- with $svc.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
