"""Looking up a screenshot: regions, crop and mirror hypotheses, the finer check, merging.

1. **Regions**: the whole query, the query with flat or blurred borders trimmed, and a pasted
   screenshot's rectangle when one is found.
2. **Candidates**: for each region, the descriptor of the original frame's core under the
   no-crop hypothesis, and its mirror, fetch the nearest indexed frames. When the finer check
   is not sure after that, crop hypotheses (the query covers 90 % or 80 % of the frame, corner
   on a 5 % grid) fetch more.
3. **Finer check**: the query's grey thumbnail slides over each candidate's stored thumbnail
   (normalised correlation) at 64x36; candidates within ``TIE_SCORE`` of the best are checked
   again at 128x72, aligned to a fraction of a pixel (confetti, lip flaps and slow zooms are
   invisible at 64x36, and a crop's half-pixel misalignment hides them at 128x72). The kept
   frames within ``SCAN_SECONDS`` of the best are scanned under its alignment, and the few that
   fit best are aligned too: the true frame of a slow camera move often is not a candidate. For a
   crop, the kept frames next to the best are then aligned one by one, outward in time, each from
   its neighbour's alignment, while they fit within ``WALK_DROP`` of it: on a slow move every frame
   fits a crop once moved, and the true one stands out (by more than ``LEVEL_TIE``) only once
   aligned on its own. The value is the hit's score, comparable across hypotheses. A whole frame
   that fits several frames equally (within ``LEVEL_TIE``: a pan or a shake over a held drawing) is
   the one it fits unmoved.
4. **Merging**: hits of one episode within ``merge_seconds`` are one hit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from animevid.config import SearchConfig
from animevid.search._describe import (
    COARSE_SIZE,
    FRAME_ASPECT,
    FULL,
    THUMB_SIZE,
    Alignment,
    Match,
    Placement,
    align,
    aligned_score,
    grey,
    match_score,
    mirrored,
    placements,
    query_descriptor,
    refine,
)
from animevid.search._normalize import caption_bars, find_pasted, trim_borders
from animevid.search._partsearch import (
    PART_CANDIDATES,
    PART_SHARES,
    WHOLE_CANDIDATES,
    WHOLE_SHARES,
    part_candidates,
    part_match,
)
from animevid.search._screen import find_screen, rectify
from animevid.search._store import SearchIndex, split_id, vector_ids

SURE_SCORE = 0.96
"""A first-round score this high skips the crop hypotheses. Lower, a zoomed neighbour of a cropped
frame (seen at 0.92-0.95) stops the search before the crop hypothesis finds the frame itself
(0.97-0.99)."""
TIE_SCORE = 0.03
"""Candidates this close to the best coarse score are checked again at full thumbnail size."""
UNSURE_SCORE = 0.9
"""Below this best coarse score, the ``TIE_CHECKS`` best candidates are all aligned, however far below the best:
a turned query (3-8 degrees) fits its own frame at 0.65-0.8 before alignment and 0.99 after, and a wrong
frame can fit it better unaligned."""
TIE_CHECKS = 8
"""At most this many candidates get the aligned full-size check (bench/search.py: 16 moved single crop
queries both ways, crop-10 98.0 -> 97.5 %, crop-20 97.5 -> 98.0 %, for 10 % more time)."""
LEVEL_TIE = 0.0005
"""Aligned scores this close to the best are equal evidence (the frames of a shaking or panning shot over
a held drawing spread 0.0001-0.001)."""
STEADY_PX = 0.1
"""Alignments that move a whole frame this little more than the least moved one are equally steady (thumbnail
pixels; the pan in tests/test_search.py moves 0.6 px a frame)."""
SCAN_SECONDS = 1.5
"""Kept frames this close in time to the best aligned candidate are scanned under its alignment."""
SCAN_CHECKS = 6
"""The scanned frames that fit best, at most this many, are aligned and scored (bench/search.py with 16 tie
checks: none 96.5 % crop-10, 97.5 % crop-20; 3: 97.5 %, 97.0 %; 6: 97.5 %, 98.0 %)."""
WALK_SECONDS = 3.0
"""How far in time from the best frame the walk goes at most (each way)."""
WALK_DROP = 0.01
"""The walk stops where the fit falls this far below the best (the camera move or the drawing changed)."""
PART_WIDTH_SHARE = 0.6
"""A hit whose box is narrower than this share of its frame matched a part of it (a reaction crop)."""
PART_COST = 0.03
"""Taken off a part hit's score: a small picture fits some place of some wrong frame better than a whole one fits
a whole wrong frame (out-of-library whole frames fitted 0.92-0.95 on 27 % of a frame); a true part fits at
0.98-1.0 and stays above the threshold."""
PART_SLOT_CHECKS = 4
"""Part-round candidates, the best checked first, whose neighbours in time are checked too."""
CROP_PLACEMENTS = tuple(placements((0.9, 0.8), 0.05))
"""Crop hypotheses of the second round (9 + 25)."""
_WORK_WIDTH = 320


Box = tuple[float, float, float, float]
"""(x0, y0, x1, y1) in shares of a frame's width and height."""


