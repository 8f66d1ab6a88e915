#!/usr/bin/env python3
"""Prints every whole packet of classic pcap files, one line each, sorted.

usage: pcap_packets.py FILE...

A line is the packet's time, captured and wire lengths and the SHA-1 of its
bytes, so two sets of captures can be compared packet for packet,
whatever their order, header or file boundaries. A record cut short at
the end of a file is left out, as tcpdump leaves it. Independent of the
reader under test: a few lines of struct, after the pcap format itself.
"""
import hashlib
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    order = {b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">"}.get(magic)
    if order is None:
        sys.exit(f"{path}: not a classic pcap file")
    at = 24
    while at + 16 <= len(data):
        sec, frac, caplen, length = struct.unpack_from(order + "IIII", data, at)
        if at + 16 + caplen > len(data):
            break
        body = data[at + 16:at + 16 + caplen]
        yield f"{sec}.{frac:09d} {caplen} {length} {hashlib.sha1(body).hexdigest()}"
        at += 16 + caplen


lines = []
for p in sys.argv[1:]:
    lines.extend(packets(p))
lines.sort()
sys.stdout.write("".join(line + "\n" for line in lines))
