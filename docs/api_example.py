"""The Python API in one script: index a gallery folder, then name the place a photo shows.

    python docs/api_example.py GALLERY PHOTO [MODEL]

It runs from any folder once the package is installed (``pip install -e .``) and imports only
``place_recognition`` itself. Without MODEL it takes the default model: netvlad-tf when
``models/netvlad-tf.xml`` is in the data home, else netvlad-lite, built on first use (about a
minute, once). The README quotes this file; CI and tests/test_api_example.py run it.
"""

import logging
import sys
from pathlib import Path

from place_recognition import (
    EmbeddingModel,
    PlaceRecognizer,
    default_model,
    read_image,
    resolve_threshold,
    update_index,
)

logging.basicConfig(level=logging.INFO, format="[%(levelname)s] %(message)s")  # what it does
gallery, photo = Path(sys.argv[1]), Path(sys.argv[2])
model = EmbeddingModel(sys.argv[3] if len(sys.argv) > 3 else default_model(progress=True))

# Build or refresh the gallery's persisted index (GALLERY/.place_index/): embeds only what changed.
update = update_index(model, gallery)
print(f"{len(update.index)} gallery images indexed ({update.embedded} embedded just now)")

recognizer = PlaceRecognizer.open(model, gallery)
matches = recognizer.match(read_image(photo), k=3)
for match in matches:
    print(f"{match.record.label:<16} score {match.score:.3f}  {match.record.path}")

# Known or unknown: the unknown-place threshold stored with the index or the model.
threshold = resolve_threshold(None, recognizer.model, update.directory)
best = matches[0]
verdict = best.record.label if best.score >= threshold.value else "an unknown place"
print(f"{photo.name}: {verdict} (threshold {threshold.describe()})")