@dataclass(frozen=True)
class Ranking:
    """What :func:`rank_picture` found: every checked frame's score and where the query lies on it."""

    scores: dict[int, float]
    """Vector id -> finer-check score (0..1)."""
    boxes: dict[int, Box]
    """Vector id -> the part of the frame the query matched."""


@dataclass(frozen=True)
class SearchHit:
    """One place in the library a query was found."""

    episode_id: int
    """The episode's catalog id."""
    episode: str
    """The episode file."""
    frame: int
    """The indexed frame that matched (0-based decode order)."""
    seconds: float
    """Its presentation time."""
    end_seconds: float
    """The matched picture shows until this time (as :attr:`TextHit.end_seconds` and a shot's)."""
    score: float
    """Match score, 0..1 (normalised correlation of the finer check)."""
    box: Box | None = None
    """The part of the frame the query showed: (x0, y0, x1, y1) in shares of the frame's width and height
    (0, 0, 1, 1: all of it); None when not known (a clip's hits, dialogue hits)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``box`` only when known)."""
        out: dict[str, Any] = {
            "episode": self.episode,
            "episode_id": self.episode_id,
            "seconds": round(self.seconds, 3),
            "end_seconds": round(self.end_seconds, 3),
            "frame": self.frame,
            "score": round(self.score, 4),
        }
        if self.box is not None:
            out["box"] = [round(v, 3) for v in self.box]
        return out


