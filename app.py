#!/usr/bin/env python3
"""A local web page that finds faces in an uploaded photo or a webcam snapshot and tells whether each wears a mask;
with --camera, a live page of a camera, a video file or a stream, its people followed and counted.

Needs requirements-app.txt: pip install -r requirements-app.txt
"""
import argparse
import functools
import os
import signal
import sys

from facemask import reported_as_exit
from facemask.cli import add_detector_arguments


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to serve on (default: 127.0.0.1, this machine only; 0.0.0.0 for the network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    parser.add_argument("--camera", metavar="SOURCE",
                        help="a live page of this webcam index, video file or stream URL instead: the people in it "
                             "followed, counted, and the last ones without a mask shown")
    add_detector_arguments(parser)
    return parser.parse_args()


def reach_directly(host):
    """This machine's own addresses, and the one served on, reached without a proxy: Gradio checks at start that it
    serves, with an HTTP client that honours http_proxy and https_proxy, which a company proxy cannot answer for
    loopback."""
    own = ["127.0.0.1", "localhost", "::1", host]
    for name in ("NO_PROXY", "no_proxy"):
        listed = [entry.strip() for entry in os.environ.get(name, "").split(",") if entry.strip()]
        os.environ[name] = ",".join(dict.fromkeys(listed + own))


def photo_page(args):
    """The photo page, and the folder of its examples."""
    from facemask.pipeline import MaskDetector
    from facemask.web import build_app

    def make_detector(name):
        detector = MaskDetector(args.model, args.face if name == args.detector else None, margin=args.margin,
                                face_detector=name)
        detector.warm_up()
        return detector

    return build_app(make_detector, args.detector, args.confidence)


def live_page(args):
    """The live page of --camera, its video already followed in a thread; no examples."""
    import cv2

    from facemask.live import LiveView, build_live_page, follow
    from facemask.video import is_stream, load_detectors, open_capture

    capture, live = open_capture(args.camera)  # a source that cannot be opened is said before the page starts
    frame_rate = capture.get(cv2.CAP_PROP_FPS) or 30.0
    capture.release()
    detectors = load_detectors(args.model, args.face, args.confidence, margin=args.margin,
                               face_detector=args.detector)
    view = LiveView(args.camera, detectors[0].classifier.class_names, pace=not live, frame_rate=frame_rate)
    start = functools.partial(follow, view, detectors, args.camera, reconnect=is_stream(args.camera))
    if live:
        start()
    return build_live_page(view, start), None


def main():
    args = parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the page works offline
    reach_directly(args.host)
    try:
        import gradio  # noqa: F401
    except ImportError:
        print("error: the browser demo needs its requirements: pip install -r requirements-app.txt", file=sys.stderr)
        sys.exit(2)
    with reported_as_exit():
        app, examples = live_page(args) if args.camera is not None else photo_page(args)
    try:
        _, url, _ = app.launch(server_name=args.host, server_port=args.port, share=False, footer_links=[],
                               quiet=True, prevent_thread_lock=True)
    except OSError:  # Gradio's message for this names its own launch() parameters
        print(f"error: cannot serve on {args.host}:{args.port}: the port is taken, or the address is not this "
              "machine's (--port and --host choose others)", file=sys.stderr)
        sys.exit(2)
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # `kill` stops it as cleanly as Ctrl-C
    print(f"The demo is at {url} (Ctrl-C stops it)", flush=True)
    app.block_thread()  # until Ctrl-C or SIGTERM, which it takes in and closes the server
    if examples is not None:
        examples.cleanup()
    sys.exit(130)  # a user's interrupt ends every script with 130


if __name__ == "__main__":
    main()
