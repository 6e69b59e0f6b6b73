"""The index manifest: the one place that knows its fields (schema, reading, checks, writing).

``manifest.json`` is the commit point of an index folder: it names the data files of one
generation (index/storage.py) and says what they hold. Format version 2 is a UTF-8 JSON object
(the default of an optional field in brackets):

- ``format``: ``"place-recognition-index"``; ``format_version``: 2 (a newer one is refused)
- ``requires``: [str], features a reader must know to read this index correctly [``[]``]
- ``generation``: int, of the data files; ``saved_at``: str, local time (informational)
- ``model``: the fingerprint of the model whose vectors the index holds:
  {name, sha256, input_size [h, w], dim, key}
- ``metric``: ``"inner_product"``; ``dim``: int (the model's); ``count``: int (= records)
- ``factory``: faiss factory string [``"Flat"``: exact]; ``nprobe``: int > 0 [64]
- ``files``: {role: {name, size, sha256}}: ``index``, ``records``; ``vectors`` unless exact;
  ``invlists`` when the index keeps its inverted lists on disk (``requires`` then names
  ``ondisk-invlists``; a save that leaves the lists unchanged may keep an earlier generation's
  file, which stays as long as a manifest names it)
- ``query_model``: the model that embeds queries for this index: {fingerprint, files: {xml, bin:
  file names in this folder} when stored here, fitted_from: the fingerprint of the model it was
  made from, info: {}} (only fingerprint is required) [{fingerprint: model}]
- ``thresholds``: unknown-place score thresholds with their provenance,
  {name: {value: number, ...}} [``{}``]
- ``skipped``: gallery files left out, [{path, reason, size, mtime_ns}] [``[]``]
- ``listing``: str or null, digest of the gallery listing indexed [null]
- ``routes``: how the gallery's folders map to routes, ``"root"`` or ``"folders"``
  (indexing/routes.py); null when the records carry no routes (an index written before
  routes existed: the next update assigns them, nothing is embedded again) [null]

Records (``records.<g>.jsonl``, line i = faiss id i) are described in index/records.py.

Compatibility: later versions only *add* fields. A reader fills in the defaults above for
absent optional fields and ignores fields it does not know (a rewrite of the same generation,
such as storing a threshold, keeps them; a new generation from a writer that does not know them
drops them). A field that must not be ignored (a new kind of data file, say) is named in
``requires``, so an older reader refuses the index with a clear line instead of misreading it.
Version 1 (no ``requires``/``query_model``/``thresholds``; ``fitted_model`` and ``threshold``
instead) is read and upgraded in memory; a writer stores version 2.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..core.files import atomic_write_text
from ..core.fingerprint import ModelFingerprint
from ..errors import IndexFormatError, IndexMissingError, Remedy
from . import modes
from .manifest_checks import FORMAT_VERSION, ONDISK_LISTS, is_count, manifest_problem
from .storage import REBUILD, FileEntry, is_data_file_name

FORMAT = "place-recognition-index"
MANIFEST = "manifest.json"
KNOWN_FEATURES = frozenset({ONDISK_LISTS})  # what this version can read when ``requires`` it


@dataclass(frozen=True)
class QueryModel:
    """The model that embeds queries for an index, and where its files are when stored there."""

    fingerprint: ModelFingerprint
    files: dict[str, str] = field(default_factory=dict)  # {"xml": name, "bin": name} or {}
    fitted_from: ModelFingerprint | None = None
    info: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data: dict = {"fingerprint": self.fingerprint.to_dict()}
        if self.files:
            data["files"] = dict(self.files)
        if self.fitted_from is not None:
            data["fitted_from"] = self.fitted_from.to_dict()
        if self.info:
            data["info"] = dict(self.info)
        return data


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest (see the module docstring for the fields and their defaults)."""

    generation: int
    model: ModelFingerprint
    count: int
    files: dict[str, FileEntry]
    query_model: QueryModel
    factory: str = modes.EXACT
    nprobe: int = modes.DEFAULT_NPROBE
    thresholds: dict[str, dict] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)
    listing: str | None = None
    routes: str | None = None
    requires: tuple[str, ...] = ()
    saved_at: str | None = None
    version: int = FORMAT_VERSION  # the version on disk (1: read through the upgrade)
    extra: dict = field(default_factory=dict)  # fields this version does not know

    @property
    def referenced(self) -> set[str]:
        """Every file name in the folder that this manifest needs."""
        return {entry.name for entry in self.files.values()} | set(self.query_model.files.values())

    def to_json(self) -> dict:
        return {
            **self.extra,
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "requires": list(self.requires),
            "generation": self.generation,
            "saved_at": self.saved_at or time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "model": self.model.to_dict(),
            "metric": "inner_product",
            "factory": self.factory,
            "nprobe": self.nprobe,
            "dim": self.model.dim,
            "count": self.count,
            "files": {role: entry.to_json() for role, entry in self.files.items()},
            "query_model": self.query_model.to_json(),
            "thresholds": self.thresholds,
            "skipped": self.skipped,
            "listing": self.listing,
            "routes": self.routes,
        }