@dataclass(frozen=True)
class Panel:
    """One frame of a query made of several (side by side, a strip, a grid) and where it was found."""

    box: tuple[int, int, int, int]
    """(x0, y0, x1, y1) of the panel in the query picture's pixels, x1 and y1 exclusive."""
    hits: tuple[SearchHit, ...]
    """The panel's hits, best first."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"box": list(self.box), "results": [h.as_dict() for h in self.hits]}


@dataclass(frozen=True)
class SearchResult:
    """Hits for one query, best first, and whether the best is a confident match."""

    hits: tuple[SearchHit, ...]
    """Hits, best first (for a query of several frames, the panels' best hits, best first)."""
    threshold: float
    """Score below which the best hit is not a confident match."""
    panels: tuple[Panel, ...] = ()
    """For a query made of several frames, each frame's hits in reading order; empty otherwise."""

    @property
    def confident(self) -> bool:
        """The best hit scores at least ``threshold``."""
        return bool(self.hits) and self.hits[0].score >= self.threshold

    def as_dict(self) -> dict[str, Any]:
        """``{"results": [...], "confident", "threshold"}``."""
        return {
            "results": [h.as_dict() for h in self.hits],
            "confident": self.confident,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class _Region:
    """One guess of where the picture is inside the query."""

    grey: np.ndarray
    coarse: np.ndarray
    """Float32 grey at COARSE_SIZE."""

    def thumb(self, flip: bool) -> np.ndarray:
        """The region's coarse thumbnail, mirrored when asked."""
        return np.ascontiguousarray(self.coarse[:, ::-1]) if flip else self.coarse

    def picture(self, flip: bool) -> np.ndarray:
        """The region in grey at working size, mirrored when asked."""
        return np.ascontiguousarray(self.grey[:, ::-1]) if flip else self.grey


def _region(picture: np.ndarray) -> _Region:
    return _Region(picture, cv2.resize(picture, COARSE_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32))


def query_regions(rgb: np.ndarray) -> list[_Region]:
    """The whole query and the rectangles the border and paste finders propose."""
    g = grey(rgb)
    h, w = g.shape
    if w > _WORK_WIDTH:
        g = cv2.resize(g, (_WORK_WIDTH, max(8, round(h * _WORK_WIDTH / w))), interpolation=cv2.INTER_AREA)
    regions, seen = [_region(g)], [(0, 0, g.shape[1], g.shape[0])]
    colour = cv2.resize(rgb, g.shape[::-1], interpolation=cv2.INTER_AREA) if rgb.shape[:2] != g.shape else rgb
    for box in (trim_borders(g), caption_bars(g), find_pasted(colour), *_frame_boxes(g)):
        if box is None or any(max(abs(a - b) for a, b in zip(box, s, strict=True)) <= 2 for s in seen):
            continue
        x0, y0, x1, y1 = box
        if x1 - x0 >= 16 and y1 - y0 >= 9:
            regions.append(_region(g[y0:y1, x0:x1]))
            seen.append(box)
    screen = find_screen(rgb)
    if screen is not None:  # a photo of a screen: the screen's quadrilateral, rectified
        regions.append(_region(grey(rectify(rgb, screen, width=_WORK_WIDTH))))
    return regions


def _frame_boxes(g: np.ndarray) -> list[tuple[int, int, int, int]]:
    """The largest 16:9 boxes, centred and against either end, when the query is not 16:9 itself.

    Vertical-video reposts and letterboxed screenshots put a TV frame in the middle of a taller or
    wider picture; meme captions add a bar above or below it. When the borders are too busy (a
    blurred copy of the frame, a caption's text) or the frame's own edges too plain for the border
    finder, the shape of the query still says where the frame is.
    """
    h, w = g.shape
    if abs(w / h - FRAME_ASPECT) <= 0.03 * FRAME_ASPECT:
        return []
    if w / h < FRAME_ASPECT:  # taller: the frame spans the width
        bh = round(w / FRAME_ASPECT)
        return [(0, (h - bh) // 2, w, (h - bh) // 2 + bh), (0, 0, w, bh), (0, h - bh, w, h)]
    bw = round(h * FRAME_ASPECT)
    return [((w - bw) // 2, 0, (w - bw) // 2 + bw, h), (0, 0, bw, h), (w - bw, 0, w, h)]


_Candidate = tuple[float, int, bool, float]
"""(descriptor score, region, mirrored, scale)."""


def _candidates(
    index: SearchIndex, regions: list[_Region], hypotheses: tuple[Placement, ...], k: int
) -> dict[int, _Candidate]:
    keys, codes = [], []
    for r, region in enumerate(regions):
        for placement in hypotheses:
            code = query_descriptor(region.grey, placement)
            if code.any():
                keys += [(r, False, placement.scale), (r, True, placement.scale)]
                codes += [code, mirrored(code)]
    found: dict[int, _Candidate] = {}
    if not codes:
        return found
    scores, ids = index.search(np.stack(codes), k)
    for (r, flip, scale), row_scores, row_ids in zip(keys, scores, ids, strict=True):
        for score, vid in zip(row_scores, row_ids, strict=True):
            if vid >= 0 and (vid not in found or score > found[vid][0]):
                found[int(vid)] = (float(score), r, flip, scale)
    return found


def _coarse(
    index: SearchIndex, regions: list[_Region], found: dict[int, _Candidate], count: int
) -> dict[int, tuple[Match, _Candidate]]:
    """The finer check at 64x36 on the ``count`` candidates with the best descriptor scores."""
    best = sorted(found.items(), key=lambda item: -item[1][0])[:count]
    checked = {}
    for vid, candidate in best:
        _, r, flip, scale = candidate
        stored = cv2.resize(index.thumbnail(vid), COARSE_SIZE, interpolation=cv2.INTER_AREA).astype(np.float32)
        checked[vid] = (match_score(regions[r].thumb(flip), stored, _scales(scale)), candidate)
    return checked


def _break_ties(
    index: SearchIndex, regions: list[_Region], checked: dict[int, tuple[Match, _Candidate]]
) -> tuple[dict[int, float], dict[int, Alignment]]:
    """Scores and the alignments made: the candidates within ``TIE_SCORE`` of the best and their best
    neighbours in time are aligned."""
    scores = {vid: max(0.0, match.score) for vid, (match, _) in checked.items()}
    if not scores:
        return scores, {}
    top = max(scores.values())
    window = TIE_SCORE if top >= UNSURE_SCORE else 1.0  # unsure: the best few, whatever their coarse scores
    ties = sorted((v for v, s in scores.items() if s >= top - window), key=lambda v: -scores[v])[:TIE_CHECKS]
    aligned: dict[int, Alignment] = {}
    for vid in ties:
        match, (_, r, flip, _) = checked[vid]
        score, aligned[vid] = align(regions[r].picture(flip), _thumb(index, vid), match)
        scores[vid] = max(0.0, score)
    best = max(ties, key=scores.__getitem__)
    for vid in _scan(index, best, aligned[best], set(aligned)):
        score, aligned[vid] = refine(aligned[best], _thumb(index, vid))
        scores[vid] = max(0.0, score)
    top = max(scores[vid] for vid in aligned)
    best = max(aligned, key=scores.__getitem__)
    if aligned[best].template.shape != THUMB_SIZE[::-1]:  # a crop (a whole frame is settled by the scan)
        walked = _walk(index, best, top, aligned)
        # only a clearly better fit counts: frames that merely tie would hide the candidates' order
        for vid, (score, alignment) in walked.items():
            if score >= top + LEVEL_TIE:
                scores[vid], aligned[vid] = score, alignment
        top = max(scores[vid] for vid in aligned)
    level = [vid for vid in aligned if scores[vid] >= top - LEVEL_TIE]
    if len(level) > 1 and all(aligned[vid].template.shape == THUMB_SIZE[::-1] for vid in level):
        # the whole frame on frames that fit equally well (a pan or a shake over a held drawing): the
        # screenshot is the frame that needs no move to fit, not a neighbour that fits once shifted
        _prefer(scores, level, _steadiest({vid: aligned[vid] for vid in level}, scores), top)
    return scores, aligned


def _prefer(scores: dict[int, float], level: list[int], chosen: int, top: float) -> None:
    """Make ``chosen`` the best of the equally fitting ``level`` frames (the others drop just below it)."""
    for vid in level:
        scores[vid] = top if vid == chosen else min(scores[vid], top - LEVEL_TIE / 10)


def _walk(
    index: SearchIndex, best: int, top: float, aligned: dict[int, Alignment]
) -> dict[int, tuple[float, Alignment]]:
    """Align the kept frames next to ``best``, outward in time, while they fit nearly as well.

    On a slow camera move over a held drawing every nearby frame fits a crop once moved (0.995 over
    seconds), and the true frame stands out only by a little (0.998) and only once aligned on its own,
    not under a neighbour's alignment. Each frame starts from its neighbour's alignment, so ECC
    follows the move in a few iterations.

    Returns:
        Vector id -> (score, alignment) of the frames aligned on the way (not those in ``aligned``).
    """
    episode, row = split_id(best)
    frames = index.episode(episode)
    ids = vector_ids(episode, len(frames))
    walked: dict[int, tuple[float, Alignment]] = {}
    for step in (-1, 1):
        current, r = aligned[best], row + step
        while 0 <= r < len(frames) and abs(frames.seconds[r] - frames.seconds[row]) <= WALK_SECONDS:
            vid = int(ids[r])
            if vid in aligned:
                current = aligned[vid]
            else:
                score, current = refine(current, _thumb(index, vid))
                walked[vid] = (max(0.0, score), current)
                if score < top - WALK_DROP:
                    break
            r += step
    return walked


def _steadiest(alignments: dict[int, Alignment], scores: dict[int, float]) -> int:
    """The frame whose alignment moves the template's corners least (thumbnail pixels).

    Frames that need no more move than it, within ``STEADY_PX`` (a drawing that came back, a held
    drawing kept twice), are told apart by their scores: the screenshot's own frame, encoded once
    with it, fits a little better than the same drawing encoded again.
    """

    def displacement(alignment: Alignment) -> float:
        th, tw = alignment.template.shape
        corners = np.array([[0, 0, 1], [tw, 0, 1], [0, th, 1], [tw, th, 1]], np.float32)
        return float(np.abs(corners @ alignment.warp.T - corners[:, :2]).max())

    moved = {vid: displacement(alignment) for vid, alignment in alignments.items()}
    least = min(moved.values())
    steady = [vid for vid in alignments if moved[vid] <= least + STEADY_PX]
    return max(steady, key=scores.__getitem__)


def _thumb(index: SearchIndex, vid: int) -> np.ndarray:
    return index.thumbnail(vid).astype(np.float32)


def _scan(index: SearchIndex, best: int, alignment: Alignment, done: set[int]) -> list[int]:
    """The ``SCAN_CHECKS`` kept frames near ``best`` in time that fit best under its alignment."""
    episode, row = split_id(best)
    frames = index.episode(episode)
    near = np.abs(frames.seconds - frames.seconds[row]) <= SCAN_SECONDS
    vids = [int(v) for v in vector_ids(episode, len(frames))[near] if int(v) not in done]
    fits = {v: aligned_score(alignment, _thumb(index, v)) for v in vids}
    return sorted(fits, key=lambda v: -fits[v])[:SCAN_CHECKS]


def _scales(scale: float) -> tuple[float, ...]:
    return tuple(sorted({min(1.0, scale + d) for d in (-0.05, 0.0, 0.05)}, reverse=True))


def rank_picture(index: SearchIndex, rgb: np.ndarray, config: SearchConfig) -> Ranking:
    """Score the indexed frames that could be the query picture.

    Args:
        index: The open search index.
        rgb: (h, w, 3) uint8 RGB query.
        config: Search options.

    Returns:
        For every candidate checked, its finer-check score (0..1) and the part of the frame matched.
    """
    regions = query_regions(rgb)
    checked = _coarse(index, regions, _candidates(index, regions, (FULL,), config.neighbours), config.rerank)
    if _best(checked) < SURE_SCORE:
        more = _candidates(index, regions, CROP_PLACEMENTS, config.neighbours)
        _keep_better(checked, _coarse(index, regions, more, config.rerank))
    parts_tried = _best(checked) < SURE_SCORE
    if parts_tried:
        _keep_better(checked, _part_round(index, regions, config.part_gap_seconds))
    scores, aligned = _break_ties(index, regions, checked)
    if not parts_tried and max(scores.values(), default=0.0) < SURE_SCORE:
        # the coarse 64x36 check flattered a wrong frame and the finer one says unsure: parts may know better
        _keep_better(checked, _part_round(index, regions, config.part_gap_seconds))
        scores, aligned = _break_ties(index, regions, checked)
    boxes = {vid: _match_box(match) for vid, (match, _) in checked.items()}
    boxes.update({vid: _aligned_box(alignment) for vid, alignment in aligned.items()})
    for vid, (x0, _, x1, _) in boxes.items():
        if x1 - x0 < PART_WIDTH_SHARE and vid in scores:  # a small picture fits somewhere by chance more easily
            scores[vid] = max(0.0, scores[vid] - PART_COST)
    return Ranking(scores, boxes)


def _match_box(match: Match) -> Box:
    """The part of the frame a whole-pixel match covers, clipped to the frame."""
    return _clipped(match.x, match.y, match.x + match.scale, match.y + match.height)


def _aligned_box(alignment: Alignment) -> Box:
    """The part of the frame an aligned template covers (the bounding box of its corners), clipped to the frame."""
    th, tw = alignment.template.shape
    corners = np.array([[0, 0, 1], [tw, 0, 1], [0, th, 1], [tw, th, 1]], np.float32) @ alignment.warp.T
    width, height = THUMB_SIZE
    x0, y0 = corners.min(axis=0) / (width, height)
    x1, y1 = corners.max(axis=0) / (width, height)
    return _clipped(float(x0), float(y0), float(x1), float(y1))


def _clipped(x0: float, y0: float, x1: float, y1: float) -> Box:
    return (max(0.0, x0), max(0.0, y0), min(1.0, x1), min(1.0, y1))


def _best(checked: dict[int, tuple[Match, _Candidate]]) -> float:
    return max((match.score for match, _ in checked.values()), default=0.0)


def _keep_better(checked: dict[int, tuple[Match, _Candidate]], more: dict[int, tuple[Match, _Candidate]]) -> None:
    """Add ``more`` to ``checked``, keeping each frame's best hypothesis."""
    for vid, (match, candidate) in more.items():
        if vid not in checked or match.score > checked[vid][0].score:
            checked[vid] = (match, candidate)


def _part_round(index: SearchIndex, regions: list[_Region], gap: float) -> dict[int, tuple[Match, _Candidate]]:
    """Candidates for a query showing part of a frame (:mod:`animevid.search._partsearch`), checked.

    The query and its mirror are looked up; the best voted frames of both together get the finer check.
    Only a few kept frames a second have parts (one per ``gap`` seconds), so the query's own frame is
    often a neighbour of the frame its parts found: the kept frames within ``gap`` of the
    :data:`PART_SLOT_CHECKS` best checked candidates are checked too, at their scale.
    """
    wanted: list[tuple[float, int, float, bool]] = []
    for shares, most in ((PART_SHARES, PART_CANDIDATES), (WHOLE_SHARES, WHOLE_CANDIDATES)):
        voted = [
            (evidence, vid, share, flip)
            for flip in (False, True)
            for vid, share, evidence in part_candidates(index, regions[0].picture(flip), shares, most)
        ]
        wanted += sorted(voted, reverse=True)[:most]
    found: dict[int, tuple[Match, _Candidate]] = {}
    for evidence, vid, share, flip in wanted:
        match = part_match(index, regions[0].picture(flip), vid, share)
        _keep_better(found, {vid: (match, (evidence, 0, flip, match.scale))})
    best = sorted(found.items(), key=lambda item: -item[1][0].score)[:PART_SLOT_CHECKS]
    for vid, (match, candidate) in best:
        picture = regions[0].picture(candidate[2]).astype(np.float32)
        episode, row = split_id(vid)
        frames = index.episode(episode)
        near = np.abs(frames.seconds - frames.seconds[row]) <= gap
        for other in vector_ids(episode, len(frames))[near]:
            if int(other) not in found:
                more = match_score(picture, _thumb(index, int(other)), (match.scale,), own_shape=True)
                _keep_better(found, {int(other): (more, candidate)})
    return found


def merge_hits(
    index: SearchIndex, scored: dict[int, float], *, top: int, merge_seconds: float
) -> list[tuple[int, float]]:
    """Best hits first, keeping one per episode and ``merge_seconds`` window."""
    kept: list[tuple[int, float]] = []
    for vid, score in sorted(scored.items(), key=lambda item: -item[1]):
        ref = index.ref(vid)
        near = (index.ref(k) for k, _ in kept)
        if any(o.episode_id == ref.episode_id and abs(o.pts_seconds - ref.pts_seconds) < merge_seconds for o in near):
            continue
        kept.append((vid, score))
        if len(kept) == top:
            break
    return kept
