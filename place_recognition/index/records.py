"""Gallery records: one line of ``records.<g>.jsonl`` per indexed image, line i = faiss id i.

Record fields (index format version 2; JSON object per line): ``path`` (str, POSIX, relative
to the gallery root), ``label`` (str, the place), ``sha256`` (str, of the file's bytes),
``size`` (int), ``mtime_ns`` (int), then optional fields with defaults: ``lat``, ``lon``
(number or null; null), ``route`` (str or null: the route the image lies on; null) and
``position`` (int or null: its place in travel order on that route, 0, 1, 2 ...; null), see
indexing/routes.py. A reader fills in the defaults of absent optional fields and ignores
fields it does not know, so later versions add fields (a route and a position, say) without a
new format version; see index/manifest.py for the manifest's ``requires``.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass


@dataclass(frozen=True)
class GalleryRecord:
    """One indexed gallery image. Its position in the index's record list is its faiss id.

    ``path`` is POSIX-style, relative to the gallery root; ``sha256`` is of the file's bytes.
    """

    path: str
    label: str
    sha256: str
    size: int
    mtime_ns: int
    lat: float | None = None
    lon: float | None = None
    route: str | None = None
    position: int | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> GalleryRecord:
        """The record of a parsed JSON object (taken over, not copied); TypeError when its
        fields are not a record's."""
        if data.keys() != _FIELDS:  # optional fields absent, or fields of a later version
            data = {**_DEFAULTS, **{k: v for k, v in data.items() if k in _FIELDS}}
            if data.keys() != _FIELDS:
                return cls(**data)  # raises TypeError naming the missing field
        lat, lon, route, position = data["lat"], data["lon"], data["route"], data["position"]
        if not (
            type(data["path"]) is str
            and type(data["label"]) is str
            and type(data["sha256"]) is str
            and type(data["size"]) is int
            and type(data["mtime_ns"]) is int
            and (lat is None or type(lat) in _NUMBER)
            and (lon is None or type(lon) in _NUMBER)
            and (route is None or type(route) is str)
            and (position is None or (type(position) is int and position >= 0))
            and ((route is None) == (position is None))
        ):
            raise TypeError(f"not a gallery record: {data}")  # a damaged records file
        # The frozen dataclass __init__ costs ~4 us per record (one object.__setattr__ per
        # field); adopting the parsed dict as __dict__ is ~10x faster, which is a second of
        # start-up on a 100k-image gallery. Same fields, same values: equality is unchanged.
        record = object.__new__(cls)
        object.__setattr__(record, "__dict__", data)
        return record

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


_FIELDS = frozenset(GalleryRecord.__dataclass_fields__)
_DEFAULTS = {
    name: field.default
    for name, field in GalleryRecord.__dataclass_fields__.items()
    if field.default is not MISSING
}
_NUMBER = (int, float)
