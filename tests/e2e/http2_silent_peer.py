#!/usr/bin/python3
"""An HTTP/2 peer that never answers pings: it opens a connection to a gRPC
server (the connection preface and SETTINGS, acknowledging the server's
SETTINGS), then reads frames without ever acknowledging a PING, as a client
whose host vanished would; with SEND_PINGS, it first sends that many
pings of its own, 100 ms apart (a client pinging too often). Prints
"closed after S s, P pings, G goaways" when the server closes the
connection, or "open after S s, P pings, G goaways" at the limit.
Usage: http2_silent_peer.py PORT LIMIT_SECONDS [SEND_PINGS]"""
import socket
import sys
import time

PING, SETTINGS, GOAWAY = 6, 4, 7


def main():
    port, limit = int(sys.argv[1]), float(sys.argv[2])
    send_pings = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    peer = socket.create_connection(("127.0.0.1", port))
    peer.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]))
    start = time.monotonic()
    pings = goaways = 0
    for i in range(send_pings):
        try:
            peer.sendall(bytes([0, 0, 8, PING, 0, 0, 0, 0, 0]) + i.to_bytes(8, "big"))
        except OSError:
            break
        time.sleep(0.1)
    buffer = b""
    while True:
        left = limit - (time.monotonic() - start)
        if left <= 0:
            print(f"open after {limit:.1f} s, {pings} pings, {goaways} goaways")
            return
        peer.settimeout(left)
        try:
            data = peer.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            data = b""
        if not data:
            print(f"closed after {time.monotonic() - start:.1f} s, {pings} pings, {goaways} goaways")
            return
        buffer += data
        while len(buffer) >= 9:
            length = int.from_bytes(buffer[0:3], "big")
            if len(buffer) < 9 + length:
                break
            kind, flags = buffer[3], buffer[4]
            buffer = buffer[9 + length:]
            if kind == SETTINGS and not flags & 1:
                try:
                    peer.sendall(bytes([0, 0, 0, SETTINGS, 1, 0, 0, 0, 0]))  # ACK
                except OSError:
                    pass
            elif kind == PING and not flags & 1:
                pings += 1  # never acknowledged
            elif kind == GOAWAY:
                goaways += 1


if __name__ == "__main__":
    main()
