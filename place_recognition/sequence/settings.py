"""The sequence matcher's settings, their defaults and why (chosen on nordland_train only)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import PlaceRecognitionError

# Defaults chosen on nordland_train (docs/sequence.md has the tables): evidence fades over about
# 10 frames; gallery frames per query frame from 0.5 to 2 in steps of 0.5 (the speed range the
# tests walk: every query frame repeated, as given, every 2nd frame); a change of speed by one
# step costs 2 z-score units (better than 0.5, 1 or 3 on a stream whose speed changes every 60
# frames, and within 0.02 R@1 of a fixed speed on steady streams); answers within 5 gallery
# frames of each other count as one place for the confidence and for Recall@N.
DEFAULT_LENGTH = 10
DEFAULT_VELOCITIES = (0.5, 2.0, 0.5)
DEFAULT_CHANGE_COST = 2.0
DEFAULT_WINDOW = 5
# The known/unknown decision's minimum confidence: the best F1 on every nordland_train stream
# (0.74-0.77; 0.05: 0.68-0.75, 0.2: 0.64-0.68).
DEFAULT_MIN_CONFIDENCE = 0.1
MAX_SUBSTEPS = 8  # finest velocity step: 1/8 gallery frame per query frame


class SequenceSettingsError(PlaceRecognitionError, ValueError):
    """Sequence settings that cannot work (the message says which value and why): a user
    error wherever the settings come from, so every command reports it in one line."""


@dataclass(frozen=True)
class SequenceSettings:
    """How the matcher follows a stream along the gallery's routes.

    Attributes:
        length: L, the memory in frames: each older frame's evidence weighs (1 - 1/L) times
            the next one's, so after L frames it has faded to about a third. 1 = single frames.
        velocities: (MIN, MAX, STEP) in gallery frames per query frame. Negative values follow
            a route backwards; 0 is standing still. STEP must be 1/n for a whole n <= 8, and
            MIN and MAX multiples of it.
        change_cost: what a change of velocity by one STEP between two frames costs, in units
            of the similarities' z-scores (how many standard deviations above the mean).
        window: gallery frames on either side of the answer that count as the same place
            (its confidence is the margin over the best answer outside them).
        min_confidence: a sequence answer with less confidence is an unknown place.
    """

    length: int = DEFAULT_LENGTH
    velocities: tuple[float, float, float] = DEFAULT_VELOCITIES
    change_cost: float = DEFAULT_CHANGE_COST
    window: int = DEFAULT_WINDOW
    min_confidence: float = DEFAULT_MIN_CONFIDENCE

    def __post_init__(self) -> None:
        low, high, step = self.velocities
        if self.length < 1:
            raise SequenceSettingsError(f"sequence length must be 1 or more, not {self.length}")
        if not step > 0 or low > high:
            raise SequenceSettingsError(
                f"velocities {low},{high},{step}: need MIN <= MAX and a positive STEP"
            )
        substeps = 1 / step
        if abs(substeps - round(substeps)) > 1e-6 or round(substeps) > MAX_SUBSTEPS:
            raise SequenceSettingsError(
                f"velocity step {step}: it must be 1, 1/2, 1/3 ... or 1/{MAX_SUBSTEPS}"
            )
        for value in (low, high):
            if abs(value / step - round(value / step)) > 1e-6:
                raise SequenceSettingsError(
                    f"velocity {value} is not a multiple of the step {step}"
                )
        if self.change_cost < 0 or self.window < 0:
            raise SequenceSettingsError("change cost and window must not be negative")

    @property
    def decay(self) -> float:
        return 1.0 - 1.0 / self.length

    @property
    def substeps(self) -> int:
        """Fine positions per gallery frame (1 / STEP)."""
        return round(1 / self.velocities[2])

    def fine_shifts(self) -> list[int]:
        """Each velocity as a shift in fine positions per frame, slowest first."""
        low, high, step = self.velocities
        count = round((high - low) / step) + 1
        return [round((low + i * step) * self.substeps) for i in range(count)]


def parse_velocities(text: str) -> tuple[float, float, float]:
    """``MIN,MAX[,STEP]`` (STEP defaults to 0.5) -> (MIN, MAX, STEP); ValueError when malformed."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) not in (2, 3):
        raise ValueError(f"expected MIN,MAX[,STEP], got {text!r}")
    values = [float(part) for part in parts]
    if any(not math.isfinite(value) for value in values):
        raise ValueError(f"expected finite numbers, got {text!r}")
    low, high = values[:2]
    step = values[2] if len(values) == 3 else DEFAULT_VELOCITIES[2]
    return (low, high, step)
