"""Least privilege of Secrets: each workload sees only the secret settings it needs.

For every workload the test collects each Secret reference of its pod (env valueFrom.secretKeyRef,
envFrom.secretRef, secret volumes, projected secrets). A secret is recognised by the variable it
sets anywhere in the release, so the same Secret key given to another workload under another name
still counts.
"""

from __future__ import annotations

import chartlib

DB_URL = "BANGBAN__DATABASE__URL"
PII_KEY = "BANGBAN__PII__KEY"
PII_USERS = {"intake", "notification", "evaluation"}
# the SMS provider's keys and the receipt token: notification only
PROVIDER_PATTERNS = (
    "BANGBAN__NOTIFICATION__ALIYUN__*",
    "BANGBAN__NOTIFICATION__TENCENT__*",
    "BANGBAN__NOTIFICATION__WEBHOOK__SECRET",
    "BANGBAN__NOTIFICATION__*",
)


def _refs(release: chartlib.Release) -> dict[str, list[chartlib.SecretRef]]:
    """component -> secret references, for the services and the migration Job."""
    out = {w.component: chartlib.secret_refs(release, w) for w in release.service_workloads()}
    out[chartlib.MIGRATE] = chartlib.secret_refs(release, release.migration_job())
    return out


def _backing(refs: dict[str, list[chartlib.SecretRef]], patterns: tuple[str, ...]) -> set[tuple[str, str | None]]:
    """(Secret, key) pairs that set a variable matching one of the patterns in any workload."""
    return {(r.secret, r.key) for rs in refs.values() for r in rs if r.env and chartlib.glob_any(r.env, patterns)}


def _holds(ref: chartlib.SecretRef, pairs: set[tuple[str, str | None]]) -> bool:
    """Does the reference give access to one of the (Secret, key) pairs?"""
    return any(ref.secret == s and (ref.key is None or ref.key == k) for s, k in pairs)


def _assert_only(release, refs, what: str, patterns: tuple[str, ...], allowed: set[str]) -> None:
    pairs = _backing(refs, patterns)
    problems = []
    for component, rs in refs.items():
        if component in allowed:
            continue
        for r in rs:
            if (r.env and chartlib.glob_any(r.env, patterns)) or _holds(r, pairs):
                problems.append(f"{component}: {r}")
    assert not problems, (
        f"[{release.name}] {what} may go only to {', '.join(sorted(allowed)) or 'no workload'}; also referenced by:\n"
        + "\n".join(problems)
    )


def test_no_workload_takes_a_whole_secret(release: chartlib.Release) -> None:
    problems = [
        f"{w}: envFrom secretRef {r.secret} (every key of the Secret becomes a variable)"
        for w in release.workloads()
        for r in chartlib.secret_refs(release, w)
        if r.via == "envFrom"
    ]
    assert not problems, f"[{release.name}] envFrom of a whole Secret:\n" + "\n".join(problems)


def test_database_url_not_in_the_gateway(release: chartlib.Release) -> None:
    refs = _refs(release)
    _assert_only(release, refs, f"the database URL ({DB_URL})", (DB_URL,), set(chartlib.SERVICES) - {"gateway"} | {chartlib.MIGRATE})


def test_every_service_but_the_gateway_gets_the_database_url(release: chartlib.Release) -> None:
    problems = []
    for w in release.service_workloads():
        if w.component == "gateway":
            continue
        var = chartlib.effective_env(release, w.container()).get(DB_URL)
        if var is None or var.secret is None:
            problems.append(f"{w}: {DB_URL} is {'missing' if var is None else 'not from a Secret (' + var.origin + ')'}")
    assert not problems, f"[{release.name}] database URL:\n" + "\n".join(problems)


def test_pii_key_only_where_personal_data_is_handled(release: chartlib.Release) -> None:
    refs = _refs(release)
    _assert_only(release, refs, f"the PII key ({PII_KEY})", (PII_KEY,), PII_USERS)
    problems = []
    for w in release.service_workloads():
        if w.component in PII_USERS:
            var = chartlib.effective_env(release, w.container()).get(PII_KEY)
            if var is None or var.secret is None:
                problems.append(f"{w}: {PII_KEY} is {'missing' if var is None else 'not from a Secret'}")
    assert not problems, f"[{release.name}] PII key:\n" + "\n".join(problems)
    pairs = _backing(refs, (PII_KEY,))
    assert len(pairs) <= 1, f"[{release.name}] the services must share one PII key; they read {sorted(pairs)}"


def test_sms_provider_keys_only_in_notification(release: chartlib.Release) -> None:
    refs = _refs(release)
    _assert_only(release, refs, "the SMS provider's keys", PROVIDER_PATTERNS, {"notification"})


def test_migration_job_gets_the_database_url_and_nothing_else_secret(release: chartlib.Release) -> None:
    job = release.migration_job()
    refs = chartlib.secret_refs(release, job)
    db = [r for r in refs if r.env == DB_URL]
    others = [r for r in refs if r.env != DB_URL]
    assert db, f"[{release.name}] {job}: {DB_URL} does not come from a Secret"
    assert not others, f"[{release.name}] {job}: secret references besides {DB_URL}:\n" + "\n".join(map(str, others))


def test_secret_refs_are_collected_from_every_source() -> None:
    """The collector itself: env, envFrom, secret volumes and projected secrets all count."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {chartlib.COMPONENT: "x"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "env": [{"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k1"}}}],
                    "envFrom": [{"secretRef": {"name": "s2"}}],
                }
            ],
            "volumes": [
                {"name": "v1", "secret": {"secretName": "s3"}},
                {"name": "v2", "projected": {"sources": [{"secret": {"name": "s4", "items": [{"key": "k4", "path": "p"}]}}]}},
            ],
        },
    }
    release = chartlib.Release("unit", {}, [chartlib.Obj(pod, "unit")])
    refs = chartlib.secret_refs(release, release.workloads()[0])
    assert {(r.via, r.secret, r.key) for r in refs} == {
        ("env", "s1", "k1"), ("envFrom", "s2", None), ("volume", "s3", None), ("projected", "s4", "k4"),
    }
