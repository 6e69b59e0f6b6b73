"""Measuring recognition on labelled sets: dataset readers (ground-truth folders, NetVLAD
``.mat`` splits, UTM-named folders), Recall@N, evaluation runs, the Accuracy Checker's protocol
and its runner, plots.

May import: core, convert, index, indexing, recognition, sequence.
"""
