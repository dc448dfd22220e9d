"""The season page: each season's OP/ED and other recurring footage on a timeline, who is on screen
in each episode, and its sakuga highlights (outside the OP, ED and recaps, which repeat).

One self-contained HTML file (no script, no network request), and the same facts as JSON.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from animevid.catalog import Catalog
from animevid.clips import REPEATED_KINDS, SEGMENT_COLOURS
from animevid.library import Library, display_name, write_atomically
from animevid.season._segments import seasons

HIGHLIGHTS = 10
"""Sakuga highlights listed per season."""


def season_report(library: str | Path) -> list[dict[str, Any]]:
    """Per season: its episodes with their segments, screen time per character, and sakuga highlights."""
    folder = Path(library)
    with Library(folder).reading(), Catalog.in_library(folder) as catalog:
        segments = catalog.segments()
        screen = catalog.screen_time()
        analyses = catalog.shot_analyses()
        shots = catalog.shots()
        groups = seasons(folder)
    timed = analyses.merge(
        shots[["episode_id", "shot_index", "start_seconds", "end_seconds"]], on=["episode_id", "shot_index"]
    )
    report = []
    for group in groups:
        ids = [e.episode_id for e in group]
        episodes = []
        for facts in group:
            rows = segments[segments.episode_id == facts.episode_id]
            episodes.append(
                {
                    "episode_id": facts.episode_id,
                    "name": display_name(facts.path),
                    "seconds": round(facts.frames / facts.fps, 3),
                    "segments": [
                        {
                            "kind": r.kind,
                            "start_seconds": round(r.start_seconds, 3),
                            "end_seconds": round(r.end_seconds, 3),
                            "start_frame": int(r.start_frame),
                            "end_frame": int(r.end_frame),
                        }
                        for r in rows.itertuples()
                    ],
                }
            )
        cast = screen[screen.episode_id.isin(ids)]
        report.append(
            {
                "season": display_name(Path(group[0].path).parent),
                "episodes": episodes,
                "screen_time": {
                    str(name): {int(r.episode_id): round(float(r.seconds), 1) for r in rows.itertuples()}
                    for name, rows in cast.groupby("character")
                },
                "highlights": _highlights(timed[timed.episode_id.isin(ids)], episodes),
            }
        )
    return report


def _highlights(timed: Any, episodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The top sakuga shots that no repeating segment (OP, ED, recap...) covers."""
    repeats = {
        e["episode_id"]: [(s["start_seconds"], s["end_seconds"]) for s in e["segments"] if s["kind"] in REPEATED_KINDS]
        for e in episodes
    }
    names = {e["episode_id"]: e["name"] for e in episodes}
    picked = []
    for row in timed.sort_values("sakuga_score", ascending=False).itertuples():
        middle = (row.start_seconds + row.end_seconds) / 2
        if any(a <= middle < b for a, b in repeats.get(row.episode_id, [])):
            continue
        picked.append(
            {
                "episode": names[row.episode_id],
                "start_seconds": round(float(row.start_seconds), 3),
                "end_seconds": round(float(row.end_seconds), 3),
                "sakuga_score": round(float(row.sakuga_score), 3),
                "cadence": row.cadence,
                "camera": row.camera,
                "tags": list(row.tags),
            }
        )
        if len(picked) == HIGHLIGHTS:
            break
    return picked


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:05.2f}"


def _timeline(episode: dict[str, Any]) -> str:
    length = max(episode["seconds"], 1e-6)
    spans = "".join(
        f'<span class="seg" title="{s["kind"]} {_clock(s["start_seconds"])}-{_clock(s["end_seconds"])}" '
        f'style="left:{100 * s["start_seconds"] / length:.3f}%;'
        f"width:{100 * (s['end_seconds'] - s['start_seconds']) / length:.3f}%;"
        f'background:{SEGMENT_COLOURS[s["kind"]]}"></span>'
        for s in episode["segments"]
    )
    listed = ", ".join(
        f"{s['kind']} {_clock(s['start_seconds'])}-{_clock(s['end_seconds'])}" for s in episode["segments"]
    )
    return (
        f'<tr><td class="name">{html.escape(episode["name"])}</td><td><div class="bar">{spans}</div></td>'
        f'<td class="list">{html.escape(listed) or "-"}</td></tr>'
    )


def _cast_table(season: dict[str, Any]) -> str:
    if not season["screen_time"]:
        return "<p class=dim>No named characters yet (animevid characters enroll NAME PICTURE...).</p>"
    head = "".join(f"<th>{k + 1}</th>" for k in range(len(season["episodes"])))
    rows = []
    for name, times in sorted(season["screen_time"].items()):
        cells = "".join(f"<td>{times.get(e['episode_id'], 0):.0f} s</td>" for e in season["episodes"])
        rows.append(f"<tr><td class=name>{html.escape(name)}</td>{cells}</tr>")
    return f"<table class=cast><tr><th>character</th>{head}</tr>{''.join(rows)}</table>"


def _highlight_table(season: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{h['sakuga_score']:.2f}</td><td class=name>{html.escape(h['episode'])}</td>"
        f"<td>{_clock(h['start_seconds'])}-{_clock(h['end_seconds'])}</td><td>{html.escape(h['cadence'])}</td>"
        f"<td>{html.escape(h['camera'])}</td><td>{html.escape(', '.join(h['tags']))}</td></tr>"
        for h in season["highlights"]
    )
    head = "<tr><th>score</th><th>episode</th><th>shot</th><th>cadence</th><th>camera</th><th>tags</th></tr>"
    return f"<table class=hl>{head}{rows}</table>" if rows else "<p class=dim>No analysed shots.</p>"


STYLE = """body{font:15px/1.45 system-ui,sans-serif;background:#14161b;color:#e8e8ec;margin:0;padding:20px 28px}
h1{margin:0 0 6px}h2{margin:28px 0 8px}table{border-collapse:collapse;width:100%}
td,th{padding:4px 8px;border-bottom:1px solid #2b2f3a;text-align:left;vertical-align:middle}
.name{white-space:nowrap}.list{color:#9aa0ad;font-size:13px}.dim{color:#9aa0ad}
.bar{position:relative;height:14px;background:#262a33;border-radius:4px;min-width:260px}
.seg{position:absolute;top:0;bottom:0;border-radius:3px}.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}"""


def write_season_page(library: str | Path, out: str | Path) -> Path:
    """Write the season page of a library to ``out`` (one HTML file); returns its path."""
    report = season_report(library)
    legend = "".join(f'<span><i style="background:{c}"></i>{k}</span>' for k, c in SEGMENT_COLOURS.items())
    parts = [
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>animevid seasons</title><style>{STYLE}</style>"
    ]
    parts.append(f"</head><body><h1>Seasons of {html.escape(str(library))}</h1><p class=legend>{legend}</p>")
    for season in report:
        parts.append(f"<section><h2>{html.escape(season['season'])} ({len(season['episodes'])} episodes)</h2>")
        parts.append("<table class=timeline>" + "".join(_timeline(e) for e in season["episodes"]) + "</table>")
        parts.append("<h3>Screen time</h3>" + _cast_table(season))
        parts.append("<h3>Sakuga highlights (outside OP, ED and recaps)</h3>" + _highlight_table(season) + "</section>")
    if not report:
        parts.append("<p class=dim>No indexed episodes.</p>")
    parts.append("</body></html>")
    path, text = Path(out), "".join(parts)

    def write(temporary: Path) -> None:
        temporary.write_text(text, encoding="utf-8")

    write_atomically(path, write)
    return path
