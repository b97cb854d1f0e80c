"""Each service logs in to NATS as its own user, with a credential only it gets.

(The accounts and permissions rendered for the NATS server are tested in test_nats_accounts.py.)
"""

from __future__ import annotations

import re

import chartlib

USER = "BANGBAN__NATS__USER"
PASSWORD = "BANGBAN__NATS__PASSWORD"
# other ways a service may prove who it is, when the chart is told to use them (nats.external)
CREDENTIAL_VARS = (PASSWORD, "BANGBAN__NATS__NKEY_SEED", "BANGBAN__NATS__NKEY_SEED_FILE", "BANGBAN__NATS__CREDS_FILE")


def _tokens(key: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", key.lower()) if t]


def key_names_user(key: str | None, user: str) -> bool:
    """Does a Secret key name the user? BANGBAN_NATS_PASSWORD_INTAKE and intake.password name intake."""
    if not key:
        return False
    user_tokens = _tokens(user)
    tokens = _tokens(key)
    n = len(user_tokens)
    return any(tokens[i : i + n] == user_tokens for i in range(len(tokens) - n + 1))


def _external(values: dict) -> dict | None:
    nats = values.get("nats") or {}
    if not nats.get("external"):
        return None
    return nats.get("credentials") or {}


def _expected_user(release: chartlib.Release, service: str) -> str:
    ext = _external(release.values)
    if ext is not None:
        return (ext.get("users") or {}).get(service) or service
    return service


def _credential(release: chartlib.Release, w: chartlib.Workload) -> tuple[str, chartlib.SecretRef] | None:
    """The variable that carries the service's NATS secret and the Secret reference behind it (for a
    *_FILE variable: the secret volume mounted over that path)."""
    container = w.container()
    env = chartlib.effective_env(release, container)
    for name in CREDENTIAL_VARS:
        var = env.get(name)
        if var is None:
            continue
        if var.secret is not None:
            return name, var.secret
        if name.endswith("_FILE") and var.value:
            ref = _secret_behind_file(w, container, var.value)
            if ref is not None:
                return name, ref
    return None


def _secret_behind_file(w: chartlib.Workload, container: dict, path: str) -> chartlib.SecretRef | None:
    volumes = {v.get("name"): v for v in w.pod_spec.get("volumes") or []}
    for m in container.get("volumeMounts") or []:
        mount = m.get("mountPath", "").rstrip("/")
        if not (path == mount or path.startswith(mount + "/")):
            continue
        v = volumes.get(m.get("name")) or {}
        rel = path[len(mount) + 1 :] if path != mount else (m.get("subPath") or "")
        sources = []
        if "secret" in v:
            sources.append((v["secret"].get("secretName", ""), v["secret"].get("items")))
        for src in ((v.get("projected") or {}).get("sources") or []):
            if "secret" in src:
                sources.append((src["secret"].get("name", ""), src["secret"].get("items")))
        for secret, items in sources:
            if m.get("subPath"):
                return chartlib.SecretRef("volume", secret, m["subPath"])
            for item in items or []:
                if item.get("path") == rel:
                    return chartlib.SecretRef("volume", secret, item.get("key"))
            if not items:
                return chartlib.SecretRef("volume", secret, rel or None)
    return None


def test_each_service_is_its_own_nats_user(release: chartlib.Release) -> None:
    """BANGBAN__NATS__USER is the service's own name (or the user configured for an external NATS).
    With an NKey or a .creds file the credential itself names the user: USER is then optional."""
    problems = []
    for w in release.service_workloads():
        want = _expected_user(release, w.component)
        var = chartlib.effective_env(release, w.container()).get(USER)
        got = None if var is None else var.value
        found = _credential(release, w)
        password = found is not None and found[0] == PASSWORD
        if got != want and (password or found is None or var is not None):
            problems.append(f"{w}: {USER} is {got!r}, expected {want!r} ({var.origin if var else 'not set'})")
    assert not problems, f"[{release.name}] NATS users:\n" + "\n".join(problems)


def test_each_service_has_a_credential_of_its_own(release: chartlib.Release) -> None:
    problems = []
    owners: dict[tuple[str, str | None], str] = {}
    for w in release.service_workloads():
        user = _expected_user(release, w.component)
        found = _credential(release, w)
        if found is None:
            problems.append(f"{w}: no NATS credential from a Secret ({', '.join(CREDENTIAL_VARS)})")
            continue
        var, ref = found
        if ref.key is None:
            problems.append(f"{w}: {var} comes from the whole Secret {ref.secret}, not from one key")
        elif not key_names_user(ref.key, user):
            problems.append(f"{w}: {var} comes from key {ref.key!r} of {ref.secret}, which does not name the user {user!r}")
        pair = (ref.secret, ref.key)
        if pair in owners:
            problems.append(f"{w}: shares {ref.secret}[{ref.key}] with {owners[pair]}")
        owners[pair] = w.component
    assert not problems, f"[{release.name}] NATS credentials:\n" + "\n".join(problems)


def test_no_service_sees_another_services_nats_credential(release: chartlib.Release) -> None:
    """Beyond its own credential, no service references the key of another service's credential."""
    creds = {}
    for w in release.service_workloads():
        found = _credential(release, w)
        if found:
            creds[w.component] = found[1]
    problems = []
    for w in release.workloads():
        for r in chartlib.secret_refs(release, w):
            for owner, c in creds.items():
                if owner == w.component:
                    continue
                if r.secret == c.secret and (r.key is None or r.key == c.key):
                    problems.append(f"{w}: {r} gives it {owner}'s NATS credential")
    assert not problems, f"[{release.name}]\n" + "\n".join(problems)


def test_external_nats_credentials_come_from_the_configured_secret(releases) -> None:
    """ci/pvc-values.yaml uses nats.external: every service's credential comes from the Secret named
    in the values (nats.credentials.existingSecret), none from a Secret the chart renders."""
    release = releases("pvc")
    ext = _external(release.values)
    assert ext is not None, "ci/pvc-values.yaml is expected to set nats.external"
    secret = ext.get("existingSecret")
    assert secret, "ci/pvc-values.yaml: nats.credentials.existingSecret is empty"
    problems = []
    for w in release.service_workloads():
        found = _credential(release, w)
        if found is None:
            problems.append(f"{w}: no NATS credential")
            continue
        var, ref = found
        if ref.secret != secret:
            problems.append(f"{w}: {var} comes from Secret {ref.secret!r}, expected the configured {secret!r}")
        configured = (ext.get("keys") or {}).get(w.component)
        if configured and ref.key != configured:
            problems.append(f"{w}: {var} comes from key {ref.key!r}, expected nats.credentials.keys.{w.component} = {configured!r}")
    rendered = {o.name for o in release.of_kind("Secret")}
    if secret in rendered:
        problems.append(f"the chart renders the Secret {secret!r} that nats.external says exists already")
    assert not problems, "[pvc] external NATS credentials:\n" + "\n".join(problems)


def test_key_naming_rule() -> None:
    assert key_names_user("BANGBAN_NATS_PASSWORD_INTAKE", "intake")
    assert key_names_user("intake.password", "intake")
    assert not key_names_user("BANGBAN_NATS_PASSWORD_INTAKE", "gateway")
    assert not key_names_user("password", "intake")
    assert not key_names_user("BANGBAN_NATS_PASSWORD_INTAKEX", "intake")
