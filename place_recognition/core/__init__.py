"""The runtime's foundation: the embedding model and what it needs.

Owns ``EmbeddingModel`` (the only owner of OpenVINO's Core, compiled models and infer
requests), preprocessing (in-graph and its NumPy twin), device names and compile options,
model fingerprints, reading and decoding image files, atomic file writes and hashes, thread
pools, and where the project's data lives.

May import: nothing else of the package (``errors`` only).
"""
