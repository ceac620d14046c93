"""Drawing a face mask on a face photo from its face-mesh landmarks (see face_landmarks.py): where the mask's
outline runs for each way of wearing it, what each style of mask looks like, and how it takes the face's light.

The outline follows landmarks, so the mask turns and tilts with the head: its top edge crosses the face at the
bridge of the nose (worn correctly), under the nose, or under the lower lip (on the chin), and its lower edge
follows the jaw line; such a mask stays inside the face outline. Two more ways draw the whole mask as it is worn
correctly, moved as real photos show it worn wrong: pulled down, its top edge from under the nose to under the
lower lip and its lower part below the jaw, often at an angle ("pulled"); or hanging from one ear loop, the face
bare ("hanging"); each with its ear loops. Every random choice (colours, pattern, small shifts and turns of the
outline) comes from the numpy Generator passed in, so one seed always draws the same image.
"""
import cv2
import numpy as np

STYLES = ("surgical", "cloth", "kn95", "black", "white", "coloured", "patterned")
WORN = ("correct", "nose", "chin", "pulled", "hanging")
WHOLE_MASK = ("pulled", "hanging")  # the ways drawn as the whole mask, moved off the face (see whole_mask_move)

# Face-mesh landmarks. The face outline, from the top of the forehead down the photo's right side (the
# person's left) to the chin (152), and up the other side.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148,
             176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
# The mask's top edge for each way of wearing it, from the face outline on the photo's left to the outline on its
# right; the rest of the mask's outline is the face outline below those two points.
TOP_EDGE = {
    "correct": (234, 117, 118, 197, 347, 346, 454),  # under the eyes and over the bridge of the nose
    "nose": (93, 205, 98, 164, 327, 425, 323),  # under the nose: its tip shows, the mouth is covered
    "chin": (172, 135, 18, 364, 397),  # under the lower lip: the mouth shows
}
MIDLINE = (168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 164, 0, 11, 12, 13, 14, 15, 16, 17, 18, 200, 199, 175, 152)
RIGHT_EYE_CORNER, LEFT_EYE_CORNER = 33, 263
RIGHT_CHEEK, LEFT_CHEEK = 234, 454
NOSE_BRIDGE, UNDER_NOSE, UNDER_LOWER_LIP = 197, 164, 18
RIGHT_EAR, LEFT_EAR = 127, 356  # on the face outline, where an ear loop goes behind the ear

SURGICAL_COLOURS = ((225, 200, 150), (195, 215, 170), (240, 240, 236))  # BGR: light blue, light green, white
PATTERNS = ("stripes", "dots", "checks")


def face_outline_between(start, end):
    """The face-outline landmarks from `start` to `end`, going round under the chin."""
    first, last = FACE_OVAL.index(start), FACE_OVAL.index(end)
    return [FACE_OVAL[(first + step) % len(FACE_OVAL)] for step in range((last - first) % len(FACE_OVAL) + 1)]


def face_axes(landmarks):
    """(the face's width in pixels, a unit vector along the eyes, a unit vector down the face), in the photo."""
    across = landmarks[LEFT_EYE_CORNER, :2] - landmarks[RIGHT_EYE_CORNER, :2]
    across /= np.linalg.norm(across) + 1e-9
    width = np.linalg.norm(landmarks[LEFT_CHEEK, :2] - landmarks[RIGHT_CHEEK, :2])
    return width, across, np.array([-across[1], across[0]])


def rotation(angle, centre):
    """A function moving (n, 2) points by a turn of `angle` degrees (clockwise on the photo) about `centre`."""
    turn = np.radians(angle)
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    return lambda points: (np.asarray(points) - centre) @ matrix.T + centre


