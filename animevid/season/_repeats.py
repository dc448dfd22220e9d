"""Footage that recurs across the episodes of a season, found from the frames the search index keeps.

Every pair of episodes is compared: kept frames with detail whose descriptors are near (cosine >=
``MATCH_COSINE``) and whose thumbnails agree (mean absolute difference < ``THUMB_DIFF`` grey levels)
are anchors. From each anchor a run grows frame by frame in both directions while the other
episode shows the same picture at the same offset (blank frames included, so an OP's fade from
black belongs to it), and ends where either episode's picture changes. Runs become intervals of
each episode; intervals joined by runs form families (union-find), and a family's episodes and
positions say what it is (:func:`classify`).

Frame accuracy comes from the kept frames themselves: a kept frame is the first frame of a new
picture, so a run starts on the first frame of its first picture and ends on the frame where the
next picture (in either episode) begins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import faiss
import numpy as np

MATCH_COSINE = 0.95
"""Descriptor cosine above which two kept frames may show the same picture."""
THUMB_DIFF = 6.0
"""Mean absolute grey difference (0..255, 128x72 thumbnails) under which two kept frames show the same picture."""
THUMB_DIFF_FLAT = 2.0
"""The same for two frames without detail (fades, flat colour): re-encoding changes them by well under 1 level."""
DETAIL_STD = 12.0
"""Grey standard deviation a thumbnail needs to anchor a run (blank, black and white frames only extend one)."""
MIN_SECONDS = 0.9
"""Shortest run kept."""


@dataclass
class Kept:
    """One episode's kept frames, as the search index stores them."""

    episode_id: int
    frames: np.ndarray
    """(n,) first frame of each kept picture."""
    until: np.ndarray
    """(n,) frame where the next kept picture begins (the episode's frame count for the last)."""
    fps: float
    descriptors: np.ndarray
    thumbnails: np.ndarray

    def __post_init__(self) -> None:
        self.detail = np.array([float(np.asarray(t).std()) >= DETAIL_STD for t in self.thumbnails], bool)


@dataclass(frozen=True)
class Run:
    """Frames ``a_start..a_end`` of episode a show what frames ``b_start..b_end`` of episode b show."""

    a: int
    a_start: int
    a_end: int
    b: int
    b_start: int
    b_end: int
    anchors: int = 1
    """Detailed pictures the run holds (a held still matches at any offset within its hold; motion pins it)."""
    diff: float = 0.0
    """Mean thumbnail difference over the run's pictures (a slow pan also matches a few frames off, less well)."""


def _diff(x: Kept, i: int, y: Kept, j: int) -> float:
    return float(np.abs(np.asarray(x.thumbnails[i], np.int16) - np.asarray(y.thumbnails[j], np.int16)).mean())


def _same(x: Kept, i: int, y: Kept, j: int) -> bool:
    diff = _diff(x, i, y, j)
    # two frames nearly faded out differ little in absolute terms even when they show different things
    return bool(diff < (THUMB_DIFF if x.detail[i] or y.detail[j] else THUMB_DIFF_FLAT))


def _counterpart(x: Kept, i: int, y: Kept, offset: int) -> int | None:
    """The kept frame of y showing, ``offset`` frames later, the picture x's kept frame i begins (+-1 frame).

    Which frames are kept can differ by a frame between two encodes of the same footage, so the
    picture y shows there is the kept frame whose span covers that frame.
    """
    want = int(x.frames[i]) + offset
    for frame in (want, want - 1, want + 1):
        j = int(np.searchsorted(y.frames, frame, side="right")) - 1
        if 0 <= j < len(y.frames) and frame < int(y.until[j]) and _same(x, i, y, j):
            return j
    return None


def _grow(x: Kept, i: int, y: Kept, j: int) -> tuple[int, int, int, int]:
    """The run around anchor (i, j): first and last kept frame in x and in y."""
    offset = int(y.frames[j]) - int(x.frames[i])
    lo_i, lo_j, hi_i, hi_j = i, j, i, j
    while lo_i > 0:
        back = _counterpart(x, lo_i - 1, y, offset)
        if back is None or back > lo_j:
            break
        lo_i, lo_j = lo_i - 1, back
    while hi_i + 1 < len(x.frames):
        ahead = _counterpart(x, hi_i + 1, y, offset)
        if ahead is None or ahead < hi_j:
            break
        hi_i, hi_j = hi_i + 1, ahead
    return lo_i, hi_i, lo_j, hi_j


