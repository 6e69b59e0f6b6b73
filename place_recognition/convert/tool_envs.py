"""Isolated virtual environments for external tools (Open Model Zoo's openvino-dev releases).

openvino-dev pins an old OpenVINO and numpy<2, so it must never share the runtime environment:
each tool gets its own venv, created once; a requirements file is installed again only when its
content changes (a marker in the venv lists the digests of what was installed).
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import PlaceRecognitionError

logger = logging.getLogger(__name__)

_MARKER = "place_recognition-requirements.txt"


class ToolEnvError(PlaceRecognitionError):
    """A tool environment could not be set up, or a tool in it failed."""


@dataclass(frozen=True)
class ToolEnv:
    """A virtual environment for an external tool, installed from pinned ``requirements`` files."""

    env: Path
    python: str = sys.executable

    def tool(self, name: str) -> Path:
        return self.env / ("Scripts" if os.name == "nt" else "bin") / name

    def installed(self, requirements: Path) -> bool:
        """True when ``requirements`` (by content) was installed into this environment."""
        marker = self.env / _MARKER
        return marker.is_file() and _digest(requirements) in marker.read_text().split()

    def ensure(self, requirements: list[Path], log: Path) -> None:
        """Create the environment and install what is not installed yet (pip output to ``log``)."""
        if not self.tool("python").exists():
            logger.info("creating the tool environment %s", self.env)
            self._call([self.python, "-m", "venv", str(self.env)], log, "create the venv")
        for path in requirements:
            if self.installed(path):
                continue
            logger.info("installing %s into %s (output in %s)", path, self.env, log)
            pip = [str(self.tool("python")), "-m", "pip", "install", "-r", str(path)]
            self._call(pip, log, f"install {path}")
            with open(self.env / _MARKER, "a") as f:
                f.write(_digest(path) + "\n")

    def run(self, tool: str, args: list[str], log: Path, extra_env: dict | None = None) -> int:
        """Run one of the tools with its output appended to ``log``; return its exit code."""
        if not self.tool(tool).exists():
            raise ToolEnvError(f"{self.tool(tool)} not found: run the setup step first")
        # As if the venv were activated: omz_converter looks for `mo` on PATH.
        path = os.pathsep.join([str(self.tool("python").parent), os.environ.get("PATH", "")])
        env = {**os.environ, "PATH": path, "VIRTUAL_ENV": str(self.env), **(extra_env or {})}
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as out:
            out.write(f"$ {tool} {' '.join(args)}\n")
            out.flush()
            return subprocess.run(
                [str(self.tool(tool)), *args], stdout=out, stderr=subprocess.STDOUT, env=env
            ).returncode

    def capture(self, tool: str, args: list[str]) -> str:
        """Run a tool and return its standard output (errors raise :class:`ToolEnvError`)."""
        result = subprocess.run(
            [str(self.tool(tool)), *args], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise ToolEnvError(f"{tool} {' '.join(args)} failed: {result.stderr.strip()[-300:]}")
        return result.stdout

    @staticmethod
    def _call(command: list[str], log: Path, what: str) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "a") as out:
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
        if code != 0:
            raise ToolEnvError(f"could not {what} (exit code {code}); see {log}")


def _digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
