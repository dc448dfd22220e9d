"""The digest page: one self-contained HTML file rendered from the digest's JSON and its pictures.

No script, no font, no request: pictures are ``data:`` URIs, links are anchors in the page or the
digest's own files beside it. Sections have the ids ``timeline``, ``scenes``, ``highlights``,
``loops``, ``plots`` and ``contact``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from animevid.clips import SEGMENT_COLOURS

LINES_SHOWN = 12
"""Dialogue lines shown per scene before the rest fold into a <details>."""
CADENCE_COLOURS = {
    "ones": "#ff6b6b",
    "twos": "#ffb86b",
    "threes": "#7bdcb5",
    "mixed": "#8fb8ff",
    "still": "#5d6270",
}

STYLE = (
    "*{box-sizing:border-box}body{font:15px/1.5 system-ui,sans-serif;background:#14161b;color:#e8e8ec;margin:0}"
    "main{max-width:1360px;margin:0 auto;padding:18px 28px 40px}h1{margin:0;font-size:28px}"
    "h1 .ep{color:#9aa0ad;font-weight:400}"
    "h2{margin:34px 0 10px;font-size:20px;border-bottom:1px solid #2b2f3a;padding-bottom:4px}"
    "h3{margin:0 0 6px;font-size:16px}a{color:#8fb8ff;text-decoration:none}a:hover{text-decoration:underline}"
    ".dim,.file{color:#9aa0ad}.file{margin:2px 0 10px}"
    ".facts{display:flex;flex-wrap:wrap;gap:8px 26px;margin:8px 0}.facts div{min-width:80px}"
    ".facts dt{color:#9aa0ad;font-size:12px;text-transform:uppercase;letter-spacing:.04em}"
    ".facts dd{margin:0;font-size:20px}"
    ".mixrow{display:flex;flex-wrap:wrap;align-items:center;gap:6px 18px;margin:6px 0}"
    ".mix{display:flex;height:12px;border-radius:6px;overflow:hidden;width:360px}"
    ".legend span{display:inline-block;margin-right:14px;font-size:13px;color:#c9ccd4}"
    ".legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}"
    ".tag{display:inline-block;background:#262a33;border-radius:10px;padding:0 8px;margin:2px 4px 2px 0;font-size:12px}"
    "nav{margin:8px 0 0;font-size:14px}nav a{margin-right:16px}"
    ".scenerow{position:relative;height:18px;margin-top:3px}.scenerow a{position:absolute;top:0;bottom:0;"
    "font-size:11px;color:#e8e8ec;border-left:1px solid #5d6270;padding-left:3px;overflow:hidden;white-space:nowrap}"
    ".note{background:#3a2f16;border-left:4px solid #f2c94c;padding:6px 12px;margin:10px 0}"
    ".bands,.strip{position:relative;height:16px;background:#1c1f26;border-radius:3px}"
    ".strip{height:40px;margin-top:3px}.shot{position:absolute;top:0;bottom:0}"
    ".band{position:absolute;top:0;bottom:0;font-size:11px;color:#14161b;font-weight:600;overflow:hidden;padding-left:3px;border-radius:2px}"
    ".cut,.soft{position:absolute;top:0;bottom:0;width:1px;background:#0c0d10;pointer-events:none}"
    ".soft{background:repeating-linear-gradient(#e8e8ec 0 3px,transparent 3px 6px)}"
    ".axis{position:relative;height:18px;font-size:11px;color:#9aa0ad}"
    ".axis span{position:absolute;transform:translateX(-50%)}"
    ".scene{background:#191c22;border-radius:8px;padding:12px 14px;margin:12px 0}"
    ".keys{display:grid;grid-template-columns:repeat(4,minmax(0,320px));gap:8px}figure{margin:0}"
    "img{display:block;max-width:100%;height:auto;border-radius:4px}"
    "figcaption{font-size:12px;color:#9aa0ad;margin-top:2px}"
    ".lines{margin:8px 0 0;padding:0;list-style:none;columns:2 420px}.lines li{break-inside:avoid;margin:0 0 2px}"
    ".lines time{color:#9aa0ad;font-size:12px;margin-right:8px;font-variant-numeric:tabular-nums}"
    ".badge{font-size:11px;border-radius:3px;padding:1px 6px;color:#14161b;font-weight:600;vertical-align:2px}"
    ".cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:12px}"
    ".card{background:#191c22;border-radius:8px;padding:8px}.card b{color:#ffb86b}"
    "summary{cursor:pointer;color:#8fb8ff}footer{color:#5d6270;font-size:12px;margin-top:40px}"
    "@media(max-width:760px){.keys{grid-template-columns:repeat(2,minmax(0,1fr))}main{padding:12px}}"
)


@dataclass
class PageImages:
    """The pictures a page embeds, as data URIs: stills by frame, loop animations by start frame."""

    stills: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    """frame -> (data URI, width, height)."""
    loops: dict[int, tuple[str, int, int]] = field(default_factory=dict)
    plot: tuple[str, int, int] | None = None
    contact: tuple[str, int, int] | None = None


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour), to the nearest second."""
    whole = round(max(0.0, seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _img(picture: tuple[str, int, int], alt: str) -> str:
    uri, width, height = picture
    return f'<img src="{uri}" width={width} height={height} alt="{_e(alt)}" decoding=async>'


def scene_colour(index: int) -> str:
    """A scene's colour on the timeline: hues a golden angle apart, so neighbours differ."""
    return f"hsl({index * 137.508 % 360:.0f} 42% 46%)"


def _header(report: Mapping[str, Any]) -> str:
    episode, summary = report["episode"], report["summary"]
    number = f" <span class=ep>episode {_e(episode['number'])}</span>" if episode["number"] is not None else ""
    facts = [
        ("length", clock(summary["duration_seconds"])),
        ("shots", summary["shots"]),
        ("scenes", summary["scenes"]),
        ("drawings / s", f"{summary['drawings_per_second']:.1f}"),
        ("cuts / min", f"{summary['cuts_per_minute']:.1f}"),
        ("mean shot", f"{summary['mean_shot_seconds']:.1f} s"),
        ("dialogue lines", summary["dialogue_lines"]),
    ]
    cells = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in facts)
    mix = summary["cadence_mix"]
    bar = "".join(
        f'<span style="width:{100 * share:.2f}%;background:{CADENCE_COLOURS[name]}" title="{name} {share:.0%}"></span>'
        for name, share in mix.items()
    )
    legend = "".join(
        f'<span><i style="background:{CADENCE_COLOURS[name]}"></i>{name} {share:.0%}</span>'
        for name, share in mix.items()
        if share >= 0.01
    )
    tags = "".join(f"<span class=tag>{_e(tag)}</span>" for tag in summary["top_tags"])
    notes = "".join(f"<p class=note>{_e(note)}</p>" for note in report["notes"])
    sections = ("timeline", "scenes", "highlights", "loops", "plots", "contact")
    nav = "".join(f"<a href=#{s}>{s}</a>" for s in sections)
    return (
        f"<header><h1>{_e(episode['series'])}{number}</h1><p class=file>{_e(episode['name'])} · "
        f"{episode['width']}×{episode['height']} · {episode['fps']:.3f} fps</p><dl class=facts>{cells}</dl>"
        f"<div class=mixrow><span class=dim>cadence by screen time</span><div class=mix>{bar}</div>"
        f"<span class=legend>{legend or '-'}</span></div>"
        f"<p>{tags}</p>{notes}<nav>{nav}</nav></header>"
    )


def _ticks(duration: float) -> list[float]:
    step = next((s for s in (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800) if duration / s <= 12), 3600)
    return [k * step for k in range(int(duration // step) + 1)]


def _timeline(report: Mapping[str, Any]) -> str:
    length = max(report["episode"]["duration_seconds"], 1e-6)

    def pos(seconds: float) -> str:
        return f"{100 * min(max(seconds, 0.0), length) / length:.3f}%"

    bands = "".join(
        f'<span class="band {_e(s["kind"])}" style="left:{pos(s["start_seconds"])};width:'
        f"{100 * (s['end_seconds'] - s['start_seconds']) / length:.3f}%;"
        f'background:{SEGMENT_COLOURS.get(s["kind"], "#888")}" '
        f'title="{_e(s["kind"])} {clock(s["start_seconds"])}-{clock(s["end_seconds"])}">{_e(s["kind"].upper())}</span>'
        for s in report["segments"]
    )
    shots, marks = [], []
    for shot in report["shots"]:
        title = f"shot {shot['index']} · {clock(shot['start_seconds'])}-{clock(shot['end_seconds'])}"
        if "cadence" in shot:
            title += f" · {shot['cadence']} · {shot['camera']} · sakuga {shot['sakuga_score']:.2f}"
        width = 100 * (shot["end_seconds"] - shot["start_seconds"]) / length
        shots.append(
            f'<a class=shot href=#scene-{shot["scene"]} title="{_e(title)}" style="left:{pos(shot["start_seconds"])};'
            f'width:{width:.3f}%;background:{scene_colour(shot["scene"])}"></a>'
        )
        if shot["transition"] in ("cut", "fade", "dissolve"):
            kind = "cut" if shot["transition"] == "cut" else "soft"
            marks.append(f'<i class={kind} style="left:{pos(shot["start_seconds"])}"></i>')
    axis = "".join(f'<span style="left:{pos(t)}">{clock(t)}</span>' for t in _ticks(length))
    scenes = "".join(
        f'<a href=#scene-{s["index"]} style="left:{pos(s["start_seconds"])};'
        f'width:{100 * (s["end_seconds"] - s["start_seconds"]) / length:.3f}%">{s["index"] + 1}</a>'
        for s in report["scenes"]
    )
    return (
        f"<section id=timeline><h2>Timeline</h2>{f'<div class=bands>{bands}</div>' if bands else ''}"
        f"<div class=strip>{''.join(shots)}{''.join(marks)}</div><div class=scenerow>{scenes}</div>"
        f"<div class=axis>{axis}</div><p class=dim>Shots coloured by scene (numbered below; a click goes to it); "
        "dark lines are cuts, dashed ones fades and dissolves; OP, ED and recaps are banded above.</p></section>"
    )


def _lines(lines: Sequence[Mapping[str, Any]]) -> str:
    if not lines:
        return ""
    items = [
        f"<li><time>{clock(line['start_seconds'])}</time>{_e(line['text']).replace(chr(10), '<br>')}</li>"
        for line in lines
    ]
    shown = f"<ol class=lines>{''.join(items[:LINES_SHOWN])}</ol>"
    if len(items) > LINES_SHOWN:
        more = len(items) - LINES_SHOWN
        rest = "".join(items[LINES_SHOWN:])
        shown += f"<details><summary>{more} more lines</summary><ol class=lines>{rest}</ol></details>"
    return shown


def _scene(scene: Mapping[str, Any], images: PageImages) -> str:
    index = scene["index"]
    badge = ""
    if scene["segment"]:
        colour = SEGMENT_COLOURS.get(scene["segment"], "#888")
        badge = f' <span class=badge style="background:{colour}">{_e(scene["segment"].upper())}</span>'
    keys = []
    for key in scene["keyframes"]:
        picture = images.stills.get(key["frame"])
        if picture is not None:
            alt = f"scene {index + 1}, shot {key['shot']}, frame {key['frame']}"
            caption = f"{clock(key['seconds'])} · shot {key['shot']}"
            keys.append(f"<figure>{_img(picture, alt)}<figcaption>{caption}</figcaption></figure>")
    cast = "".join(f"<span class=tag>{_e(name)}</span>" for name in scene["cast"])
    return (
        f"<article class=scene id=scene-{index}><h3><a href=#scene-{index}>Scene {index + 1}</a> "
        f"<span class=dim>{clock(scene['start_seconds'])}–{clock(scene['end_seconds'])} · "
        f"{_count(scene['shots'], 'shot')}</span>{badge}</h3><div class=keys>{''.join(keys)}</div>"
        f"{f'<p>{cast}</p>' if cast else ''}{_lines(scene['lines'])}</article>"
    )


def _highlights(report: Mapping[str, Any], images: PageImages) -> str:
    cards = []
    for rank, h in enumerate(report["highlights"], 1):
        picture = images.stills.get(h["frame"]) if h["frame"] is not None else None
        image = _img(picture, f"highlight {rank}: shot {h['shot']}") if picture is not None else ""
        tags = "".join(f"<span class=tag>{_e(t)}</span>" for t in h["tags"])
        cards.append(
            f"<figure class=card>{image}<figcaption><b>{h['sakuga_score']:.2f}</b> "
            f"<a href=#scene-{h['scene']}>shot {h['shot']}</a> · {clock(h['start_seconds'])} · "
            f"{_e(h['cadence'])} · {_e(h['camera'])} · {h['drawings_per_second']:.1f} drawings/s<br>{tags}"
            "</figcaption></figure>"
        )
    return _card_section(
        "highlights",
        "Sakuga highlights",
        "The shots the measured signals rank highest (cadence, motion, effects), OP, ED and recaps left out.",
        cards,
        "No analysed shot outside OP/ED.",
    )


def _card_section(section_id: str, title: str, intro: str, cards: list[str], empty: str) -> str:
    """A section of picture cards under a title and a line saying what they are (``empty`` when none)."""
    body = f"<div class=cards>{''.join(cards)}</div>" if cards else f"<p class=dim>{empty}</p>"
    return f"<section id={section_id}><h2>{title}</h2><p class=dim>{intro}</p>{body}</section>"


def _loops(report: Mapping[str, Any], images: PageImages) -> str:
    cards = []
    for loop in report["loops"]:
        picture = images.loops.get(loop["start_frame"])
        image = _img(picture, f"loop in shot {loop['shot']}") if picture is not None else ""
        cards.append(
            f"<figure class=card>{image}<figcaption><a href=#scene-{_scene_of(report, loop['shot'])}>shot "
            f"{loop['shot']}</a> · {clock(loop['start_seconds'])} · {loop['period_frames']} frames × {loop['repeats']}"
            "</figcaption></figure>"
        )
    return _card_section(
        "loops",
        "Loops",
        "Cycles of drawings the analysis found; one period plays on repeat.",
        cards,
        "No loop found outside OP/ED.",
    )


def _scene_of(report: Mapping[str, Any], shot: int) -> int:
    return int(report["shots"][shot]["scene"])


def _plots(images: PageImages) -> str:
    body = _img(images.plot, "drawings per second, motion and cut rate over the episode") if images.plot else ""
    return f"<section id=plots><h2>Over the episode</h2>{body or '<p class=dim>No shots.</p>'}</section>"


def _contact(report: Mapping[str, Any], images: PageImages) -> str:
    files = report["files"]
    links = [f'<a href="{quote(files["json"])}">JSON</a>']
    if files.get("contact"):
        links.insert(0, f'<a href="{quote(files["contact"])}">full-size PNG</a>')
    body = _img(images.contact, "contact sheet: one picture per shot") if images.contact else ""
    return (
        "<section id=contact><h2>Contact sheet</h2><p class=dim>Every shot's middle frame, with its number and "
        f"start. {' · '.join(links)}</p>{body or '<p class=dim>No pictures.</p>'}</section>"
    )


def render_page(report: Mapping[str, Any], images: PageImages) -> str:
    """The whole page."""
    episode = report["episode"]
    title = f"{episode['series']} {episode['number'] if episode['number'] is not None else ''}".strip()
    scenes = "".join(_scene(scene, images) for scene in report["scenes"]) or "<p class=dim>No scenes.</p>"
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        f'content="width=device-width,initial-scale=1"><title>{_e(title)} · animevid digest</title>'
        f"<style>{STYLE}</style></head><body><main>{_header(report)}{_timeline(report)}"
        f"<section id=scenes><h2>Scenes</h2>{scenes}</section>{_highlights(report, images)}"
        f"{_loops(report, images)}{_plots(images)}{_contact(report, images)}"
        f"<footer>animevid digest of {_e(episode['name'])}</footer></main></body></html>"
    )


def _index_row(row: Mapping[str, Any]) -> str:
    if "error" in row:
        return f"<tr><td></td><td>{_e(row['name'])}</td><td colspan=5 class=dim>failed: {_e(row['error'])}</td></tr>"
    report = row["report"]
    summary, episode = report["summary"], report["episode"]
    cover = f'<img src="{row["cover"]}" width=160 alt="{_e(row["name"])}" decoding=async>' if row["cover"] else ""
    tags = "".join(f"<span class=tag>{_e(t)}</span>" for t in summary["top_tags"])
    number = f" · episode {_e(episode['number'])}" if episode["number"] is not None else ""
    notes = "".join(f"<br><span class=dim>{_e(n)}</span>" for n in report["notes"])
    return (
        f'<tr><td class=cover><a href="{quote(row["page"])}">{cover}</a></td>'
        f'<td><a href="{quote(row["page"])}">{_e(row["name"])}</a><br><span class=dim>{_e(episode["series"])}'
        f"{number}</span>{notes}</td><td>{clock(summary['duration_seconds'])}</td><td>{summary['shots']}</td>"
        f"<td>{summary['scenes']}</td><td>{summary['drawings_per_second']:.1f}</td><td>{tags}</td></tr>"
    )


def render_index(library: object, rows: Sequence[Mapping[str, Any]]) -> str:
    """The library's index page: a line per episode linking its digest (name, length, shots, scenes, top tags)."""
    head = "".join(f"<th>{h}</th>" for h in ("", "episode", "length", "shots", "scenes", "drawings / s", "top tags"))
    body = "".join(_index_row(row) for row in rows) or "<tr><td colspan=7 class=dim>No indexed episodes.</td></tr>"
    table_style = (
        "table{border-collapse:collapse;width:100%}td,th{padding:6px 10px;border-bottom:1px solid #2b2f3a;"
        "text-align:left;vertical-align:middle}th{color:#9aa0ad;font-weight:500;font-size:13px}.cover img{width:160px}"
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport "
        'content="width=device-width,initial-scale=1"><title>animevid digests</title>'
        f"<style>{STYLE}{table_style}</style></head><body><main><h1>Digests of {_e(library)}</h1>"
        f"<p class=dim>{len(rows)} episode(s)</p><table><tr>{head}</tr>{body}</table></main></body></html>"
    )
