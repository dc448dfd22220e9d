"""A page a person can look at: the query and each hit's picture, episode, time and score.

Where a hit matched only part of its frame (a reaction crop, a crop), the box is drawn on the hit's
picture; a query made of several frames shows each panel's box and number.

Hit pictures are decoded on demand from the episode files (one seek each) rather than stored:
the index then keeps only grey 128x72 thumbnails, a colour JPEG per kept frame would add
~10-20 KB each (tens of MB per indexed hour) for a page few people open. When an episode file
has moved, the stored grey thumbnail is shown instead.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import cv2
import numpy as np

from animevid.search._query import SearchResult
from animevid.search._store import ROW_BITS, SearchIndex

_WIDTH = 320


def _data_uri(rgb: np.ndarray) -> str:
    h, w = rgb.shape[:2]
    if w > _WIDTH:
        rgb = cv2.resize(rgb, (_WIDTH, max(1, round(h * _WIDTH / w))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return "data:image/jpeg;base64," + base64.b64encode(data.tobytes()).decode() if ok else ""


def _decode_at(path: str, seconds: float) -> np.ndarray | None:
    """The first frame at or after ``seconds`` (None when the file cannot be read)."""
    import av

    try:
        with av.open(path) as container:
            stream = container.streams.video[0]
            base = stream.time_base
            if base is None:
                return None
            start = float(stream.start_time * base) if stream.start_time is not None else 0.0
            container.seek(int((start + max(0.0, seconds - 0.5)) / base), stream=stream, backward=True)
            for frame in container.decode(stream):
                if frame.time is None or frame.time - start >= seconds - 1e-3:
                    return np.asarray(frame.to_ndarray(format="rgb24"))
    except (av.error.FFmpegError, OSError, IndexError):
        return None
    return None


_BOX_COLOUR = (255, 48, 48)
_WHOLE = 0.9
"""A hit whose box covers this share of its frame or more showed the whole frame: no box is drawn."""


def _area(box: tuple[float, float, float, float]) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _framed(rgb: np.ndarray, box: tuple[float, float, float, float], label: str = "") -> np.ndarray:
    """``rgb`` at page width with ``box`` (shares of its width and height) drawn on it, labelled."""
    h, w = rgb.shape[:2]
    if w > _WIDTH:
        rgb = cv2.resize(rgb, (_WIDTH, max(1, round(h * _WIDTH / w))), interpolation=cv2.INTER_AREA)
        h, w = rgb.shape[:2]
    out = np.ascontiguousarray(rgb).copy()
    x0, y0, x1, y1 = (round(v * s) for v, s in zip(box, (w, h, w, h), strict=True))
    cv2.rectangle(out, (x0, y0), (max(x0, x1 - 1), max(y0, y1 - 1)), _BOX_COLOUR, 2)
    if label:
        cv2.putText(out, label, (x0 + 4, y0 + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, _BOX_COLOUR, 2, cv2.LINE_AA)
    return out


def _query_figure(query: np.ndarray, result: SearchResult) -> str:
    """The query, with each panel's box and number drawn when it was split into several frames."""
    h, w = query.shape[:2]
    for n, panel in enumerate(result.panels, 1):
        x0, y0, x1, y1 = panel.box
        query = _framed(query, (x0 / w, y0 / h, x1 / w, y1 / h), str(n))
    caption = f"query, {len(result.panels)} frames in one picture" if result.panels else "query"
    return f"<figure><img src='{_data_uri(query)}' alt='query'><figcaption>{caption}</figcaption></figure><hr>"


def write_html(
    out: str | Path, result: SearchResult, index: SearchIndex, *, query: np.ndarray | None, title: str
) -> Path:
    """Write the page.

    Args:
        out: The HTML file to write.
        result: What the search found.
        index: The index it searched (for stored thumbnails when an episode file is gone).
        query: The query picture (RGB), or None (text and clip searches).
        title: What was searched, shown as the heading.

    Returns:
        The written path.
    """
    verdict = "confident match" if result.confident else f"no confident match (best score below {result.threshold:.2f})"
    parts = [
        "<!doctype html><meta charset='utf-8'><title>animevid search</title>",
        "<style>body{font-family:sans-serif;margin:2em}figure{display:inline-block;margin:0 1em 1em 0;"
        "vertical-align:top}img{max-width:320px;border:1px solid #ccc}</style>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(verdict)}</p>",
    ]
    if query is not None:
        parts.append(_query_figure(query, result))
    for rank, hit in enumerate(result.hits, 1):
        picture = _decode_at(hit.episode, hit.seconds) if Path(hit.episode).is_file() else None
        if picture is None:
            ids = np.flatnonzero(index.episode(hit.episode_id).frames == hit.frame)
            thumb = (
                index.thumbnail((hit.episode_id << ROW_BITS) | int(ids[0]))
                if len(ids)
                else np.zeros((72, 128), np.uint8)
            )
            picture = cv2.cvtColor(np.asarray(thumb), cv2.COLOR_GRAY2RGB)
        if hit.box is not None and _area(hit.box) < _WHOLE:  # the part of the frame the query showed
            picture = _framed(picture, hit.box)
        minutes, seconds = divmod(hit.seconds, 60)
        caption = html.escape(
            f"#{rank} {Path(hit.episode).name} at {int(minutes)}:{seconds:06.3f} "
            f"(frame {hit.frame}), score {hit.score:.3f}"
        )
        image = f"<img src='{_data_uri(picture)}' alt='hit {rank}'>"
        parts.append(f"<figure>{image}<figcaption>{caption}</figcaption></figure>")
    if not result.hits:
        parts.append("<p>no hits</p>")
    path = Path(out)
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
