"""The PrometheusRule's alerts, checked by Prometheus's own promtool (Debian's `prometheus` package):
`promtool check rules` parses every expression, and `promtool test rules` feeds made-up series to the
rendered rules and asserts which alerts fire, when and with which labels — so a wrong metric name, label
value or threshold fails here, not at 3 a.m.

promtool comes from Debian (make test installs it when missing: deploy/dev/ensure-promtool.sh).
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml


def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: bash deploy/dev/ensure-promtool.sh installs Debian's prometheus package"
    return path


def rule_groups(release) -> list[dict]:
    rules = release.of_kind("PrometheusRule")
    assert len(rules) == 1, f"one PrometheusRule expected, found {len(rules)}"
    return rules[0].body["spec"]["groups"]


def write_rules(tmp_path: Path, release, annotations: bool = True) -> Path:
    groups = rule_groups(release)
    if not annotations:
        # promtool's unit tests compare annotations too; theirs are templates already checked by `check rules`.
        groups = [
            {**g, "rules": [{k: v for k, v in r.items() if k != "annotations"} for r in g["rules"]]} for g in groups
        ]
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, allow_unicode=True), encoding="utf-8")
    return path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_every_rule_parses_with_promtool(releases, tmp_path):
    path = write_rules(tmp_path, releases("all-features"))
    out = run("check", "rules", str(path), cwd=tmp_path)
    assert out.returncode == 0, f"promtool check rules:\n{out.stdout}\n{out.stderr}"
    assert "SUCCESS" in out.stdout, out.stdout


# Each case: the input series (promtool's expanding notation: `0+1x10` = 0, 1, 2 … over ten steps),
# when to evaluate, and the alerts expected then (labels beyond alertname, severity checked loosely below).
UNIT_TESTS = """
evaluation_interval: 1m
tests:
  # An event given up on (dead-lettered) pages at once; a retried one does not.
  - interval: 1m
    input_series:
      - series: 'bangban_events_consumed_total{namespace="bangban", consumer="planning-cases", outcome="dead_lettered"}'
        values: '0 0 0 1 1 1 1 1'
      - series: 'bangban_events_consumed_total{namespace="bangban", consumer="routing-plans", outcome="retried"}'
        values: '0 1 2 3 4 5 6 7'
    alert_rule_test:
      - eval_time: 2m
        alertname: BangbanDeadLetters
        exp_alerts: []
      - eval_time: 5m
        alertname: BangbanDeadLetters
        exp_alerts:
          - exp_labels: {severity: warning, consumer: planning-cases}
  # The outbox's oldest row waiting more than 5 minutes, for 5 minutes: critical. A backlog that drains is quiet.
  - interval: 1m
    input_series:
      - series: 'bangban_outbox_oldest_pending_seconds{namespace="bangban", service="intake"}'
        values: '0+60x20'
      - series: 'bangban_outbox_oldest_pending_seconds{namespace="bangban", service="routing"}'
        values: '0 30 0 30 0 30 0 30 0 30 0 30 0 30 0 30 0 30 0 30'
    alert_rule_test:
      - eval_time: 8m
        alertname: BangbanOutboxBacklog
        exp_alerts: []
      - eval_time: 12m
        alertname: BangbanOutboxBacklog
        exp_alerts:
          - exp_labels: {severity: critical, service: intake}
  # An SMS given up on (technical failure after the retry budget) is reported.
  - interval: 1m
    input_series:
      - series: 'bangban_notification_attempts_total{namespace="bangban", provider="aliyun", outcome="gave_up"}'
        values: '0 0 1 1 1 1'
      - series: 'bangban_notification_attempts_total{namespace="bangban", provider="aliyun", outcome="sent"}'
        values: '0+10x5'
    alert_rule_test:
      - eval_time: 1m
        alertname: BangbanSmsGivenUp
        exp_alerts: []
      - eval_time: 4m
        alertname: BangbanSmsGivenUp
        exp_alerts:
          - exp_labels: {severity: warning, provider: aliyun}
  # A Deployment with no available replica for 5 minutes.
  - interval: 1m
    input_series:
      - series: 'kube_deployment_status_replicas_available{namespace="bangban", deployment="bangban-routing"}'
        values: '2 2 0 0 0 0 0 0 0 0'
      - series: 'kube_deployment_status_replicas_available{namespace="bangban", deployment="bangban-gateway"}'
        values: '2 2 2 2 2 2 2 2 2 2'
    alert_rule_test:
      - eval_time: 4m
        alertname: BangbanServiceDown
        exp_alerts: []
      - eval_time: 8m
        alertname: BangbanServiceDown
        exp_alerts:
          - exp_labels: {severity: critical, namespace: bangban, deployment: bangban-routing}
  # An audit record dropped (the gateway's queue full, or it stopped first) pages at once.
  - interval: 1m
    input_series:
      - series: 'bangban_audit_dropped_total{namespace="bangban", pod="bangban-gateway-1"}'
        values: '0 0 0 2 2 2'
      - series: 'bangban_audit_dropped_total{namespace="bangban", pod="bangban-gateway-2"}'
        values: '0 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 2m
        alertname: BangbanAuditRecordsDropped
        exp_alerts: []
      - eval_time: 4m
        alertname: BangbanAuditRecordsDropped
        exp_alerts:
          - exp_labels: {severity: critical}
  # A full audit log (one replica found it full: writes are refused) for 2 minutes pages.
  - interval: 1m
    input_series:
      - series: 'bangban_audit_full{namespace="bangban", pod="bangban-gateway-1"}'
        values: '0 0 1 1 1 1 1'
      - series: 'bangban_audit_full{namespace="bangban", pod="bangban-gateway-2"}'
        values: '0 0 0 0 0 0 0'
    alert_rule_test:
      - eval_time: 3m
        alertname: BangbanAuditLogFull
        exp_alerts: []
      - eval_time: 5m
        alertname: BangbanAuditLogFull
        exp_alerts:
          - exp_labels: {severity: critical}
  # 90 % of max_bytes used for 30 minutes warns; a stream without a size limit (max_bytes -1) does not.
  - interval: 1m
    input_series:
      - series: 'bangban_audit_stream_bytes{namespace="bangban", pod="bangban-gateway-1"}'
        values: '4500x60'
      - series: 'bangban_audit_stream_max_bytes{namespace="bangban", pod="bangban-gateway-1"}'
        values: '5000x60'
    alert_rule_test:
      - eval_time: 20m
        alertname: BangbanAuditLogNearlyFull
        exp_alerts: []
      - eval_time: 35m
        alertname: BangbanAuditLogNearlyFull
        exp_alerts:
          - exp_labels: {severity: warning}
  - interval: 1m
    input_series:
      - series: 'bangban_audit_stream_bytes{namespace="bangban", pod="bangban-gateway-1"}'
        values: '4500x60'
      - series: 'bangban_audit_stream_max_bytes{namespace="bangban", pod="bangban-gateway-1"}'
        values: '-1x60'
    alert_rule_test:
      - eval_time: 45m
        alertname: BangbanAuditLogNearlyFull
        exp_alerts: []
  # Records waiting to be stored for 10 minutes warn; a short wait does not.
  - interval: 1m
    input_series:
      - series: 'bangban_audit_pending{namespace="bangban", pod="bangban-gateway-1"}'
        values: '0 3 3 0 0 5 5 5 5 5 5 5 5 5 5 5 5 5'
    alert_rule_test:
      - eval_time: 4m
        alertname: BangbanAuditBacklog
        exp_alerts: []
      - eval_time: 16m
        alertname: BangbanAuditBacklog
        exp_alerts:
          - exp_labels: {severity: warning}
  # Deadline alarms firing late: the 99th percentile of the lag above 5 s for 10 minutes.
  - interval: 1m
    input_series:
      - series: 'bangban_deadline_alarm_lag_seconds_bucket{namespace="bangban", le="1"}'
        values: '0+0x30'
      - series: 'bangban_deadline_alarm_lag_seconds_bucket{namespace="bangban", le="10"}'
        values: '0+100x30'
      - series: 'bangban_deadline_alarm_lag_seconds_bucket{namespace="bangban", le="+Inf"}'
        values: '0+100x30'
    alert_rule_test:
      - eval_time: 5m
        alertname: BangbanAlarmLagHigh
        exp_alerts: []
      - eval_time: 25m
        alertname: BangbanAlarmLagHigh
        exp_alerts:
          - exp_labels: {severity: warning}
