"""What the hypothesis fuzz tests share: derandomised settings, a printed tally, a scratch directory."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# The same cases on every run, so CI is stable; fixtures are shared by a test's examples on purpose.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


def tally_report(tried: Counter[str], outcomes: Counter[str]) -> Callable[..., Any]:
    """A module-wide autouse fixture that prints how many cases ran and how they ended."""

    @pytest.fixture(scope="module", autouse=True)
    def _report() -> Iterator[None]:
        yield
        print(f"\nfuzz cases tried: {dict(tried)} (total {sum(tried.values())}); outcomes: {dict(outcomes)}")

    return _report


def scratch_dir(prefix: str) -> Callable[..., Any]:
    """A fixture: a temporary directory outside pytest's tmp_path, removed afterwards."""

    @pytest.fixture
    def scratch() -> Iterator[Path]:
        path = Path(tempfile.mkdtemp(prefix=prefix))
        yield path
        shutil.rmtree(path, ignore_errors=True)

    return scratch
