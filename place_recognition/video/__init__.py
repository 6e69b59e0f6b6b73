"""Frames in, answers drawn: frame sources (camera, video, image, folder), the asynchronous
inference pipeline, the overlay, thumbnails and per-stage timing.

May import: core, index, recognition, sequence.
"""
