#!/usr/bin/env python3
"""Serves the assembled demo page (build/web) on localhost.

    python3 web/serve.py [--dir build/web] [--port 8000]

Binds 127.0.0.1 only. --port 0 picks a free port. Prints the URL on the
first line of output. Sets the MIME types module scripts and WebAssembly
need and asks browsers not to cache, so a rebuilt page is picked up.
"""
import argparse
import functools
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".css": "text/css",
        ".wasm": "application/wasm",
        ".cgm": "application/octet-stream",
        ".svg": "image/svg+xml",
        ".png": "image/png",
    }

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, fmt, *args):
        if os.environ.get("CAUSALGEN_SERVE_QUIET") != "1":
            super().log_message(fmt, *args)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=os.path.join(root, "build", "web"))
    ap.add_argument("--port", type=int, default=8000)
    a = ap.parse_args()
    if not os.path.isfile(os.path.join(a.dir, "index.html")):
        sys.exit(f"serve.py: {a.dir} has no index.html: build it first with wasm/build.sh")
    handler = functools.partial(Handler, directory=a.dir)
    with http.server.ThreadingHTTPServer(("127.0.0.1", a.port), handler) as httpd:
        print(f"serving {a.dir} at http://127.0.0.1:{httpd.server_address[1]}/", flush=True)
        try:
            httpd.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
