"""Helpers of the chart tests: rendering helm/bangban with Helm's own engine (helm-python-sdk), and
reading the rendered objects the way Kubernetes would (pod specs, effective environment, Secret
references, label selectors, ports).

Objects are found by kind and by the label app.kubernetes.io/component, never by template file name.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import yaml

REPO = Path(__file__).resolve().parents[2]
# BANGBAN_CHART_DIR: test another copy of the chart (e.g. a deliberately broken one)
CHART_DIR = Path(os.environ.get("BANGBAN_CHART_DIR") or REPO / "helm" / "bangban").resolve()
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"

RELEASE = "bangban"
NAMESPACE = "bangban"
KUBE_VERSION = "v1.30.0"

# The values sets every test runs against: name -> values file relative to the chart ("" = the
# chart's own values.yaml only).
VALUES_SETS = {
    "default": "",
    "all-features": "ci/all-features-values.yaml",
    "pvc": "ci/pvc-values.yaml",
}

# One Deployment per service; the label app.kubernetes.io/component names it.
SERVICES = ("gateway", "intake", "planning", "routing", "deadline", "notification", "evaluation")
MIGRATE = "migrate"

COMPONENT = "app.kubernetes.io/component"
INSTANCE = "app.kubernetes.io/instance"

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod")


# ---- loading and rendering ----------------------------------------------------------------------


def load_values(name: str) -> dict[str, Any]:
    """The user-supplied values of a values set (the chart's values.yaml applies underneath)."""
    rel = VALUES_SETS[name]
    if not rel:
        return {}
    path = CHART_DIR / rel
    if not path.is_file():
        raise FileNotFoundError(f"values set {name!r}: {path} is missing")
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded or {}


def render(values: dict[str, Any] | None = None) -> dict[str, str]:
    """Render the chart as `helm install bangban -n bangban` would: {template path: text}."""
    import helm_python as helm

    with helm.Chart.load(str(CHART_DIR)) as chart:
        return chart.render(values or {}, name=RELEASE, namespace=NAMESPACE, is_install=True)


@dataclass
class Obj:
    """One rendered Kubernetes object."""

    body: dict[str, Any]
    source: str  # template path, for messages only

    @property
    def kind(self) -> str:
        return self.body.get("kind", "")

    @property
    def api_version(self) -> str:
        return self.body.get("apiVersion", "")

    @property
    def metadata(self) -> dict[str, Any]:
        return self.body.get("metadata") or {}

    @property
    def name(self) -> str:
        return self.metadata.get("name", "")

    @property
    def labels(self) -> dict[str, str]:
        return self.metadata.get("labels") or {}

    @property
    def annotations(self) -> dict[str, str]:
        return self.metadata.get("annotations") or {}

    @property
    def component(self) -> str | None:
        return self.labels.get(COMPONENT)

    @property
    def spec(self) -> dict[str, Any]:
        return self.body.get("spec") or {}

    def __str__(self) -> str:
        return f"{self.kind}/{self.name} ({self.source})"


def split_documents(rendered: dict[str, str]) -> list[Obj]:
    """Every non-empty YAML document of the rendered templates, in template order."""
    objs: list[Obj] = []
    for source in sorted(rendered):
        if not source.endswith((".yaml", ".yml", ".json")):
            continue  # NOTES.txt and the like
        for doc in yaml.safe_load_all(rendered[source]):
            if not doc:
                continue
            if not isinstance(doc, dict):
                raise AssertionError(f"{source}: a rendered document is not a mapping: {doc!r:.80}")
            objs.append(Obj(doc, source))
    return objs


@dataclass
class Release:
    """One values set, rendered."""

    name: str
    values: dict[str, Any]
    objects: list[Obj]

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [o for o in self.objects if o.kind in kinds]

    def one(self, kind: str, component: str) -> Obj:
        found = [o for o in self.of_kind(kind) if o.component == component]
        assert len(found) == 1, (
            f"[{self.name}] expected exactly one {kind} with label {COMPONENT}={component}, "
            f"found {[str(o) for o in found] or 'none'}"
        )
        return found[0]

    def find(self, kind: str, name: str) -> Obj | None:
        for o in self.of_kind(kind):
            if o.name == name:
                return o
        return None

    def workloads(self) -> list["Workload"]:
        return [Workload(o) for o in self.objects if o.kind in WORKLOAD_KINDS]

    def workload(self, component: str, kinds: Iterable[str] = ("Deployment", "StatefulSet")) -> "Workload":
        kinds = tuple(kinds)
        found = [w for w in self.workloads() if w.obj.kind in kinds and w.component == component]
        assert len(found) == 1, (
            f"[{self.name}] expected exactly one {'/'.join(kinds)} with label {COMPONENT}={component}, "
            f"found {[str(w) for w in found] or 'none'}"
        )
        return found[0]

    def service_workloads(self) -> list["Workload"]:
        return [self.workload(s) for s in SERVICES]

    def migration_job(self) -> "Workload":
        return self.workload(MIGRATE, kinds=("Job",))


# ---- workloads and pod specs --------------------------------------------------------------------


@dataclass
class Workload:
    obj: Obj

    @property
    def component(self) -> str | None:
        return self.obj.component or self.pod_labels.get(COMPONENT)

    @property
    def template(self) -> dict[str, Any]:
        body = self.obj.body
        kind = self.obj.kind
        if kind == "Pod":
            return {"metadata": body.get("metadata") or {}, "spec": body.get("spec") or {}}
        if kind == "CronJob":
            return ((body.get("spec") or {}).get("jobTemplate") or {}).get("spec", {}).get("template") or {}
        return (body.get("spec") or {}).get("template") or {}

    @property
    def pod_spec(self) -> dict[str, Any]:
        return self.template.get("spec") or {}

    @property
    def pod_labels(self) -> dict[str, str]:
        return (self.template.get("metadata") or {}).get("labels") or {}

    def containers(self, init: bool = True) -> list[dict[str, Any]]:
        spec = self.pod_spec
        out = list(spec.get("containers") or [])
        if init:
            out = list(spec.get("initContainers") or []) + out
        return out

    def container(self, name: str | None = None) -> dict[str, Any]:
        """The main container: the one named `name`, else the only one, else the one named after the component."""
        cs = self.pod_spec.get("containers") or []
        wanted = name or self.component
        for c in cs:
            if c.get("name") == wanted:
                return c
        assert len(cs) == 1, f"{self}: cannot tell the main container among {[c.get('name') for c in cs]}"
        return cs[0]

    def __str__(self) -> str:
        return str(self.obj)


# ---- environment -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecretRef:
    """A reference of a container or pod to (part of) a Secret."""

    via: str  # "env", "envFrom", "volume", "projected"
    secret: str
    key: str | None = None  # None: the whole Secret
    env: str | None = None  # the variable it sets (env only)
    container: str | None = None

    def __str__(self) -> str:
        what = f"{self.secret}[{self.key}]" if self.key else f"{self.secret} (whole Secret)"
        target = f" as {self.env}" if self.env else ""
        where = f" in container {self.container}" if self.container else ""
        return f"{self.via} {what}{target}{where}"


@dataclass
class EnvVar:
    name: str
    value: str | None = None  # the literal value, when known
    secret: SecretRef | None = None
    origin: str = ""  # where it came from, for messages


def _configmap_data(release: Release, name: str) -> dict[str, str] | None:
    cm = release.find("ConfigMap", name)
    if cm is None:
        return None
    return {k: str(v) for k, v in (cm.body.get("data") or {}).items()}


def _secret_data_keys(release: Release, name: str) -> list[str] | None:
    s = release.find("Secret", name)
    if s is None:
        return None
    return sorted(set((s.body.get("data") or {})) | set((s.body.get("stringData") or {})))


def effective_env(release: Release, container: dict[str, Any]) -> dict[str, EnvVar]:
    """The container's environment as the kubelet builds it: envFrom sources in order (ConfigMaps
    rendered by the chart are expanded; a Secret's variables are kept as references), then `env`,
    which wins. Values from external ConfigMaps are unknown (None)."""
    env: dict[str, EnvVar] = {}
    cname = container.get("name")
    for src in container.get("envFrom") or []:
        prefix = src.get("prefix") or ""
        if "configMapRef" in src:
            ref = src["configMapRef"].get("name", "")
            data = _configmap_data(release, ref)
            for k, v in (data or {}).items():
                env[prefix + k] = EnvVar(prefix + k, value=v, origin=f"envFrom ConfigMap {ref}")
        elif "secretRef" in src:
            ref = src["secretRef"].get("name", "")
            for k in _secret_data_keys(release, ref) or []:
                env[prefix + k] = EnvVar(
                    prefix + k,
                    secret=SecretRef("envFrom", ref, k, prefix + k, cname),
                    origin=f"envFrom Secret {ref}",
                )
    for e in container.get("env") or []:
        name = e.get("name", "")
        if "value" in e or "valueFrom" not in e:
            env[name] = EnvVar(name, value=str(e.get("value", "")), origin="env value")
            continue
        vf = e["valueFrom"] or {}
        if "secretKeyRef" in vf:
            r = vf["secretKeyRef"]
            env[name] = EnvVar(
                name,
                secret=SecretRef("env", r.get("name", ""), r.get("key"), name, cname),
                origin=f"env secretKeyRef {r.get('name')}[{r.get('key')}]",
            )
        elif "configMapKeyRef" in vf:
            r = vf["configMapKeyRef"]
            data = _configmap_data(release, r.get("name", ""))
            value = None if data is None else data.get(r.get("key", ""))
            env[name] = EnvVar(name, value=value, origin=f"env configMapKeyRef {r.get('name')}[{r.get('key')}]")
        else:
            env[name] = EnvVar(name, value=None, origin=f"env valueFrom {sorted(vf)}")
    return env


def env_value(release: Release, container: dict[str, Any], name: str) -> str | None:
    var = effective_env(release, container).get(name)
    return None if var is None else var.value


def secret_refs(release: Release, workload: Workload) -> list[SecretRef]:
    """Every reference of the workload's pod to a Secret: env secretKeyRef, envFrom secretRef (the
    whole Secret), secret volumes and projected secret sources. The image pull Secrets are not
    counted (the kubelet reads them, not the containers)."""
    refs: list[SecretRef] = []
    for c in workload.containers():
        cname = c.get("name")
        for src in c.get("envFrom") or []:
            if "secretRef" in src:
                refs.append(SecretRef("envFrom", src["secretRef"].get("name", ""), None, None, cname))
        for e in c.get("env") or []:
            r = ((e.get("valueFrom") or {}).get("secretKeyRef")) or None
            if r:
                refs.append(SecretRef("env", r.get("name", ""), r.get("key"), e.get("name"), cname))
    for v in workload.pod_spec.get("volumes") or []:
        if "secret" in v:
            s = v["secret"]
            keys = [i.get("key") for i in s.get("items") or []] or [None]
            for k in keys:
                refs.append(SecretRef("volume", s.get("secretName", ""), k, None, None))
        if "projected" in v:
            for src in (v["projected"] or {}).get("sources") or []:
                if "secret" in src:
                    s = src["secret"]
                    keys = [i.get("key") for i in s.get("items") or []] or [None]
                    for k in keys:
                        refs.append(SecretRef("projected", s.get("name", ""), k, None, None))
    return refs


# ---- selectors, ports --------------------------------------------------------------------------------


def selector_matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """A metav1.LabelSelector against labels (an empty selector matches everything)."""
    selector = selector or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def selector_requires(selector: dict[str, Any] | None, key: str, value: str) -> bool:
    """Does every pod the selector matches carry key=value?"""
    selector = selector or {}
    if (selector.get("matchLabels") or {}).get(key) == value:
        return True
    for expr in selector.get("matchExpressions") or []:
        if expr.get("key") == key and expr.get("operator") == "In" and expr.get("values") == [value]:
            return True
    return False


def container_ports(workload: Workload) -> dict[str, int]:
    """Named container ports of the workload's containers: name -> number."""
    out: dict[str, int] = {}
    for c in workload.containers(init=False):
        for p in c.get("ports") or []:
            if p.get("name"):
                out[p["name"]] = p.get("containerPort")
    return out


def walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, value) of every node of a nested structure."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def glob_any(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


# ---- PromQL, roughly ---------------------------------------------------------------------------------

_PAIRS = {")": "(", "]": "[", "}": "{"}


def promql_balance_error(expr: str) -> str | None:
    """Why the expression is not balanced (brackets outside strings, closed strings), or None.
    promtool is not available here; this catches the template slips (a lost `}` or quote)."""
    if not expr.strip():
        return "empty expression"
    stack: list[tuple[str, int]] = []
    quote: str | None = None
    i = 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            if ch == "\\" and quote != "`":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
            start = i
        elif ch == "#":  # a comment runs to the end of the line
            nl = expr.find("\n", i)
            i = len(expr) if nl < 0 else nl
            continue
        elif ch in "([{":
            stack.append((ch, i))
        elif ch in ")]}":
            if not stack or stack[-1][0] != _PAIRS[ch]:
                return f"unexpected {ch!r} at offset {i}"
            stack.pop()
        i += 1
    if quote:
        return f"string opened with {quote} at offset {start} is not closed"
    if stack:
        ch, at = stack[-1]
        return f"{ch!r} at offset {at} is not closed"
    if re.search(r"\{\{|\}\}", expr):
        return "contains an unrendered template delimiter"
    return None
