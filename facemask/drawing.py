"""Drawing results on frames: a box and a caption such as `Mask: 99.12%` per face (`#3 No Mask 97%` for a person
followed through a video), and a frame rate."""
import cv2

CAPTIONS = {"with_mask": "Mask", "without_mask": "No Mask", "mask_weared_incorrect": "Mask below nose"}
# BGR: green for a mask, red for none, orange for a mask worn wrong
COLORS = {"with_mask": (0, 255, 0), "without_mask": (0, 0, 255), "mask_weared_incorrect": (0, 165, 255)}
OTHER_COLOR = (255, 0, 255)  # magenta, for any other class a model was trained on


def caption(label):
    return CAPTIONS.get(label, label.replace("_", " ").capitalize())


def draw_faces(frame, faces):
    """A copy of the BGR frame with each face's box and caption; line width and text grow with the frame."""
    annotated = frame.copy()
    scale = max(frame.shape[:2]) / 1000
    thickness = max(1, round(2 * scale))
    font_scale = max(0.45, 0.7 * scale)
    for face in faces:
        x1, y1, x2, y2 = face["box"]
        if face.get("track_id") is None:
            label, text = face["label"], f"{caption(face['label'])}: {face['confidence']:.2%}"
        else:
            label = face["person_label"]
            text = f"#{face['track_id']} {caption(label)} {face['person_confidence']:.0%}"
        color = COLORS.get(label, OTHER_COLOR)
        cv2.rectangle(annotated, (x1, y1), (x2, y2), color, thickness)
        (_, text_height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, thickness)
        text_y = y1 - 6 if y1 - 6 - text_height > 0 else y2 + text_height + 6  # below the box at the top edge
        cv2.putText(annotated, text, (x1, text_y), cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, thickness)
    return annotated


def draw_fps(frame, fps):
    """Writes the frame rate in the top-left corner, in place."""
    cv2.putText(frame, f"{fps:.1f} FPS", (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
