"""Files: why an input cannot be read, in a few words; and writing outputs so that a crash or Ctrl-C never leaves
a broken file where a good one stood."""
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from facemask import UserError


def input_problem(path):
    """Why `path` cannot be read as an input file, in a few words ("it is a folder"), or None when it can.

    Checked before reading, because reading a named pipe would wait forever, and an empty file is worth saying."""
    path = Path(path)
    try:
        if path.is_symlink() and not path.exists():
            return f"a link to {os.readlink(path)}, which does not exist"
        if not path.exists():
            return "no such file"
        if path.is_dir():
            return "it is a folder"
        if not path.is_file():
            return "not a regular file"
        if not os.access(path, os.R_OK):
            return "no permission to read it"
        if path.stat().st_size == 0:
            return "the file is empty (0 bytes)"
    except OSError as error:  # a folder on the way that cannot be searched, a link loop
        return error.strerror or str(error)
    return None


def output_problem(path, folder=False):
    """Why `path` cannot be written as an output file (or, with `folder`, as an output folder), in a few words
    ("it is a folder"), or None when it can. Checked before the work starts; leaves nothing behind."""
    path = Path(path)
    try:
        if path.is_dir() != folder and path.exists():
            return "it is a folder" if path.is_dir() else "it is a file, not a folder"
        existing = path if folder else path.parent  # the folder that must take the new file or sub-folder
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            return f"{existing} is a file, not a folder"
        os.rmdir(tempfile.mkdtemp(prefix=".probe-", dir=existing))  # what os.access misses: root, read-only disks
    except OSError as error:
        return error.strerror or str(error)
    return None


def check_output(path, flag, folder=False):
    """UserError naming the flag and `path` when output_problem finds one."""
    problem = output_problem(path, folder)
    if problem is not None:
        raise UserError(f"cannot write {flag} {path}: {problem}")


def check_made_dataset(output, inputs, force, record):
    """UserError, before any work, when `output` cannot be the dataset folder that a dataset maker writes from the
    folders `inputs`: a file, not writable, inside an input or holding it, or already holding files (refused
    unless `force`, and then only a previous output of the maker, which holds its `record` file)."""
    output = Path(output).resolve()
    if output.exists() and not output.is_dir():
        raise UserError(f"cannot write --output {output}: it is a file, not a folder")
    for input_folder in map(lambda folder: Path(folder).resolve(), inputs):
        if output == input_folder or output in input_folder.parents or input_folder in output.parents:
            raise UserError(f"--output {output} and the input {input_folder} must be apart: neither inside the other")
    problem = output_problem(output.parent, folder=True)  # the staging folder is made beside the output
    if problem is not None:
        raise UserError(f"cannot write --output {output}: {problem}")
    held = list(output.iterdir()) if output.is_dir() else []
    if held and not force:
        raise UserError(f"--output {output} is not empty: pass --force to replace it, or choose another folder")
    if held and not (output / record).is_file():
        raise UserError(f"--output {output} holds files but no {record}, so it is not an output of this script; "
                        "it is not replaced, even with --force: choose another folder")


def refuse_to_replace(folder, model_name, force, flag="--output"):
    """UserError when `folder` already holds a model (the file `model_name`) and `force` is false: a training run
    replaces a model only when asked. Checked before the work starts."""
    if not force and (Path(folder) / model_name).exists():
        raise UserError(f"{flag} {folder} already holds a model ({model_name}): pass --force to replace it, or "
                        f"choose another {flag}")


@contextmanager
def reported_as_user_error(path):
    """A file-system error while writing `path` (a folder that is a file, no permission, a full disk) becomes
    a one-line UserError naming the path."""
    try:
        yield
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None


def make_folder(folder):
    with reported_as_user_error(folder):
        Path(folder).mkdir(parents=True, exist_ok=True)


@contextmanager
def staged_outputs(output_dir):
    """Yield a temporary folder inside `output_dir`; when the block succeeds, its files replace those of
    `output_dir` (each by an atomic rename); when it fails, they are thrown away."""
    output_dir = Path(output_dir)
    make_folder(output_dir)
    with reported_as_user_error(output_dir):
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=output_dir))
    try:
        yield staging
        for staged in sorted(staging.iterdir()):
            with reported_as_user_error(output_dir / staged.name):
                os.replace(staged, output_dir / staged.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def temporary_path(path):
    """A name beside `path` to write to before renaming into place; it keeps the extension, so writers that
    choose their format by it (cv2.VideoWriter) still do, and is hidden, so a half-written file is not mistaken
    for a finished one."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"cannot write {path}: it is a folder")
    make_folder(path.parent)
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


def write_atomically(path, data):
    """Write bytes to `path` through a temporary file in the same folder and an atomic rename."""
    temporary = temporary_path(path)
    try:
        with reported_as_user_error(path):
            temporary.write_bytes(data)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    move_into_place(temporary, path)


def move_into_place(temporary, path):
    """Rename a finished temporary file to `path`; if that fails, the temporary file is removed."""
    try:
        with reported_as_user_error(path):
            os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def replaced_folder(folder):
    """Yield a new, hidden folder beside `folder` to write into; when the block succeeds, it takes `folder`'s
    place (an existing `folder` is removed only then); when it fails, it is thrown away and `folder` is left as
    it was."""
    folder = Path(folder)
    make_folder(folder.parent)
    with reported_as_user_error(folder):
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-", dir=folder.parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp's folder is private; the output is an ordinary folder
    try:
        yield staging
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        with reported_as_user_error(folder):
            if folder.exists():
                os.replace(folder, old)
            try:
                os.replace(staging, folder)
            except OSError:
                if old.exists():
                    os.replace(old, folder)
                raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
