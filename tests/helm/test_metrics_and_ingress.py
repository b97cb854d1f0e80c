"""Ports: every service serves `http` on 8080 and `/metrics` on a separate `metrics` port 9090 that the
Ingress never routes; the ServiceMonitors scrape that port. The public URL and the proxies the gateway
trusts follow the Ingress."""

from __future__ import annotations

import chartlib

METRICS_LISTEN = "BANGBAN__HTTP__METRICS_LISTEN"


def test_http_and_metrics_ports(release: chartlib.Release) -> None:
    problems = []
    for w in release.service_workloads():
        c = w.container()
        ports = {p.get("name"): p for p in c.get("ports") or []}
        for name, number in (("http", 8080), ("metrics", 9090)):
            p = ports.get(name)
            if p is None:
                problems.append(f"{w}: container {c.get('name')} has no port named {name!r}")
            elif p.get("containerPort") != number:
                problems.append(f"{w}: port {name!r} is {p.get('containerPort')}, expected {number}")
        value = chartlib.env_value(release, c, METRICS_LISTEN)
        if value != "0.0.0.0:9090":
            problems.append(f"{w}: {METRICS_LISTEN} is {value!r}, expected '0.0.0.0:9090'")
    assert not problems, f"[{release.name}] ports:\n" + "\n".join(problems)


def _gateway_service(release: chartlib.Release) -> chartlib.Obj:
    gateway = release.workload("gateway")
    services = [
        s for s in release.of_kind("Service")
        if s.spec.get("selector") and chartlib.selector_matches({"matchLabels": s.spec["selector"]}, gateway.pod_labels)
    ]
    with_http = [s for s in services if any(p.get("name") == "http" for p in s.spec.get("ports") or [])]
    assert len(with_http) == 1, (
        f"[{release.name}] expected one Service with an `http` port selecting the gateway pods, "
        f"found {[str(s) for s in with_http] or 'none'}"
    )
    return with_http[0]


def _backends(ingress: chartlib.Obj):
    spec = ingress.spec
    if spec.get("defaultBackend"):
        yield "defaultBackend", spec["defaultBackend"]
    for r, rule in enumerate(spec.get("rules") or []):
        for p, path in enumerate(((rule.get("http") or {}).get("paths")) or []):
            yield f"rules[{r}].http.paths[{p}] ({rule.get('host')}{path.get('path', '')})", path.get("backend") or {}


def test_ingress_routes_only_to_the_gateway_http_port(release: chartlib.Release) -> None:
    ingresses = release.of_kind("Ingress")
    if not ingresses:
        return
    svc = _gateway_service(release)
    http_port = next(p for p in svc.spec.get("ports") or [] if p.get("name") == "http")
    problems = []
    for ing in ingresses:
        for where, backend in _backends(ing):
            service = backend.get("service")
            if not service:
                problems.append(f"{ing}: {where}: backend is not a Service: {backend}")
                continue
            port = service.get("port") or {}
            if service.get("name") != svc.name:
                problems.append(f"{ing}: {where}: backend Service {service.get('name')!r} is not the gateway's {svc.name!r}")
            if port.get("name") not in (None, "http") or (port.get("number") not in (None, http_port.get("port"))):
                problems.append(f"{ing}: {where}: backend port {port} is not the gateway's `http` port")
            if port.get("name") is None and port.get("number") is None:
                problems.append(f"{ing}: {where}: backend has no port")
    assert not problems, f"[{release.name}] Ingress backends:\n" + "\n".join(problems)


def test_metrics_port_is_not_on_the_ingress_path(release: chartlib.Release) -> None:
    """The gateway Service the Ingress uses must not lead to the metrics port under the `http` name."""
    if not release.of_kind("Ingress"):
        return
    svc = _gateway_service(release)
    http_port = next(p for p in svc.spec.get("ports") or [] if p.get("name") == "http")
    assert http_port.get("targetPort") in ("http", 8080, None), (
        f"[{release.name}] {svc}: port http targets {http_port.get('targetPort')!r}, expected the container's http port"
    )


def test_service_monitors_scrape_the_metrics_port(release: chartlib.Release) -> None:
    problems = []
    services = release.of_kind("Service")
    for sm in release.of_kind("ServiceMonitor"):
        endpoints = sm.spec.get("endpoints") or []
        if not endpoints:
            problems.append(f"{sm}: no endpoints")
        for e in endpoints:
            if e.get("port") != "metrics":
                problems.append(f"{sm}: endpoint scrapes port {e.get('port') or e.get('targetPort')!r}, expected 'metrics'")
        selected = [s for s in services if chartlib.selector_matches(sm.spec.get("selector"), s.labels)]
        if not selected:
            problems.append(f"{sm}: its selector matches no Service of the release")
        for s in selected:
            if not any(p.get("name") == "metrics" for p in s.spec.get("ports") or []):
                problems.append(f"{sm}: selects {s}, which has no port named 'metrics'")
    assert not problems, f"[{release.name}] ServiceMonitors:\n" + "\n".join(problems)


def test_every_service_is_scraped_with_all_features(releases) -> None:
    release = releases("all-features")
    services = release.of_kind("Service")
    scraped = set()
    for sm in release.of_kind("ServiceMonitor"):
        for s in services:
            if chartlib.selector_matches(sm.spec.get("selector"), s.labels):
                scraped.add(s.component)
    missing = [c for c in chartlib.SERVICES if c not in scraped]
    assert not missing, f"[all-features] no ServiceMonitor scrapes {', '.join(missing)}"


def test_public_url_and_trusted_proxies_follow_the_ingress(releases) -> None:
    release = releases("all-features")
    ingresses = release.of_kind("Ingress")
    assert ingresses, "[all-features] renders no Ingress"
    hosts = [r.get("host") for ing in ingresses for r in ing.spec.get("rules") or [] if r.get("host")]
    assert hosts, "[all-features] the Ingress has no host"
    gateway = release.workload("gateway")
    env = chartlib.effective_env(release, gateway.container())
    public = env.get("BANGBAN__HTTP__PUBLIC_URL")
    expected = f"https://{hosts[0]}/"
    assert public is not None and public.value == expected, (
        f"[all-features] {gateway}: BANGBAN__HTTP__PUBLIC_URL is {public.value if public else None!r}, expected {expected!r}"
    )
    proxies = env.get("BANGBAN__WEB__TRUSTED_PROXIES")
    assert proxies is not None and (proxies.value or "").strip(" []\"'"), (
        f"[all-features] {gateway}: BANGBAN__WEB__TRUSTED_PROXIES is empty or missing — behind the ingress "
        "every client would look like the ingress controller"
    )
    tls_hosts = {h for ing in ingresses for t in ing.spec.get("tls") or [] for h in t.get("hosts") or []}
    assert hosts[0] in tls_hosts, f"[all-features] the public URL is https://{hosts[0]}/ but the Ingress has no TLS for it"


def test_ingress_sets_a_body_size_limit(release: chartlib.Release) -> None:
    problems = []
    for ing in release.of_kind("Ingress"):
        if not any("body-size" in k or "body_size" in k or "max-body" in k for k in ing.annotations):
            problems.append(f"{ing}: no body-size annotation (e.g. nginx.ingress.kubernetes.io/proxy-body-size)")
    assert not problems, f"[{release.name}]\n" + "\n".join(problems)