def whole_mask_move(landmarks, worn, rng):
    """How the whole mask is moved from where it is worn correctly: a function of (n, 2) photo points, and the
    ear loops' ends (pairs of photo points: the mask's corner, the ear).
    "pulled": down the face until its top edge is between the nose and the lower lip, turned by up to about 15°
    about the middle of that edge. "hanging": folded up about its top edge (to 30 to 55% of its height) and
    turned by 70 to 100° about its corner at one ear, so that it hangs from that ear's loop along the side of the face."""
    _, _, down = face_axes(landmarks)
    top, _ = mask_edges(landmarks, "correct", rng)
    if worn == "pulled":
        reach = [np.dot(landmarks[mark, :2] - landmarks[NOSE_BRIDGE, :2], down) for mark in (UNDER_NOSE,
                                                                                          UNDER_LOWER_LIP)]
        shift = down * rng.uniform(*reach)
        turn = rotation(float(np.clip(rng.normal(0, 7), -15, 15)), top[len(top) // 2] + shift)
        move = lambda points: turn(np.asarray(points) + shift)  # noqa: E731
        ears = (RIGHT_EAR, LEFT_EAR)
        return move, [(move(top[[0]])[0], landmarks[ears[0], :2]), (move(top[[-1]])[0], landmarks[ears[1], :2])]
    near = int(rng.integers(2))  # the photo's left end of the mask (the person's right ear) or its right end
    corner = top[0] if near == 0 else top[-1]
    # folded up about its top edge, and crumpled to half its height or so, then turned down: the mask hangs along
    # the side of the face and the neck
    fold = 1 + rng.uniform(0.3, 0.55)
    turn = rotation(rng.uniform(70, 100) * (1 if near == 0 else -1), corner)
    move = lambda points: turn(points - fold * np.outer((np.asarray(points) - corner) @ down, down))  # noqa: E731
    return move, [(corner, landmarks[(RIGHT_EAR, LEFT_EAR)[near], :2])]


def mask_edges(landmarks, worn, rng):
    """The mask's top edge and its lower edge (along the jaw) as (n, 2) float points in the photo, the top edge
    shifted up or down the face by a few percent of its width, each point a little differently. For a whole mask
    (WHOLE_MASK), the edges of the mask worn correctly, not yet moved (see whole_mask_move)."""
    top_ids = TOP_EDGE["correct" if worn in WHOLE_MASK else worn]
    width, _, down = face_axes(landmarks)
    top = landmarks[list(top_ids), :2].copy()
    shifts = rng.normal(0, 0.006, len(top)) + rng.uniform(-0.02, 0.02)
    shifts[[0, -1]] = 0  # the ends stay on the face outline
    top += np.outer(shifts * width, down)
    bottom = landmarks[face_outline_between(top_ids[-1], top_ids[0]), :2]
    return top, bottom


def visible_share(image_shape, landmarks, worn):
    """The share of the mask's area on the face that falls inside the photo: a mask worn on the chin of a face photo
    cut off at the mouth would not show. (A whole mask's part below the jaw is often outside a face photo, as it is
    outside the crop of a face that detection classifies: only its part on the face is asked to show.)"""
    rng = np.random.default_rng(0)
    top, bottom = mask_edges(landmarks, worn, rng)
    outline = np.concatenate([top, bottom[1:-1]])
    if worn in WHOLE_MASK:
        outline = whole_mask_move(landmarks, worn, rng)[0](outline)
    face = landmarks[list(FACE_OVAL), :2]
    low = np.floor(np.minimum(np.minimum(outline.min(axis=0), face.min(axis=0)), 0)).astype(int)
    high = np.ceil(np.maximum(np.maximum(outline.max(axis=0), face.max(axis=0)), image_shape[1::-1])).astype(int)
    shape = (high[1] - low[1] + 1, high[0] - low[0] + 1)
    area = (filled(shape, outline, low) > 0) & (filled(shape, face, low) > 0)
    inside = area[-low[1]:-low[1] + image_shape[0], -low[0]:-low[0] + image_shape[1]]
    return inside.sum() / max(1, area.sum())


def smooth_closed(points, rounds=3):
    """Chaikin's corner cutting: the closed polygon with its corners rounded."""
    for _ in range(rounds):
        following = np.roll(points, -1, axis=0)
        points = np.stack([0.75 * points + 0.25 * following, 0.25 * points + 0.75 * following], axis=1).reshape(-1, 2)
    return points


def filled(shape, polygon, origin):
    """A uint8 image of `shape`, 255 inside the polygon (photo pixels, moved by -origin), 0 outside."""
    image = np.zeros(shape, np.uint8)
    cv2.fillPoly(image, [np.round((polygon - origin) * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
    return image


def soft_alpha(hard, feather):
    """The mask's opacity, 0 to 1: the hard shape shrunk by 2 × feather, then blurred twice by a box of that
    size, so that its edge fades over about 4 × feather pixels and never reaches past the hard shape."""
    size = 2 * feather + 1
    shrunk = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * size - 1, 2 * size - 1)))
    alpha = cv2.blur(cv2.blur(shrunk.astype(np.float32) / 255, (size, size)), (size, size))
    return alpha * (hard > 0)


def distance_to(shape, polyline, origin):
    """Each pixel's distance to an open polyline, in pixels."""
    canvas = np.full(shape, 255, np.uint8)
    cv2.polylines(canvas, [np.round(polyline - origin).astype(np.int32)], False, 0, 1)
    return cv2.distanceTransform(canvas, cv2.DIST_L2, 3)


def share_of_the_way_down(u, v, top, bottom):
    """Each pixel's share of the way down the mask, from its top edge (0) to its lower edge (1), measured down the
    face at the pixel's place across it. u, v: the pixels' face coordinates; top, bottom: the edges' (u, v)."""
    def edge_at(edge):
        order = np.argsort(edge[0])
        return np.interp(u, edge[0][order], edge[1][order])

    top_v, bottom_v = edge_at(top), edge_at(bottom)
    return np.clip((v - top_v) / np.maximum(bottom_v - top_v, 1e-3), 0, 1)


def random_colour(rng, saturation, value):
    """A BGR colour of any hue, its saturation and value drawn from the (low, high) ranges given."""
    hsv = np.uint8([[[rng.integers(0, 180), 255 * rng.uniform(*saturation), 255 * rng.uniform(*value)]]])
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32)


def weave(shape, rng, strength, face_width):
    """A fabric's fine texture: brightness factors around 1, its grain in proportion to the face."""
    noise = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), max(0.6, 0.004 * face_width))
    return 1 + strength * noise / (noise.std() + 1e-6)


