"""NetworkPolicies (on by default): every pod of the release is covered by a policy that selects only
release pods; only the gateway accepts traffic on `http`; the other pods accept nothing but scrapes
of `metrics`."""

from __future__ import annotations

import chartlib


def _policies(release: chartlib.Release) -> list[chartlib.Obj]:
    return release.of_kind("NetworkPolicy")


def _policy_types(np: chartlib.Obj) -> set[str]:
    types = np.spec.get("policyTypes")
    if types:
        return set(types)
    return {"Ingress"} | ({"Egress"} if np.spec.get("egress") else set())


def _ingress_policies_of(release: chartlib.Release, w: chartlib.Workload) -> list[chartlib.Obj]:
    return [
        np for np in _policies(release)
        if "Ingress" in _policy_types(np) and chartlib.selector_matches(np.spec.get("podSelector"), w.pod_labels)
    ]


def _pod_workloads(release: chartlib.Release) -> list[chartlib.Workload]:
    return [w for w in release.workloads() if w.obj.kind in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")]


def _allowed_ports(w: chartlib.Workload, rule: dict) -> set[str] | None:
    """Names of the pod's ports a rule opens (numbers mapped back to names); None = every port."""
    ports = rule.get("ports")
    if not ports:
        return None
    named = chartlib.container_ports(w)
    by_number = {n: name for name, n in named.items()}
    out: set[str] = set()
    for p in ports:
        port = p.get("port")
        end = p.get("endPort")
        if port is None:
            return None  # all ports of that protocol
        if isinstance(port, str):
            out.add(port)
        elif end:
            out |= {by_number.get(n, str(n)) for n in named.values() if port <= n <= end} | {f"{port}-{end}"}
        else:
            out.add(by_number.get(port, str(port)))
    return out


def test_network_policies_on_by_default(releases) -> None:
    release = releases("default")
    assert _policies(release), "[default] no NetworkPolicy is rendered by default"


def test_every_release_pod_is_covered(release: chartlib.Release) -> None:
    if not _policies(release):
        return  # a values set may turn them off; the default is checked above
    problems = []
    for np in _policies(release):
        if not chartlib.selector_requires(np.spec.get("podSelector"), chartlib.INSTANCE, chartlib.RELEASE):
            problems.append(
                f"{np}: podSelector {np.spec.get('podSelector')} does not require "
                f"{chartlib.INSTANCE}={chartlib.RELEASE} (it would also select other pods of the namespace)"
            )
    for w in _pod_workloads(release):
        if w.pod_labels.get(chartlib.INSTANCE) != chartlib.RELEASE:
            problems.append(f"{w}: pod template lacks the label {chartlib.INSTANCE}={chartlib.RELEASE}")
        if not _ingress_policies_of(release, w):
            problems.append(f"{w}: no NetworkPolicy with policyTypes Ingress selects its pods ({w.pod_labels})")
        if not any(
            "Egress" in _policy_types(np) and chartlib.selector_matches(np.spec.get("podSelector"), w.pod_labels)
            for np in _policies(release)
        ):
            problems.append(f"{w}: no NetworkPolicy restricts its egress")
    assert not problems, f"[{release.name}] NetworkPolicy coverage:\n" + "\n".join(problems)


def test_only_the_gateway_accepts_http(release: chartlib.Release) -> None:
    if not _policies(release):
        return
    problems = []
    gateway_http = False
    for w in _pod_workloads(release):
        allowed_names = {"metrics"} | ({"http"} if w.component == "gateway" else set())
        for np in _ingress_policies_of(release, w):
            for i, rule in enumerate(np.spec.get("ingress") or []):
                ports = _allowed_ports(w, rule)
                if ports is None:
                    problems.append(f"{w}: {np} ingress[{i}] opens every port (no `ports`)")
                    continue
                extra = ports - allowed_names
                if extra:
                    problems.append(f"{w}: {np} ingress[{i}] opens {sorted(extra)}; allowed: {sorted(allowed_names)}")
                if w.component == "gateway" and "http" in ports:
                    gateway_http = True
    if not gateway_http:
        problems.append("the gateway's pods accept no traffic on `http`: the Ingress could not reach them")
    assert not problems, f"[{release.name}] NetworkPolicy ingress:\n" + "\n".join(problems)


def test_allowed_ports_reading() -> None:
    w = chartlib.Workload(chartlib.Obj({
        "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "c", "ports": [
            {"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}]}]}}},
    }, "unit"))
    assert _allowed_ports(w, {"ports": [{"port": 9090}]}) == {"metrics"}
    assert _allowed_ports(w, {"ports": [{"port": "http"}]}) == {"http"}
    assert _allowed_ports(w, {"from": []}) is None
    assert "http" in _allowed_ports(w, {"ports": [{"port": 8000, "endPort": 8100}]})
