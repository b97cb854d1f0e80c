"""Migrations run once per install/upgrade in a hook Job (`bangban migrate`); the services only
verify their schema (BANGBAN__DATABASE__MIGRATE=verify) and never migrate at start."""

from __future__ import annotations

import chartlib

HOOK = "helm.sh/hook"
HOOK_WEIGHT = "helm.sh/hook-weight"


def _hooks(obj: chartlib.Obj) -> set[str]:
    return {h.strip() for h in obj.annotations.get(HOOK, "").split(",") if h.strip()}


def test_migration_job_runs_bangban_migrate_before_install_and_upgrade(release: chartlib.Release) -> None:
    job = release.migration_job()
    c = job.container()
    argv = list(c.get("command") or []) + list(c.get("args") or [])
    assert argv, f"[{release.name}] {job}: no command (the image's default is `bangban serve`)"
    assert argv[0].rsplit("/", 1)[-1] == "bangban" and "migrate" in argv[1:], (
        f"[{release.name}] {job}: runs {argv}, expected `bangban migrate`"
    )
    hooks = _hooks(job.obj)
    missing = {"pre-install", "pre-upgrade"} - hooks
    assert not missing, f"[{release.name}] {job}: annotation {HOOK}={job.obj.annotations.get(HOOK)!r} lacks {sorted(missing)}"
    restart = job.pod_spec.get("restartPolicy")
    assert restart in ("Never", "OnFailure"), f"[{release.name}] {job}: restartPolicy {restart!r}"


def test_services_only_verify_their_schema(release: chartlib.Release) -> None:
    problems = []
    for w in release.service_workloads():
        value = chartlib.env_value(release, w.container(), "BANGBAN__DATABASE__MIGRATE")
        if value != "verify":
            problems.append(f"{w}: BANGBAN__DATABASE__MIGRATE is {value!r}, expected 'verify'")
    assert not problems, f"[{release.name}] migrate mode:\n" + "\n".join(problems)


def _weight(obj: chartlib.Obj) -> int:
    try:
        return int(obj.annotations.get(HOOK_WEIGHT, "0"))
    except ValueError:
        return 0


def test_hook_job_needs_nothing_the_release_creates_later(release: chartlib.Release) -> None:
    """A pre-install hook runs before the release's ordinary objects exist: every ConfigMap, Secret,
    ServiceAccount and PVC the Job uses must either come from outside the chart or be a hook itself,
    created before the Job (a lower helm.sh/hook-weight)."""
    job = release.migration_job()
    weight = _weight(job.obj)
    needs: list[tuple[str, str, str]] = []  # (kind, name, how)
    spec = job.pod_spec
    if spec.get("serviceAccountName"):
        needs.append(("ServiceAccount", spec["serviceAccountName"], "serviceAccountName"))
    for c in job.containers():
        for src in c.get("envFrom") or []:
            if "configMapRef" in src:
                needs.append(("ConfigMap", src["configMapRef"].get("name", ""), f"container {c.get('name')} envFrom"))
            if "secretRef" in src:
                needs.append(("Secret", src["secretRef"].get("name", ""), f"container {c.get('name')} envFrom"))
        for e in c.get("env") or []:
            vf = e.get("valueFrom") or {}
            if "configMapKeyRef" in vf:
                needs.append(("ConfigMap", vf["configMapKeyRef"].get("name", ""), f"env {e.get('name')}"))
            if "secretKeyRef" in vf:
                needs.append(("Secret", vf["secretKeyRef"].get("name", ""), f"env {e.get('name')}"))
    for v in spec.get("volumes") or []:
        if "configMap" in v:
            needs.append(("ConfigMap", v["configMap"].get("name", ""), f"volume {v.get('name')}"))
        if "secret" in v:
            needs.append(("Secret", v["secret"].get("secretName", ""), f"volume {v.get('name')}"))
        if "persistentVolumeClaim" in v:
            needs.append(("PersistentVolumeClaim", v["persistentVolumeClaim"].get("claimName", ""), f"volume {v.get('name')}"))
    problems = []
    for kind, name, how in needs:
        obj = release.find(kind, name)
        if obj is None:
            continue  # made outside the chart (e.g. the database Secret you create)
        hooks = _hooks(obj)
        if not hooks & {"pre-install"} or not hooks & {"pre-upgrade"}:
            problems.append(f"{job} uses {obj} ({how}), which is not a pre-install/pre-upgrade hook: it does not exist yet on install")
        elif _weight(obj) >= weight:
            problems.append(f"{job} uses {obj} ({how}) with hook weight {_weight(obj)}, not lower than the Job's {weight}")
    assert not problems, f"[{release.name}] migration hook ordering:\n" + "\n".join(problems)