def pleats(height_share, count=3):
    """A surgical mask's folds: brightness factors from the share of the way down the mask (0 at its top edge,
    1 at its lower edge); each fold brightens towards the crease under it, then drops into its shadow."""
    phase = (height_share - 0.15) / 0.7 * count
    folded = (phase > 0) & (phase < count)
    return np.where(folded, 0.9 + 0.14 * (phase % 1), 1.0).astype(np.float32)


def pattern(u, v, kind, period):
    """0 to 1 per pixel: where a patterned fabric shows its second colour. u, v: face coordinates (face widths)."""
    if kind == "stripes":
        return (np.sin(2 * np.pi * v / period) > 0.3).astype(np.float32)
    if kind == "dots":
        du, dv = (u / period + 0.5) % 1 - 0.5, (v / period + 0.5) % 1 - 0.5
        return (du ** 2 + dv ** 2 < 0.09).astype(np.float32)
    return ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)  # checks


def fabric(style, shape, u, v, height_share, midline_distance, face_width, rng):
    """The mask's colours (h, w, 3) float BGR before the face's light is applied."""
    if style == "surgical":
        colour = np.float32(SURGICAL_COLOURS[rng.integers(len(SURGICAL_COLOURS))]) + rng.uniform(-8, 8, 3)
        factor = pleats(height_share) * weave(shape, rng, 0.01, face_width)
    elif style == "kn95":
        colour = np.float32([244, 244, 242]) + rng.uniform(-8, 4)
        seam = np.clip(midline_distance / max(1.0, 0.006 * face_width), 0, 1)  # a thin ridge down the middle
        factor = (0.78 + 0.22 * seam) * weave(shape, rng, 0.01, face_width)
    elif style == "cloth":
        colour = random_colour(rng, (0.1, 0.45), (0.3, 0.85))
        factor = weave(shape, rng, 0.035, face_width)
    elif style == "black":
        colour = np.float32([30, 30, 32]) + rng.uniform(-8, 8)
        factor = weave(shape, rng, 0.07, face_width)
    elif style == "white":
        colour = np.float32([238, 238, 236]) + rng.uniform(-10, 6)
        factor = weave(shape, rng, 0.015, face_width)
    elif style == "coloured":
        colour = random_colour(rng, (0.5, 0.9), (0.45, 0.95))
        factor = weave(shape, rng, 0.03, face_width)
    elif style == "patterned":
        first, second = random_colour(rng, (0.3, 0.9), (0.3, 0.95)), random_colour(rng, (0.0, 0.6), (0.5, 1.0))
        share = pattern(u, v, PATTERNS[rng.integers(len(PATTERNS))], rng.uniform(0.06, 0.12))
        share = cv2.GaussianBlur(share, (0, 0), max(0.5, 0.002 * face_width))  # printed, not cut: soft edges
        colours = first * (1 - share[..., np.newaxis]) + second * share[..., np.newaxis]
        return colours * weave(shape, rng, 0.03, face_width)[..., np.newaxis]
    else:
        raise ValueError(f"unknown mask style {style!r}; choose one of: {', '.join(STYLES)}")
    return colour[np.newaxis, np.newaxis] * factor[..., np.newaxis]