"""


def test_the_alerts_fire_on_the_series_they_are_about(releases, tmp_path):
    rules = write_rules(tmp_path, releases("all-features"), annotations=False)
    tests = yaml.safe_load(UNIT_TESTS)
    tests["rule_files"] = [rules.name]
    # promtool compares every label of a firing alert: take the static ones other than severity (which each
    # case states) from the rendered rule itself.
    static = {
        r["alert"]: {k: v for k, v in (r.get("labels") or {}).items() if k != "severity"}
        for g in rule_groups(releases("all-features"))
        for r in g["rules"]
        if "alert" in r
    }
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            for alert in check["exp_alerts"]:
                alert["exp_labels"] = {**static[check["alertname"]], **alert["exp_labels"]}
    path = tmp_path / "alerts_test.yaml"
    path.write_text(yaml.safe_dump(tests, allow_unicode=True), encoding="utf-8")
    out = run("test", "rules", path.name, cwd=tmp_path)
    assert out.returncode == 0, "promtool test rules:\n" + textwrap.indent(out.stdout + out.stderr, "  ")
    assert "SUCCESS" in out.stdout, out.stdout


ROOT = Path(__file__).resolve().parents[2]


def rust_sources() -> str:
    return "\n".join(
        p.read_text(encoding="utf-8") for d in ("services", "shared") for p in (ROOT / d).rglob("src/**/*.rs")
    )


def test_the_rules_use_only_metrics_and_label_values_the_code_emits(releases):
    import re

    code = rust_sources()
    exprs = [r["expr"] for g in rule_groups(releases("all-features")) for r in g["rules"] if "alert" in r]
    ours = {m for e in exprs for m in re.findall(r"\b(bangban_[a-z_]+)", e)}
    assert ours, "the rules watch no bangban_ metric"
    for metric in sorted(ours):
        base = re.sub(r"_(bucket|sum|count)$", "", metric)
        assert f'"{base}"' in code, f"the PrometheusRule uses {metric}, which no service emits (no \"{base}\" in the code)"
    # Every label value an alert matches on is a value the code writes.
    for e in exprs:
        for values in re.findall(r'outcome=~?"([^"]+)"', e):
            for value in values.split("|"):
                assert f'"{value}"' in code, f'an alert matches outcome="{value}", which the code never writes: {e}'
