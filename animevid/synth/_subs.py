"""Subtitles timed the way fansub timers time them, with the truth of every line.

Dialogue lines follow the speech (the lip flaps) with a lead-in before and a lead-out after,
then are snapped to a nearby hard cut ("keyframe snapping"): a start moves back onto a cut up to
0.25 s before it or forward onto a cut between it and the speech; an end moves onto a cut up to
0.5 s after it or back onto a cut inside the lead-out. A snapped time is the cut frame's pts
floored to centiseconds (ASS precision), so a renderer shows the line from exactly that frame.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pysubs2

from animevid.synth._draw import Character, Location
from animevid.synth._timeline import Entry

ENGLISH = (
    "We have to hurry, the train leaves at six!",
    "You always say that, and then you're late.",
    "Did you see that? It moved!",
    "I won't lose. Not this time.",
    "Hey, wait for me!",
    "Is this really the right way?",
    "I'll protect everyone. That's a promise.",
    "Senpai... you noticed me?",
    "Let's meet on the rooftop after class.",
    "That's not what I meant at all!",
)
JAPANESE = ("行くぞ！", "まさか…そんなはずはない。", "ありがとう、先輩。", "待って！", "大丈夫、私がいるから。")
SYLLABLES = ("ki", "mi", "no", "so", "ra", "e", "to", "ba", "ta", "ku", "yo", "ru", "ka", "ze", "ni", "na", "re")


@dataclass
class Timing:
    """Frame-rate arithmetic in exact integers (pts of frame f = f * den / num seconds)."""

    num: int
    """fps numerator."""
    den: int
    """fps denominator."""

    def floor_cs(self, frame: int) -> int:
        """The frame's pts in whole centiseconds, rounded down (a time that shows that frame first)."""
        return frame * self.den * 100 // self.num

    def seconds(self, frame: int) -> float:
        """The frame's pts in seconds."""
        return frame * self.den / self.num

    def first_frame_at(self, cs: int) -> int:
        """First frame whose pts is >= ``cs`` centiseconds."""
        return -(-cs * self.num // (100 * self.den))


def make_subtitles(
    entries: list[Entry],
    timing: Timing,
    cast: tuple[Character, ...],
    locations: tuple[Location, ...],
    rng: np.random.Generator,
    size: tuple[int, int],
) -> list[dict[str, Any]]:
    """Every subtitle line (truth format, sorted by start) for a placed timeline."""
    cuts = sorted(e.start for e in entries if e.transition == "cut")
    lines = [_dialogue_line(s, timing, cuts, cast, rng) for s in _speeches(entries)]
    lines.sort(key=lambda line: line["start_cs"])
    for a, b in itertools.pairwise(lines):
        if a["end_cs"] > b["start_cs"]:  # no overlapping dialogue: the earlier line ends where the next begins
            a["end_cs"], a["snapped_end"] = b["start_cs"], b["snapped_start"]
    lines += _signs(entries, timing, cuts, locations, size)
    lines += _songs(entries, timing)
    lines += _comments(entries, timing)
    for line in lines:
        line["start_frame"] = timing.first_frame_at(line["start_cs"])
        line["end_frame"] = timing.first_frame_at(line["end_cs"])
        line["crosses_cut"] = any(line["start_frame"] < c < line["end_frame"] for c in cuts)
    lines.sort(key=lambda line: (line["start_cs"], line["kind"]))
    return [_finish(line) for line in lines]


def _speeches(entries: list[Entry]) -> list[tuple[int, int, int]]:
    """(first frame, end frame, speaker) of each speech; a speech running to a cut continues into the next shot."""
    out: list[tuple[int, int, int]] = []
    open_speech: tuple[int, int] | None = None
    for e in entries:
        for start, end, speaker in e.plan.speech:
            if speaker == -1:  # off-screen continuation of the previous shot's last speech
                if open_speech is not None:
                    out.append((open_speech[0], e.start + end, open_speech[1]))
                    open_speech = None
                continue
            if end >= e.frames:
                open_speech = (e.start + start, speaker)
            else:
                out.append((e.start + start, e.start + end, speaker))
        if open_speech is not None and not any(sp == -1 for *_, sp in _next_speech(entries, e)):
            out.append((open_speech[0], e.start + e.frames, open_speech[1]))
            open_speech = None
    return out


def _next_speech(entries: list[Entry], e: Entry) -> list[tuple[int, int, int]]:
    i = entries.index(e)
    return entries[i + 1].plan.speech if i + 1 < len(entries) else []


def _dialogue_line(
    speech: tuple[int, int, int], timing: Timing, cuts: list[int], cast: tuple[Character, ...], rng: np.random.Generator
) -> dict[str, Any]:
    a, b, speaker = speech
    lead_in, lead_out = rng.uniform(0.10, 0.20), rng.uniform(0.25, 0.45)
    start_t, end_t = timing.seconds(a) - lead_in, timing.seconds(b) + lead_out
    start_cut = _nearest([c for c in cuts if start_t - 0.25 <= timing.seconds(c) <= timing.seconds(a)], start_t, timing)
    end_cut = _nearest([c for c in cuts if timing.seconds(b) <= timing.seconds(c) <= end_t + 0.5], end_t, timing)
    text = str(rng.choice(JAPANESE)) if rng.random() < 0.3 else str(rng.choice(ENGLISH))
    if rng.random() < 0.25:
        text = text.replace(" ", r"\N", 1) if " " in text else text  # a two-line subtitle
    return {
        "kind": "dialogue",
        "style": "Default",
        "name": cast[speaker].name,
        "text": text,
        "start_cs": timing.floor_cs(start_cut) if start_cut is not None else max(0, round(start_t * 100)),
        "end_cs": timing.floor_cs(end_cut) if end_cut is not None else round(end_t * 100),
        "snapped_start": start_cut is not None,
        "snapped_end": end_cut is not None,
        "speech_start_frame": a,
        "speech_end_frame": b,
    }


def _nearest(candidates: list[int], t: float, timing: Timing) -> int | None:
    return min(candidates, key=lambda c: abs(timing.seconds(c) - t)) if candidates else None


def _signs(
    entries: list[Entry], timing: Timing, cuts: list[int], locations: tuple[Location, ...], size: tuple[int, int]
) -> list[dict[str, Any]]:
    """A typeset location title over each still or pan shot of the episode's own scenes."""
    out = []
    for i, e in enumerate(x for x in entries if x.block == "content" and x.plan.kind in ("still", "pan")):
        name = locations[e.plan.location].name.title()
        x, y = 0.5 * size[0], 0.2 * size[1]  # script coordinates: PlayRes is the frame size
        text = f"{{\\an8}}{name}" if i % 2 == 0 else f"{{\\pos({x:.0f},{y:.0f})}}{name}"
        end = e.start + e.frames
        out.append(
            {
                "kind": "sign",
                "style": "Sign",
                "name": "",
                "text": text,
                "start_cs": timing.floor_cs(e.start),
                "end_cs": timing.floor_cs(end),
                "snapped_start": e.start in cuts,
                "snapped_end": end in cuts,
            }
        )
    return out


def _songs(entries: list[Entry], timing: Timing) -> list[dict[str, Any]]:
    """Karaoke lyrics over the OP and ED; syllable durations (\\k, centiseconds) sum to the line."""
    out = []
    for block, style in (("op", "OP"), ("ed", "ED")):
        shots = [e for e in entries if e.block == block]
        first, last = shots[0].start, shots[-1].start + shots[-1].frames
        mid = (first + last) // 2
        for n, (a, b) in enumerate(((first + 6, mid), (mid, last - 4))):
            start, end = timing.floor_cs(a), timing.floor_cs(b)
            out.append(
                {
                    "kind": "song",
                    "style": style,
                    "name": "",
                    "text": _karaoke(end - start, n + len(style)),
                    "start_cs": start,
                    "end_cs": end,
                    "snapped_start": False,
                    "snapped_end": False,
                }
            )
    return out


def _karaoke(duration_cs: int, salt: int) -> str:
    count = 6
    parts, left = [], duration_cs
    for i in range(count):
        k = left if i == count - 1 else duration_cs // count
        left -= k
        parts.append(f"{{\\k{k}}}{SYLLABLES[(i * 5 + salt * 3) % len(SYLLABLES)]}")
    return "".join(parts)


def _comments(entries: list[Entry], timing: Timing) -> list[dict[str, Any]]:
    op = [e for e in entries if e.block == "op"]
    end = timing.floor_cs(op[-1].start + op[-1].frames)
    return [
        {
            "kind": "comment",
            "style": "OP",
            "name": "",
            "text": "template syl: {\\fad(50,50)}",
            "start_cs": 0,
            "end_cs": end,
            "snapped_start": False,
            "snapped_end": False,
        },
        {
            "kind": "comment",
            "style": "Default",
            "name": "TL",
            "text": "TL note: keep honorifics (senpai) untranslated",
            "start_cs": end,
            "end_cs": end + 200,
            "snapped_start": False,
            "snapped_end": False,
        },
    ]


def _finish(line: dict[str, Any]) -> dict[str, Any]:
    plain = pysubs2.SSAEvent(text=line["text"]).plaintext
    start, end = line.pop("start_cs"), line.pop("end_cs")
    return {"start_seconds": start / 100, "end_seconds": end / 100, "plain": plain, **line}


def write_ass(lines: list[dict[str, Any]], path: str, size: tuple[int, int], title: str) -> pysubs2.SSAFile:
    """Write the lines as an .ass file with Default, Sign, OP and ED styles."""
    subs = pysubs2.SSAFile()
    width, height = size
    subs.info.update({"Title": title, "PlayResX": str(width), "PlayResY": str(height), "ScaledBorderAndShadow": "yes"})
    unit = height / 180
    white, black = pysubs2.Color(255, 255, 255), pysubs2.Color(0, 0, 0)
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontsize=13 * unit,
        primarycolor=white,
        outlinecolor=black,
        outline=1.2 * unit,
        shadow=0.5 * unit,
        marginv=round(8 * unit),
    )
    subs.styles["Sign"] = pysubs2.SSAStyle(
        fontsize=11 * unit,
        primarycolor=pysubs2.Color(40, 40, 60),
        outlinecolor=white,
        outline=unit,
        shadow=0,
        alignment=pysubs2.Alignment.TOP_CENTER,
    )
    for name, alignment, points, italic in (
        ("OP", pysubs2.Alignment.TOP_CENTER, 12, True),
        ("ED", pysubs2.Alignment.BOTTOM_RIGHT, 11, False),
    ):
        subs.styles[name] = pysubs2.SSAStyle(
            fontsize=points * unit,
            primarycolor=pysubs2.Color(255, 220, 120),  # karaoke: syllables turn from secondary to primary
            secondarycolor=white,
            outlinecolor=pysubs2.Color(90, 30, 120),
            outline=unit,
            shadow=0.0,
            alignment=alignment,
            italic=italic,
        )
    for line in lines:
        subs.append(
            pysubs2.SSAEvent(
                start=round(line["start_seconds"] * 100) * 10,
                end=round(line["end_seconds"] * 100) * 10,
                text=line["text"],
                style=line["style"],
                name=line["name"],
                type="Comment" if line["kind"] == "comment" else "Dialogue",
            )
        )
    subs.save(path, encoding="utf-8", format_="ass")
    return subs
