#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# A loopback TCP proxy for tests/fs/coherent.sh that can cut the watch:
# while the file BLOCK exists, every connection that carries a WatchDir
# request is closed (those open when it appears, and new ones at their
# first bytes); everything else passes.  Usage: cutproxy.py LISTEN_PORT
# TARGET_PORT BLOCK_FILE.  Loopback only; runs until killed.
import os
import socket
import sys
import threading
import time

listen_port, target_port, block = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
lock = threading.Lock()
watches = set()  # client sockets that carried a WatchDir request


def close(*socks):
    for s in socks:
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass


def pipe(src, dst, client, upstream):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if src is client and b"/filesystem.Filesystem/WatchDir" in data:
                with lock:
                    watches.add(client)
                if os.path.exists(block):
                    break
            dst.sendall(data)
    except OSError:
        pass
    with lock:
        watches.discard(client)
    close(client, upstream)


def cutter():
    while True:
        time.sleep(0.05)
        if os.path.exists(block):
            with lock:
                cut = list(watches)
                watches.clear()
            for s in cut:
                close(s)


srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", listen_port))
srv.listen(64)
threading.Thread(target=cutter, daemon=True).start()
while True:
    c, _ = srv.accept()
    try:
        u = socket.create_connection(("127.0.0.1", target_port))
    except OSError:
        close(c)
        continue
    threading.Thread(target=pipe, args=(c, u, c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c, c, u), daemon=True).start()
