"""The platform's NATS account (BANGBAN) gets JetStream limits, so that no flood of the gateway's own streams
(BANGBAN_AUDIT, BANGBAN_SESSIONS) or runaway stream can fill a NATS server's store (security review, issue 16,
finding 1):

- the rendered account has `max_mem` and `max_file` from nats.platformJetStream, `max_file` per copy of a stream
  times nats.streamReplicas (a clustered server counts every replica against the account);
- the account must hold what the gateway's streams reserve (gateway.audit.maxMiB + gateway.sessions.maxMiB),
  else the chart refuses to render; the schema refuses nonsense;
- the gateway gets those sizes as BANGBAN__WEB__AUDIT_MAX_BYTES and BANGBAN__WEB__SESSIONS_MAX_BYTES;
- every account's limits together fit in one NATS server of deploy/nats/k8s/values.yaml (its PVC is its
  `max_file_store`, `max_memory_store` as set there; nats-server refuses to start JetStream otherwise), with the
  default values and one integrator, as tests/tests/e2e/nats_cluster.rs runs them.
"""

from __future__ import annotations

import re

import helm_python as helm
import pytest
import yaml

import chartlib
from test_nats_accounts import rendered_auth_conf

MIB = 1 << 20
NATS_VALUES = chartlib.CHART_DIR.parents[1] / "deploy" / "nats" / "k8s" / "values.yaml"
ACCOUNT = re.compile(r"^  ([A-Z][A-Z0-9_]*) \{\n    jetstream: (.*)$", re.M)


def accounts(conf: str) -> dict[str, tuple[int, int]]:
    """Each account's (max_mem, max_file) in bytes; (-1, -1) for `jetstream: enabled`."""
    out = {}
    for name, js in ACCOUNT.findall(conf):
        if js.strip() == "enabled":
            out[name] = (-1, -1)
            continue
        mem = re.search(r"max_mem: (\d+)", js)
        file = re.search(r"max_file: (\d+)", js)
        assert mem and file, f"{name}: {js}"
        out[name] = (int(mem.group(1)), int(file.group(1)))
    return out


def size(text: str) -> int:
    """`50Gi`, `256MB` (NATS: binary units) in bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]i?B?|)\s*", text)
    assert m, text
    unit = m.group(2)[:1]
    return int(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit]


def test_the_platform_account_has_limits_scaled_by_the_stream_replicas():
    conf = rendered_auth_conf({})
    assert accounts(conf)["BANGBAN"] == (32 * MIB, 4096 * MIB * 3), conf[:600]
    conf = rendered_auth_conf(
        {"nats": {"streamReplicas": 1, "platformJetStream": {"maxFileMiB": 10240, "maxMemMiB": 64}}}
    )
    assert accounts(conf)["BANGBAN"] == (64 * MIB, 10240 * MIB)


def test_the_platform_account_must_hold_the_gateways_streams():
    with pytest.raises(helm.HelmError) as e:
        rendered_auth_conf({"gateway": {"audit": {"maxMiB": 4096}}})
    assert "nats.platformJetStream.maxFileMiB" in str(e.value) and "4352" in str(e.value), e.value
    # An external NATS renders no account: its operator sizes it.
    chartlib.render(
        {
            "gateway": {"audit": {"maxMiB": 4096}},
            "nats": {"external": True, "credentials": {"existingSecret": "nats-creds", "type": "creds"}},
        }
    )


@pytest.mark.parametrize(
    "values, key",
    [
        ({"nats": {"platformJetStream": {"maxFileMiB": "4Gi", "maxMemMiB": 32}}}, "maxFileMiB"),
        ({"nats": {"platformJetStream": {"maxFileMiB": 0, "maxMemMiB": 32}}}, "maxFileMiB"),
        ({"gateway": {"audit": {"maxMiB": 0}}}, "maxMiB"),
        ({"gateway": {"sessions": {"maxBytes": 1}}}, "maxBytes"),
        ({"prometheusRule": {"thresholds": {"auditUsageRatio": 1.5}}}, "auditUsageRatio"),
    ],
)
def test_the_schema_refuses_nonsense(values, key):
    with helm.Chart.load(str(chartlib.CHART_DIR)) as chart:
        with pytest.raises(helm.HelmError) as e:
            chart.validate_schema(values)
        assert key in str(e.value), e.value


def test_the_gateway_gets_the_sizes_of_its_streams(releases):
    release = releases("default")
    env = chartlib.effective_env(release, release.workload("gateway").container())
    assert env["BANGBAN__WEB__AUDIT_MAX_BYTES"].value == str(2048 * MIB)
    assert env["BANGBAN__WEB__SESSIONS_MAX_BYTES"].value == str(256 * MIB)
    for other in ("intake", "planning"):
        env = chartlib.effective_env(release, release.workload(other).container())
        assert "BANGBAN__WEB__AUDIT_MAX_BYTES" not in env, other


def nats_server_store() -> tuple[int, int]:
    """(max_file_store, max_memory_store) of one NATS server as deploy/nats/k8s/values.yaml configures it."""
    values = yaml.safe_load(NATS_VALUES.read_text(encoding="utf-8"))
    js = values["config"]["jetstream"]
    file_store = size(js["fileStore"]["pvc"]["size"])
    memory = size(str(js["merge"]["max_memory_store"]).strip("<> "))
    return file_store, memory


def test_every_account_fits_in_one_nats_server():
    file_store, memory_store = nats_server_store()
    conf = rendered_auth_conf({"nats": {"integrators": [{"id": "demo", "description": "演示"}]}})
    limits = accounts(conf)
    assert "BANGBAN" in limits and "INTEGRATOR_DEMO" in limits and len(limits) > 5, limits
    assert all(f > 0 and m > 0 for m, f in limits.values()), f"every account is limited: {limits}"
    files = sum(f for _, f in limits.values())
    mems = sum(m for m, _ in limits.values())
    assert files <= file_store, f"the accounts' max_file ({files / (1 << 30):.1f} GiB) exceed a server's {file_store / (1 << 30):.0f} GiB"
    assert mems <= memory_store, f"the accounts' max_mem ({mems / MIB:.0f} MiB) exceed a server's {memory_store / MIB:.0f} MiB"
