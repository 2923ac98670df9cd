"""Planning and validation on in-memory files and history rows (SPEC 4, 5, 7): no database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

import pytest

from sqlkeel.core.model import Direction, HistoryRow, Kind, LogRow, MigrationFile, State, Step
from sqlkeel.core.parsing import parse_migration
from sqlkeel.core.plan import (
    EVERYTHING,
    find_problems,
    head,
    plan_baseline,
    plan_repair,
    plan_rollback,
    plan_upgrade,
    validate,
)
from sqlkeel.core.splitter import SQLITE
from sqlkeel.core.status import describe
from sqlkeel.core.versions import Version
from sqlkeel.errors import PlanError, Problem, SourceError, UsageError, ValidationFailed

AT = datetime(2026, 11, 25, 14, 30, 22, tzinfo=timezone.utc)

# The project every table below works on, unless a case says otherwise.
BODIES = {
    "V1__users.sql": "CREATE TABLE users (id int);\n-- rollback\nDROP TABLE users;\n",
    "V1.9__a.sql": "CREATE TABLE a (id int);\n-- rollback\nDROP TABLE a;\n",
    "V1.10__b.sql": "CREATE TABLE b (id int);\n-- rollback\nDROP TABLE b;\n",
    "V2__c.sql": "CREATE TABLE c (id int);\n-- rollback\nDROP TABLE c;\n",
    "R__views.sql": "CREATE VIEW v AS SELECT 1;\n",
    "RA__grants.sql": "SELECT 'grant';\n",
}


def mf(path: str, body: str | None = None) -> MigrationFile:
    """A parsed file; the body defaults to the project's version of it."""
    if body is None:
        versioned = path.rsplit("/", 1)[-1].startswith("V")
        fallback = "SELECT 1;\n-- rollback\nSELECT 2;\n" if versioned else "SELECT 1;\n"
        body = BODIES.get(path, fallback)
    return parse_migration(path, body, SQLITE)


def files(*paths: str) -> list[MigrationFile]:
    return [mf(p) for p in paths]


def row(
    file: MigrationFile,
    id: int,
    *,
    state: State = State.APPLIED,
    checksum: str | None = None,
    rollback_checksum: str | None = "same",
    failed_statement: int | None = None,
    failed_line: int | None = None,
) -> HistoryRow:
    """The history row recording ``file`` as run (with its current checksums by default)."""
    return HistoryRow(
        id=id,
        version=file.version,
        description=file.description,
        script=file.path,
        kind=file.kind,
        checksum=checksum if checksum is not None else file.checksum,
        rollback_checksum=(
            file.rollback_checksum if rollback_checksum == "same" else rollback_checksum
        ),
        applied_at=AT,
        applied_by="tester@host",
        execution_ms=1,
        state=state,
        failed_statement=failed_statement,
        failed_line=failed_line,
    )


def applied(*paths: str) -> list[HistoryRow]:
    return [row(mf(p), i) for i, p in enumerate(paths, start=1)]


def step_paths(steps: Sequence[Step]) -> list[str]:
    return [s.migration.path for s in steps]


ALL = (
    "V2__c.sql",
    "V1.10__b.sql",
    "RA__grants.sql",
    "V1__users.sql",
    "R__views.sql",
    "V1.9__a.sql",
)


# ---------------------------------------------------------------------------------------
# head


HEADS = [
    pytest.param([], None, id="empty_history_has_no_head"),
    pytest.param(["V1__users.sql"], "1", id="one_version"),
    pytest.param(
        ["V1__users.sql", "V1.9__a.sql", "V1.10__b.sql"], "1.10", id="numeric_not_lexical_maximum"
    ),
    pytest.param(["R__views.sql"], None, id="repeatables_are_not_a_head"),
]


@pytest.mark.parametrize(("paths", "expected"), HEADS)
def test_the_head_is_the_highest_applied_version(paths: list[str], expected: str | None) -> None:
    top = head(applied(*paths))
    assert (str(top) if top is not None else None) == expected


def test_a_failed_row_is_not_the_head() -> None:
    one, two = mf("V1__users.sql"), mf("V2__c.sql")
    history = [row(one, 1), row(two, 2, state=State.FAILED, failed_statement=1, failed_line=1)]
    assert head(history) == Version.parse("1")


# ---------------------------------------------------------------------------------------
# plan_upgrade

