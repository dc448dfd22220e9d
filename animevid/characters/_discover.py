"""Discovery: the library's unknown faces grouped into clusters, a page to look at them, naming a cluster at once.

Faces are grouped by track (a character followed through a shot), each track by the mean of its
vectors; tracks are clustered with scikit-learn's average-linkage agglomerative clustering on
cosine distance, cut at ``characters.cluster_distance``. Clusters are numbered from the largest
(most faces). At most :data:`MAX_TRACKS` tracks are clustered (the pairwise distances take
memory as their square): the tracks with the most faces are kept.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from animevid.catalog import CATALOG_FILENAME, Catalog
from animevid.characters._gallery import Gallery, Naming, rename_library
from animevid.characters._stage import episode_faces
from animevid.errors import CharacterError
from animevid.library import Library

MAX_TRACKS = 6000
"""Most tracks clustered at once (their distance matrix is about 290 MB)."""
MIN_FACES = 2
"""Faces a cluster needs to be listed (a single glimpse is not a character yet)."""
SHOWN_FACES = 24
"""Thumbnails shown per cluster on the page."""
ENROLLED_PER_CLUSTER = 32
"""Most of a named cluster's faces added to the gallery (spread over its tracks)."""


@dataclass
class Discovery:
    """What ``characters discover`` found."""

    clusters: list[dict[str, Any]] = field(default_factory=list)
    """Per cluster: number, faces, tracks, episodes."""
    unknown_faces: int = 0
    """Faces no enrolled character was near."""
    clustered_tracks: int = 0
    """Tracks clustered (at most MAX_TRACKS)."""
    page: str | None = None
    """The HTML page written, if one was."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "clusters": self.clusters,
            "unknown_faces": self.unknown_faces,
            "clustered_tracks": self.clustered_tracks,
            "page": self.page,
        }


@dataclass
class _Faces:
    """The library's unknown faces with their vectors and thumbnails."""

    keys: list[tuple[int, int, int]] = field(default_factory=list)
    """(episode_id, face_index, track) per face."""
    vectors: list[np.ndarray] = field(default_factory=list)
    crops: list[np.ndarray] = field(default_factory=list)


def _unknown_faces(folder: Path, signature: str | None) -> _Faces:
    out = _Faces()
    with Catalog.in_library(folder) as catalog:
        faces = catalog.faces()
    faces = faces[faces["character"].isna()]
    for episode_id, rows in faces.groupby("episode_id"):
        stored = episode_faces(folder, int(episode_id))
        if stored is None or (signature is not None and stored["signature"] != signature):
            continue
        for row in rows.itertuples():
            out.keys.append((int(episode_id), int(row.face_index), int(row.track)))
            out.vectors.append(stored["embeddings"][row.face_index])
            out.crops.append(stored["crops"][row.face_index])
    return out


def discover(library: str | Path, *, max_distance: float, page: str | Path | None = None) -> Discovery:
    """Cluster the library's unknown faces, store each face's cluster, and optionally write the page.

    Raises:
        CharacterError: The folder is not a library.
    """
    folder = Path(library)
    if not (folder / CATALOG_FILENAME).is_file():
        raise CharacterError(f"{folder} is not an animevid library; run animevid index first")
    gallery = Gallery(folder)
    faces = _unknown_faces(folder, gallery.signature or None)
    labels, tracks = _cluster(faces, max_distance)
    result = Discovery(unknown_faces=len(faces.keys), clustered_tracks=tracks)
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        if label >= 0:
            members.setdefault(int(label), []).append(i)
    with Library(folder).writing(), Catalog.in_library(folder) as catalog:
        catalog.set_face_clusters([(faces.keys[i][0], faces.keys[i][1], c) for c, idx in members.items() for i in idx])
    for number, idx in sorted(members.items()):
        result.clusters.append(
            {
                "cluster": number,
                "faces": len(idx),
                "tracks": len({(faces.keys[i][0], faces.keys[i][2]) for i in idx}),
                "episodes": len({faces.keys[i][0] for i in idx}),
            }
        )
    if page is not None:
        Path(page).write_text(_page(folder, result, members, faces), encoding="utf-8")
        result.page = str(page)
    return result


