"""The examples shipped in examples/, all made from one photo: the photo, a short video (write_example_video), and
a tiny training set of face crops and annotated scenes (write_example_sets), so that every command in the README
runs as written on a fresh clone; the masked face drawn from the photo for demos, tests and benchmarks."""
from pathlib import Path
from xml.etree import ElementTree

import cv2
import numpy as np

EXAMPLE_PHOTO = Path(__file__).resolve().parent.parent / "examples" / "grace_hopper.jpg"
EXAMPLE_VIDEO = EXAMPLE_PHOTO.with_name("walk.mp4")
EXAMPLE_FACES = EXAMPLE_PHOTO.with_name("faces")
EXAMPLE_SCENES = EXAMPLE_PHOTO.with_name("scenes")
# The face in the example photo (x1, y1, x2, y2): the box our face detector finds, checked by eye
FACE_IN_PHOTO = (158, 143, 358, 357)


def with_drawn_mask(photo):
    """Grace Hopper's portrait (512×600, as in examples/ and matplotlib's sample data) with a light-blue surgical
    mask drawn over the lower face."""
    masked = photo.copy()
    mouth_area = np.array([[188, 240], [345, 240], [352, 315], [268, 348], [182, 315]], dtype=np.int32)
    cv2.fillPoly(masked, [mouth_area], (230, 200, 150))
    return masked


def example_frames(photo, frame_rate=15, seconds=6, size=(640, 360)):
    """The frames of the example video: Grace Hopper's portrait (BGR, 512×600) walking across a grey frame of `size`
    (width, height), masked for the first third, without the mask for the second, masked again for the last."""
    width, height = size
    face_height = int(height * 0.7)
    face_width = face_height * 210 // 280
    bare = cv2.resize(photo[120:400, 150:360], (face_width, face_height))
    masked = cv2.resize(with_drawn_mask(photo)[120:400, 150:360], (face_width, face_height))
    count = frame_rate * seconds
    for index in range(count):
        frame = np.full((height, width, 3), 90, np.uint8)
        x = round(index * (width - face_width) / (count - 1))
        frame[(height - face_height) // 2:(height + face_height) // 2, x:x + face_width] = (
            bare if count // 3 <= index < 2 * count // 3 else masked)
        yield frame


def write_example_video(path=EXAMPLE_VIDEO, frame_rate=15):
    """Write examples/walk.mp4 from the example photo: the video the README's commands run on."""
    frames = list(example_frames(cv2.imread(str(EXAMPLE_PHOTO)), frame_rate))
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), frame_rate, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()


def example_faces(photo, count=8, seed=0):
    """`count` face crops of each class, (class name, crop) pairs: the photo's face bare and with the drawn mask, each
    framed with a margin of 0 to 30%, shifted, mirrored and lit a little differently."""
    rng = np.random.default_rng(seed)
    x1, y1, x2, y2 = FACE_IN_PHOTO
    for name, source in (("with_mask", with_drawn_mask(photo)), ("without_mask", photo)):
        for _ in range(count):
            margin = rng.uniform(0, 0.3) * (x2 - x1)
            dx, dy = rng.uniform(-0.08, 0.08, 2) * (x2 - x1)
            left, top = max(0, round(x1 - margin + dx)), max(0, round(y1 - margin + dy))
            right = min(photo.shape[1], round(x2 + margin + dx))
            bottom = min(photo.shape[0], round(y2 + margin + dy))
            crop = cv2.resize(source[top:bottom, left:right], (160, 160))
            if rng.random() < 0.5:
                crop = crop[:, ::-1]
            yield name, cv2.convertScaleAbs(crop, alpha=rng.uniform(0.8, 1.2), beta=rng.uniform(-20, 20))


def example_scenes(photo, count=6, seed=0, size=(640, 360)):
    """`count` scenes of (frame, [(class name, box)]): one or two people (the photo's face and shoulders, bare or
    masked in turn, of different sizes) standing on a grey frame of `size` (width, height), each face's box known."""
    rng = np.random.default_rng(seed)
    width, height = size
    x1, y1, x2, y2 = FACE_IN_PHOTO
    people = 0
    for _ in range(count):
        frame = np.full((height, width, 3), rng.integers(60, 160), np.uint8)
        faces = []
        for slot in range(rng.integers(1, 3)):
            name = ("with_mask", "without_mask")[people % 2]
            people += 1
            source = with_drawn_mask(photo) if name == "with_mask" else photo
            scale = rng.uniform(0.25, 0.5)
            person = cv2.resize(source[60:480, 60:460], None, fx=scale, fy=scale)
            left = round(rng.uniform(slot * width / 2, (slot + 1) * width / 2 - person.shape[1]))
            top = round(rng.uniform(0, height - person.shape[0]))
            frame[top:top + person.shape[0], left:left + person.shape[1]] = person
            faces.append((name, [round(left + (x1 - 60) * scale), round(top + (y1 - 60) * scale),
                                 round(left + (x2 - 60) * scale), round(top + (y2 - 60) * scale)]))
        yield frame, faces


def voc_annotation(file_name, frame, faces):
    """A PASCAL VOC annotation, as text, of the image `file_name` and its [(class name, [x1, y1, x2, y2])] faces."""
    root = ElementTree.Element("annotation")
    ElementTree.SubElement(root, "filename").text = file_name
    size = ElementTree.SubElement(root, "size")
    for key, value in zip(("width", "height", "depth"), (frame.shape[1], frame.shape[0], frame.shape[2])):
        ElementTree.SubElement(size, key).text = str(value)
    for name, box in faces:
        item = ElementTree.SubElement(root, "object")
        ElementTree.SubElement(item, "name").text = name
        corners = ElementTree.SubElement(item, "bndbox")
        for key, value in zip(("xmin", "ymin", "xmax", "ymax"), box):
            ElementTree.SubElement(corners, key).text = str(value)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode") + "\n"


def write_example_sets(faces_dir=EXAMPLE_FACES, scenes_dir=EXAMPLE_SCENES):
    """Write examples/faces/ (one folder per class) and examples/scenes/ (images/ and PASCAL VOC annotations/) from
    the example photo: the training and measuring sets the README's commands run on."""
    photo = cv2.imread(str(EXAMPLE_PHOTO))
    written = {}
    for name, crop in example_faces(photo):
        written[name] = written.get(name, 0) + 1
        (Path(faces_dir) / name).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(Path(faces_dir) / name / f"{written[name]:02d}.jpg"), crop)
    for folder in ("images", "annotations"):
        (Path(scenes_dir) / folder).mkdir(parents=True, exist_ok=True)
    for index, (frame, faces) in enumerate(example_scenes(photo)):
        cv2.imwrite(str(Path(scenes_dir) / "images" / f"scene{index}.jpg"), frame)
        (Path(scenes_dir) / "annotations" / f"scene{index}.xml").write_text(
            voc_annotation(f"scene{index}.jpg", frame, faces))
