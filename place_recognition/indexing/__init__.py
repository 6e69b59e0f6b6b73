"""Keeping a gallery's index up to date with its folder.

Listing the gallery, ``places.csv`` labels and coordinates, the incremental update with its
resume journal, and fitting a netvlad-lite head to the gallery.

May import: core, nets, index.
"""
