"""Fetching, verifying and unpacking the netvlad-tf checkpoint archive.

Files, sizes and digests: docs/background/netvlad-tf.md.

The archive is 1.1 GB: it is streamed to a temporary file next to its destination, its size and
digests are checked, and only then is it renamed into place, so a partial or corrupt download never
sits under the final name. The defaults are the Open Model Zoo ``netvlad-tf`` file; every function
takes a :class:`RemoteFile`, so tests serve a small archive from localhost.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..core.files import atomic_write_with
from ..errors import PlaceRecognitionError

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
CHECKPOINT_NAME = "vd16_pitts30k_conv5_3_vlad_preL2_intra_white"
_STORAGE = "https://storage.openvinotoolkit.org/repositories/open_model_zoo/public/2022.1"


class DownloadError(PlaceRecognitionError):
    """The file could not be fetched, or what arrived is not the expected file."""


@dataclass(frozen=True)
class RemoteFile:
    """A file to fetch: where from, under which name, and how to recognise it."""

    name: str
    url: str
    size: int
    sha384: str | None = None
    sha256: str | None = None
    mirrors: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line a user can act on: URL, size and digest."""
        digest = f"sha384 {self.sha384}" if self.sha384 else f"sha256 {self.sha256}"
        return f"{self.url} ({self.size:,} bytes, {digest})"


# The Open Model Zoo netvlad-tf archive: size and SHA-384 from omz_tools 2023.3/2024.6,
# SHA-256 from the 2021.3 model.yml (both digests are of the same file).
NETVLAD_ZIP = RemoteFile(
    name="netvlad.zip",
    url=f"{_STORAGE}/netvlad-tf/{CHECKPOINT_NAME}.zip",
    size=1_108_966_217,
    sha384="2aacb2110402ee5c2c1dd5ccfdade0ca3da8df94d1f5eb5441d929beb031877909a399cb7268fef95fd1a8f251ccbd85",
    sha256="a6849eb7e2f9236c8ba87b89c1cf6ce97142296ce71683d8fc843f0569c022ea",
    mirrors=(f"http://rpg.ifi.uzh.ch/datasets/netvlad/{CHECKPOINT_NAME}.zip",),
)
_GITHUB = "https://github.com/uzh-rpg/netvlad_tf_open/raw/abe37fe9d656bf781cff32caf738efca525b7889"
# The two source files omz_downloader also fetches (pre-convert imports them to build the graph).
NETVLAD_LAYERS_PY = RemoteFile(
    name="netvlad_tf/layers.py",
    url=f"{_STORAGE}/netvlad-tf/layers.py",
    size=1492,
    sha384="0cc24ff1de4a28c5d0c93da0958043145583d2ff9dc2e0209cf405d8d033dc95ad2caa071a2b1e0e1461946480ef31ab",
    sha256="701fd91892d3ca71316504c088c33c47e7bcd6a091f3157171ed3a0caf1f07b2",
    mirrors=(f"{_GITHUB}/python/netvlad_tf/layers.py",),
)
NETVLAD_NETS_PY = RemoteFile(
    name="netvlad_tf/nets.py",
    url=f"{_STORAGE}/netvlad-tf/nets.py",
    size=2613,
    sha384="01d2aade49c07a389e3f906c7157a5bbe7c1c7685873e81dbdc7ef5d1a44c796dfc7d53808ae05445ae9d0529f70e9ef",
    sha256="c3baa73bd57ac2e83cd24ab8332af93dd66a7b7b950ad6435222c5f4e3b937b4",
    mirrors=(f"{_GITHUB}/python/netvlad_tf/nets.py",),
)
NETVLAD_FILES = (NETVLAD_ZIP, NETVLAD_LAYERS_PY, NETVLAD_NETS_PY)


