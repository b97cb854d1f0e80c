#!/usr/bin/env python3
"""Renders the Helm chart helm/bangban offline with Helm's own engine (helm-python-sdk, installed into
.tools/venv by tools/ensure-chart-tools.sh) and writes every rendered Kubernetes object as one JSON array.

Usage:
  .tools/venv/bin/python tools/render-chart.py [--values FILE ...] [--set-json JSON ...]
      [--name bangban] [--namespace bangban] [--chart helm/bangban] --out FILE

  --values FILE   a values file, as `helm install -f FILE`; repeatable, later files win (maps are merged
                  key by key, everything else is replaced — Helm's rule).
  --set-json JSON either a JSON object merged over the values files, or Helm's `--set-json` form
                  `path.to.key=<JSON>`; repeatable, applied in order after every --values.
  --out FILE      where the JSON array goes ("-": standard output).

Each element of the array is one non-empty YAML document of a rendered template, as a JSON object, with
an extra key "_template": the path of the template it came from (e.g. "bangban/templates/intake.yaml").
Objects are in template path order, then document order. NOTES.txt and other non-manifest output are
left out. The release is rendered as an install (`is_install`), so `.Release.IsInstall` is true and
`lookup` finds nothing, as on a first `helm install`.

Exit status: 0 on success; 1 with Helm's error (a failed `required`, a schema violation, a template
error) on standard error when the chart does not render; 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CHART = REPO / "helm" / "bangban"


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Helm's merge of values sources: maps merged key by key, anything else replaced by `over`."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_set_json(expression: str, helm: Any) -> dict[str, Any]:
    """A JSON object, or Helm's `key.path=<JSON>` form."""
    text = expression.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"--set-json {expression!r}: not a JSON object ({e})") from e
        if not isinstance(value, dict):
            raise ValueError(f"--set-json {expression!r}: not a JSON object")
        return value
    return helm.parse_set_json(expression)


def split_documents(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every non-empty YAML document of the rendered manifests, each tagged with its template path."""
    import yaml

    objects: list[dict[str, Any]] = []
    for template in sorted(rendered):
        if not template.endswith((".yaml", ".yml", ".json")):
            continue  # NOTES.txt and the like
        for doc in yaml.safe_load_all(rendered[template]):
            if doc is None or doc == {}:
                continue
            if not isinstance(doc, dict):
                raise ValueError(f"{template}: a rendered document is not a mapping: {str(doc)[:80]!r}")
            doc["_template"] = template
            objects.append(doc)
    return objects


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", "-f", action="append", default=[], metavar="FILE")
    parser.add_argument("--set-json", action="append", default=[], metavar="JSON")
    parser.add_argument("--name", default="bangban")
    parser.add_argument("--namespace", "-n", default="bangban")
    parser.add_argument("--chart", default=str(DEFAULT_CHART))
    parser.add_argument("--out", "-o", required=True, metavar="FILE")
    args = parser.parse_args(argv)

    try:
        import helm_python as helm
    except ImportError as e:
        print(
            f"render-chart: helm_python is not importable ({e}); run tools/ensure-chart-tools.sh and use "
            ".tools/venv/bin/python",
            file=sys.stderr,
        )
        return 1

    values: dict[str, Any] = {}
    try:
        for path in args.values:
            text = Path(path).read_text(encoding="utf-8")
            values = merge(values, helm.values_from_yaml(text) or {})
        for expression in args.set_json:
            values = merge(values, parse_set_json(expression, helm))
    except (OSError, ValueError, helm.HelmError) as e:
        print(f"render-chart: values: {e}", file=sys.stderr)
        return 2

    try:
        with helm.Chart.load(args.chart) as chart:
            rendered = chart.render(values, name=args.name, namespace=args.namespace, is_install=True)
    except helm.HelmError as e:
        print(f"render-chart: helm could not render {args.chart}: {e}", file=sys.stderr)
        return 1

    try:
        objects = split_documents(rendered)
    except Exception as e:  # a YAML error in a rendered manifest is a chart error too
        print(f"render-chart: a rendered manifest is not valid YAML: {e}", file=sys.stderr)
        return 1

    text = json.dumps(objects, ensure_ascii=False, indent=1, default=str) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
