"""Checks of a parsed manifest's fields: the shapes of index/manifest.py's schema (version 2)."""

from __future__ import annotations

import math

from . import modes
from .storage import is_data_file_name

FORMAT_VERSION = 2
REQUIRED_FILES = ("index", "records")
ROUTE_MODES = ("root", "folders")  # indexing/routes.py RouteMode values
# A ``requires`` feature: the inverted lists are in an ``invlists`` data file, memory-mapped.
ONDISK_LISTS = "ondisk-invlists"


def manifest_problem(data: dict) -> str | None:
    """What is wrong with a manifest's fields (format version 2), or None."""
    files = data.get("files")
    factory = data.get("factory", modes.EXACT)
    checks = {
        "format_version": data.get("format_version") == FORMAT_VERSION,
        "requires": isinstance(data.get("requires", []), list),
        "generation": is_count(data.get("generation")),
        "count": is_count(data.get("count")),
        "model": _is_fingerprint(data.get("model")),
        "dim": "dim" not in data or data["dim"] == (data.get("model") or {}).get("dim"),
        "files": isinstance(files, dict)
        and all(_is_file_entry(files.get(role)) for role in REQUIRED_FILES),
        "factory": isinstance(factory, str)
        and (factory == modes.EXACT or _is_file_entry((files or {}).get("vectors"))),
        "nprobe": is_count(data.get("nprobe", 1)) and data.get("nprobe", 1) > 0,
        "invlists": ONDISK_LISTS not in (data.get("requires") or [])
        or _is_file_entry((files or {}).get("invlists")),
        "query_model": "query_model" not in data or _is_query_model(data["query_model"]),
        "thresholds": _is_thresholds(data.get("thresholds", {})),
        "skipped": isinstance(data.get("skipped", []), list)
        and all(_is_skip_entry(entry) for entry in data.get("skipped", [])),
        "listing": data.get("listing") is None or isinstance(data["listing"], str),
        "routes": data.get("routes") in (None, *ROUTE_MODES),
    }
    bad = [key for key, ok in checks.items() if not ok]
    return f"bad or missing {', '.join(bad)}" if bad else None


def is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_fingerprint(value) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("name"), str)
        and isinstance(value.get("sha256"), str)
        and is_count(value.get("dim"))
        and isinstance(value.get("input_size"), list)
        and len(value["input_size"]) == 2
        and all(is_count(v) for v in value["input_size"])
    )


def _is_file_entry(entry) -> bool:
    # The name must be a plain data file name in the folder: a manifest never points elsewhere.
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and is_data_file_name(entry["name"])
        and is_count(entry.get("size"))
        and isinstance(entry.get("sha256"), str)
    )


def _is_query_model(value) -> bool:
    if not isinstance(value, dict) or not _is_fingerprint(value.get("fingerprint")):
        return False
    files = value.get("files", {})
    return (
        isinstance(files, dict)
        and (not files or set(files) == {"xml", "bin"})
        and all(is_data_file_name(str(name)) for name in files.values())
        and ("fitted_from" not in value or _is_fingerprint(value["fitted_from"]))
        and isinstance(value.get("info", {}), dict)
    )


def _is_thresholds(value) -> bool:
    return isinstance(value, dict) and all(
        isinstance(entry, dict) and _is_number(entry.get("value")) for entry in value.values()
    )


def _is_skip_entry(entry) -> bool:
    return isinstance(entry, dict) and all(
        isinstance(entry.get(k), t) for k, t in (("path", str), ("reason", str), ("size", int))
    )