def file_digests(path: Path, progress: bool = False) -> dict[str, str]:
    """sha256 and sha384 of ``path`` in one pass over the file."""
    hashes = {"sha256": hashlib.sha256(), "sha384": hashlib.sha384()}
    with open(path, "rb") as f, _progress_bar(Path(path).stat().st_size, progress, "hash") as bar:
        while chunk := f.read(_CHUNK):
            for h in hashes.values():
                h.update(chunk)
            bar.update(len(chunk))
    return {name: h.hexdigest() for name, h in hashes.items()}


def mismatch(path: Path, expected: RemoteFile, progress: bool = False) -> str | None:
    """What is wrong with ``path`` compared with ``expected`` (size, then digests), or None."""
    size = Path(path).stat().st_size
    if size != expected.size:
        return f"has {size:,} bytes, expected {expected.size:,} (incomplete, or another file)"
    digests = file_digests(path, progress)
    for algorithm in ("sha384", "sha256"):
        want = getattr(expected, algorithm)
        if want and digests[algorithm] != want.lower():
            return (
                f"{algorithm} is {digests[algorithm]}, expected {want} (corrupt, or another file)"
            )
    return None


def verify_file(path: Path, expected: RemoteFile, progress: bool = False) -> None:
    """Raise :class:`DownloadError` unless ``path`` has the expected size and digests."""
    problem = mismatch(path, expected, progress)
    if problem:
        raise DownloadError(f"{path} {problem}; delete it and download {expected.describe()}")


def fetch(
    remote: RemoteFile, directory: Path, progress: bool = False, timeout: float = 30.0
) -> Path:
    """``directory/remote.name``, downloaded and verified unless a verified copy is already there.

    The mirrors are tried in turn when the main URL cannot be reached. Raises
    :class:`DownloadError` naming the URL, size, digest and destination when nothing worked.
    """
    target = Path(directory) / remote.name
    if target.is_file():
        verify_file(target, remote, progress)
        logger.info("%s already present and verified", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in (remote.url, *remote.mirrors):
        try:
            atomic_write_with(
                target, lambda tmp, url=url: _download(url, tmp, remote, progress, timeout)
            )
            return target
        except (OSError, http.client.HTTPException) as exc:  # unreachable host, refused, reset ...
            errors.append(f"{url}: {getattr(exc, 'reason', exc)}")
    raise DownloadError(
        f"cannot download {remote.name} ({'; '.join(errors)}); download {remote.describe()} "
        f"by hand and put it at {target}"
    )


def _download(url: str, tmp: Path, remote: RemoteFile, progress: bool, timeout: float) -> None:
    logger.info("downloading %s", url)
    with (
        urllib.request.urlopen(url, timeout=timeout) as response,
        open(tmp, "wb") as out,
        _progress_bar(remote.size, progress, remote.name) as bar,
    ):
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            bar.update(len(chunk))
    problem = mismatch(tmp, remote)
    if problem:
        raise DownloadError(f"the download from {url} {problem}; nothing was saved")


def unpack_zip(archive: Path, directory: Path) -> list[Path]:
    """Extract ``archive`` into ``directory``; return the top-level entries it created.

    Members are checked first: absolute paths or ``..`` components are refused rather than
    written outside ``directory``. Everything is extracted into a temporary folder inside
    ``directory`` and each top-level entry then renamed into place (replacing an older one), so
    an interrupted unpack never leaves a half-filled checkpoint folder under its real name.
    """
    archive, directory = Path(archive), Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=directory))
    try:
        with zipfile.ZipFile(archive) as zf:
            _check_members(archive, zf.namelist())
            zf.extractall(tmp)
        created = []
        for entry in sorted(tmp.iterdir()):
            target = directory / entry.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(entry, target)
            created.append(target)
        return created
    except zipfile.BadZipFile as exc:
        raise DownloadError(f"{archive} is not a valid zip file ({exc})") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _check_members(archive: Path, names: list[str]) -> None:
    for name in names:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
            raise DownloadError(f"{archive}: refusing to unpack member {name!r} (unsafe path)")


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _progress_bar(total: int, progress: bool, desc: str):
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc)
