#!/usr/bin/env python3
"""A stand-in for the release host on 127.0.0.1: serves DIR on a free port,
prints the port, and appends each request's path to LOG.
    release_server.py DIR LOG"""
import functools
import http.server
import sys

root, log = sys.argv[1], sys.argv[2]


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        with open(log, "a") as f:
            f.write(self.path + "\n")
        super().do_GET()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=root))
print(server.server_address[1], flush=True)
server.serve_forever()
