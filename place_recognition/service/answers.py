"""The service's JSON answers: the same fields as the demo's JSON lines, plus stable ids.

A record's ``id`` is the sha256 of its file: it names the same image in every index generation
(a thumbnail link stays valid across a reload). Paths are relative to the gallery, never
absolute.
"""

from __future__ import annotations

from collections import OrderedDict

from ..recognition.decisions import PlaceHit, accept, search_places
from .engine import Gallery


def place_json(place: PlaceHit) -> dict:
    return {**place.to_json(), "id": place.match.record.sha256}


def recognition_json(gallery: Gallery, embedding, k: int) -> dict:
    """``{"label", "known", "threshold", "top_k": [...]}`` of one descriptor."""
    places = search_places(gallery.recognizer.index, embedding[None], k)[0]
    label = accept(places, gallery.threshold.value)
    return {
        "label": label,
        "known": label is not None,
        "threshold": gallery.threshold.value,
        "top_k": [place_json(place) for place in places],
    }


def places_page(gallery: Gallery, offset: int, limit: int) -> dict:
    """The gallery's places (distinct labels, in index order), one page of them."""
    places: OrderedDict[str, dict] = OrderedDict()
    for record in gallery.recognizer.index.records:
        entry = places.setdefault(
            record.label,
            {
                "label": record.label,
                "images": 0,
                "lat": None,
                "lon": None,
                "id": record.sha256,
            },
        )
        entry["images"] += 1
        if entry["lat"] is None and record.has_coordinates:
            entry["lat"], entry["lon"] = record.lat, record.lon
    values = list(places.values())
    return {
        "total": len(values),
        "offset": offset,
        "limit": limit,
        "places": values[offset : offset + limit],
    }