def _cluster(faces: _Faces, max_distance: float) -> tuple[list[int], int]:
    """A cluster number per face (-1: none), numbered from the largest; and how many tracks were clustered."""
    by_track: dict[tuple[int, int], list[int]] = {}
    for i, (episode, _, track) in enumerate(faces.keys):
        by_track.setdefault((episode, track), []).append(i)
    tracks = sorted(by_track.values(), key=len, reverse=True)[:MAX_TRACKS]
    labels = [-1] * len(faces.keys)
    groups: list[list[int]]
    if len(tracks) < 2:
        groups = [tracks[0]] if tracks else []
    else:
        from sklearn.cluster import AgglomerativeClustering

        means = np.stack([np.mean([faces.vectors[i] for i in t], axis=0) for t in tracks])
        means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-6)
        found = AgglomerativeClustering(
            n_clusters=None, metric="cosine", linkage="average", distance_threshold=max_distance
        ).fit_predict(means)
        grouped: dict[int, list[int]] = {}
        for members, label in zip(tracks, found, strict=True):
            grouped.setdefault(int(label), []).extend(members)
        groups = list(grouped.values())
    groups = sorted((g for g in groups if len(g) >= MIN_FACES), key=len, reverse=True)
    for number, group in enumerate(groups):
        for i in group:
            labels[i] = number
    return labels, len(tracks)


def name_cluster(library: str | Path, cluster: int, name: str, *, naming: Naming) -> dict[str, Any]:
    """Enroll a cluster's faces under ``name`` and name the library again: every face of the cluster at once.

    Raises:
        CharacterError: No face is in that cluster (run ``characters discover`` first).
    """
    folder = Path(library)
    with Catalog.in_library(folder) as catalog:
        faces = catalog.faces()
    members = faces[faces["cluster"] == cluster]
    if members.empty:
        raise CharacterError(
            f"no face is in cluster {cluster} of {folder}; run animevid characters discover to (re)cluster, "
            "then name a cluster it lists"
        )
    vectors, crops, signature = [], [], ""
    for episode_id, rows in members.groupby("episode_id"):
        stored = episode_faces(folder, int(episode_id))
        if stored is None:  # its face file is lost (`animevid check` says so): nothing of it to enroll
            continue
        signature = stored["signature"]
        picks = _spread(list(rows["face_index"]), ENROLLED_PER_CLUSTER)
        vectors += [stored["embeddings"][i] for i in picks]
        crops += [stored["crops"][i] for i in picks]
    if not vectors:
        raise CharacterError(f"cluster {cluster} of {folder}: its episodes' face files are lost; run animevid check")
    keep = _spread(list(range(len(vectors))), ENROLLED_PER_CLUSTER)
    total = Gallery(folder).enroll(
        Library(folder), name, np.stack([vectors[i] for i in keep]), np.stack([crops[i] for i in keep]), signature
    )
    named = rename_library(folder, naming=naming)
    return {"name": name, "cluster": cluster, "cluster_faces": len(members), "enrolled_faces": total, "named": named}


def _spread(items: list[Any], most: int) -> list[Any]:
    """At most ``most`` items, evenly spread over the list."""
    if len(items) <= most:
        return items
    return [items[round(k * (len(items) - 1) / (most - 1))] for k in range(most)]


def _page(folder: Path, result: Discovery, members: dict[int, list[int]], faces: _Faces) -> str:
    """One offline HTML page: per cluster its faces as inline PNG thumbnails and the command that names it."""
    sections = []
    for info in result.clusters:
        idx = _spread(members[info["cluster"]], SHOWN_FACES)
        images = "".join(f'<img src="data:image/png;base64,{_png(faces.crops[i])}" alt="">' for i in idx)
        command = html.escape(f"animevid characters name {info['cluster']} NAME --library {folder}")
        sections.append(
            f"<section><h2>Cluster {info['cluster']}</h2><p>{info['faces']} faces, {info['tracks']} tracks, "
            f"{info['episodes']} episode(s). Name it: <code>{command}</code></p><div>{images}</div></section>"
        )
    body = "".join(sections) or "<p>No unknown faces to group: every face found is named, or none was found.</p>"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>animevid: unknown faces</title>'
        "<style>body{font-family:sans-serif;margin:2em;background:#fafafa}section{margin-bottom:1.5em}"
        "img{width:72px;height:72px;margin:2px;border-radius:4px;image-rendering:auto}"
        "code{background:#eee;padding:2px 4px}</style></head><body>"
        f"<h1>Unknown faces of {html.escape(str(folder))}</h1><p>{result.unknown_faces} unknown faces, "
        f"{len(result.clusters)} clusters of {MIN_FACES} or more.</p>{body}</body></html>"
    )


def _png(crop: np.ndarray) -> str:
    ok, data = cv2.imencode(".png", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
    return base64.b64encode(data.tobytes()).decode("ascii") if ok else ""
