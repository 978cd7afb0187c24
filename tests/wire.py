"""The wire, spoken by hand for tests that must send what chordctl never
would (tests/ring.t, tests/connlimit.t): the msgpack subset the protocol
uses, ZMTP 3.0 with the NULL mechanism as a DEALER, and the protocol's
message envelope. Standard library only."""

import socket
import struct
import time

# Wire constants from protocol/message.h.
PROTOCOL_VERSION = 2
MSG_JOIN = 8
MSG_REPLICATE = 40
MSG_CLIENT_GET = 21
MSG_CLIENT_DEL = 22
MSG_CLIENT_INFO = 24
MSG_CLIENT_REPLY = 30
MSG_INFO_REPLY = 32
MESSAGE_MAX = 4 * 1024 * 1024


def mp(obj):
    if obj is None:
        return b"\xc0"
    if obj is True or obj is False:
        return b"\xc3" if obj else b"\xc2"
    if isinstance(obj, int):
        if 0 <= obj < 0x80:
            return bytes([obj])
        if -32 <= obj < 0:
            return bytes([obj & 0xff])
        if obj < 0:
            return b"\xd3" + struct.pack(">q", obj)
        for tag, fmt in ((0xcc, ">B"), (0xcd, ">H"), (0xce, ">I"), (0xcf, ">Q")):
            if obj < 1 << (8 * struct.calcsize(fmt)):
                return bytes([tag]) + struct.pack(fmt, obj)
        raise ValueError(obj)
    if isinstance(obj, bytes):
        n = len(obj)
        head = b"\xc4" + struct.pack(">B", n) if n < 256 else (
            b"\xc5" + struct.pack(">H", n) if n < 65536 else b"\xc6" + struct.pack(">I", n))
        return head + obj
    if isinstance(obj, str):
        raw = obj.encode()
        n = len(raw)
        head = bytes([0xa0 | n]) if n < 32 else (b"\xd9" + struct.pack(">B", n) if n < 256 else
                                                 b"\xda" + struct.pack(">H", n))
        return head + raw
    if isinstance(obj, (list, tuple)):
        head = bytes([0x90 | len(obj)]) if len(obj) < 16 else b"\xdc" + struct.pack(">H", len(obj))
        return head + b"".join(mp(x) for x in obj)
    if isinstance(obj, dict):
        head = bytes([0x80 | len(obj)]) if len(obj) < 16 else b"\xde" + struct.pack(">H", len(obj))
        return head + b"".join(mp(k) + mp(v) for k, v in obj.items())
    raise TypeError(type(obj))


def unmp(data, pos=0):
    """Decodes one object at pos; returns (object, next pos). Raises on anything odd."""
    tag = data[pos]
    pos += 1

    def take(n):
        if pos + n > len(data):
            raise ValueError("truncated")
        return data[pos:pos + n]

    if tag < 0x80:
        return tag, pos
    if tag >= 0xe0:
        return tag - 0x100, pos
    if 0x80 <= tag <= 0x9f or tag in (0xdc, 0xdd, 0xde, 0xdf):
        is_map = tag <= 0x8f or tag in (0xde, 0xdf)
        if tag <= 0x9f:
            n = tag & 0x0f
        else:
            width = 2 if tag in (0xdc, 0xde) else 4
            n = int.from_bytes(take(width), "big")
            pos += width
        items = []
        for _ in range(2 * n if is_map else n):
            item, pos = unmp(data, pos)
            items.append(item)
        if is_map:
            return {items[i]: items[i + 1] for i in range(0, len(items), 2)}, pos
        return items, pos
    if 0xa0 <= tag <= 0xbf or tag in (0xd9, 0xda, 0xdb, 0xc4, 0xc5, 0xc6):
        if tag <= 0xbf:
            n = tag & 0x1f
        else:
            width = {0xd9: 1, 0xc4: 1, 0xda: 2, 0xc5: 2, 0xdb: 4, 0xc6: 4}[tag]
            n = int.from_bytes(take(width), "big")
            pos += width
        raw = take(n)
        pos += n
        return (raw if tag in (0xc4, 0xc5, 0xc6) else raw.decode("utf-8", "replace")), pos
    if tag in (0xc0, 0xc2, 0xc3):
        return {0xc0: None, 0xc2: False, 0xc3: True}[tag], pos
    if tag in (0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1, 0xd2, 0xd3):
        width = 1 << ((tag - 0xcc) % 4)
        value = int.from_bytes(take(width), "big", signed=tag >= 0xd0)
        return value, pos + width
    raise ValueError("msgpack tag 0x%02x" % tag)


ZMTP_SIGNATURE = b"\xff" + b"\0" * 8 + b"\x7f"


def zmtp_greeting(mechanism=b"NULL", major=3, minor=0):
    return ZMTP_SIGNATURE + bytes([major, minor]) + mechanism.ljust(20, b"\0") + b"\0" + b"\0" * 31


def zmtp_frame(body, more=False, command=False):
    flags = (1 if more else 0) | (4 if command else 0)
    if len(body) > 255:
        return bytes([flags | 2]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def zmtp_ready(socket_type=b"DEALER", identity=None):
    body = b"\x05READY" + b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type
    if identity is not None:
        body += b"\x08Identity" + struct.pack(">I", len(identity)) + identity
    return zmtp_frame(body, command=True)


class Zmtp:
    """One ZMTP 3.0 NULL connection behaving as a DEALER."""

    def __init__(self, port, timeout=3.0, identity=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(zmtp_greeting() + zmtp_ready(identity=identity))
        greeting = self.recv_exact(64)
        if greeting[0] != 0xff or greeting[9] != 0x7f or greeting[10] != 3 or greeting[12:16] != b"NULL":
            raise ValueError("odd greeting %r" % greeting)
        flags, body = self.recv_frame()
        if not flags & 4 or not body.startswith(b"\x05READY"):
            raise ValueError("no READY: %r" % body[:40])

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed by the peer")
            buf += chunk
        return buf

    def recv_frame(self):
        flags = self.recv_exact(1)[0]
        size = struct.unpack(">Q", self.recv_exact(8))[0] if flags & 2 else self.recv_exact(1)[0]
        return flags, self.recv_exact(size)

    def send(self, *frames):
        self.sock.sendall(b"".join(zmtp_frame(f, more=i + 1 < len(frames)) for i, f in enumerate(frames)))

    def recv_message(self):
        """The frames of the next message (commands skipped)."""
        frames = []
        while True:
            flags, body = self.recv_frame()
            if flags & 4:
                continue
            frames.append(body)
            if not flags & 1:
                return frames

    def call(self, request_id, message):
        """Sends one frame; returns the decoded reply with that request id, or raises."""
        self.send(message)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            frames = self.recv_message()
            reply, end = unmp(frames[-1])
            if end == len(frames[-1]) and isinstance(reply, list) and len(reply) == 6 and reply[2] == request_id:
                return reply
        raise TimeoutError("no reply to request %d" % request_id)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def request(msg_type, request_id, body, version=PROTOCOL_VERSION):
    return mp([version, msg_type, request_id, None, None, body])
