"""keel: raw-SQL database migrations with linear history, strict validation, a migration
lock and free rollback.

    from sqlkeel import Keel
    keel = Keel(url="postgresql://localhost/app", migrations_dir="migrations")
    result = keel.upgrade()

Names are loaded on first use so that ``keel --help`` stays fast.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # typing itself costs `keel --help` ~3 ms

__version__ = "0.1.0"

_EXPORTS = {
    "Keel": "sqlkeel.api",
    "init_project": "sqlkeel.api",
    "UpgradeResult": "sqlkeel.api",
    "RollbackResult": "sqlkeel.api",
    "StatusResult": "sqlkeel.api",
    "HistoryResult": "sqlkeel.api",
    "LogResult": "sqlkeel.api",
    "ValidateResult": "sqlkeel.api",
    "RepairResult": "sqlkeel.api",
    "BaselineResult": "sqlkeel.api",
    "LockStatusResult": "sqlkeel.api",
    "UnlockResult": "sqlkeel.locking",
    "MigrationSet": "sqlkeel.discovery",
    "Listener": "sqlkeel.execute",
    "StepResult": "sqlkeel.execute",
    "Settings": "sqlkeel.config",
    "load_settings": "sqlkeel.config",
    "Version": "sqlkeel.core.versions",
    "KeelError": "sqlkeel.errors",
    "ConfigError": "sqlkeel.errors",
    "ConnectionFailed": "sqlkeel.errors",
    "UsageError": "sqlkeel.errors",
    "PlanError": "sqlkeel.errors",
    "SourceError": "sqlkeel.errors",
    "ValidationFailed": "sqlkeel.errors",
    "MigrationFailed": "sqlkeel.errors",
    "LockTimeout": "sqlkeel.errors",
    "LockLost": "sqlkeel.errors",
    "Problem": "sqlkeel.errors",
}

__all__ = [
    "BaselineResult",
    "ConfigError",
    "ConnectionFailed",
    "HistoryResult",
    "Keel",
    "KeelError",
    "Listener",
    "LockLost",
    "LockStatusResult",
    "LockTimeout",
    "LogResult",
    "MigrationFailed",
    "MigrationSet",
    "PlanError",
    "Problem",
    "RepairResult",
    "RollbackResult",
    "Settings",
    "SourceError",
    "StatusResult",
    "StepResult",
    "UnlockResult",
    "UpgradeResult",
    "UsageError",
    "ValidateResult",
    "ValidationFailed",
    "Version",
    "__version__",
    "init_project",
    "load_settings",
]

if TYPE_CHECKING:
    from sqlkeel.api import (
        BaselineResult,
        HistoryResult,
        Keel,
        LockStatusResult,
        LogResult,
        RepairResult,
        RollbackResult,
        StatusResult,
        UpgradeResult,
        ValidateResult,
        init_project,
    )
    from sqlkeel.config import Settings, load_settings
    from sqlkeel.core.versions import Version
    from sqlkeel.discovery import MigrationSet
    from sqlkeel.errors import (
        ConfigError,
        ConnectionFailed,
        KeelError,
        LockLost,
        LockTimeout,
        MigrationFailed,
        PlanError,
        Problem,
        SourceError,
        UsageError,
        ValidationFailed,
    )
    from sqlkeel.execute import Listener, StepResult
    from sqlkeel.locking import UnlockResult


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sqlkeel' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
