"""Sequence matching from Python: follow a video along the gallery's routes, frame by frame.

    python docs/stream_example.py GALLERY VIDEO [MODEL]

The images at GALLERY's root, in natural order of their names, are one route (places.csv or
``build_index --routes folders`` give more). Each frame gets its single-frame best match and
the sequence answer: where the best trajectory through this frame and the ones before it ends
(causal: later frames never change it). The README links this file; tests run it.
"""

import sys

import cv2

from place_recognition import (
    EmbeddingModel,
    PlaceRecognizer,
    RouteStream,
    SequenceSettings,
    default_model,
    update_index,
)

gallery, video = sys.argv[1], sys.argv[2]
model = EmbeddingModel(sys.argv[3] if len(sys.argv) > 3 else default_model(progress=True))
update = update_index(model, gallery)
recognizer = PlaceRecognizer.open(update.model, gallery, update.directory)

# L = 10 frames of memory, gallery frames per video frame from 0.5 to 2 (the defaults).
stream = RouteStream.of(recognizer, SequenceSettings(length=10))
capture = cv2.VideoCapture(video)
frame_number = 0
while True:
    ok, frame = capture.read()
    if not ok:
        break
    answer = stream.push(frame, k=1)  # answer.sequence is None when the gallery has no route
    single = answer.matches[0].record.path
    along = f"{answer.record.path} (confidence {answer.sequence.confidence:.2f})"
    print(f"frame {frame_number}: single {single}  sequence {along if answer.sequence else '-'}")
    frame_number += 1
