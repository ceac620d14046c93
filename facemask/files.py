"""Writing outputs so that a crash or Ctrl-C never leaves a broken file where a good one stood."""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged_outputs(output_dir):
    """Yield a temporary folder inside `output_dir`; when the block succeeds, its files replace those of
    `output_dir` (each by an atomic rename); when it fails, they are thrown away."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))
    try:
        yield staging
        for staged in sorted(staging.iterdir()):
            os.replace(staged, output_dir / staged.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def temporary_path(path):
    """A name beside `path` to write to before renaming into place; it keeps the extension, so writers that
    choose their format by it (cv2.VideoWriter) still do, and is hidden, so a half-written file is not mistaken
    for a finished one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


def write_atomically(path, data):
    """Write bytes to `path` through a temporary file in the same folder and an atomic rename."""
    temporary = temporary_path(path)
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
