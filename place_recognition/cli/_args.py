"""How every command reads its options: the parser class, value types and shared option builders.

One spelling per option across the commands: kebab-case long options (``--top-k``), declared
once here when several commands take them. A few older spellings stay accepted as *aliases*
(the Open Model Zoo demo's ``--no_show``, ``--gallery_folder``, ``-limit`` ..., and
``build_index -o``): they parse exactly like the primary spelling, and help shows the primary
one with "(also ...)".
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..core.devices import PERFORMANCE_HINTS
from ..core.home import display_path


class CommandParser(argparse.ArgumentParser):
    """argparse with the project's conventions.

    - No abbreviations (``--thr`` is not ``--threshold``): a spelling works or it does not, and
      adding an option never changes what an old command line means.
    - Usage errors are one line. An unknown option is answered before anything else (even a
      missing required option) with the closest known one: ``unknown option --thresold; did you
      mean --threshold?``.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(self, args=None, namespace=None):
        tokens = sys.argv[1:] if args is None else [str(token) for token in args]
        for token in option_tokens(tokens):
            name = token.split("=", 1)[0]
            if not self._known(name):
                self.error(unknown_option_message(name, self._option_string_actions))
        return super().parse_known_args(tokens, namespace)

    def _known(self, name: str) -> bool:
        if name in self._option_string_actions:
            return True
        # -k5 or -qv: a known one-letter option with its value or more flags attached
        return not name.startswith("--") and name[:2] in self._option_string_actions

    def error(self, message: str):
        """One line on stderr and exit status 2 (argparse's own errors print the whole usage)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


_NEGATIVE_NUMBER = re.compile(r"-\d+$|-\d*\.\d+$")


def option_tokens(tokens: Sequence[str]) -> list[str]:
    """The tokens argparse would read as option names (before a ``--``), in order."""
    found = []
    for token in tokens:
        if token == "--":
            break
        looks_like_option = token.startswith("-") and len(token) > 1 and " " not in token
        if looks_like_option and not _NEGATIVE_NUMBER.match(token):
            found.append(token)
    return found


def unknown_option_message(name: str, known: dict[str, argparse.Action]) -> str:
    """``unknown option NAME; did you mean PRIMARY?`` naming the closest option's primary
    spelling (aliases are candidates too, so ``--gallery_fodler`` gets ``--gallery``)."""
    action = _closest_action(name, known)
    if action is None:
        return f"unknown option {name} (--help lists the options)"
    return f"unknown option {name}; did you mean {primary_spelling(action)}?"


def _closest_action(name: str, known: dict[str, argparse.Action]) -> argparse.Action | None:
    """The one option ``name`` begins (``--thr``: abbreviations are not accepted), else the most
    similar one; names are compared without their dashes, so that those do not count."""
    bare = {option.lstrip("-"): action for option, action in known.items()}
    typed = name.lstrip("-")
    begun = {id(action): action for option, action in bare.items() if option.startswith(typed)}
    if len(typed) >= 2 and len(begun) == 1:
        return next(iter(begun.values()))
    close = difflib.get_close_matches(typed, list(bare), n=1, cutoff=0.75)
    return bare[close[0]] if close else None


def primary_spelling(action: argparse.Action) -> str:
    """The long spelling help shows for ``action`` (its short one when it has no long one)."""
    longs = [option for option in action.option_strings if option.startswith("--")]
    return (longs or action.option_strings)[0]


def add_aliases(container, action: argparse.Action, *aliases: str) -> argparse.Action:
    """Make ``aliases`` parse as ``action`` without showing them as options of their own.

    Registered in argparse's table of option strings (shared by a parser and its groups), not
    in ``action.option_strings``: usage lines and error messages then name only the primary
    spelling. Help mentions them after the description; ``action.aliases`` lists them.
    """
    table = container._option_string_actions
    for alias in aliases:
        if alias in table:
            raise ValueError(f"option {alias} is already defined")
        table[alias] = action
    action.aliases = (*getattr(action, "aliases", ()), *aliases)
    if aliases and action.help and action.help is not argparse.SUPPRESS:
        action.help = f"{action.help} (also {', '.join(action.aliases)})"
    return action


def dataclass_defaults(cls: type) -> dict[str, Any]:
    """``{field: default}`` of a settings dataclass (factories called), for
    ``parser.set_defaults``: the options then cannot drift from the library's defaults."""
    defaults = {}
    for item in dataclasses.fields(cls):
        if item.default is not dataclasses.MISSING:
            defaults[item.name] = item.default
        elif item.default_factory is not dataclasses.MISSING:
            defaults[item.name] = item.default_factory()
    return defaults


def settings_from_args(cls: type, args: argparse.Namespace) -> Any:
    """An instance of the settings dataclass ``cls`` from the options of the same names."""
    names = [item.name for item in dataclasses.fields(cls) if hasattr(args, item.name)]
    return cls(**{name: getattr(args, name) for name in names})


# --- value types -------------------------------------------------------------------------------
def int_type(minimum: int, expected: str) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``; ``expected`` names the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


