"""Where the tests find the shared PostgreSQL and Chroma servers that `.ci/run` starts."""

from __future__ import annotations

import os

POSTGRES_ENV = "EXPLORE_INSTRUCT_TEST_POSTGRES_URL"  # postgresql://user@host:port/db of a server to share
CHROMA_ENV = "EXPLORE_INSTRUCT_TEST_CHROMA"  # host:port of a running `chroma run`
REQUIRED_ENV = "EXPLORE_INSTRUCT_TEST_SERVICES"  # "required": a missing service fails its tests, no skip


def required() -> bool:
    return os.environ.get(REQUIRED_ENV, "").lower() == "required"
