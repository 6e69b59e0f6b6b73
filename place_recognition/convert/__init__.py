"""Getting the real netvlad-tf: download and verification, reading TF checkpoints without
TensorFlow, conversion to the Open Model Zoo IR, and the Open Model Zoo tools' environments.

May import: core, nets.
"""
