"""The package build's one extra step (the project itself is declared in pyproject.toml).

The package reads a few files of the repository's ``scripts/`` folder at run time: the Accuracy
Checker's configs (``scripts/accuracy_check/*.yml``, a path other tools use too) and the pinned
requirements of the tool environments (``scripts/requirements-*.txt``, which the docs' install
lines name). They stay in ``scripts/``, once in git. The build copies them into the built
package as ``place_recognition/scripts/``, where ``core/home.py`` (``scripts_file``) reads
them when the package runs from an install; a checkout reads them in place. The source
distribution carries them, so a wheel built from it has them too.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
SHIPPED = ("accuracy_check/*.yml", "requirements-*.txt")


def shipped_files() -> list[Path]:
    """The files of scripts/ that the package reads at run time."""
    return sorted(p for pattern in SHIPPED for p in (ROOT / "scripts").glob(pattern))


class BuildPyWithScripts(build_py):
    def run(self) -> None:
        super().run()
        for source in shipped_files():
            target = Path(self.build_lib) / "place_recognition" / source.relative_to(ROOT)
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target))


class SdistWithScripts(sdist):
    def add_defaults(self) -> None:
        super().add_defaults()
        self.filelist.extend(str(p.relative_to(ROOT)) for p in shipped_files())


setup(cmdclass={"build_py": BuildPyWithScripts, "sdist": SdistWithScripts})