def face_light(gray, alpha, face_width):
    """How lit each pixel of the covered skin is, as factors around 1: the skin's brightness blurred (so that
    lips, nostrils and stubble leave no mark), over its median under the mask, times how bright the face is."""
    light = cv2.GaussianBlur(gray, (0, 0), max(1.0, 0.07 * face_width))
    covered = light[alpha > 0.5]
    median = float(np.median(covered)) if covered.size else 128.0
    relative = np.clip(light / max(median, 1.0), 0.5, 1.4) ** 0.8
    exposure = np.clip((median / 150) ** 0.5, 0.55, 1.05)  # a mask in a dark photo is darker too
    return relative * exposure


def photo_noise(gray, alpha):
    """The photo's grain under the mask: a robust standard deviation of what a slight blur takes away."""
    detail = np.abs(gray - cv2.GaussianBlur(gray, (0, 0), 1.5))[alpha > 0.5]
    return 1.4826 * float(np.median(detail)) if detail.size else 0.0


def with_ear_loops(crop, loops, origin, colour, face_width):
    """The crop (float BGR) with an ear loop, a thin elastic of the mask's colour, drawn from each (mask corner,
    ear) pair, sagging a little on its way."""
    thickness = max(1, round(0.012 * face_width))
    canvas = np.zeros(crop.shape[:2], np.float32)
    for corner, ear in loops:
        sag = np.array([0, 0.04 * face_width])
        points = np.array([corner, (corner + ear) / 2 + sag, ear]) - origin
        cv2.polylines(canvas, [np.round(points * 16).astype(np.int32)], False, 1.0, thickness, cv2.LINE_AA, shift=4)
    alpha = cv2.GaussianBlur(canvas, (0, 0), max(0.5, 0.003 * face_width))[..., np.newaxis]
    return crop * (1 - alpha) + np.clip(colour, 0, 255) * alpha


