"""One adapter per tool; ADAPTERS lists them in the order of the table's columns."""

from __future__ import annotations

from adapters.base import Action, Adapter, Command, Database, Kind, Project
from adapters.dbmate import Dbmate
from adapters.floor import Floor
from adapters.jetbase import Jetbase
from adapters.keel import Keel
from adapters.sqlstep import Sqlstep
from adapters.yoyo import Yoyo

ADAPTERS: dict[str, type[Adapter]] = {
    cls.name: cls for cls in (Keel, Dbmate, Jetbase, Sqlstep, Yoyo, Floor)
}

__all__ = ["ADAPTERS", "Action", "Adapter", "Command", "Database", "Kind", "Project"]
