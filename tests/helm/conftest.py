"""Fixtures of the Helm chart tests (run: make chart-test).

The chart helm/bangban is rendered once per values set and session with Helm v4's engine
(helm-python-sdk), as `helm install bangban helm/bangban -n bangban [-f <values file>]` would:

- ``values_set``: parametrized over the names of chartlib.VALUES_SETS
  ("default" = values.yaml, "all-features" = ci/all-features-values.yaml, "pvc" = ci/pvc-values.yaml);
- ``release``: the chartlib.Release of that values set (values, rendered objects, finders);
- ``releases``: a function name -> Release for tests about one particular set;
- ``rendered_text``: name -> {template path: rendered text}.

A values set that fails to render fails every test that uses it, with Helm's message.
"""

from __future__ import annotations

import pytest

import chartlib


class _Renders:
    def __init__(self) -> None:
        self._text: dict[str, dict[str, str]] = {}
        self._errors: dict[str, BaseException] = {}
        self._releases: dict[str, chartlib.Release] = {}

    def text(self, name: str) -> dict[str, str]:
        if name in self._errors:
            raise self._errors[name]
        if name not in self._text:
            try:
                values = chartlib.load_values(name)
                self._text[name] = chartlib.render(values)
            except Exception as e:  # keep the first failure for every later test of the set
                self._errors[name] = e
                raise
        return self._text[name]

    def release(self, name: str) -> chartlib.Release:
        if name not in self._releases:
            text = self.text(name)
            self._releases[name] = chartlib.Release(
                name, chartlib.load_values(name), chartlib.split_documents(text)
            )
        return self._releases[name]


@pytest.fixture(scope="session")
def _renders() -> _Renders:
    return _Renders()


@pytest.fixture(scope="session", params=list(chartlib.VALUES_SETS))
def values_set(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def release(_renders: _Renders, values_set: str) -> chartlib.Release:
    return _renders.release(values_set)


@pytest.fixture(scope="session")
def releases(_renders: _Renders):
    return _renders.release


@pytest.fixture(scope="session")
def rendered_text(_renders: _Renders):
    return _renders.text
