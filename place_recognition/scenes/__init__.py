"""Procedural images, drawn from a seed (no external data): the sample street of the quick
start (gallery, walk video, labelled set) and the varied scenes netvlad-lite's head is fitted on.

May import: core.
"""
