"""The results table: printed, and written as JSON and Markdown under ``bench/results/``."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from bench.machine import one_line
from bench.stats import Row, fmt


def markdown(
    rows: list[Row], machine: str, notes: list[str], verdicts: list[str], title: str
) -> str:
    """One Markdown table, rows grouped by section in the order measured, then goals and notes."""
    out = [f"### {title}", "", f"Machine: {machine}", ""]
    out.append("| measurement | subject | median | min | max | runs | how it was obtained |")
    out.append("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        subject = f"{row.subject} (baseline)" if row.baseline else row.subject
        out.append(
            f"| {row.section} | {subject} | **{fmt(row.median, row.unit)}** "
            f"| {fmt(row.min, row.unit)} | {fmt(row.max, row.unit)} | {len(row.values)} "
            f"| {row.how} |"
        )
    if verdicts:
        out += ["", "Goals:", ""] + [f"- {v}" for v in verdicts]
    if notes:
        out += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return "\n".join(out) + "\n"


def _find(rows: list[Row], section_prefix: str, subject: str) -> Row | None:
    for row in rows:
        if row.section.startswith(section_prefix) and row.subject == subject:
            return row
    return None


def verdicts(rows: list[Row]) -> list[str]:
    """Each goal of the issue, met or not, from the medians."""
    found: list[str] = []
    for row in rows:
        if (
            row.section.startswith(("Create", "Delete"))
            and row.subject == "aurora-express provider"
        ):
            crh = next((r for r in rows if r.section == row.section and r.baseline), None)
            versus = f" (crhelper: {fmt(crh.median, 's')})" if crh else ""
            ok = "met" if row.median < 1.0 else "NOT met"
            found.append(
                f"{row.section}: {fmt(row.median, 's')} added, goal under 1 s: {ok}{versus}"
            )
        if row.section == "Cold start" and row.unit == "x":
            ok = "met" if row.median <= 1.6 else "NOT met"
            found.append(
                f"Cold start, {row.subject}: {fmt(row.median, 'x')}, goal at most 1.6x: {ok}"
            )
        if row.section == "Cold start" and row.subject == "aurora-express --help":
            ok = "met" if row.median <= 0.080 else "NOT met"
            found.append(f"aurora-express --help: {fmt(row.median, 's')}, goal 80 ms: {ok}")
    for section in dict.fromkeys(r.section for r in rows if r.section.startswith("Migrations")):
        here = [r for r in rows if r.section == section]
        peers = [r for r in here if r.baseline]
        if not peers:
            continue
        for engine in (r for r in here if r.subject.startswith("aurora-express engine")):
            if section.endswith(": apply"):
                best = min(peers, key=lambda r: r.median)
                ok = "met" if engine.median < best.median else "NOT met"
                goal = "faster than every peer"
            else:
                best = next((r for r in peers if r.subject == "dbmate up"), peers[0])
                ok = "met" if engine.median <= best.median else "NOT met"
                goal = "at or under dbmate's"
            found.append(
                f"{section}, {engine.subject}: {fmt(engine.median, 's')} against "
                f"{best.subject} {fmt(best.median, 's')}; {goal}: {ok}"
            )
    found += _cli_noop_verdicts(rows)
    return found


def _cli_noop_verdicts(rows: list[Row]) -> list[str]:
    """The CLI's no-op re-run in a fresh process, loopback: at most 200 ms (issue 12)."""
    found = []
    for row in rows:
        if row.section == "Migrations: no-op re-run" and row.subject.endswith("migrate --dsn"):
            dbmate = next(
                (r for r in rows if r.section == row.section and r.subject == "dbmate up"), None
            )
            versus = f" (dbmate up: {fmt(dbmate.median, 's')})" if dbmate else ""
            ok = "met" if row.median <= 0.200 else "NOT met"
            found.append(
                f"{row.section}, {row.subject}: {fmt(row.median, 's')}, goal 200 ms: {ok}{versus}"
            )
    return found


def write(
    folder: Path,
    name: str,
    rows: list[Row],
    machine: dict[str, Any],
    machine_line: str,
    notes: list[str],
    settings: dict[str, Any],
    title: str,
) -> tuple[Path, Path]:
    """``<name>.json`` and ``<name>.md`` in ``folder``; returns both paths."""
    folder.mkdir(parents=True, exist_ok=True)
    found = verdicts(rows)
    data = {
        "title": title,
        "machine": machine,
        "settings": settings,
        "rows": [r.as_dict() for r in rows],
        "goals": found,
        "notes": notes,
    }
    json_path, md_path = folder / f"{name}.json", folder / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    md_path.write_text(markdown(rows, machine_line, notes, found, title))
    return json_path, md_path


def _json_default(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    return str(value)


def median_of(values: list[float]) -> float:
    return statistics.median(values)


def rerender(json_path: Path) -> Path:
    """Write the Markdown beside ``json_path`` again from its rows (goals recomputed)."""
    data = json.loads(json_path.read_text())
    fields = ("section", "subject", "values", "unit", "how", "baseline", "goal", "note", "extra")
    rows = [Row(**{k: r[k] for k in fields}) for r in data["rows"]]
    data["goals"] = verdicts(rows)
    json_path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")
    md_path = json_path.with_suffix(".md")
    machine_line = one_line(data["machine"])
    md_path.write_text(markdown(rows, machine_line, data["notes"], data["goals"], data["title"]))
    return md_path


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        print(rerender(Path(name)))
