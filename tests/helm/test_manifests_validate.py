"""Every rendered object is valid for Kubernetes 1.30 (kubernetes-validate, strict: unknown fields are
errors); the prometheus-operator kinds are checked against the vendored schemas of schemas/ (see
schemas/README.md), and the alert expressions are at least balanced."""

from __future__ import annotations

import json
from functools import lru_cache

import jsonschema
import kubernetes_validate
import pytest

import chartlib

# apiVersion/kind -> vendored JSON Schema (strict: unknown properties refused)
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}


@lru_cache(maxsize=None)
def crd_validator(filename: str) -> jsonschema.protocols.Validator:
    schema = json.loads((chartlib.SCHEMAS_DIR / filename).read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(document)"


def test_every_object_validates_for_kubernetes_1_30(release: chartlib.Release) -> None:
    assert release.objects, f"[{release.name}] the chart rendered no object"
    problems = []
    for obj in release.objects:
        key = (obj.api_version, obj.kind)
        if key in CRD_SCHEMAS:
            errors = sorted(crd_validator(CRD_SCHEMAS[key]).iter_errors(obj.body), key=lambda e: list(e.absolute_path))
            problems += [f"{obj}: {_path(e)}: {e.message}" for e in errors]
            continue
        try:
            kubernetes_validate.validate(obj.body, chartlib.KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            problems.append(f"{obj}: {'.'.join(str(p) for p in e.path) or '(document)'}: {e.message}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(
                f"{obj}: no schema for {obj.api_version} {obj.kind} in Kubernetes 1.30 "
                "(a removed or misspelt apiVersion, or a CRD without a vendored schema)"
            )
    assert not problems, f"[{release.name}] invalid objects:\n" + "\n".join(problems)


def test_objects_are_named_and_unique(release: chartlib.Release) -> None:
    seen: dict[tuple[str, str, str, str], str] = {}
    problems = []
    for obj in release.objects:
        if not obj.name:
            problems.append(f"{obj}: no metadata.name")
            continue
        group = obj.api_version.rpartition("/")[0]
        key = (group, obj.kind, obj.metadata.get("namespace") or chartlib.NAMESPACE, obj.name)
        if key in seen:
            problems.append(f"{obj}: same kind and name as {seen[key]}")
        seen[key] = str(obj)
        if len(obj.name) > 63 and obj.kind in ("Service", "Deployment", "StatefulSet", "Job", "CronJob"):
            problems.append(f"{obj}: name longer than 63 characters")
    assert not problems, f"[{release.name}]\n" + "\n".join(problems)


def test_vendored_crd_schemas_refuse_unknown_fields() -> None:
    """The vendored schemas are strict: a misspelt field of a ServiceMonitor endpoint or of an alert
    rule is an error (this is what makes the validation above worth having)."""
    sm = crd_validator(CRD_SCHEMAS[("monitoring.coreos.com/v1", "ServiceMonitor")])
    good_sm = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x", "labels": {"a": "b"}},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}],
        },
    }
    assert not list(sm.iter_errors(good_sm))
    bad = json.loads(json.dumps(good_sm))
    bad["spec"]["endpoints"][0]["intervall"] = "30s"
    assert any("intervall" in e.message for e in sm.iter_errors(bad))
    bad = json.loads(json.dumps(good_sm))
    bad["spec"]["endpoints"][0]["interval"] = "30 seconds"
    assert list(sm.iter_errors(bad)), "a malformed duration must be refused"

    pr = crd_validator(CRD_SCHEMAS[("monitoring.coreos.com/v1", "PrometheusRule")])
    good_pr = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "x"},
        "spec": {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0", "for": "5m"}]}]},
    }
    assert not list(pr.iter_errors(good_pr))
    bad = json.loads(json.dumps(good_pr))
    bad["spec"]["groups"][0]["rules"][0]["labelz"] = {}
    assert any("labelz" in e.message for e in pr.iter_errors(bad))


def _rules(release: chartlib.Release):
    for obj in release.of_kind("PrometheusRule"):
        for g, group in enumerate(obj.spec.get("groups") or []):
            for r, rule in enumerate(group.get("rules") or []):
                yield obj, group.get("name", f"#{g}"), r, rule


def test_prometheus_rule_expressions_are_balanced(release: chartlib.Release) -> None:
    problems = []
    for obj, group, r, rule in _rules(release):
        name = rule.get("alert") or rule.get("record") or f"rule #{r}"
        if bool(rule.get("alert")) == bool(rule.get("record")):
            problems.append(f"{obj}: group {group} {name}: exactly one of alert and record must be set")
        expr = rule.get("expr")
        if not isinstance(expr, str):
            problems.append(f"{obj}: group {group} {name}: expr is not a string: {expr!r}")
            continue
        why = chartlib.promql_balance_error(expr)
        if why:
            problems.append(f"{obj}: group {group} {name}: expr {why}: {expr!r}")
        for field in ("labels", "annotations"):
            for k, v in (rule.get(field) or {}).items():
                if isinstance(v, str) and (v.count("{{") != v.count("}}")):
                    problems.append(f"{obj}: group {group} {name}: {field}.{k} has unbalanced {{{{ }}}}: {v!r}")
    assert not problems, f"[{release.name}] PrometheusRule problems:\n" + "\n".join(problems)


def test_all_features_renders_the_prometheus_operator_objects(releases) -> None:
    """The all-features values set is the one that exercises the ServiceMonitor and PrometheusRule
    templates; without them the checks above would pass vacuously."""
    release = releases("all-features")
    kinds = {o.kind for o in release.objects}
    missing = {"ServiceMonitor", "PrometheusRule"} - kinds
    assert not missing, f"[all-features] renders no {', '.join(sorted(missing))}"
    assert any(True for _ in _rules(release)), "[all-features] the PrometheusRule has no rules"


@pytest.mark.parametrize(
    "expr, ok",
    [
        ('sum(rate(x{job="a"}[5m])) by (le) > 1', True),
        ('rate(x{job="a}"}[5m])', True),
        ("sum(rate(x[5m])", False),
        ('x{job="a}', False),
        ("x{job='a'}[5m]]", False),
        ("", False),
    ],
)
def test_promql_balance_checker(expr: str, ok: bool) -> None:
    assert (chartlib.promql_balance_error(expr) is None) is ok