def read_manifest(directory: Path, missing_ok: bool = False) -> Manifest | None:
    """The parsed manifest of an index folder (format, version and fields checked)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        if missing_ok:
            return None
        raise IndexMissingError(f"no index at {directory} (missing {MANIFEST}); build it first")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise _damaged(path, str(exc)) from exc
    return parse_manifest(data, path)


def write_manifest(directory: Path, manifest: Manifest) -> None:
    """Replace the manifest atomically: the commit point of a save."""
    text = json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(Path(directory) / MANIFEST, text)


def update_manifest(directory: Path, **changes) -> Manifest:
    """Change fields of a saved manifest (same generation) and write it back as version 2.

    The caller holds the folder's lock (``core.files.folder_lock``): a save committing between
    the read and the write would otherwise be undone, with its data files already deleted.
    """
    manifest = replace(read_manifest(directory), **changes)
    write_manifest(directory, manifest)
    return manifest


def upgrade_in_place(directory: Path) -> bool:
    """Rewrite an older manifest as the current version (nothing else changes); True if done.

    The data files stay as they are, nothing is embedded again. The caller holds the lock.
    """
    manifest = read_manifest(directory, missing_ok=True)
    if manifest is None or manifest.version == FORMAT_VERSION:
        return False
    write_manifest(directory, manifest)
    return True


def parse_manifest(data: object, path: Path) -> Manifest:
    """The Manifest of parsed JSON ``data``; IndexFormatError naming ``path`` when it is not one."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise IndexFormatError(
            f"{path} is not a place-recognition index manifest; {REBUILD}",
            remedy=Remedy.REBUILD_INDEX,
        )
    version = data.get("format_version")
    if is_count(version) and version > FORMAT_VERSION:
        raise IndexFormatError(
            f"{path} has format version {version}, newer than this version of place_recognition "
            f"reads ({FORMAT_VERSION}); upgrade place_recognition or {REBUILD}",
            remedy=Remedy.REBUILD_INDEX,
        )
    if version == 1:
        data = _upgrade_v1(data)
    requires = data.get("requires", [])
    unknown = (
        [f for f in requires if not (isinstance(f, str) and f in KNOWN_FEATURES)]
        if isinstance(requires, list)
        else []
    )
    if unknown:
        raise IndexFormatError(
            f"{path} needs {', '.join(map(str, unknown))}, which this version of "
            f"place_recognition cannot read; upgrade place_recognition or {REBUILD}",
            remedy=Remedy.REBUILD_INDEX,
        )
    problem = manifest_problem(data)
    if problem:
        raise _damaged(path, problem)
    return _build(data, version)


def _build(data: dict, version: int) -> Manifest:
    model = ModelFingerprint.from_dict(data["model"])
    query = data.get("query_model") or {"fingerprint": data["model"]}
    fitted_from = query.get("fitted_from")
    return Manifest(
        generation=data["generation"],
        model=model,
        count=data["count"],
        files={
            role: FileEntry(entry["name"], entry["size"], entry["sha256"])
            for role, entry in data["files"].items()
            if isinstance(entry, dict) and is_data_file_name(str(entry.get("name")))
        },
        query_model=QueryModel(
            ModelFingerprint.from_dict(query["fingerprint"]),
            dict(query.get("files", {})),
            ModelFingerprint.from_dict(fitted_from) if fitted_from else None,
            dict(query.get("info", {})),
        ),
        factory=data.get("factory", modes.EXACT),
        nprobe=data.get("nprobe", modes.DEFAULT_NPROBE),
        thresholds=dict(data.get("thresholds", {})),
        skipped=list(data.get("skipped", [])),
        listing=data.get("listing"),
        routes=data.get("routes"),
        requires=tuple(data.get("requires", [])),
        saved_at=data.get("saved_at"),
        version=version,
        extra={key: value for key, value in data.items() if key not in _KNOWN_FIELDS},
    )


_KNOWN_FIELDS = frozenset(
    [
        "format",
        "format_version",
        "requires",
        "generation",
        "saved_at",
        "model",
        "metric",
        "dim",
        "count",
        "factory",
        "nprobe",
        "files",
        "query_model",
        "thresholds",
        "skipped",
        "listing",
        "routes",
    ]
)


def _upgrade_v1(data: dict) -> dict:
    """A version 1 manifest as version 2 (same data files, same meaning; checked as such)."""
    upgraded = {k: v for k, v in data.items() if k not in ("fitted_model", "threshold")}
    upgraded["format_version"] = FORMAT_VERSION
    query: dict = {"fingerprint": data.get("model")}
    fitted = data.get("fitted_model")
    if fitted is not None:  # {"xml", "bin", "base_model", "vocabulary"}
        fitted = fitted if isinstance(fitted, dict) else {}
        query["files"] = {"xml": fitted.get("xml"), "bin": fitted.get("bin")}
        query["fitted_from"] = fitted.get("base_model")
        if fitted.get("vocabulary"):
            query["info"] = {"vocabulary": fitted["vocabulary"]}
    upgraded["query_model"] = query
    if "threshold" in data:  # version 1 stored only thresholds calibrated on labelled queries
        upgraded["thresholds"] = {"calibrated": {"value": data["threshold"]}}
    return upgraded


def _damaged(path: Path, problem: str) -> IndexFormatError:
    return IndexFormatError(
        f"{path} is damaged ({problem}); {REBUILD}", remedy=Remedy.REBUILD_INDEX
    )
