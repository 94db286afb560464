"""Runs INSIDE a sandbox (stdlib only, `python -I -S netbridge.py PORT SOCKET -- COMMAND...`).

The sandbox has its own, empty network namespace; the app's filtering proxy is reachable only
through its Unix socket, bound in. This listens on 127.0.0.1:PORT *before* COMMAND starts (bind and
listen happen first, so there is no race and no waiting), forks a relay that forwards every
connection to the socket, and replaces itself with COMMAND, which keeps its stdin/stdout/stderr.
The relay dies with the sandbox: when COMMAND ends, bwrap's init ends and takes it along.
"""

from __future__ import annotations

import os
import socket
import sys
import threading

_CHUNK = 64 * 1024


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while True:
            data = source.recv(_CHUNK)
            if not data:
                break
            target.sendall(data)
    except OSError:
        pass  # one side went away: closing both below ends the other direction too
    finally:
        try:
            target.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _relay(client: socket.socket, proxy_path: str) -> None:
    with client:
        try:
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(proxy_path)
        except OSError as err:
            client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
                           + f"The app's network proxy is not reachable: {err}\n".encode())
            return
        with upstream:
            back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
            back.start()
            _pump(client, upstream)
            back.join()


def _serve(listener: socket.socket, proxy_path: str) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # never hold the command's pipes open
        os.dup2(devnull, fd)
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, proxy_path), daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: netbridge.py PORT SOCKET -- COMMAND...\n")
        return 2
    port, proxy_path, command = int(argv[0]), argv[1], argv[3:]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)
    if os.fork() == 0:
        try:
            _serve(listener, proxy_path)
        finally:
            os._exit(0)
    listener.close()
    try:
        os.execvp(command[0], command)
    except OSError as err:
        sys.stderr.write(f"cannot run {command[0]}: {err.strerror}\n")
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
