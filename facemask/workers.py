"""Images spread over worker processes, each with its own single-threaded model (a mask detector, a face mesh):
networks this small use a second core poorly, so two single-threaded workers get more done than one on both."""
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from functools import partial

import cv2


def start_worker(make_model):
    """In each worker process: Ctrl-C is left to the main process, and one model is made, on one thread."""
    global worker_model
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)
    worker_model = make_model(threads=1)


def call_with_model(function, job):
    return function(worker_model, *job)


def map_in_workers(workers, make_model, function, jobs, chunksize):
    """(the pool, `function(model, *job)` for each job, in the order of `jobs`), in `workers` processes, each
    with its own `make_model(threads=1)`. The caller shuts the pool down."""
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_worker,
                               initargs=(make_model,))
    return pool, pool.map(partial(call_with_model, function), jobs, chunksize=chunksize)