# (applied paths, keyword arguments, expected step paths in order)
UPGRADES = [
    pytest.param(
        [],
        {},
        [
            "V1__users.sql",
            "V1.9__a.sql",
            "V1.10__b.sql",
            "V2__c.sql",
            "R__views.sql",
            "RA__grants.sql",
        ],
        id="fresh_database_versions_numerically_then_repeatable_then_always",
    ),
    pytest.param(
        ["V1__users.sql", "V1.9__a.sql"],
        {},
        ["V1.10__b.sql", "V2__c.sql", "R__views.sql", "RA__grants.sql"],
        id="only_pending_versions",
    ),
    pytest.param(
        [],
        {"target": "1.9"},
        ["V1__users.sql", "V1.9__a.sql"],
        id="to_includes_the_target_and_skips_repeatables",
    ),
    pytest.param(
        [],
        {"target": "2"},
        [
            "V1__users.sql",
            "V1.9__a.sql",
            "V1.10__b.sql",
            "V2__c.sql",
            "R__views.sql",
            "RA__grants.sql",
        ],
        id="to_the_last_version_reaches_the_end_so_repeatables_run",
    ),
    pytest.param(
        [],
        {"count": 3},
        ["V1__users.sql", "V1.9__a.sql", "V1.10__b.sql"],
        id="count_takes_the_first_n_versions",
    ),
    pytest.param(
        ["V1__users.sql", "V1.9__a.sql"],
        {"count": 2},
        ["V1.10__b.sql", "V2__c.sql", "R__views.sql", "RA__grants.sql"],
        id="count_that_reaches_the_end_runs_repeatables",
    ),
    pytest.param(
        ["V1__users.sql", "V1.9__a.sql"],
        {"count": 1, "target": "2"},
        ["V1.10__b.sql"],
        id="count_and_to_together_take_the_smaller",
    ),
    pytest.param(
        ["V1__users.sql", "V1.9__a.sql", "V1.10__b.sql", "V2__c.sql", "R__views.sql"],
        {},
        ["RA__grants.sql"],
        id="unchanged_repeatable_is_skipped_but_always_runs",
    ),
]


@pytest.mark.parametrize(("done", "kwargs", "expected"), UPGRADES)
def test_upgrade_plans_pending_files_in_run_order(
    done: list[str], kwargs: dict[str, object], expected: list[str]
) -> None:
    if "target" in kwargs:
        kwargs = {**kwargs, "target": Version.parse(str(kwargs["target"]))}
    plan = plan_upgrade(files(*ALL), applied(*done), support=EVERYTHING, **kwargs)  # type: ignore[arg-type]
    assert plan.direction is Direction.UPGRADE
    assert step_paths(plan.steps) == expected
    assert all(s.direction is Direction.UPGRADE for s in plan.steps)


def test_a_changed_repeatable_is_planned_again() -> None:
    history = applied("V1__users.sql", "R__views.sql")
    edited = mf("R__views.sql", "CREATE VIEW v AS SELECT 2;\n")
    plan = plan_upgrade([mf("V1__users.sql"), edited], history, support=EVERYTHING)
    assert step_paths(plan.steps) == ["R__views.sql"]


def test_an_up_to_date_database_without_run_always_files_has_an_empty_plan() -> None:
    names = ("V1__users.sql", "V2__c.sql", "R__views.sql")
    plan = plan_upgrade(files(*names), applied(*names), support=EVERYTHING)
    assert plan.is_empty


def test_versions_order_numerically_with_many_components() -> None:
    names = [
        "V10__j.sql",
        "V2__b.sql",
        "V1.10__a.sql",
        "V1.9__z.sql",
        "V1__x.sql",
        "V20261125.143022__t.sql",
        "V1.9.1__y.sql",
    ]
    plan = plan_upgrade(files(*names), [], support=EVERYTHING)
    assert step_paths(plan.steps) == [
        "V1__x.sql",
        "V1.9__z.sql",
        "V1.9.1__y.sql",
        "V1.10__a.sql",
        "V2__b.sql",
        "V10__j.sql",
        "V20261125.143022__t.sql",
    ]


def test_sub_folders_do_not_change_the_order() -> None:
    names = ["b/V1__x.sql", "a/V2__y.sql", "V3__z.sql"]
    plan = plan_upgrade(files(*names), [], support=EVERYTHING)
    assert step_paths(plan.steps) == ["b/V1__x.sql", "a/V2__y.sql", "V3__z.sql"]


