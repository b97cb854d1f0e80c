"""The tenants' streams: the ConfigMap <release>-tenant-streams and the hook Job <release>-provision-tenants.

The chart renders one `<ACCOUNT>.json` per tenant (the offices of files/nats/accounts.json and
nats.extraOffices, the integrators of nats.integrators) from the tenant templates' `stream`: the same as the
generated deploy/nats/streams/<ACCOUNT>.json but for `num_replicas` (nats.tenantStreams.replicas, else
nats.streamReplicas). The Job runs `bangban provision-tenants` on them after install and upgrade, with the
NATS address and exactly one admin password per tenant — no other Secret. Each tenant account's JetStream
`max_file` is its stream's max_bytes times those replicas (a clustered nats-server reserves max_bytes x
replicas against the account). With nats.external (or nats.tenantStreams.enabled: false) none of it is
rendered.

Run: make chart-test (or .tools/venv/bin/python -m pytest -q tests/helm/test_tenant_streams.py).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from typing import Any

import pytest

import chartlib

STREAMS_DIR = chartlib.REPO / "deploy" / "nats" / "streams"
AUTH_CONF = chartlib.REPO / "deploy" / "nats" / "bangban-auth.conf"
ACCOUNTS_JSON = chartlib.CHART_DIR / "files" / "nats" / "accounts.json"
COMPONENT = "provision-tenants"
CONFIG_MAP = f"{chartlib.RELEASE}-tenant-streams"
JOB = f"{chartlib.RELEASE}-provision-tenants"
PASSWORDS = f"{chartlib.RELEASE}-nats-passwords"
MOUNT = "/etc/bangban/tenant-streams"


# ---- helpers ---------------------------------------------------------------------------------------


def rendered(values: dict[str, Any]) -> chartlib.Release:
    return chartlib.Release("custom", values, chartlib.split_documents(chartlib.render(values)))


def accounts() -> dict[str, Any]:
    return json.loads(ACCOUNTS_JSON.read_text(encoding="utf-8"))


def generated_streams() -> dict[str, str]:
    """ACCOUNT -> the text of deploy/nats/streams/<ACCOUNT>.json."""
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(STREAMS_DIR.glob("*.json"))}


def integrator_account(integrator_id: str) -> str:
    return "INTEGRATOR_" + integrator_id.upper().replace("-", "_")


def expected_accounts(values: dict[str, Any]) -> set[str]:
    """The tenants a values set defines: the generated offices, nats.extraOffices, nats.integrators."""
    nats = values.get("nats") or {}
    offices = [o["code"] for o in accounts()["offices"]] + [str(o["code"]) for o in nats.get("extraOffices") or []]
    return {f"OFFICE_{c}" for c in offices} | {integrator_account(i["id"]) for i in nats.get("integrators") or []}


def provisioned(release: chartlib.Release) -> bool:
    """Whether the values set has the chart provision the tenants' streams; when not (nats.external), that
    nothing of it is rendered."""
    nats = release.values.get("nats") or {}
    if not nats.get("external") and (nats.get("tenantStreams") or {}).get("enabled", True):
        return True
    assert release.find("ConfigMap", CONFIG_MAP) is None and release.find("Job", JOB) is None, release.name
    return False


def stream_files(release: chartlib.Release) -> dict[str, str]:
    cm = release.find("ConfigMap", CONFIG_MAP)
    assert cm is not None, f"[{release.name}] no ConfigMap {CONFIG_MAP}"
    data = cm.body.get("data") or {}
    assert all(k.endswith(".json") for k in data), f"[{release.name}] {CONFIG_MAP} keys: {sorted(data)}"
    return {k.removesuffix(".json"): v for k, v in data.items()}


def job(release: chartlib.Release) -> chartlib.Workload:
    return release.workload(COMPONENT, kinds=("Job",))


def tenant_replicas(values: dict[str, Any]) -> int:
    nats = values.get("nats") or {}
    return (nats.get("tenantStreams") or {}).get("replicas") or nats.get("streamReplicas", 3)


def auth_conf(release: chartlib.Release) -> str:
    secret = release.find("Secret", f"{chartlib.RELEASE}-nats-accounts")
    assert secret is not None
    return base64.b64decode(secret.body["data"]["bangban-auth.conf"]).decode("utf-8")


def max_files(conf: str) -> dict[str, int]:
    """Account -> its JetStream max_file, for the tenant accounts of a bangban-auth.conf."""
    out = {}
    account = None
    for line in conf.splitlines():
        m = re.match(r"^\s*((?:OFFICE|INTEGRATOR)_[A-Z0-9_]+) \{\s*$", line)
        if m:
            account = m.group(1)
        m = re.search(r"max_file: (\d+)", line)
        if m and account:
            out[account] = int(m.group(1))
            account = None
    return out


# ---- the ConfigMap -----------------------------------------------------------------------------------


def test_one_stream_file_per_tenant(release: chartlib.Release) -> None:
    if not provisioned(release):
        return
    files = stream_files(release)
    assert set(files) == expected_accounts(release.values), f"[{release.name}] {CONFIG_MAP} has {sorted(files)}"
    replicas = tenant_replicas(release.values)
    for account, text in files.items():
        stream = json.loads(text)
        assert stream["name"] == account
        assert stream["num_replicas"] == replicas, f"[{release.name}] {account}: {stream['num_replicas']}"
        [source] = stream["sources"]
        assert source["name"] == "BANGBAN_EVENTS"
        tenant = account.lower().replace("_", "-")
        assert source["external"] == {"api": "$JS.bangban.API", "deliver": f"bb.src.{tenant}"}, account
        if account.startswith("OFFICE_"):
            assert source["filter_subject"] == f"bb.evt.{account.removeprefix('OFFICE_')}.>"
        else:
            assert source["filter_subject"] == "bb.evt.>"
        assert "subjects" not in stream, f"{account}: a tenant stream has no subjects of its own"


def test_the_all_features_set_has_extra_offices_and_integrators(releases) -> None:
    files = stream_files(releases("all-features"))
    for account in ("OFFICE_371699", "INTEGRATOR_DEMO", "INTEGRATOR_CITY_BRAIN", "OFFICE_371625"):
        assert account in files, sorted(files)
    assert "测试县" in json.loads(files["OFFICE_371699"])["description"]
    assert json.loads(files["INTEGRATOR_CITY_BRAIN"])["sources"][0]["external"]["deliver"] == "bb.src.integrator-city-brain"


def test_default_streams_are_the_generated_ones_but_for_the_replicas(releases) -> None:
    release = releases("default")
    generated = generated_streams()
    files = stream_files(release)
    # The defaults have no integrator; the generated files have the development one (demo).
    assert set(files) == {a for a in generated if a.startswith("OFFICE_")}
    for account, text in files.items():
        ours, theirs = json.loads(text), json.loads(generated[account])
        assert ours["num_replicas"] == 3 and theirs["num_replicas"] == 1
        ours.pop("num_replicas")
        theirs.pop("num_replicas")
        assert ours == theirs, f"{account}: the chart's stream differs from deploy/nats/streams/{account}.json"


def test_with_one_replica_and_the_generators_integrators_the_files_are_identical() -> None:
    values = {"nats": {"integrators": accounts()["integrators"], "tenantStreams": {"replicas": 1}}}
    files = stream_files(rendered(values))
    generated = generated_streams()
    assert set(files) == set(generated)
    for account, text in files.items():
        assert text.strip() == generated[account].strip(), f"{account}: differs from deploy/nats/streams/{account}.json"


@pytest.mark.parametrize(
    ("nats", "replicas"),
    [
        ({}, 3),
        ({"streamReplicas": 1}, 1),
        ({"streamReplicas": 1, "tenantStreams": {"replicas": 3}}, 3),
        ({"streamReplicas": 3, "tenantStreams": {"replicas": 1}}, 1),
        ({"streamReplicas": 5, "tenantStreams": {"replicas": 0}}, 5),
    ],
)
def test_replicas_of_the_files_the_job_and_the_account_limits(nats: dict, replicas: int) -> None:
    release = rendered({"nats": nats})
    for account, text in stream_files(release).items():
        assert json.loads(text)["num_replicas"] == replicas, account
    argv = job(release).container().get("command") or []
    assert argv[argv.index("--replicas") + 1] == str(replicas), argv
    # Each tenant account may hold its stream at that many replicas: max_file = max_bytes x replicas.
    limits = max_files(auth_conf(release))
    generated = max_files(AUTH_CONF.read_text(encoding="utf-8"))
    assert limits and set(limits) == {a for a in generated if a.startswith("OFFICE_")}
    for account, text in stream_files(release).items():
        max_bytes = json.loads(text)["max_bytes"]
        assert generated[account] == max_bytes, f"{account}: the generated max_file is the stream's max_bytes"
        assert limits[account] == max_bytes * replicas, f"{account}: max_file {limits[account]} for R{replicas}"


# ---- the Job -----------------------------------------------------------------------------------------


def test_the_job_is_a_post_install_and_post_upgrade_hook(release: chartlib.Release) -> None:
    if not provisioned(release):
        return
    w = job(release)
    assert w.obj.name == JOB
    annotations = w.obj.annotations
    assert set(annotations["helm.sh/hook"].split(",")) == {"post-install", "post-upgrade"}, annotations
    assert set(annotations["helm.sh/hook-delete-policy"].split(",")) == {"before-hook-creation", "hook-succeeded"}
    spec = w.obj.spec
    ts = {**{"backoffLimit": 6, "activeDeadlineSeconds": 900, "ttlSecondsAfterFinished": 86400},
          **((release.values.get("nats") or {}).get("tenantStreams") or {})}
    for key in ("backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
        assert spec[key] == ts[key], f"[{release.name}] {key}: {spec[key]}"
    assert w.pod_labels.get(chartlib.COMPONENT) == COMPONENT
    assert w.pod_labels.get(chartlib.INSTANCE) == chartlib.RELEASE
    assert w.pod_spec["restartPolicy"] == "Never"
    # The ConfigMap is an ordinary resource, not a hook: it exists when the post-install hook runs.
    cm = release.find("ConfigMap", CONFIG_MAP)
    assert "helm.sh/hook" not in cm.annotations


def test_the_job_runs_provision_tenants_on_the_mounted_config_map(release: chartlib.Release) -> None:
    if not provisioned(release):
        return
    w = job(release)
    c = w.container()
    argv = (c.get("command") or []) + (c.get("args") or [])
    assert argv[:2] == ["bangban", "provision-tenants"], argv
    assert argv[argv.index("--streams-dir") + 1] == MOUNT, argv
    [mount] = [m for m in c["volumeMounts"] if m["mountPath"] == MOUNT]
    assert mount.get("readOnly") is True
    [volume] = [v for v in w.pod_spec["volumes"] if v["name"] == mount["name"]]
    assert volume["configMap"]["name"] == CONFIG_MAP
    env = chartlib.effective_env(release, c)
    assert env["BANGBAN__NATS__URL"].value == (release.values.get("nats") or {}).get("url", "nats://nats:4222")
    assert not c.get("envFrom"), "no ConfigMap or Secret given whole"


def test_the_job_gets_exactly_one_admin_password_per_tenant_and_no_other_secret(release: chartlib.Release) -> None:
    if not provisioned(release):
        return
    w = job(release)
    refs = chartlib.secret_refs(release, w)
    admins = {f"BANGBAN_NATS_PASSWORD_{a}_ADMIN" for a in expected_accounts(release.values)}
    assert all(r.via == "env" for r in refs), [str(r) for r in refs]
    assert all(r.secret == PASSWORDS for r in refs), [str(r) for r in refs]
    keys = [r.key for r in refs]
    assert sorted(keys) == sorted(admins), f"[{release.name}] secret keys: {keys}"
    assert all(r.env == r.key for r in refs), "each under its own variable name"
    # The passwords Secret has those keys.
    secret = release.find("Secret", PASSWORDS)
    assert secret is not None and admins <= set(secret.body.get("data") or {})
    env = chartlib.effective_env(release, w.container())
    for name in ("BANGBAN__DATABASE__URL", "BANGBAN__PII__KEY", "BANGBAN__NATS__USER", "BANGBAN__NATS__PASSWORD"):
        assert name not in env, f"[{release.name}] the Job gets {name}"


def test_the_job_has_the_pod_settings_of_the_migration_job(release: chartlib.Release) -> None:
    if not provisioned(release):
        return
    ours, theirs = job(release), release.migration_job()
    for key in ("securityContext", "imagePullSecrets", "nodeSelector", "tolerations", "priorityClassName",
                "automountServiceAccountToken", "enableServiceLinks", "restartPolicy"):
        assert ours.pod_spec.get(key) == theirs.pod_spec.get(key), f"[{release.name}] pod {key}"
    for key in ("image", "imagePullPolicy", "securityContext"):
        assert ours.container().get(key) == theirs.container().get(key), f"[{release.name}] container {key}"
    ts = (release.values.get("nats") or {}).get("tenantStreams") or {}
    resources = ours.container()["resources"]
    assert resources["requests"] and resources["limits"]
    if "resources" in ts:
        assert resources == ts["resources"]


def test_an_existing_passwords_secret_is_used() -> None:
    release = rendered({"nats": {"auth": {"existingPasswordsSecret": "my-nats-passwords"}}})
    refs = chartlib.secret_refs(release, job(release))
    assert refs and {r.secret for r in refs} == {"my-nats-passwords"}


def test_the_job_may_reach_dns_and_nats_only(release: chartlib.Release) -> None:
    if not provisioned(release):
        return
    w = job(release)
    policies = [
        np for np in release.of_kind("NetworkPolicy")
        if chartlib.selector_matches(np.spec.get("podSelector"), w.pod_labels)
    ]
    assert policies, f"[{release.name}] no NetworkPolicy selects the Job's pods"
    own = [np for np in policies if np.name == JOB]
    assert own, f"[{release.name}] the default-deny policy would block the Job's NATS egress"
    nats_port = 4222
    ports = {p["port"] for np in policies for rule in np.spec.get("egress") or [] for p in rule.get("ports") or []}
    assert ports == {53, nats_port}, f"[{release.name}] egress ports {ports}"
    assert not any(np.spec.get("ingress") for np in policies), "no ingress"


# ---- when it is not rendered ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "nats",
    [
        {"external": True, "credentials": {"existingSecret": "nats-creds", "type": "password"}},
        {"tenantStreams": {"enabled": False}},
    ],
    ids=["external", "disabled"],
)
def test_absent_with_external_nats_or_disabled(nats: dict) -> None:
    release = rendered({"nats": nats})
    assert release.find("ConfigMap", CONFIG_MAP) is None
    assert release.find("Job", JOB) is None
    assert release.find("NetworkPolicy", JOB) is None
    assert not [w for w in release.workloads() if w.component == COMPONENT]


def test_disabled_still_scales_the_account_limits() -> None:
    """Provisioned by hand, the streams still need room for their replicas."""
    release = rendered({"nats": {"tenantStreams": {"enabled": False}}})
    generated = max_files(AUTH_CONF.read_text(encoding="utf-8"))
    for account, limit in max_files(auth_conf(release)).items():
        assert limit == 3 * generated[account], account


@pytest.mark.parametrize(
    "tenant_streams",
    [{"replicas": 6}, {"replicas": -1}, {"replica": 3}, {"enabled": "yes"}, {"resources": {"limit": {}}}],
)
def test_the_schema_refuses_bad_values(tenant_streams: dict) -> None:
    import helm_python as helm

    values = copy.deepcopy({"nats": {"tenantStreams": tenant_streams}})
    with helm.Chart.load(str(chartlib.CHART_DIR)) as chart:
        with pytest.raises(helm.HelmError):
            chart.validate_schema(values)
