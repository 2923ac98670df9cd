"""The benchmark harness: venvs, databases, timed runs, checks, report (stdlib only)."""
