"""The verification suite (scenarios/verify.py): every case passes, fast and reproducibly."""

from __future__ import annotations

import json
import math
import time

import pytest

from scenarios.verify import Case, cases, run_cases, table

@pytest.fixture(scope="module")
def suite() -> tuple[dict[str, Case], float]:
    t0 = time.perf_counter()
    results = run_cases()
    return {c.name: c for c in results}, time.perf_counter() - t0


def test_names(suite: tuple[dict[str, Case], float]) -> None:
    results, _ = suite
    assert list(results) == cases()
    assert len(set(cases())) == len(cases()) >= 10


@pytest.mark.parametrize("name", cases())
def test_case_passes(suite: tuple[dict[str, Case], float], name: str) -> None:
    c = suite[0][name]
    assert c.reference and c.quantity and c.tolerance
    assert math.isfinite(c.simulated), c
    assert c.passed, f"{c.name}: expected {c.expected_text()} ({c.tolerance}), simulated {c.simulated:.4g}; {c.detail}"


def test_suite_is_fast(suite: tuple[dict[str, Case], float]) -> None:
    assert suite[1] < 30.0


def test_selected_cases_and_determinism(suite: tuple[dict[str, Case], float]) -> None:
    again = run_cases(names=["rimea-5-premovement", "rimea-1-corridor"])
    assert [c.name for c in again] == ["rimea-1-corridor", "rimea-5-premovement"]  # suite order
    for c in again:
        assert c.simulated == suite[0][c.name].simulated
    with pytest.raises(KeyError, match="unknown verification case"):
        run_cases(names=["rimea-99"])


def test_table_and_json(suite: tuple[dict[str, Case], float]) -> None:
    results = list(suite[0].values())
    md = table(results)
    assert md.count("\n") == len(results) + 1
    doc = json.loads(json.dumps([c.as_dict() for c in results], allow_nan=False))
    lb = next(d for d in doc if d["name"] == "lower-bound")
    assert lb["expected"] == [1.0, None]
