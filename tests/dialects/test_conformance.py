"""The dialect conformance suite (``sqlkeel.testing.conformance``), run once per registered
family through its harness (the ``harness`` and ``db_url`` fixtures of conftest.py)."""

from sqlkeel.testing.conformance import *  # noqa: F403
