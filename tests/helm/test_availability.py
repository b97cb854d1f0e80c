"""Availability: a PodDisruptionBudget per Deployment, spreading over nodes, and (all-features) a
HorizontalPodAutoscaler per Deployment."""

from __future__ import annotations

import chartlib


def _deployments(release: chartlib.Release) -> list[chartlib.Workload]:
    ds = [w for w in release.workloads() if w.obj.kind == "Deployment"]
    assert ds, f"[{release.name}] no Deployment rendered"
    return ds


def test_each_deployment_has_its_own_pdb(release: chartlib.Release) -> None:
    deployments = _deployments(release)
    pdbs = release.of_kind("PodDisruptionBudget")
    problems = []
    for w in deployments:
        mine = [p for p in pdbs if chartlib.selector_matches(p.spec.get("selector"), w.pod_labels)]
        if not mine:
            problems.append(f"{w}: no PodDisruptionBudget selects its pods")
            continue
        for p in mine:
            if p.spec.get("maxUnavailable") != 1 or "minAvailable" in p.spec:
                problems.append(
                    f"{p} (for {w}): maxUnavailable {p.spec.get('maxUnavailable')!r}, minAvailable "
                    f"{p.spec.get('minAvailable')!r}; expected maxUnavailable 1 (minAvailable blocks drains with one replica)"
                )
            others = [o for o in deployments if o is not w and chartlib.selector_matches(p.spec.get("selector"), o.pod_labels)]
            if others:
                problems.append(f"{p}: also selects the pods of {', '.join(map(str, others))}")
    assert not problems, f"[{release.name}] PodDisruptionBudgets:\n" + "\n".join(problems)


def test_pods_spread_over_nodes(release: chartlib.Release) -> None:
    problems = []
    for w in _deployments(release):
        spec = w.pod_spec
        anti = (spec.get("affinity") or {}).get("podAntiAffinity")
        spread = spec.get("topologySpreadConstraints")
        if not anti and not spread:
            problems.append(f"{w}: neither podAntiAffinity nor topologySpreadConstraints")
        for i, t in enumerate(spread or []):
            if not chartlib.selector_matches(t.get("labelSelector"), w.pod_labels):
                problems.append(f"{w}: topologySpreadConstraints[{i}] labelSelector does not match its own pods")
    assert not problems, f"[{release.name}] spreading:\n" + "\n".join(problems)


def test_autoscaling_with_all_features(releases) -> None:
    release = releases("all-features")
    hpas = release.of_kind("HorizontalPodAutoscaler")
    problems = []
    for h in hpas:
        if h.api_version != "autoscaling/v2":
            problems.append(f"{h}: apiVersion {h.api_version}, expected autoscaling/v2")
    for w in _deployments(release):
        mine = [
            h for h in hpas
            if (h.spec.get("scaleTargetRef") or {}).get("kind") == "Deployment"
            and (h.spec.get("scaleTargetRef") or {}).get("name") == w.obj.name
        ]
        if len(mine) != 1:
            problems.append(f"{w}: {len(mine)} HorizontalPodAutoscalers target it, expected 1")
            continue
        h = mine[0]
        lo, hi = h.spec.get("minReplicas", 1), h.spec.get("maxReplicas", 0)
        if not (1 <= lo <= hi):
            problems.append(f"{h}: minReplicas {lo} / maxReplicas {hi}")
        if not h.spec.get("metrics"):
            problems.append(f"{h}: no metrics")
        if "replicas" in w.obj.spec:
            problems.append(f"{w}: sets spec.replicas although {h} scales it (every upgrade would reset the count)")
        for c in w.containers(init=False):
            if not ((c.get("resources") or {}).get("requests") or {}).get("cpu"):
                problems.append(f"{w}: container {c.get('name')} has no cpu request for the HPA's utilisation target")
    assert not problems, "[all-features] autoscaling:\n" + "\n".join(problems)
