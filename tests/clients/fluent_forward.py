#!/usr/bin/env python3
"""Sends log records over the Fluentd forward protocol.

Usage:
  fluent_forward.py message HOST PORT TAG COUNT [--nanos]
  fluent_forward.py raw HOST PORT TAG COUNT --mode forward|packed|compressed [--per-message N]
                    [--ack] [--shared-key KEY --hostname NAME [--expect-refusal]]

Record i is {"msg": "forward record <i>", "seq": i, "level": "error"|"info"} (every fifth one at
level error), under TAG.

`message` uses the `fluent-logger` client as an application would: one Message-mode event per
record (`FluentSender.emit_with_time`), with an EventTime (nanoseconds) when --nanos is given
and integer seconds otherwise. That client neither asks for acknowledgements nor knows the
shared-key handshake.

`raw` speaks the rest of the protocol as Fluent Bit's `forward` output does, with the
client's own msgpack and EventTime types: Forward mode (`[tag, [[time, record], ...],
options]`), PackedForward (`[tag, bin of concatenated [time, record], options]`) or
CompressedPackedForward (the same entries gzipped, option `compressed: "gzip"`), N records a
message (default 4), EventTime timestamps. With --ack every message carries a `chunk` id and
`size`, and the script waits for each `{"ack": chunk}` before going on. With --shared-key it
does the handshake first (HELO, PING, PONG) and checks the server's PONG digest; with
--expect-refusal it expects PONG to refuse, prints the reason and sends nothing.

Prints one JSON object per record sent: {"seq": i, "ts_ns": <the timestamp sent, in ns>}, and
for `raw` a last object {"acks": <acknowledgements checked>}. Exits non-zero on any error.
"""

import base64
import gzip
import hashlib
import json
import os
import socket
import sys
import time

import msgpack
from fluent import sender


def record(i):
    return {"msg": f"forward record {i}", "seq": i, "level": "error" if i % 5 == 0 else "info"}


def message_mode(host, port, tag, count, nanos):
    prefix, _, label = tag.partition(".")
    s = sender.FluentSender(prefix, host=host, port=port, nanosecond_precision=nanos, timeout=5.0)
    for i in range(count):
        ns = time.time_ns()
        if nanos:
            ts, ts_ns = sender.EventTime.from_unix_nano(ns), ns
        else:
            ts, ts_ns = ns // 10**9, ns // 10**9 * 10**9
        if not s.emit_with_time(label or None, ts, record(i)):
            print(f"emit failed: {s.last_error!r}", file=sys.stderr)
            return 1
        print(json.dumps({"seq": i, "ts_ns": ts_ns}))
    s.close()
    return 0


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        # raw=True: the server's nonce and salts are bytes, not text.
        self.unpacker = msgpack.Unpacker(raw=True)

    def send(self, obj):
        self.sock.sendall(msgpack.packb(obj, use_bin_type=True))

    def recv(self):
        while True:
            for obj in self.unpacker:
                return obj
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the server closed the connection")
            self.unpacker.feed(data)


def as_bytes(v):
    return v if isinstance(v, bytes) else str(v).encode()


def handshake(conn, shared_key, hostname, expect_refusal):
    helo = conn.recv()
    if not (isinstance(helo, list) and helo[0] == b"HELO"):
        raise ValueError(f"expected HELO, got {helo!r}")
    opts = {as_bytes(k).decode(): v for k, v in helo[1].items()}
    nonce = as_bytes(opts["nonce"])
    salt = os.urandom(16)
    key = shared_key.encode()
    digest = hashlib.sha512(salt + hostname.encode() + nonce + key).hexdigest()
    conn.send(["PING", hostname, salt, digest, "", ""])
    pong = conn.recv()
    if not (isinstance(pong, list) and pong[0] == b"PONG" and len(pong) == 5):
        raise ValueError(f"expected PONG, got {pong!r}")
    _, ok, reason, server_hostname, server_digest = pong
    if not ok:
        if expect_refusal:
            print(json.dumps({"refused": as_bytes(reason).decode()}))
            return False
        raise ValueError(f"handshake refused: {reason!r}")
    if expect_refusal:
        raise ValueError("the handshake was accepted with a wrong key")
    want = hashlib.sha512(salt + as_bytes(server_hostname) + nonce + key).hexdigest()
    if as_bytes(server_digest).decode() != want:
        raise ValueError("PONG digest does not prove the server knows the shared key")
    return True


def raw_mode(host, port, tag, count, args):
    mode = args[args.index("--mode") + 1]
    per = int(args[args.index("--per-message") + 1]) if "--per-message" in args else 4
    ack = "--ack" in args
    conn = Conn(host, port)
    if "--shared-key" in args:
        key = args[args.index("--shared-key") + 1]
        hostname = args[args.index("--hostname") + 1]
        if not handshake(conn, key, hostname, "--expect-refusal" in args):
            return 0
    acks = 0
    base = time.time_ns() - 5 * 10**9
    for start in range(0, count, per):
        seqs = range(start, min(start + per, count))
        entries = []
        for i in seqs:
            ts_ns = base + i * 1_000_001
            entries.append([sender.EventTime.from_unix_nano(ts_ns), record(i)])
        opts = {"size": len(entries)}
        if ack:
            opts["chunk"] = base64.b64encode(os.urandom(16)).decode()
        if mode == "forward":
            msg = [tag, entries, opts]
        else:
            packed = b"".join(msgpack.packb(e, use_bin_type=True) for e in entries)
            if mode == "compressed":
                packed = gzip.compress(packed)
                opts["compressed"] = "gzip"
            msg = [tag, packed, opts]
        conn.send(msg)
        if ack:
            answer = conn.recv()
            got = {as_bytes(k).decode(): as_bytes(v).decode() for k, v in answer.items()}
            if got != {"ack": opts["chunk"]}:
                raise ValueError(f"expected ack {opts['chunk']!r}, got {answer!r}")
            acks += 1
        for i in seqs:
            print(json.dumps({"seq": i, "ts_ns": base + i * 1_000_001}))
    conn.sock.close()
    print(json.dumps({"acks": acks}))
    return 0


def main() -> int:
    cmd, host, port, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    rest = sys.argv[6:]
    if cmd == "message":
        return message_mode(host, port, tag, count, "--nanos" in rest)
    return raw_mode(host, port, tag, count, rest)


if __name__ == "__main__":
    sys.exit(main())
