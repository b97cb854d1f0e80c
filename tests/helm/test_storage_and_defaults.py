"""Archived documents go to S3 by default or to a PersistentVolumeClaim (ci/pvc-values.yaml); and the
chart's defaults are production ones: OIDC, never the insecure development mode."""

from __future__ import annotations

import posixpath

import chartlib

BACKEND = "BANGBAN__STORAGE__BACKEND"
BUCKET = "BANGBAN__STORAGE__S3__BUCKET"
LOCAL_DIR = "BANGBAN__STORAGE__LOCAL_DIR"


def test_default_storage_is_s3_with_a_bucket(releases) -> None:
    release = releases("default")
    intake = release.workload("intake")
    env = chartlib.effective_env(release, intake.container())
    backend = env.get(BACKEND)
    bucket = env.get(BUCKET)
    assert backend is not None and backend.value == "s3", (
        f"[default] {intake}: {BACKEND} is {backend.value if backend else None!r}, expected 's3'"
    )
    assert bucket is not None and bucket.value, f"[default] {intake}: {BUCKET} is empty or missing"


def test_pvc_storage_is_mounted_at_the_local_dir(releases) -> None:
    release = releases("pvc")
    intake = release.workload("intake")
    c = intake.container()
    env = chartlib.effective_env(release, c)
    backend = env.get(BACKEND)
    assert backend is not None and backend.value == "local", (
        f"[pvc] {intake}: {BACKEND} is {backend.value if backend else None!r}, expected 'local'"
    )
    local = env.get(LOCAL_DIR)
    assert local is not None and local.value and local.value.startswith("/"), (
        f"[pvc] {intake}: {LOCAL_DIR} is {local.value if local else None!r}, expected an absolute path"
    )
    target = posixpath.normpath(local.value)
    volumes = {v.get("name"): v for v in intake.pod_spec.get("volumes") or []}
    claims = {t.get("metadata", {}).get("name") for t in intake.obj.spec.get("volumeClaimTemplates") or []}
    mounted = None
    for m in c.get("volumeMounts") or []:
        mount = posixpath.normpath(m.get("mountPath", ""))
        if target == mount or target.startswith(mount.rstrip("/") + "/"):
            if mounted is None or len(mount) > len(posixpath.normpath(mounted.get("mountPath", ""))):
                mounted = m
    assert mounted is not None, f"[pvc] {intake}: nothing is mounted at {LOCAL_DIR}={local.value}"
    assert not mounted.get("readOnly"), f"[pvc] {intake}: the volume at {mounted.get('mountPath')} is read-only"
    vol = volumes.get(mounted.get("name")) or {}
    is_pvc = "persistentVolumeClaim" in vol or mounted.get("name") in claims
    assert is_pvc, (
        f"[pvc] {intake}: {mounted.get('mountPath')} is volume {mounted.get('name')!r} of type "
        f"{sorted(set(vol) - {'name'}) or 'unknown'}, expected a PersistentVolumeClaim"
    )
    claim = (vol.get("persistentVolumeClaim") or {}).get("claimName")
    if claim and release.find("PersistentVolumeClaim", claim) is None:
        existing = ((release.values.get("storage") or {}).get("pvc") or {}).get("existingClaim")
        assert claim == existing, f"[pvc] {intake}: claim {claim!r} is neither rendered nor the configured existingClaim"


def test_pvc_storage_access_mode_fits_the_replicas(releases) -> None:
    release = releases("pvc")
    intake = release.workload("intake")
    replicas = intake.obj.spec.get("replicas", 1)
    for v in intake.pod_spec.get("volumes") or []:
        claim = (v.get("persistentVolumeClaim") or {}).get("claimName")
        pvc = release.find("PersistentVolumeClaim", claim or "")
        if pvc is None:
            continue
        modes = set(pvc.spec.get("accessModes") or [])
        if (replicas is None or replicas > 1) and modes <= {"ReadWriteOnce", "ReadWriteOncePod"}:
            raise AssertionError(f"[pvc] {pvc}: {sorted(modes)} but {intake} runs {replicas} replicas that all mount it")


def test_production_auth_by_default(releases) -> None:
    release = releases("default")
    problems = []
    for w in release.service_workloads():
        mode = chartlib.env_value(release, w.container(), "BANGBAN__AUTH__MODE")
        if mode != "oidc":
            problems.append(f"{w}: BANGBAN__AUTH__MODE is {mode!r}, expected 'oidc'")
    job = release.migration_job()
    mode = chartlib.env_value(release, job.container(), "BANGBAN__AUTH__MODE")
    if mode not in (None, "oidc"):
        problems.append(f"{job}: BANGBAN__AUTH__MODE is {mode!r}")
    assert not problems, "[default] auth mode:\n" + "\n".join(problems)


def test_insecure_development_mode_is_off_by_default(releases) -> None:
    release = releases("default")
    problems = []
    for w in release.workloads():
        for c in w.containers():
            var = chartlib.effective_env(release, c).get("BANGBAN__ALLOW_INSECURE_DEV")
            if var is not None and (var.value is None or var.value.strip().lower() not in ("", "false", "0", "no", "off")):
                problems.append(f"{w}: container {c.get('name')}: BANGBAN__ALLOW_INSECURE_DEV={var.value!r} ({var.origin})")
            if chartlib.effective_env(release, c).get("BANGBAN__AUTH__DEV_SECRET") is not None:
                problems.append(f"{w}: container {c.get('name')}: BANGBAN__AUTH__DEV_SECRET is set")
    assert not problems, "[default] development mode:\n" + "\n".join(problems)
