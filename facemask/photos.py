"""Annotating photos: files and folders in, annotated images and a JSON report out.

One bad image among many is reported and skipped; a single named file that cannot be read is an error.
"""
import json
import sys
from pathlib import Path

import cv2

from facemask import UserError
from facemask.drawing import caption, draw_faces
from facemask.files import check_output, write_atomically
from facemask.images import IMAGE_EXTENSIONS, is_image_file, read_image
from facemask.pipeline import count_labels
from facemask.video import has_display
from facemask.workers import map_in_workers


def expand_inputs(paths):
    """Each named file, and the image files inside each named folder and its sub-folders (sorted), as (path, its
    name inside the output folder): a named file's own name, a folder's file its path inside that folder."""
    found = []
    for path in map(Path, paths):
        if path.is_dir():
            found += [(file, file.relative_to(path)) for file in sorted(path.rglob("*"))
                      if (file.is_file() or file.is_symlink()) and is_image_file(file)]  # a broken link is reported
        elif path.exists() or path.is_symlink():
            found.append((path, Path(path.name)))
        else:
            raise UserError(f"image not found: {path}")
    return found


def output_path_for(name, output, many):
    """The annotated image goes to `output` itself for one image, or for many into the folder `output`, where
    sub-folders mirror those of the folder the image was found in."""
    output = Path(output)
    if not many and not output.is_dir():
        if not is_image_file(output):  # cv2.imencode chooses the format by the extension
            raise UserError(f"cannot write --output {output}: not an image file name: end it in "
                            f"{', '.join(sorted(IMAGE_EXTENSIONS))}, or name a folder that exists")
        return output
    return output / name.parent / f"{name.stem}_annotated{name.suffix if is_image_file(name) else '.jpg'}"


def plan_outputs(inputs, output, many):
    """(image, where its annotated copy goes) for each input; UserError when two would go to the same place, or
    when `output` cannot be written."""
    if output is not None:
        if many and not Path(output).is_dir() and is_image_file(output):
            raise UserError(f"--output {output} names an image file, but several images are annotated into a folder: "
                            "give a folder's name")
        check_output(output, "--output", folder=many or Path(output).is_dir())
    jobs, source_of = [], {}
    for path, name in inputs:
        target = None
        if output is not None:
            target = output_path_for(name, output, many)
            if target in source_of:
                raise UserError(f"{source_of[target]} and {path} would both be annotated into {target}: "
                                "annotate them in separate runs, or give them different names")
            source_of[target] = path
        jobs.append((path, target))
    return jobs


def summary_line(path, faces, class_names):
    if not faces:
        return f"{path}: no face found"
    counts = ", ".join(f"{count} {caption(name).lower()}" for name, count in count_labels(faces, class_names).items())
    return f"{path}: {len(faces)} face{'s' if len(faces) != 1 else ''} ({counts})"


def annotate_one(detector, path, target=None, show=False):
    """(faces, None) for one image, drawn into `target` when given, or (None, the problem) for an image that
    cannot be read. An image that cannot be written is an error: UserError."""
    try:
        image = read_image(path)
    except UserError as error:
        return None, str(error)
    faces = detector(image)
    if target is not None or show:
        annotated = draw_faces(image, faces)
    if target is not None:
        ok, encoded = cv2.imencode(target.suffix, annotated)
        if not ok:
            raise UserError(f"cannot write an image as {target}")
        write_atomically(target, encoded.tobytes())
    if show:
        cv2.imshow(str(path), annotated)
        cv2.waitKey(0)
        cv2.destroyAllWindows()
    return faces, None


def annotate_photos(make_detector, paths, output=None, json_path=None, show=False, workers=1):
    """Run the detector on every image, in `workers` processes; returns (results {path: faces}, number of images
    that failed). `make_detector(threads=...)` makes a MaskDetector."""
    inputs = expand_inputs(paths)
    if not inputs:
        raise UserError(f"no images found in {', '.join(map(str, paths))}")
    many = len(inputs) > 1 or any(Path(path).is_dir() for path in paths)
    jobs = plan_outputs(inputs, output, many)
    if json_path is not None and str(json_path) != "-":
        check_output(json_path, "--json")
    log = sys.stderr if str(json_path) == "-" else sys.stdout  # keep standard output pure JSON
    if show and not has_display():  # a window would abort the process (Qt finds no display), losing the summary
        print("warning: --show needs a display and there is none: the images are not shown", file=log)
        show = False
    detector = make_detector()  # also in the main process, so that a model or face detector error comes at once
    pool = None
    if workers > 1:
        pool, outcomes = map_in_workers(workers, make_detector, annotate_one, jobs, chunksize=4)
    else:
        outcomes = (annotate_one(detector, path, target, show) for path, target in jobs)
    results, failed = {}, 0
    try:
        for (path, _), (faces, problem) in zip(jobs, outcomes):
            if problem is not None:
                if not many:  # the one image named
                    raise UserError(problem)
                print(f"warning: {problem}; skipped", file=log)
                failed += 1
                continue
            results[str(path)] = faces
            print(summary_line(path, faces, detector.classifier.class_names), file=log)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if failed:
        print(f"warning: {failed} of {len(inputs)} images could not be read", file=log)
    if json_path is not None:
        report = json.dumps(results, indent=2) + "\n"
        if str(json_path) == "-":
            print(report, end="")
        else:
            write_atomically(json_path, report.encode())
    return results, failed
