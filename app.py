#!/usr/bin/env python3
"""A local web page that finds faces in an uploaded photo or a webcam snapshot and tells whether each wears a mask.

Needs requirements-app.txt: pip install -r requirements-app.txt
"""
import argparse
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


def main():
    args = parse_args()
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home: the page works offline
    reach_directly(args.host)
    try:
        import gradio  # noqa: F401
    except ImportError:
        print("error: the browser demo needs its requirements: pip install -r requirements-app.txt", file=sys.stderr)
        sys.exit(2)
    from facemask.pipeline import MaskDetector
    from facemask.web import build_app

    def make_detector(name):
        detector = MaskDetector(args.model, args.face if name == args.detector else None, margin=args.margin,
                                face_detector=name)
        detector.warm_up()
        return detector

    with reported_as_exit():
        app, examples = build_app(make_detector, args.detector, args.confidence)
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
    examples.cleanup()
    sys.exit(130)  # a user's interrupt ends every script with 130


if __name__ == "__main__":
    main()
