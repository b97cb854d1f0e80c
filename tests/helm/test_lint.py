"""`helm lint --strict --kube-version v1.30.0` for every values set: no errors, no warnings."""

from __future__ import annotations

import helm_python as helm

import chartlib

SEVERITY = {0: "UNKNOWN", 1: "INFO", 2: "WARNING", 3: "ERROR"}


def test_lint_strict(values_set: str) -> None:
    values = chartlib.load_values(values_set)
    report = helm.lint(
        str(chartlib.CHART_DIR), values, strict=True, kube_version=chartlib.KUBE_VERSION,
        namespace=chartlib.NAMESPACE,
    )
    problems = [
        f"{SEVERITY.get(m['severity'], m['severity'])} {m.get('path')}: {m.get('error')}"
        for m in report.get("messages") or []
        if m.get("severity", 0) >= 2
    ]
    problems += [f"ERROR {e}" for e in report.get("errors") or []]
    assert not problems, f"[{values_set}] helm lint --strict (kube {chartlib.KUBE_VERSION}):\n" + "\n".join(problems)
    assert report.get("total_charts_linted", 0) >= 1, f"[{values_set}] helm lint linted no chart: {report}"