def pair_runs(x: Kept, y: Kept) -> list[Run]:
    """Every run of pictures episode x and episode y share (x != y)."""
    if not len(x.frames) or not len(y.frames):
        return []
    index = faiss.IndexFlatIP(x.descriptors.shape[1])
    index.add(np.ascontiguousarray(y.descriptors, np.float32))
    sims, found = index.search(np.ascontiguousarray(x.descriptors, np.float32), min(4, len(y.frames)))
    covered = np.zeros(len(x.frames), bool)
    runs = []
    for i in map(int, np.flatnonzero(x.detail)):
        if covered[i]:
            continue
        for sim, j in zip(sims[i], map(int, found[i]), strict=True):
            if j < 0 or sim < MATCH_COSINE or not y.detail[j] or not _same(x, i, y, j):
                continue
            lo_i, hi_i, lo_j, hi_j = _grow(x, i, y, j)
            # one detailed picture held as long is evidence enough: a recap may copy one held still
            length = min(int(x.until[hi_i]) - int(x.frames[lo_i]), int(y.until[hi_j]) - int(y.frames[lo_j]))
            if length >= MIN_SECONDS * x.fps:
                covered[lo_i : hi_i + 1] = True
                a0, b0 = int(x.frames[lo_i]), int(y.frames[lo_j])
                anchors = int(x.detail[lo_i : hi_i + 1].sum())
                diff = _run_diff(x, lo_i, hi_i, y, int(y.frames[lo_j]) - a0)
                runs.append(Run(x.episode_id, a0, a0 + length, y.episode_id, b0, b0 + length, anchors, diff))
                break
    return _untangled(runs)


def _run_diff(x: Kept, lo: int, hi: int, y: Kept, offset: int) -> float:
    """Mean thumbnail difference of x's kept frames lo..hi and what y shows ``offset`` frames later."""
    diffs = []
    for i in range(lo, hi + 1):
        j = int(np.searchsorted(y.frames, int(x.frames[i]) + offset, side="right")) - 1
        if j >= 0:
            diffs.append(_diff(x, i, y, j))
    return float(np.mean(diffs)) if diffs else 0.0


def _untangled(runs: list[Run]) -> list[Run]:
    """Of runs that claim the same frames of either episode, keep the one with the most pictures, most alike.

    Footage that starts inside a held still matches that still at every offset within the hold, and a
    slow pan matches a few frames off; the run whose pictures line up holds more of them, more alike.
    """
    kept: list[Run] = []

    def score(run: Run) -> tuple[float, int]:  # more pictures, shown more alike
        return -run.anchors * max(0.0, 1.0 - run.diff / THUMB_DIFF), run.a_start

    for run in sorted(runs, key=score):
        if not any(
            _overlap(run.a_start, run.a_end, k.a_start, k.a_end) or _overlap(run.b_start, run.b_end, k.b_start, k.b_end)
            for k in kept
        ):
            kept.append(run)
    return sorted(kept, key=lambda r: r.a_start)


def _overlap(s1: int, e1: int, s2: int, e2: int) -> bool:
    return min(e1, e2) - max(s1, s2) > 0.5 * min(e1 - s1, e2 - s2)


@dataclass
class Family:
    """Intervals of several episodes that show the same footage."""

    members: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    """Episode id -> its intervals (frames), merged."""

    def span(self, episode_id: int) -> tuple[int, int]:
        """First and last frame of the family in an episode."""
        ranges = self.members[episode_id]
        return min(a for a, _ in ranges), max(b for _, b in ranges)


def families(runs: list[Run]) -> list[Family]:
    """Join runs into families: intervals of one episode that overlap are the same footage."""
    nodes: list[tuple[int, int, int]] = []
    parent: list[int] = []

    def find(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    def node(episode: int, start: int, end: int) -> int:
        for k, (e, s, t) in enumerate(nodes):
            if e == episode and min(t, end) - max(s, start) > 0.5 * min(t - s, end - start):
                nodes[k] = (e, min(s, start), max(t, end))
                return k
        nodes.append((episode, start, end))
        parent.append(len(parent))
        return len(nodes) - 1

    for run in runs:
        a, b = node(run.a, run.a_start, run.a_end), node(run.b, run.b_start, run.b_end)
        parent[find(a)] = find(b)
    grouped: dict[int, Family] = {}
    for k, (episode, start, end) in enumerate(nodes):
        family = grouped.setdefault(find(k), Family())
        family.members.setdefault(episode, []).append((start, end))
    for family in grouped.values():
        for episode, ranges in family.members.items():
            family.members[episode] = _merged(ranges)
    return list(grouped.values())


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1] + 2:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out
