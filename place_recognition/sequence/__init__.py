"""Sequence matching: a stream's consecutive frames matched along the gallery's routes, online
and causally (the answer for frame t uses frames up to t only), robust to speed changes.

May import: core, index, recognition.
"""
