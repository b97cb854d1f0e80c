"""Static checks of deploy/Dockerfile and .dockerignore (there is no docker here to build the image):
a locked, cached release build of exactly the workspace's binaries into a distroless, non-root image
that the chart's commands and securityContext fit."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import chartlib

DOCKERFILE = chartlib.REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = chartlib.REPO / ".dockerignore"
DATA_DIR = "/var/lib/bangban"


# ---- a small Dockerfile reader ---------------------------------------------------------------------


@dataclass
class Instruction:
    cmd: str  # upper case
    flags: dict[str, list[str]]  # --name=value (repeatable)
    rest: str  # the arguments after the flags, continuation lines joined
    line: int

    def __str__(self) -> str:
        return f"line {self.line}: {self.cmd} {self.rest}"


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def of(self, cmd: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd == cmd]


def parse_dockerfile(text: str) -> tuple[list[str], list[Stage]]:
    """(comment/directive lines before the first instruction, stages)."""
    header: list[str] = []
    stages: list[Stage] = []
    logical: list[tuple[int, str]] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            if not logical and not stages:
                header.append(line)
            continue
        if buf and line.lstrip().startswith("#"):
            continue  # comments inside a continued instruction
        if not buf:
            start = n
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append((start, buf + line))
        buf = ""
    pre_from: list[Instruction] = []
    for n, line in logical:
        cmd, _, rest = line.strip().partition(" ")
        cmd = cmd.upper()
        flags: dict[str, list[str]] = {}
        rest = rest.strip()
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            name, _, value = flag[2:].partition("=")
            flags.setdefault(name, []).append(value)
            rest = rest.strip()
        ins = Instruction(cmd, flags, rest, n)
        if cmd == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(parts[0], name))
        elif stages:
            stages[-1].instructions.append(ins)
        else:
            pre_from.append(ins)
    return header, stages


def exec_form(rest: str) -> list[str] | None:
    try:
        value = json.loads(rest)
    except ValueError:
        return None
    return value if isinstance(value, list) else None


def copy_sources(ins: Instruction) -> tuple[list[str], str]:
    parts = exec_form(ins.rest) or shlex.split(ins.rest)
    return parts[:-1], parts[-1]


# ---- .dockerignore -------------------------------------------------------------------------------


def dockerignore_excludes(patterns: list[str], path: str) -> bool:
    """Docker's rules, closely enough: patterns are anchored at the context root, `**` spans
    folders, a path is excluded when it or a parent folder matches, and the last matching line wins
    (`!` re-includes)."""

    def regex(p: str) -> re.Pattern[str]:
        p = p.strip().lstrip("/").rstrip("/")
        out = ""
        i = 0
        while i < len(p):
            if p.startswith("**", i):
                out += ".*"
                i += 2
                if p.startswith("/", i):
                    out = out[:-2] + "(?:.*/)?"
                    i += 1
            elif p[i] == "*":
                out += "[^/]*"
                i += 1
            elif p[i] == "?":
                out += "[^/]"
                i += 1
            else:
                out += re.escape(p[i])
                i += 1
        return re.compile(out + r"\Z")

    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    excluded = False
    for raw in patterns:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        rx = regex(line[1:] if negate else line)
        if any(rx.match(c) for c in candidates):
            excluded = not negate
    return excluded


# ---- the workspace's binaries ------------------------------------------------------------------------


def workspace_binaries() -> set[str]:
    """Every bin target of the workspace members: [[bin]] names, the package's own bin (src/main.rs,
    named after the package) and src/bin/*."""
    root = tomllib.loads((chartlib.REPO / "Cargo.toml").read_text(encoding="utf-8"))
    bins: set[str] = set()
    for member in root["workspace"]["members"]:
        dir_ = chartlib.REPO / member
        manifest = tomllib.loads((dir_ / "Cargo.toml").read_text(encoding="utf-8"))
        package = manifest.get("package", {})
        declared = manifest.get("bin", [])
        bins |= {b["name"] for b in declared}
        declared_paths = {b.get("path") for b in declared}
        if package.get("autobins", True):
            if (dir_ / "src" / "main.rs").is_file() and "src/main.rs" not in declared_paths:
                bins.add(package["name"])
            bin_dir = dir_ / "src" / "bin"
            if bin_dir.is_dir():
                for p in bin_dir.iterdir():
                    if p.suffix == ".rs" or (p / "main.rs").is_file():
                        bins.add(p.stem)
    return bins


# ---- fixtures ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> tuple[list[str], list[Stage]]:
    assert DOCKERFILE.is_file(), "deploy/Dockerfile is missing"
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final(dockerfile) -> Stage:
    return dockerfile[1][-1]


@pytest.fixture(scope="module")
def image_binaries(final: Stage) -> set[str]:
    """Binaries the final stage copies into a folder on PATH."""
    out: set[str] = set()
    for ins in final.of("COPY"):
        if "from" not in ins.flags:
            continue
        sources, dest = copy_sources(ins)
        if dest.rstrip("/") in ("/usr/local/bin", "/usr/bin", "/bin"):
            out |= {Path(s).name for s in sources}
    return out


# ---- the checks -------------------------------------------------------------------------------------


def test_buildkit_syntax_line(dockerfile) -> None:
    header, _ = dockerfile
    assert header and re.match(r"#\s*syntax\s*=\s*docker/dockerfile:\S+", header[0]), (
        "deploy/Dockerfile: the first line must be a BuildKit syntax directive (# syntax=docker/dockerfile:1.x)"
    )


def _cargo_builds(stages: list[Stage]) -> list[tuple[Stage, Instruction]]:
    return [(s, i) for s in stages for i in s.of("RUN") if re.search(r"\bcargo\s+build\b", i.rest)]


def test_locked_release_build(dockerfile) -> None:
    builds = _cargo_builds(dockerfile[1])
    assert builds, "deploy/Dockerfile: no RUN cargo build"
    for _, ins in builds:
        assert "--release" in ins.rest and "--locked" in ins.rest, f"deploy/Dockerfile {ins}: needs --release --locked"


def test_dependency_cache(dockerfile) -> None:
    stages = dockerfile[1]
    chef = any("cargo chef cook" in i.rest for s in stages for i in s.of("RUN"))
    if chef:
        return
    problems = []
    for _, ins in _cargo_builds(stages):
        mounts = [m for m in ins.flags.get("mount", []) if "type=cache" in m]
        targets = [dict(kv.split("=", 1) for kv in m.split(",") if "=" in kv).get("target", "") for m in mounts]
        if not any(t.rstrip("/").endswith("/cargo/registry") for t in targets):
            problems.append(f"{ins.line}: no cache mount of the cargo registry (/usr/local/cargo/registry)")
        target_mounts = [t for t in targets if t.rstrip("/").endswith("/target")]
        if not target_mounts:
            problems.append(f"{ins.line}: no cache mount of target/")
        elif not re.search(r"\b(cp|install|mv)\b[^&;]*target/release/", ins.rest):
            problems.append(f"{ins.line}: target/ is a cache mount, so the binaries must be copied out of it in the same RUN")
    assert not problems, "deploy/Dockerfile: dependency cache (cargo-chef stages or RUN --mount=type=cache):\n" + "\n".join(problems)


def test_runtime_is_distroless_and_non_root(final: Stage) -> None:
    assert final.base.startswith("gcr.io/distroless/cc-debian12"), (
        f"deploy/Dockerfile: the runtime stage is FROM {final.base}, expected gcr.io/distroless/cc-debian12 "
        "(glibc, CA certificates and tzdata, no shell)"
    )
    users = final.of("USER")
    assert users, "deploy/Dockerfile: the runtime stage sets no USER"
    user = users[-1].rest.strip()
    m = re.fullmatch(r"(\d+)(?::(\d+))?", user)
    assert m, f"deploy/Dockerfile: USER {user!r} must be numeric (uid:gid) so that runAsNonRoot can verify it"
    assert int(m.group(1)) != 0 and (m.group(2) is None or int(m.group(2)) != 0), f"deploy/Dockerfile: USER {user} is root"


def test_user_matches_the_chart(final: Stage, releases) -> None:
    uid = int(final.of("USER")[-1].rest.split(":")[0])
    release = releases("default")
    problems = []
    for w in release.workloads():
        psc = w.pod_spec.get("securityContext") or {}
        for c in w.containers():
            run_as = (c.get("securityContext") or {}).get("runAsUser", psc.get("runAsUser"))
            if run_as is not None and run_as != uid:
                problems.append(f"{w}: container {c.get('name')} runs as {run_as}, the image's USER is {uid}")
    assert not problems, "\n".join(problems)


def test_final_stage_copies_only_build_output(final: Stage) -> None:
    problems = []
    for ins in final.of("COPY") + final.of("ADD"):
        sources, _ = copy_sources(ins)
        if ins.cmd == "ADD" or "from" not in ins.flags:
            problems.append(f"{ins}: the runtime stage must copy only from a build stage (no build context, no `COPY . .`)")
        elif any(s.strip("/") in (".", "") for s in sources):
            problems.append(f"{ins}: copies a whole stage")
    assert not problems, "deploy/Dockerfile:\n" + "\n".join(problems)


def test_data_dir_belongs_to_the_user(final: Stage) -> None:
    uid = final.of("USER")[-1].rest.strip()
    owned = [
        ins for ins in final.of("COPY")
        if copy_sources(ins)[1].rstrip("/") == DATA_DIR and ins.flags.get("chown")
    ]
    assert owned, f"deploy/Dockerfile: no COPY --chown=… of a prepared folder to {DATA_DIR}"
    chown = owned[-1].flags["chown"][-1]
    assert chown.split(":")[0] == uid.split(":")[0], f"deploy/Dockerfile: {DATA_DIR} is owned by {chown}, USER is {uid}"


def test_environment_ports_entrypoint_and_labels(final: Stage) -> None:
    env_text = " ".join(i.rest for i in final.of("ENV"))
    env = dict(re.findall(r"(\w+)=(\S+)", env_text))
    expected_env = {
        "BANGBAN__HTTP__LISTEN": "0.0.0.0:8080",
        "BANGBAN__HTTP__METRICS_LISTEN": "0.0.0.0:9090",
        "BANGBAN__TELEMETRY__LOG_FORMAT": "json",
        "BANGBAN__DATA_DIR": DATA_DIR,
    }
    problems = [f"ENV {k}={env.get(k)!r}, expected {v!r}" for k, v in expected_env.items() if env.get(k) != v]
    exposed = {p.split("/")[0] for i in final.of("EXPOSE") for p in i.rest.split()}
    if not {"8080", "9090"} <= exposed:
        problems.append(f"EXPOSE {sorted(exposed)}, expected 8080 and 9090")
    entry = final.of("ENTRYPOINT")
    cmd = final.of("CMD")
    if not entry or exec_form(entry[-1].rest) != ["bangban"]:
        problems.append('ENTRYPOINT must be ["bangban"] (exec form)')
    if not cmd or exec_form(cmd[-1].rest) != ["serve"]:
        problems.append('CMD must be ["serve"] (exec form)')
    labels_text = " ".join(i.rest for i in final.of("LABEL"))
    labels = dict(re.findall(r'(org\.opencontainers\.image\.\w+)="([^"]*)"', labels_text))
    for key in ("title", "description", "source", "licenses", "version"):
        if f"org.opencontainers.image.{key}" not in labels:
            problems.append(f"LABEL org.opencontainers.image.{key} missing")
    if labels.get("org.opencontainers.image.licenses") != "Apache-2.0":
        problems.append("LABEL org.opencontainers.image.licenses must be Apache-2.0 (the workspace's license)")
    version = labels.get("org.opencontainers.image.version", "")
    if not re.search(r"\$\{?VERSION\}?", version) or not any(i.rest.split("=")[0].strip() == "VERSION" for i in final.of("ARG")):
        problems.append("LABEL org.opencontainers.image.version must come from ARG VERSION of the runtime stage")
    assert not problems, "deploy/Dockerfile runtime stage:\n" + "\n".join(problems)


def test_binaries_are_exactly_the_workspace_bins(dockerfile, image_binaries: set[str]) -> None:
    bins = workspace_binaries()
    assert "bangban" in bins and "bangban-gateway" in bins, f"workspace binaries read as {sorted(bins)}"
    built: set[str] = set()
    for _, ins in _cargo_builds(dockerfile[1]):
        built |= set(re.findall(r"--bin(?:=|\s+)([\w-]+)", ins.rest))
        if "--bins" in ins.rest or not re.search(r"--bin\b|-p\b|--package\b", ins.rest):
            built |= bins
        built |= {p for p in re.findall(r"(?:-p|--package)(?:=|\s+)([\w-]+)", ins.rest) if p in bins}
    assert built == bins, f"deploy/Dockerfile builds {sorted(built)}; the workspace's bin targets are {sorted(bins)}"
    assert image_binaries == bins, (
        f"deploy/Dockerfile copies {sorted(image_binaries)} into the image; the workspace's bin targets are {sorted(bins)}"
    )


def test_chart_commands_use_the_image_binaries(image_binaries: set[str], releases) -> None:
    problems = []
    for name in chartlib.VALUES_SETS:
        release = releases(name)
        repo = (release.values.get("image") or {}).get("repository") or _default_repository()
        for w in release.workloads():
            for c in w.containers():
                if repo and not str(c.get("image", "")).startswith(str(repo)):
                    continue  # another image (none today)
                command = c.get("command") or []
                if not command:
                    continue  # the image's ENTRYPOINT: bangban
                binary = command[0].rsplit("/", 1)[-1]
                if binary not in image_binaries:
                    problems.append(f"[{name}] {w}: container {c.get('name')} runs {command[0]!r}, not a binary of the image")
    assert not problems, "\n".join(problems)


def _default_repository() -> str | None:
    import yaml

    values = yaml.safe_load((chartlib.CHART_DIR / "values.yaml").read_text(encoding="utf-8")) or {}
    return (values.get("image") or {}).get("repository")


def test_dockerignore_keeps_secrets_and_build_output_out() -> None:
    assert DOCKERIGNORE.is_file(), ".dockerignore is missing at the repository root"
    patterns = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    must_exclude = [
        "target/release/bangban", ".tools/venv/bin/python", "data/intake.db", ".git/HEAD",
        "deploy/nats/dev-passwords.env", "intake.db", "data/x.db-wal", "node_modules/x/index.js",
    ]
    must_keep = [
        "Cargo.toml", "Cargo.lock", "services/gateway/src/main.rs", "shared/workdays/data/2026.json",
        "services/planning/data/catalog.json", "deploy/Dockerfile", "tests/Cargo.toml",
    ]
    problems = [f"{p} is not excluded" for p in must_exclude if not dockerignore_excludes(patterns, p)]
    problems += [f"{p} is excluded but the build needs it" for p in must_keep if dockerignore_excludes(patterns, p)]
    assert not problems, ".dockerignore:\n" + "\n".join(problems)


def test_dockerignore_reader() -> None:
    assert dockerignore_excludes(["target/"], "target/x")
    assert not dockerignore_excludes(["target/"], "a/target/x")
    assert dockerignore_excludes(["**/*.db"], "a/b/c.db")
    assert not dockerignore_excludes(["data/"], "shared/workdays/data/2026.json")
    assert not dockerignore_excludes(["*.env", "!keep.env"], "keep.env")
