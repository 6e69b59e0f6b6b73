"""Fine-tuning the netvlad-lite head: only ``cli/train_netvlad.py`` imports this package.

``places``, ``features`` and ``ir_head`` need only the runtime (NumPy, OpenVINO); ``head``,
``loss`` and ``loop`` import torch (``scripts/requirements-train.txt``), so the runtime package
never does.

May import: core, nets, eval, zoo.
"""