def draw_mask(image, landmarks, style, worn, rng):
    """A copy of the BGR photo with a face mask of `style` (one of STYLES) worn as `worn` (one of WORN) drawn on
    the face of `landmarks` (468, 3), from face_landmarks.FaceMesh; `rng` a numpy Generator."""
    if worn not in WORN:
        raise ValueError(f"unknown way of wearing a mask {worn!r}; choose one of: {', '.join(WORN)}")
    if style not in STYLES:
        raise ValueError(f"unknown mask style {style!r}; choose one of: {', '.join(STYLES)}")
    face_width, across, down = face_axes(landmarks)
    top, bottom = mask_edges(landmarks, worn, rng)
    centre = landmarks[1, :2]  # the nose tip: the origin of the mask's own coordinates (see to_face)
    face = landmarks[list(FACE_OVAL), :2]
    loops = []
    if worn in WHOLE_MASK:  # the whole mask, its coordinates and its pattern moved with it
        move, loops = whole_mask_move(landmarks, worn, rng)
        top, bottom, (centre, tip_across, tip_down) = move(top), move(bottom), move([centre, centre + across,
                                                                                     centre + down])
        across, down = tip_across - centre, tip_down - centre
    outline = smooth_closed(np.concatenate([top, bottom[1:-1]]))
    feather = max(1, round(0.006 * face_width))

    # work on the part of the photo round the face (and a moved mask) only
    height, width = image.shape[:2]
    around = np.concatenate([face, outline] + [np.array(loop) for loop in loops])
    x1, y1 = np.maximum(np.floor(around.min(axis=0)).astype(int) - 2, 0)
    x2, y2 = np.minimum(np.ceil(around.max(axis=0)).astype(int) + 3, [width, height])
    if x2 <= x1 or y2 <= y1:
        return image.copy()
    origin, shape = np.array([x1, y1]), (y2 - y1, x2 - x1)
    hard = filled(shape, outline, origin)
    if worn not in WHOLE_MASK:
        hard &= filled(shape, face, origin)
    alpha = soft_alpha(hard, feather)

    rows, columns = np.mgrid[y1:y2, x1:x2].astype(np.float32)

    def to_face(x, y):
        """Photo pixels in the mask's coordinates: along the eyes and down the face from the nose tip (as the mask
        worn correctly would have them), in face widths."""
        return (((x - centre[0]) * across[0] + (y - centre[1]) * across[1]) / face_width,
                ((x - centre[0]) * down[0] + (y - centre[1]) * down[1]) / face_width)

    u, v = to_face(columns, rows)
    height_share = share_of_the_way_down(u, v, to_face(*top.T), to_face(*bottom.T))
    midline_distance = distance_to(shape, landmarks[list(MIDLINE), :2], origin)
    colours = fabric(style, shape, u, v, height_share, midline_distance, face_width, rng)

    crop = image[y1:y2, x1:x2].astype(np.float32)
    gray = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY).astype(np.float32)
    light = face_light(gray, alpha, face_width)
    inside = cv2.distanceTransform((hard > 0).astype(np.uint8), cv2.DIST_L2, 3)
    rim = 0.85 + 0.15 * np.clip(inside / (0.05 * face_width), 0, 1)  # the mask curves away at its edges
    lit = colours * (light * rim)[..., np.newaxis] + 40 * np.clip(light - 1, 0, None)[..., np.newaxis]
    lit = cv2.GaussianBlur(lit, (0, 0), max(0.5, 0.003 * face_width))  # no sharper than the photo's own detail
    lit += rng.normal(0, photo_noise(gray, alpha), shape)[..., np.newaxis]  # and as grainy
    blended = crop * (1 - alpha[..., np.newaxis]) + np.clip(lit, 0, 255) * alpha[..., np.newaxis]
    if loops:
        blended = with_ear_loops(blended, loops, origin, colours[hard > 0].mean(axis=0), face_width)
    drawn = image.copy()
    drawn[y1:y2, x1:x2] = np.round(blended).astype(np.uint8)
    return drawn
