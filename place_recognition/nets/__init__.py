"""The networks: building, fitting and converting graphs with OpenVINO's graph API.

The netvlad-tf topology and its synthetic stand-in, netvlad-lite (backbone + NetVLAD head),
k-means vocabulary and PCA-whitening fitting, the backbone export (build time, torch) and INT8
quantization (NNCF). Nothing here knows about galleries or indexes.

May import: core, scenes.
"""
