"""Every pod the chart runs (Deployments, StatefulSets, Jobs, CronJobs; every container and
initContainer) meets the restricted Pod Security Standard and the chart's own rules: read-only root
filesystem, no service-account token, requests and limits, probes, pinned images."""

from __future__ import annotations

import chartlib

# Pod Security Standards, restricted profile (Kubernetes 1.30): the volume types it allows.
RESTRICTED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret",
}
# baseline: the sysctls it allows
SAFE_SYSCTLS = {
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SELINUX_TYPES = {"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"}
POD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def _workloads(release: chartlib.Release) -> list[chartlib.Workload]:
    ws = [w for w in release.workloads() if w.obj.kind in POD_KINDS]
    assert ws, f"[{release.name}] no workload rendered"
    return ws


def _fail(release: chartlib.Release, rule: str, problems: list[str]) -> None:
    assert not problems, f"[{release.name}] {rule}:\n" + "\n".join(problems)


def restricted_pss_violations(w: chartlib.Workload) -> list[str]:
    """The restricted Pod Security Standard, checked as the PodSecurity admission does."""
    out: list[str] = []
    spec = w.pod_spec
    psc = spec.get("securityContext") or {}

    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(field):
            out.append(f"{w}: {field} is true")
    for v in spec.get("volumes") or []:
        types = set(v) - {"name"}
        if "hostPath" in types:
            out.append(f"{w}: volume {v.get('name')} is a hostPath")
        elif not types <= RESTRICTED_VOLUME_TYPES:
            out.append(f"{w}: volume {v.get('name')} of type {sorted(types)} is not allowed (restricted)")
    for s in psc.get("sysctls") or []:
        if s.get("name") not in SAFE_SYSCTLS:
            out.append(f"{w}: unsafe sysctl {s.get('name')}")
    if psc.get("runAsUser") == 0:
        out.append(f"{w}: pod securityContext.runAsUser is 0")
    if psc.get("runAsNonRoot") is False:
        out.append(f"{w}: pod securityContext.runAsNonRoot is false")
    pod_seccomp = (psc.get("seccompProfile") or {}).get("type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        out.append(f"{w}: pod seccompProfile.type is {pod_seccomp}")
    if (psc.get("seLinuxOptions") or {}).get("type", "") not in SELINUX_TYPES:
        out.append(f"{w}: pod seLinuxOptions.type is not allowed")

    for c in w.containers():
        name = f"{w}: container {c.get('name')}"
        sc = c.get("securityContext") or {}
        if sc.get("privileged"):
            out.append(f"{name}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            out.append(f"{name}: securityContext.allowPrivilegeEscalation must be false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{name}: securityContext.capabilities.drop must include ALL")
        extra = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            out.append(f"{name}: capabilities.add {sorted(extra)} (only NET_BIND_SERVICE is allowed)")
        non_root = sc.get("runAsNonRoot", psc.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"{name}: runAsNonRoot is not true (pod or container securityContext)")
        if sc.get("runAsUser") == 0:
            out.append(f"{name}: runAsUser is 0")
        seccomp = (sc.get("seccompProfile") or {}).get("type") or pod_seccomp
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{name}: seccompProfile.type is {seccomp or 'unset'} (RuntimeDefault or Localhost, pod or container)")
        if sc.get("procMount") not in (None, "Default"):
            out.append(f"{name}: procMount {sc.get('procMount')}")
        if (sc.get("seLinuxOptions") or {}).get("type", "") not in SELINUX_TYPES:
            out.append(f"{name}: seLinuxOptions.type is not allowed")
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append(f"{name}: hostPort {p['hostPort']}")
    return out


def test_restricted_pod_security_standard(release: chartlib.Release) -> None:
    problems = [p for w in _workloads(release) for p in restricted_pss_violations(w)]
    _fail(release, "restricted Pod Security Standard", problems)


def test_read_only_root_filesystem(release: chartlib.Release) -> None:
    problems = [
        f"{w}: container {c.get('name')}: securityContext.readOnlyRootFilesystem must be true"
        for w in _workloads(release)
        for c in w.containers()
        if (c.get("securityContext") or {}).get("readOnlyRootFilesystem") is not True
    ]
    _fail(release, "read-only root filesystem", problems)


def test_no_service_account_token(release: chartlib.Release) -> None:
    """No pod gets a Kubernetes API token: the services never call the API server."""
    problems = []
    for w in _workloads(release):
        spec = w.pod_spec
        if spec.get("automountServiceAccountToken") is False:
            continue
        if spec.get("automountServiceAccountToken") is None:
            sa = release.find("ServiceAccount", spec.get("serviceAccountName") or "")
            if sa is not None and sa.body.get("automountServiceAccountToken") is False:
                continue
        problems.append(f"{w}: automountServiceAccountToken must be false")
    _fail(release, "service-account token", problems)


def test_requests_and_limits(release: chartlib.Release) -> None:
    problems = []
    for w in _workloads(release):
        for c in w.containers():
            res = c.get("resources") or {}
            req, lim = res.get("requests") or {}, res.get("limits") or {}
            missing = [f"requests.{k}" for k in ("cpu", "memory") if not req.get(k)]
            missing += [f"limits.{k}" for k in ("memory",) if not lim.get(k)]
            if missing:
                problems.append(f"{w}: container {c.get('name')}: resources {', '.join(missing)} missing")
    _fail(release, "resources", problems)


def test_deployments_have_three_probes(release: chartlib.Release) -> None:
    problems = []
    for w in release.workloads():
        if w.obj.kind != "Deployment":
            continue
        for c in w.containers(init=False):
            missing = [p for p in ("startupProbe", "readinessProbe", "livenessProbe") if not c.get(p)]
            if missing:
                problems.append(f"{w}: container {c.get('name')}: {', '.join(missing)} missing")
    _fail(release, "probes", problems)


def _image_tag_problem(image: str) -> str | None:
    if not image:
        return "no image"
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "no tag (means :latest)"
    tag = last.rsplit(":", 1)[1]
    if not tag or tag == "latest":
        return f"tag {tag!r}"
    return None


def test_images_are_pinned(release: chartlib.Release) -> None:
    problems = []
    for w in _workloads(release):
        for c in w.containers():
            why = _image_tag_problem(c.get("image", ""))
            if why:
                problems.append(f"{w}: container {c.get('name')}: image {c.get('image')!r}: {why}")
    _fail(release, "image not :latest", problems)


def test_image_checker() -> None:
    assert _image_tag_problem("r.example/bangban:0.1.0") is None
    assert _image_tag_problem("r.example:5000/bangban@sha256:" + "0" * 64) is None
    assert _image_tag_problem("r.example:5000/bangban") is not None
    assert _image_tag_problem("bangban:latest") is not None
