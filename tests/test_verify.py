"""The verification suite (scenarios/verify.py): every case passes, reproducibly (its speed: benchmarks/bench_verify.py)."""

from __future__ import annotations

import json
import math

import pytest

from scenarios.verify import Case, cases, run_cases, table


@pytest.fixture(scope="module")
def suite() -> dict[str, Case]:
    return {c.name: c for c in run_cases()}


def test_names(suite: dict[str, Case]) -> None:
    assert list(suite) == cases()
    assert len(set(cases())) == len(cases()) >= 10


@pytest.mark.parametrize("name", cases())
def test_case_passes(suite: dict[str, Case], name: str) -> None:
    c = suite[name]
    assert c.reference and c.quantity and c.tolerance
    assert math.isfinite(c.simulated), c
    assert c.passed, f"{c.name}: expected {c.expected_text()} ({c.tolerance}), simulated {c.simulated:.4g}; {c.detail}"


def test_selected_cases_and_determinism(suite: dict[str, Case]) -> None:
    again = run_cases(names=["rimea-5-premovement", "rimea-1-corridor"])
    assert [c.name for c in again] == ["rimea-1-corridor", "rimea-5-premovement"]  # suite order
    for c in again:
        assert c.simulated == suite[c.name].simulated
    with pytest.raises(KeyError, match="unknown verification case"):
        run_cases(names=["rimea-99"])


def test_table_and_json(suite: dict[str, Case]) -> None:
    results = list(suite.values())
    md = table(results)
    assert md.count("\n") == len(results) + 1
    doc = json.loads(json.dumps([c.as_dict() for c in results], allow_nan=False))
    lb = next(d for d in doc if d["name"] == "lower-bound")
    assert lb["expected"] == [1.0, None]
