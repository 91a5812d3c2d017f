#!/usr/bin/python3
"""An MQTT 5 broker that takes everything and acknowledges nothing: CONNECT gets a
CONNACK and SUBSCRIBE a SUBACK (so the client believes it is connected and
subscribed), PINGREQ a PINGRESP, but no PUBLISH at QoS 1 is ever acknowledged --
a broker wedged behind a full disk or a stuck bridge looks like this to its
clients.  It follows MQTT 5.0 (OASIS, 2019) sections 3.1-3.3, 3.8-3.9 and 3.12-3.13.

Usage: silent_broker.py PORT [COMMANDS TOPIC RESPONSE_TOPIC]
With COMMANDS, once the client subscribes to TOPIC it is sent that many command
PUBLISHes (QoS 0, with a Response Topic and Correlation Data).  Prints "ok ready",
then, at EOF on stdin, "publishes N" (QoS 1 and QoS 0 publishes received) and ends."""
import select
import socket
import struct
import sys
import threading


def varint(n):
    out = b""
    while True:
        byte, n = n & 0x7F, n >> 7
        out += bytes([byte | (0x80 if n else 0)])
        if not n:
            return out


def packet(kind, body):
    return bytes([kind]) + varint(len(body)) + body


def utf8(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def read_packet(sock, buf):
    """(first byte, body, rest of buf) or None when the client left."""
    while True:
        if len(buf) >= 2:
            n, mult, i = 0, 1, 1
            while i < len(buf) and i <= 4:
                n += (buf[i] & 0x7F) * mult
                mult *= 128
                if not buf[i] & 0x80:
                    break
                i += 1
            if i < len(buf) and len(buf) >= i + 1 + n:
                return buf[0], buf[i + 1:i + 1 + n], buf[i + 1 + n:]
        got = sock.recv(65536)
        if not got:
            return None
        buf += got


def serve(conn, commands, topic, response_topic, counts):
    buf = b""
    while True:
        got = read_packet(conn, buf)
        if not got:
            return
        first, body, buf = got
        kind = first >> 4
        if kind == 1:  # CONNECT -> CONNACK: no session present, success, no properties
            conn.sendall(packet(0x20, b"\x00\x00\x00"))
        elif kind == 8:  # SUBSCRIBE -> SUBACK granting QoS 1 to each filter
            pid = body[:2]
            plen_end = 2 + 1  # properties length (one byte: none are sent by the client here)
            filters = body[plen_end + body[2]:]
            n, names = 0, []
            while filters:
                ln = struct.unpack(">H", filters[:2])[0]
                names.append(filters[2:2 + ln].decode())
                filters = filters[3 + ln:]
                n += 1
            conn.sendall(packet(0x90, pid + b"\x00" + b"\x01" * n))
            if commands and topic in names:
                for i in range(commands):
                    props = (b"\x08" + utf8(response_topic) + b"\x09" +
                             struct.pack(">H", 8) + b"corr%04d" % (i % 10000))
                    payload = b'{"id":"c%d","verb":"ping"}' % i
                    conn.sendall(packet(0x30, utf8(topic) + varint(len(props)) + props + payload))
        elif kind == 12:  # PINGREQ
            conn.sendall(packet(0xD0, b""))
        elif kind == 3:  # PUBLISH: never acknowledged
            counts[0] += 1
        elif kind == 14:  # DISCONNECT
            return


def main():
    port = int(sys.argv[1])
    commands = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    topic = sys.argv[3] if len(sys.argv) > 3 else ""
    response_topic = sys.argv[4] if len(sys.argv) > 4 else ""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(8)
    counts = [0]
    print("ok ready", flush=True)
    while True:
        ready = select.select([srv, sys.stdin], [], [])[0]
        if sys.stdin in ready and not sys.stdin.readline():
            break
        if srv in ready:
            conn, _ = srv.accept()
            threading.Thread(target=serve, args=(conn, commands, topic, response_topic, counts),
                             daemon=True).start()
    print("publishes %d" % counts[0], flush=True)


if __name__ == "__main__":
    main()
