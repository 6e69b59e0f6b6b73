"""Answering "which place is this?": the recognizer, place-level decisions (distinct places,
unknown place, voting) and the unknown-place threshold (calibration and where it is stored).

May import: core, index, indexing.
"""