positive_int = int_type(1, "a positive integer")
non_negative_int = int_type(0, "0 or more")


def _float_type(accepts: Callable[[float], bool], expected: str) -> Callable[[str], float]:
    """An argparse type: a number for which ``accepts`` holds; ``expected`` names the range."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not accepts(value):  # also refuses nan
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    return parse


positive_float = _float_type(lambda value: value > 0, "a positive number")
share = _float_type(lambda value: 0 <= value <= 1, "a number from 0 to 1")
weight_fraction = _float_type(lambda value: 0 < value < 1, "a number between 0 and 1")
similarity = _float_type(lambda value: -1 <= value <= 1, "a similarity from -1 to 1")


def int_list(text: str) -> list[int]:
    """argparse type: comma-separated integers, scientific notation allowed (100000,1e6)."""
    try:
        return [int(float(part)) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected integers separated by commas, like 1000,1e6; got {text!r}"
        ) from None


def parse_size(text: str) -> tuple[int, int]:
    """argparse type: '200x300' -> (200, 300) as (height, width), at least 32x32."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected HEIGHTxWIDTH such as 200x300, got {text!r}"
        ) from None
    if height < 32 or width < 32:
        raise argparse.ArgumentTypeError("input size must be at least 32x32 (four 2x2 pools)")
    return height, width


# --- options several commands share ------------------------------------------------------------
def add_model_path_arg(container, help: str, default: Path | None = None) -> argparse.Action:
    return container.add_argument("-m", "--model", type=Path, default=default, help=help)


def add_device_arg(container, aliases: Sequence[str] = ()) -> argparse.Action:
    action = container.add_argument(
        "-d",
        "--device",
        default="CPU",
        help="OpenVINO device, passed unchanged: CPU, GPU, NPU, AUTO, HETERO:GPU,CPU ... "
        "(default: CPU)",
    )
    return add_aliases(container, action, *aliases)


def add_hint_arg(container) -> argparse.Action:
    return container.add_argument(
        "--hint",
        choices=PERFORMANCE_HINTS,
        default=None,
        help="OpenVINO performance hint (default: the device's own)",
    )


def add_gallery_arg(container, help: str, required: bool = True, default=None) -> argparse.Action:
    action = container.add_argument(
        "-gf", "--gallery", type=Path, required=required, default=default, help=help
    )
    return add_aliases(container, action, "--gallery_folder")


def add_gallery_size_arg(container, help: str) -> argparse.Action:
    action = container.add_argument(
        "--gallery-size", type=positive_int, default=None, metavar="N", help=help
    )
    return add_aliases(container, action, "--gallery_size")


def add_index_arg(container, help: str, aliases: Sequence[str] = ()) -> argparse.Action:
    action = container.add_argument("--index", type=Path, default=None, metavar="DIR", help=help)
    return add_aliases(container, action, *aliases)


def add_top_k_arg(container, help: str) -> argparse.Action:
    return container.add_argument("-k", "--top-k", type=positive_int, default=5, help=help)


def add_threshold_arg(container) -> argparse.Action:
    return container.add_argument(
        "--threshold",
        type=similarity,
        default=None,
        help="similarity below which the place is 'unknown' (default: the threshold stored "
        "with the index or the model, else 0; 0 = never unknown)",
    )


def add_index_mode_args(container, building: bool, keep_by_default: bool = False) -> None:
    """--index-mode (when building) and --nprobe.

    ``keep_by_default``: without --index-mode, an existing index keeps its mode (the demo, so
    that starting it never rebuilds an index that build_index made in another mode).
    """
    group = container.add_argument_group("index mode")
    if building:
        default = "the saved index's mode; auto for a new index" if keep_by_default else "auto"
        group.add_argument(
            "--index-mode",
            default=None if keep_by_default else "auto",
            metavar="MODE",
            help="exact, auto (exact below 200,000 images, else IVF + 8-bit codes trained on "
            "the gallery, re-ranked exactly) or a faiss factory string such as IVF1024,PQ64 or "
            f"PCAR128,HNSW32 (default: {default}); a change of mode rebuilds the faiss index "
            "from the stored vectors, nothing is embedded again",
        )
    group.add_argument(
        "--nprobe",
        type=positive_int,
        default=None,
        help="approximate index: inverted lists visited per query (more: slower, closer to "
        "exact; default: the index's own, 64 when built)",
    )


def add_workdir_arg(container, default: Path) -> argparse.Action:
    """-w/--workdir: where a measuring command keeps what it generates and reuses."""
    return container.add_argument(
        "-w",
        "--workdir",
        type=Path,
        default=default,
        help=f"work folder (default {display_path(default)})",
    )


def add_report_arg(container, default_text: str) -> argparse.Action:
    """-o/--output of a measuring command: its JSON report."""
    return container.add_argument(
        "-o", "--output", type=Path, default=None, help=f"JSON report (default {default_text})"
    )


def add_verbosity_args(container) -> None:
    container.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    container.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    container.add_argument(
        "--debug", action="store_true", help="show the traceback of an error (and log details)"
    )
