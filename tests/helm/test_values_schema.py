"""values.schema.json refuses what a typo or a wrong type would otherwise silently ignore, and accepts
the values files the chart ships."""

from __future__ import annotations

import copy
import json

import helm_python as helm
import pytest

import chartlib


@pytest.fixture(scope="module")
def chart():
    with helm.Chart.load(str(chartlib.CHART_DIR)) as c:
        yield c


def test_chart_ships_a_values_schema(chart) -> None:
    path = chartlib.CHART_DIR / "values.schema.json"
    assert path.is_file(), "helm/bangban/values.schema.json is missing"
    schema = json.loads(path.read_text(encoding="utf-8"))
    assert chart.schema is not None, "Helm does not see values.schema.json"
    assert schema.get("additionalProperties") is False, (
        "values.schema.json: the top level must set additionalProperties: false (typos are refused)"
    )


def test_shipped_values_pass(chart, values_set: str) -> None:
    values = chartlib.load_values(values_set)
    try:
        chart.validate_schema(values)
    except helm.HelmError as e:
        pytest.fail(f"[{values_set}] values.schema.json refuses the shipped values: {e}")


def _refused(chart, values: dict, what: str, key: str) -> None:
    with pytest.raises(helm.HelmError) as schema_error:
        chart.validate_schema(values)
    assert key in str(schema_error.value), (
        f"values.schema.json refuses {what}, but the message does not name {key!r}: {schema_error.value}"
    )
    with pytest.raises(helm.HelmError):
        chart.render(values, name=chartlib.RELEASE, namespace=chartlib.NAMESPACE, is_install=True)


def _gateway_values(chart) -> dict:
    defaults = chart.values
    gateway = (defaults.get("services") or {}).get("gateway")
    assert isinstance(gateway, dict), "values.yaml has no services.gateway mapping"
    return gateway


def test_typo_in_a_top_level_key_is_refused(chart) -> None:
    _refused(chart, {"ingres": {"enabled": True}}, "the top-level typo `ingres`", "ingres")


def test_typo_in_a_nested_key_is_refused(chart) -> None:
    gateway = _gateway_values(chart)
    assert "replica" not in gateway
    _refused(chart, {"services": {"gateway": {"replica": 3}}}, "the nested typo services.gateway.replica", "replica")


def test_wrong_type_is_refused(chart) -> None:
    _gateway_values(chart)
    try:
        chart.validate_schema({"services": {"gateway": {"replicas": 3}}})
    except helm.HelmError as e:
        pytest.fail(f"values.schema.json refuses services.gateway.replicas: 3 (a valid override): {e}")
    _refused(chart, {"services": {"gateway": {"replicas": "two"}}}, 'services.gateway.replicas: "two"', "replicas")


def test_unknown_service_is_refused(chart) -> None:
    services = copy.deepcopy(chart.values.get("services") or {})
    services["gatewy"] = copy.deepcopy(services.get("gateway") or {})
    _refused(chart, {"services": {"gatewy": services["gatewy"]}}, "the service typo services.gatewy", "gatewy")