def test_single_transaction_is_recorded_in_the_plan() -> None:
    plan = plan_upgrade(files("V1__users.sql"), [], single_transaction=True, support=EVERYTHING)
    assert plan.single_transaction


# (keyword arguments, error type, words the message must contain)
BAD_UPGRADES = [
    pytest.param({"count": 0}, UsageError, ["count must be 1 or more"], id="count_zero"),
    pytest.param({"count": -1}, UsageError, ["count must be 1 or more"], id="count_negative"),
    pytest.param(
        {"target": Version.parse("7")},
        UsageError,
        ["no migration file", "7"],
        id="to_a_version_without_a_file",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "words"), BAD_UPGRADES)
def test_upgrade_refuses_impossible_requests(
    kwargs: dict[str, object], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        plan_upgrade(files(*ALL), [], support=EVERYTHING, **kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)
    assert "--" not in str(info.value)  # the core names fields; the CLI spells them as flags


def test_single_transaction_refuses_files_that_run_outside_a_transaction() -> None:
    off = mf("V2__index.sql", "-- keel: transaction=off\nCREATE INDEX i ON users (id);\n")
    with pytest.raises(UsageError, match=r"V2__index\.sql"):
        plan_upgrade([mf("V1__users.sql"), off], [], single_transaction=True, support=EVERYTHING)


def test_single_transaction_accepts_transaction_off_files_outside_its_range() -> None:
    off = mf("V2__index.sql", "-- keel: transaction=off\nCREATE INDEX i ON users (id);\n")
    plan = plan_upgrade(
        [mf("V1__users.sql"), off],
        [],
        single_transaction=True,
        target=Version.parse("1"),
        support=EVERYTHING,
    )
    assert step_paths(plan.steps) == ["V1__users.sql"]


def test_upgrade_validates_first_and_reports_every_problem() -> None:
    history = applied("V1__users.sql", "V2__c.sql")
    with pytest.raises(ValidationFailed) as info:
        plan_upgrade(files("V1__users.sql", "V1.5__late.sql"), history, support=EVERYTHING)
    codes = sorted(p.code for p in info.value.problems)
    assert codes == ["below-head", "missing-file"]


# ---------------------------------------------------------------------------------------
# plan_rollback

VERSIONED = ("V1__users.sql", "V1.9__a.sql", "V1.10__b.sql", "V2__c.sql")

# (applied paths, keyword arguments, expected step paths in order)
ROLLBACKS = [
    pytest.param(list(VERSIONED), {}, ["V2__c.sql"], id="default_is_the_last_one"),
    pytest.param(
        list(VERSIONED), {"count": 2}, ["V2__c.sql", "V1.10__b.sql"], id="count_2_newest_first"
    ),
    pytest.param(
        list(VERSIONED),
        {"count": 9},
        ["V2__c.sql", "V1.10__b.sql", "V1.9__a.sql", "V1__users.sql"],
        id="count_above_applied_rolls_back_all",
    ),
    pytest.param(
        list(VERSIONED),
        {"target": "1.9"},
        ["V2__c.sql", "V1.10__b.sql"],
        id="to_keeps_the_target_applied",
    ),
    pytest.param(list(VERSIONED), {"target": "2"}, [], id="to_the_head_is_nothing"),
    pytest.param(
        list(VERSIONED),
        {"target": "0"},
        ["V2__c.sql", "V1.10__b.sql", "V1.9__a.sql", "V1__users.sql"],
        id="to_0_rolls_back_everything",
    ),
    pytest.param(
        [*VERSIONED, "R__views.sql"], {}, ["V2__c.sql"], id="repeatables_are_never_rolled_back"
    ),
    pytest.param([], {}, [], id="nothing_applied_is_nothing_to_do"),
]


@pytest.mark.parametrize(("done", "kwargs", "expected"), ROLLBACKS)
def test_rollback_plans_the_newest_applied_versions_first(
    done: list[str], kwargs: dict[str, object], expected: list[str]
) -> None:
    if "target" in kwargs:
        kwargs = {**kwargs, "target": Version.parse(str(kwargs["target"]))}
    project = files(*VERSIONED, "R__views.sql")
    plan = plan_rollback(project, applied(*done), support=EVERYTHING, **kwargs)  # type: ignore[arg-type]
    assert plan.direction is Direction.ROLLBACK
    assert step_paths(plan.steps) == expected
    assert all(s.direction is Direction.ROLLBACK for s in plan.steps)


def test_rollback_goes_by_version_not_by_insertion_order() -> None:
    project = files("V1__users.sql", "V2__c.sql")
    history = [row(project[1], 1), row(project[0], 2)]
    assert step_paths(plan_rollback(project, history, support=EVERYTHING).steps) == ["V2__c.sql"]


# (keyword arguments, error type, words the message must contain)
BAD_ROLLBACKS = [
    pytest.param({"count": 0}, UsageError, ["count must be 1 or more"], id="count_zero"),
    pytest.param(
        {"count": 1, "target": Version.parse("1")},
        UsageError,
        ["give either to or count, not both"],
        id="count_and_to_together",
    ),
    pytest.param(
        {"target": Version.parse("1.5")},
        UsageError,
        ["1.5", "not applied"],
        id="to_a_version_that_is_not_applied",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "words"), BAD_ROLLBACKS)
def test_rollback_refuses_impossible_requests(
    kwargs: dict[str, object], error: type[Exception], words: list[str]
) -> None:
    with pytest.raises(error) as info:
        plan_rollback(files(*VERSIONED), applied(*VERSIONED), support=EVERYTHING, **kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(info.value)
    assert "--" not in str(info.value)


def test_rollback_of_a_file_without_a_rollback_section_is_refused_naming_it() -> None:
    project = [mf("V1__users.sql"), mf("V2__c.sql", "CREATE TABLE c (id int);\n")]
    history = [row(f, i) for i, f in enumerate(project, start=1)]
    with pytest.raises(PlanError) as info:
        plan_rollback(project, history, support=EVERYTHING)
    assert "V2__c.sql" in str(info.value)
    assert "-- rollback" in str(info.value)


def test_rollback_with_an_empty_rollback_section_is_refused() -> None:
    """An empty section is what an unfinished `keel new` file has: not a silent no-op."""
    project = [mf("V1__users.sql", "CREATE TABLE users (id int);\n-- rollback\n")]
    with pytest.raises(PlanError, match="empty '-- rollback' section"):
        plan_rollback(project, [row(project[0], 1)], support=EVERYTHING)


def test_rollback_with_a_deliberate_no_op_statement_is_allowed() -> None:
    project = [mf("V1__users.sql", "INSERT INTO t VALUES (1);\n-- rollback\nSELECT 1;\n")]
    plan = plan_rollback(project, [row(project[0], 1)], support=EVERYTHING)
    assert step_paths(plan.steps) == ["V1__users.sql"]


def test_rollback_validates_first() -> None:
    edited = mf("V1__users.sql", "CREATE TABLE users (id bigint);\n-- rollback\nDROP TABLE u;\n")
    history = applied("V1__users.sql")
    with pytest.raises(ValidationFailed) as info:
        plan_rollback([edited], history, support=EVERYTHING)
    assert [p.code for p in info.value.problems] == ["checksum-mismatch"]


# ---------------------------------------------------------------------------------------
# find_problems


def _history_for(case: str) -> tuple[list[MigrationFile], list[HistoryRow]]:
    one, two, three = mf("V1__users.sql"), mf("V2__c.sql"), mf("V3__d.sql")
    if case == "clean":
        return [one, two, three], [row(one, 1), row(two, 2)]
    if case == "duplicate_version":
        return [mf("V1__a.sql"), mf("V1.0__b.sql")], []
    if case == "duplicate_repeatable":
        return [mf("R__views.sql"), mf("ROC__views.sql")], []
    if case == "missing_file":
        return [one], [row(one, 1), row(two, 2)]
    if case == "checksum_mismatch":
        return [one, two], [row(one, 1), row(two, 2, checksum="0" * 64)]
    if case == "below_head":
        return [one, two, three], [row(one, 1), row(three, 2)]
    if case == "failed":
        return [one, two], [
            row(one, 1),
            row(two, 2, state=State.FAILED, failed_statement=2, failed_line=7),
        ]
    if case == "changed_repeatable_is_fine":
        views = mf("R__views.sql")
        return [one, views], [row(one, 1), row(views, 2, checksum="0" * 64)]
    if case == "rollback_section_edit_is_fine":
        return [one], [row(one, 1, rollback_checksum="0" * 64)]
    if case == "missing_and_mismatch_and_below_head":
        return [one, two, mf("V1.5__late.sql")], [
            row(one, 1, checksum="0" * 64),
            row(two, 2),
            row(three, 3),
        ]
    raise AssertionError(case)


# (case, expected (code, path) pairs in order)
PROBLEMS = [
    pytest.param("clean", [], id="clean_project_has_no_problems"),
    pytest.param(
        "duplicate_version",
        [("duplicate-version", "V1__a.sql"), ("duplicate-version", "V1.0__b.sql")],
        id="1_and_1.0_are_duplicates_both_named",
    ),
    pytest.param(
        "duplicate_repeatable",
        [("duplicate-description", "R__views.sql"), ("duplicate-description", "ROC__views.sql")],
        id="r_and_roc_with_one_description_are_duplicates",
    ),
    pytest.param("missing_file", [("missing-file", "V2__c.sql")], id="applied_file_missing"),
    pytest.param(
        "checksum_mismatch", [("checksum-mismatch", "V2__c.sql")], id="applied_file_edited"
    ),
    pytest.param("below_head", [("below-head", "V2__c.sql")], id="new_file_below_the_head"),
    pytest.param("failed", [("failed", "V2__c.sql")], id="failed_row"),
    pytest.param("changed_repeatable_is_fine", [], id="changed_repeatable_is_not_a_mismatch"),
    pytest.param("rollback_section_edit_is_fine", [], id="rollback_checksum_is_not_enforced"),
    pytest.param(
        "missing_and_mismatch_and_below_head",
        [
            ("checksum-mismatch", "V1__users.sql"),
            ("missing-file", "V3__d.sql"),
            ("below-head", "V1.5__late.sql"),
        ],
        id="every_problem_at_once",
    ),
]


@pytest.mark.parametrize(("case", "expected"), PROBLEMS)
def test_find_problems_reports_each_spec_4_problem_with_its_file(
    case: str, expected: list[tuple[str, str]]
) -> None:
    project, history = _history_for(case)
    problems = find_problems(project, history)
    assert [(p.code, p.path) for p in problems] == expected
    for p in problems:
        assert p.fix, f"{p.code} has no fix"
        assert p.path in str(p)


# (case, words the problem's message or fix must contain)
PROBLEM_WORDING = [
    pytest.param(
        "duplicate_version",
        ["V1__a.sql", "V1.0__b.sql", "rename"],
        id="duplicate_names_both_files_and_says_rename",
    ),
    pytest.param("missing_file", ["repair --missing", "restore"], id="missing_offers_repair"),
    pytest.param(
        "checksum_mismatch",
        ["repair --checksums", "new migration"],
        id="mismatch_offers_new_migration_or_repair",
    ),
    pytest.param("below_head", ["rename", "V4__c.sql"], id="below_head_suggests_a_name_above"),
    pytest.param(
        "failed",
        ["statement 2", "line 7", "repair --failed"],
        id="failed_names_statement_line_and_repair",
    ),
]


@pytest.mark.parametrize(("case", "words"), PROBLEM_WORDING)
def test_each_problem_says_how_to_fix_it(case: str, words: list[str]) -> None:
    project, history = _history_for(case)
    text = " ".join(str(p) for p in find_problems(project, history))
    for word in words:
        assert word in text


def test_the_below_head_hint_for_a_single_component_head_is_the_next_integer() -> None:
    one, two, five = mf("V1__users.sql"), mf("V2__c.sql"), mf("V5__e.sql")
    problems = find_problems([one, two, five], [row(one, 1), row(five, 2)])
    assert [p.code for p in problems] == ["below-head"]
    assert "V6__c.sql" in problems[0].fix


def test_source_problems_come_first_and_are_kept() -> None:
    source = Problem("bad-filename", "V1_x.sql", "bad name.", "rename it.")
    project, history = _history_for("missing_file")
    problems = find_problems(project, history, [source])
    assert problems[0] is source
    assert [p.code for p in problems] == ["bad-filename", "missing-file"]


def test_validate_raises_with_every_problem_and_passes_a_clean_project() -> None:
    validate(*_history_for("clean"))
    project, history = _history_for("missing_and_mismatch_and_below_head")
    with pytest.raises(ValidationFailed) as info:
        validate(project, history)
    assert len(info.value.problems) == 3
    message = str(info.value)
    assert message.startswith("validation failed: 3 problems")
    for path in ("V1__users.sql", "V3__d.sql", "V1.5__late.sql"):
        assert path in message


# ---------------------------------------------------------------------------------------
# plan_repair


def test_repair_needs_at_least_one_kind() -> None:
    with pytest.raises(UsageError, match="say what to repair: checksums, missing and/or failed"):
        plan_repair([], [], checksums=False, missing=False, failed=False)


# (case, flags, expected (action, label) pairs)
REPAIRS = [
    pytest.param(
        "checksum_mismatch",
        {"checksums": True},
        [("update-checksum", "2")],
        id="checksums_accepts_the_edited_file",
    ),
    pytest.param(
        "rollback_section_edit_is_fine",
        {"checksums": True},
        [("update-checksum", "1")],
        id="checksums_also_accepts_a_new_rollback_section",
    ),
    pytest.param(
        "missing_file", {"missing": True}, [("forget-missing", "2")], id="missing_forgets_the_row"
    ),
    pytest.param("failed", {"failed": True}, [("clear-failed", "2")], id="failed_clears_it"),
    pytest.param(
        "checksum_mismatch",
        {"missing": True, "failed": True},
        [],
        id="only_the_chosen_kind_is_repaired",
    ),
    pytest.param(
        "failed", {"checksums": True, "missing": True}, [], id="failed_rows_need_the_failed_flag"
    ),
    pytest.param(
        "clean",
        {"checksums": True, "missing": True, "failed": True},
        [],
        id="clean_history_needs_nothing",
    ),
    pytest.param(
        "changed_repeatable_is_fine",
        {"checksums": True},
        [],
        id="repeatables_are_not_checksum_repaired",
    ),
]


@pytest.mark.parametrize(("case", "flags", "expected"), REPAIRS)
def test_repair_plans_one_action_per_chosen_problem(
    case: str, flags: dict[str, bool], expected: list[tuple[str, str]]
) -> None:
    project, history = _history_for(case)
    kinds = {"checksums": False, "missing": False, "failed": False, **flags}
    actions = plan_repair(project, history, **kinds)
    assert [(a.action, a.row.label) for a in actions] == expected
    for action in actions:
        assert action.row.script in action.description


def test_after_a_checksum_repair_the_project_validates() -> None:
    project, history = _history_for("checksum_mismatch")
    (action,) = plan_repair(project, history, checksums=True, missing=False, failed=False)
    assert action.file is not None
    fixed = [row(action.file, r.id) if r.id == action.row.id else r for r in history]
    validate(project, fixed)


# ---------------------------------------------------------------------------------------
# plan_baseline

# (target, expected recorded paths)
BASELINES = [
    pytest.param(
        "1.10",
        ["V1__users.sql", "V1.9__a.sql", "V1.10__b.sql"],
        id="every_version_up_to_and_including_the_target",
    ),
    pytest.param("1.9", ["V1__users.sql", "V1.9__a.sql"], id="1.9_is_below_1.10_numerically"),
    pytest.param("1.0", ["V1__users.sql"], id="1.0_is_version_1"),
]


@pytest.mark.parametrize(("target", "expected"), BASELINES)
def test_baseline_records_versioned_files_up_to_the_target(
    target: str, expected: list[str]
) -> None:
    chosen = plan_baseline(files(*ALL), [], Version.parse(target))
    assert [f.path for f in chosen] == expected
    assert all(f.kind is Kind.VERSIONED for f in chosen)


@pytest.mark.parametrize(
    "target", ["0.5", "1.9.5", "99"], ids=["below_every_file", "between_files", "above_every_file"]
)
def test_baseline_at_a_version_without_a_file_is_refused(target: str) -> None:
    """As with --to: "baselined at 99" with files up to 5 would tell the user a falsehood."""
    with pytest.raises(UsageError, match=f"no migration file has version {target}"):
        plan_baseline(files(*ALL), [], Version.parse(target))


def test_baseline_of_a_database_with_versioned_history_is_refused() -> None:
    with pytest.raises(PlanError, match="already"):
        plan_baseline(files(*ALL), applied("V1__users.sql"), Version.parse("2"))


def test_baseline_refuses_when_files_have_problems() -> None:
    source = Problem("bad-filename", "V1_x.sql", "bad name.", "rename it.")
    with pytest.raises(ValidationFailed):
        plan_baseline(files(*ALL), [], Version.parse("2"), [source])


def test_baseline_refuses_duplicate_versions_in_its_range() -> None:
    with pytest.raises(ValidationFailed) as info:
        plan_baseline(files("V1__a.sql", "V1.0__b.sql", "V2__c.sql"), [], Version.parse("2"))
    assert {p.path for p in info.value.problems} == {"V1__a.sql", "V1.0__b.sql"}


# ---------------------------------------------------------------------------------------
# status


def test_status_lists_applied_then_pending_with_run_order_numbers() -> None:
    entries, problems = describe(files(*ALL), applied("V1__users.sql", "V1.9__a.sql"))
    assert problems == []
    assert [(e.script, e.state, e.order) for e in entries] == [
        ("V1__users.sql", "applied", None),
        ("V1.9__a.sql", "applied", None),
        ("V1.10__b.sql", "pending", 1),
        ("V2__c.sql", "pending", 2),
        ("R__views.sql", "pending", 3),
        ("RA__grants.sql", "pending", 4),
    ]


# (case, expected (script, state) pairs)
STATUS_FLAGS = [
    pytest.param(
        "missing_file", [("V1__users.sql", "applied"), ("V2__c.sql", "missing")], id="missing"
    ),
    pytest.param(
        "checksum_mismatch",
        [("V1__users.sql", "applied"), ("V2__c.sql", "mismatched")],
        id="mismatched",
    ),
    pytest.param("failed", [("V1__users.sql", "applied"), ("V2__c.sql", "failed")], id="failed"),
    pytest.param(
        "below_head",
        [("V1__users.sql", "applied"), ("V3__d.sql", "applied"), ("V2__c.sql", "below-head")],
        id="below_head",
    ),
]


@pytest.mark.parametrize(("case", "expected"), STATUS_FLAGS)
def test_status_flags_each_problem_on_its_entry(case: str, expected: list[tuple[str, str]]) -> None:
    project, history = _history_for(case)
    entries, problems = describe(project, history)
    assert [(e.script, e.state) for e in entries] == expected
    assert problems


def test_status_notes_a_changed_rollback_section() -> None:
    project, history = _history_for("rollback_section_edit_is_fine")
    entries, problems = describe(project, history)
    assert problems == []
    assert [e.rollback_changed for e in entries] == [True]


def test_repeatables_run_in_description_order_whatever_their_folder() -> None:
    names = ["z/R__alpha.sql", "a/R__beta.sql", "RA__gamma.sql", "m/RA__delta.sql"]
    plan = plan_upgrade(files(*names), [], support=EVERYTHING)
    assert step_paths(plan.steps) == [
        "z/R__alpha.sql",
        "a/R__beta.sql",
        "m/RA__delta.sql",
        "RA__gamma.sql",
    ]


def test_duplicate_repeatable_descriptions_ask_for_another_description() -> None:
    with pytest.raises(ValidationFailed) as info:
        plan_upgrade(files("R__view.sql", "sub/ROC__view.sql"), [], support=EVERYTHING)
    assert {p.code for p in info.value.problems} == {"duplicate-description"}
    assert all("description" in p.fix for p in info.value.problems)


def test_duplicates_are_reported_in_the_order_their_first_file_comes_and_rows_match_the_last() -> (
    None
):
    project = files("V1__a.sql", "V2__b.sql", "V2.0__c.sql", "V1.0__d.sql")
    project.append(mf("V1.00__e.sql", "CREATE TABLE e (id int);\n"))
    problems = find_problems(project, [row(project[4], 1)])  # no checksum mismatch: e's
    assert [(p.code, p.path) for p in problems] == [
        ("duplicate-version", "V1__a.sql"),
        ("duplicate-version", "V1.0__d.sql"),
        ("duplicate-version", "V1.00__e.sql"),
        ("duplicate-version", "V2__b.sql"),
        ("duplicate-version", "V2.0__c.sql"),
    ]
    assert "3 files share version 1: V1__a.sql, V1.0__d.sql, V1.00__e.sql." in problems[0].message


def _zero_row(id: int) -> HistoryRow:
    """The row an older keel wrote for V0__init.sql (keel now refuses version 0)."""
    file = mf("V1__init.sql")
    return HistoryRow(
        id=id,
        version=Version.parse("0"),
        description="init",
        script="sub/V0__init.sql",
        kind=Kind.VERSIONED,
        checksum=file.checksum,
        rollback_checksum=file.rollback_checksum,
        applied_at=AT,
        applied_by="tester@host",
        execution_ms=1,
        state=State.APPLIED,
    )


@pytest.mark.parametrize("applied", [False, True], ids=["pending", "applied_by_an_older_keel"])
def test_a_version_0_file_is_one_problem_whose_fix_never_makes_it_run_again(
    applied: bool,
) -> None:
    with pytest.raises(SourceError) as caught:
        mf("sub/V0__init.sql")
    source = Problem("version-zero", caught.value.path, caught.value.message, caught.value.fix)
    history = [_zero_row(1)] if applied else []
    problems = find_problems(files("V1__users.sql"), history, [source])
    assert [(p.code, p.path) for p in problems] == [("version-zero", "sub/V0__init.sql")]
    if applied:
        assert "rename the file and its history row together" in problems[0].fix
        assert "SET version = '0.1', script = 'sub/V0.1__init.sql' WHERE version = '0'" in (
            problems[0].fix
        )
    else:
        assert problems[0].fix.startswith("rename it to V0.1__init.sql")


@pytest.mark.parametrize(
    ("ids", "delete"),
    [((1, 3), "WHERE id = 3;"), ((1, 3, 4), "WHERE id IN (3, 4);")],
    ids=["twice", "three-times"],
)
def test_a_migration_recorded_more_than_once_is_a_problem_naming_every_row(
    ids: tuple[int, ...], delete: str
) -> None:
    f1, f2 = mf("V1__a.sql"), mf("V2__b.sql")
    history = [row(f1, ids[0]), row(f2, 2)] + [row(f1, i) for i in ids[1:]]
    problems = find_problems([f1, f2], history, table="app.keel_history")
    [problem] = [p for p in problems if p.code == "duplicate-history-row"]
    assert problem.path == "V1__a.sql"
    assert all(f"id {i} (applied, applied " in problem.message for i in ids)
    assert f"DELETE FROM app.keel_history {delete}" in problem.fix
    with pytest.raises(ValidationFailed):
        plan_upgrade([f1, f2], history, support=EVERYTHING)


def _log(id: int, action: str, version: str) -> LogRow:
    return LogRow(id, action, version, None, AT, "deployer@ci", 7, "success", "")


@pytest.mark.parametrize(
    ("logged_by", "words"),
    [
        pytest.param(
            "upgrade",
            ["keel_log records it applied at 2026-11-25 14:30:22 UTC by deployer@ci", "INSERT"],
            id="upgrade",
        ),
        pytest.param("baseline", ["'keel baseline 5'", "INSERT"], id="baseline"),
    ],
)
def test_a_file_below_the_head_that_the_log_records_applied_has_lost_its_history_row(
    logged_by: str, words: list[str]
) -> None:
    one, two, five = mf("V1__users.sql"), mf("V2__c.sql"), mf("V5__e.sql")
    logged = {two.version: _log(2, logged_by, "5" if logged_by == "baseline" else "2")}
    problems = find_problems(
        [one, two, five],
        [row(one, 1), row(five, 3)],
        logged=logged,  # type: ignore[dict-item]
    )
    assert [(p.code, p.path) for p in problems] == [("history-row-missing", "V2__c.sql")]
    text = str(problems[0])
    assert "rename it above the head" not in text and "V6__c.sql" not in text
    assert problems[0].fix.startswith("restore the row from a backup of keel_history")
    for word in words:
        assert word in text
    assert (
        f"VALUES ('2', 'c', 'V2__c.sql', 'versioned', '{two.checksum}', "
        f"'{two.rollback_checksum}', '2026-11-25 14:30:22', 'deployer@ci'"
    ) in problems[0].fix


def test_a_file_below_the_head_that_the_log_does_not_record_is_still_to_be_renamed() -> None:
    one, two, five = mf("V1__users.sql"), mf("V2__c.sql"), mf("V5__e.sql")
    logged = {one.version: _log(1, "upgrade", "1")}
    problems = find_problems(
        [one, two, five],
        [row(one, 1), row(five, 3)],
        logged=logged,  # type: ignore[dict-item]
    )
    assert [p.code for p in problems] == ["below-head"]
    assert "V6__c.sql" in problems[0].fix
