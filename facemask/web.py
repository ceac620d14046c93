"""The browser demo behind app.py: the page (Gradio), its request handler, and its example photos.

The handler, `annotate`, runs the pipeline of detect_mask_image.py on one uploaded file and is a plain function,
so it is tested without a browser. Gradio is imported only by `build_app`, so the core toolkit does not need it.
"""
import functools
import tempfile
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
import PIL.Image

from facemask import UserError
from facemask.drawing import caption, draw_faces
from facemask.examples import EXAMPLE_PHOTO, with_drawn_mask
from facemask.images import read_image
from facemask.pipeline import count_labels

COLUMNS = ["face", "label", "confidence", "box (x1, y1, x2, y2)"]
# A 108-megapixel phone photo (12000 × 9000) still goes through; a bigger upload is refused before it is decoded,
# so that one file cannot take gigabytes of memory.
MAX_PIXELS = 150_000_000
ASK = "Upload a photo or take a webcam snapshot."
SHOWN_SIZE = 1600  # longest side, in pixels, of the annotated image sent back to the page


def too_large(path):
    """Whether the image has more than MAX_PIXELS, judged from its header without decoding it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(path) as image:
                return image.width * image.height > MAX_PIXELS
    except PIL.Image.DecompressionBombError:  # Pillow's own limit, above ours
        return True
    except (OSError, ValueError):  # not an image Pillow knows: read_image says what is wrong with it
        return False


def shrink(image, longest=SHOWN_SIZE):
    height, width = image.shape[:2]
    scale = longest / max(height, width)
    if scale >= 1:
        return image
    return cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)


def face_rows(faces):
    """The faces as table rows: number, caption, confidence in percent, box."""
    return [[number, caption(face["label"]), f"{face['confidence']:.2%}", ", ".join(map(str, face["box"]))]
            for number, face in enumerate(faces, start=1)]


def counts_text(faces, class_names):
    if not faces:
        return "No face found. Try a lower face-detector confidence, or a photo where faces are larger."
    counts = ", ".join(f"{count} {caption(name).lower()}" for name, count in count_labels(faces, class_names).items())
    return f"{len(faces)} face{'s' if len(faces) != 1 else ''}: {counts}"


def labels_text(class_names):
    """The model's captions as the page's title text says them: **Mask**, **No Mask** or **Mask below nose**."""
    shown = [f"**{caption(name)}**" for name in class_names]
    return " or ".join(shown) if len(shown) < 3 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def annotate(detector, path, confidence):
    """One request, with the face detector at `confidence`: (the annotated image as RGB or None, table rows,
    a message for the page).

    Every problem with the file becomes the message; the boxes in the table are in the photo's own pixels.
    """
    if path is None:
        return None, [], ASK
    path = Path(path)
    if too_large(path):
        limit = MAX_PIXELS // 1_000_000
        return None, [], f"{path.name} is too large: the demo takes photos of up to {limit} megapixels."
    try:
        image = read_image(path)
    except UserError as error:
        # The upload sits in a server folder the user never saw: name the file alone.
        message = str(error).replace(str(path), path.name)
        return None, [], message[0].upper() + message[1:]
    detector.confidence = confidence
    faces = detector(image)
    annotated = cv2.cvtColor(shrink(draw_faces(image, faces)), cv2.COLOR_BGR2RGB)
    return annotated, face_rows(faces), counts_text(faces, detector.classifier.class_names)


def make_examples(folder):
    """The example gallery: the shipped photo, one with two faces (one masked) and one with none made from it."""
    folder = Path(folder)
    photo = read_image(EXAMPLE_PHOTO)
    cv2.imwrite(str(folder / "two_faces.jpg"), np.hstack([photo, with_drawn_mask(photo)]))
    sky = np.linspace(235, 150, 400, dtype=np.uint8)[:, None, None] * np.ones((1, 600, 3), np.uint8)
    cv2.imwrite(str(folder / "no_face.jpg"), sky)
    return [EXAMPLE_PHOTO, folder / "two_faces.jpg", folder / "no_face.jpg"]


def uploaded_path(preprocess, payload):
    """For gr.Image: the uploaded file's path, unopened. Gradio's own preprocess opens it with Pillow first and
    fails with a bare "Error" on a file that is not an image; read_image says what is wrong with it instead.
    (Not a gr.Image subclass: Gradio writes a .pyi file beside the module of every component class.)"""
    if payload is None or payload.path is None:  # nothing, or an image sent inline
        return preprocess(payload)
    return payload.path


def build_app(make_detector, detector_name, confidence=None):
    """The Gradio page around `annotate`, with the face detector `detector_name` chosen at first and
    `make_detector(name)` making a MaskDetector for another choice (each made once, when first chosen).
    Returns (the gr.Blocks app, the folder of made examples to keep)."""
    import gradio as gr

    from facemask.detectors import FACE_DETECTORS

    detectors = {detector_name: make_detector(detector_name)}
    lock = threading.Lock()  # the MaskDetectors serve one request at a time; the confidence is set per request

    def detector_for(name):
        if name not in detectors:
            detectors[name] = make_detector(name)
        return detectors[name]

    def on_input(path, name, confidence):
        with lock:
            try:
                image, rows, message = annotate(detector_for(name), path, confidence)
            except UserError as error:  # the chosen detector's files are missing or damaged
                image, rows, message = None, [], str(error)
        return image, rows, f"### {message}"

    def on_detector(path, name):
        """Another detector: its own default confidence, and the photo again."""
        with lock:
            try:
                default = detector_for(name).face_detector.default_confidence
            except UserError:
                default = None
        return *on_input(path, name, default), default

    examples = tempfile.TemporaryDirectory(prefix="facemask-examples-")
    gallery = make_examples(examples.name)
    first_confidence = detectors[detector_name].confidence if confidence is None else confidence
    # Gradio keeps every upload and result in its cache folder: an hour is enough for a demo.
    with gr.Blocks(title="Face-mask detector", delete_cache=(3600, 3600)) as app:
        gr.Markdown("# Face-mask detector\nUpload a photo or take a webcam snapshot: each face found is boxed and "
                    f"labelled {labels_text(detectors[detector_name].classifier.class_names)}, by the pipeline and "
                    "model of `detect_mask_image.py`.")
        with gr.Row():
            with gr.Column():
                photo = gr.Image(label="Photo", sources=["upload", "webcam"], type="filepath", elem_id="photo")
                photo.preprocess = functools.partial(uploaded_path, photo.preprocess)
                detector = gr.Dropdown(list(FACE_DETECTORS), value=detector_name, label="Face detector",
                                       info="the README compares them", elem_id="detector")
                confidence = gr.Slider(0.05, 1.0, value=first_confidence, step=0.05,
                                       label="Face-detector confidence",
                                       info="lower finds more faces, and more things that are not faces")
            with gr.Column():
                result = gr.Image(label="Annotated", type="numpy", interactive=False, format="png",
                                  elem_id="annotated")
                summary = gr.Markdown(f"### {ASK}", elem_id="summary")
        table = gr.Dataframe(headers=COLUMNS, datatype="str", interactive=False, label="Faces", elem_id="faces")
        gr.Examples([[str(path)] for path in gallery], inputs=[photo], label="Examples: click one")
        outputs = [result, table, summary]
        photo.change(on_input, [photo, detector, confidence], outputs)
        detector.change(on_detector, [photo, detector], outputs + [confidence])
        # While dragging, only the newest value waits for its turn: the page follows the slider, never lags behind.
        confidence.change(on_input, [photo, detector, confidence], outputs, trigger_mode="always_last")
    return app, examples
