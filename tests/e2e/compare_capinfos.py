#!/usr/bin/env python3
"""Compares cap-info records with capinfos's table, file by file.

usage: compare_capinfos.py CAPINFOS_TSV CAPINFO_RECORDS CORPUS_DIR

CAPINFOS_TSV is `capinfos -T -r -M -S -c -d -a -e FILE...` (file, packets,
data size, earliest, latest); CAPINFO_RECORDS is cap-info's records for the
same files. Every file capinfos read must agree exactly on packets, data
size, earliest and latest time (as seconds since the epoch with the file's
digits). Prints one line per disagreement and a summary; exits 1 on any.
"""
import calendar
import os
import re
import sys


def unescape(v):
    return re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}.get(m.group(1), m.group(0)), v)


def parse_record(line):
    rec = {}
    for part in line.rstrip("\n").split("\t"):
        k, _, v = part.partition("=")
        rec[k] = unescape(v)
    return rec


def iso_to_epoch(iso):
    """'2009-02-17T20:20:22.123456Z' -> '1234902022.123456' (digits kept)."""
    m = re.fullmatch(r"(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z", iso)
    if not m:
        raise ValueError(iso)
    y, mo, d, h, mi, s, frac = m.groups()
    sec = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s)))
    return f"{sec}.{frac}" if frac else str(sec)


def pcap_extremes(path):
    """Earliest and latest time of a classic pcap file by the format's own
    rule (seconds are unsigned 32 bits), walked independently of both tools."""
    import struct
    with open(path, "rb") as f:
        data = f.read()
    magic = data[:4]
    orders = {b"\xd4\xc3\xb2\xa1": ("<", 6), b"\xa1\xb2\xc3\xd4": (">", 6),
              b"\x4d\x3c\xb2\xa1": ("<", 9), b"\xa1\xb2\x3c\x4d": (">", 9)}
    if magic not in orders:
        return ("n/a", "n/a")
    order, digits = orders[magic]
    times, at = [], 24
    while at + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(order + "IIII", data[at:at + 16])
        times.append((sec, frac))
        at += 16 + caplen
    fmt = lambda t: f"{t[0]}.{t[1]:0{digits}d}"
    return (fmt(min(times)), fmt(max(times))) if times else ("n/a", "n/a")


def straddles_2038(path):
    first, last = pcap_extremes(path)
    return first != "n/a" and int(first.split(".")[0]) < 2**31 <= int(last.split(".")[0])


def main():
    capinfos_path, ours_path, corpus = sys.argv[1], sys.argv[2], sys.argv[3]
    ours = {}
    with open(ours_path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            rec = parse_record(line)
            ours[os.path.basename(rec["file"])] = rec
    compared = problems = odd = 0
    with open(capinfos_path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            name, packets, data, first, last = line.rstrip("\n").split("\t")
            name = os.path.basename(name)
            rec = ours.get(name)
            if rec is None:
                print(f"MISSING: {name}: capinfos read it, cap-info gave no record")
                problems += 1
                continue
            compared += 1
            checks = [("packets", packets, rec.get("packets")), ("data_bytes", data, rec.get("data_bytes"))]
            # capinfos prints an out-of-range sub-second field as it finds it
            # (timestamp_invalid_*: ".1000000", ".-2147483648"); we carry it
            # into the seconds, so those times cannot be compared as text.
            def valid_time(t, rec=rec):
                frac = t.partition(".")[2]
                digits = {"us": 6, "ns": 9}.get(rec.get("precision"), len(frac))
                return t != "n/a" and frac.isdigit() and len(frac) == digits
            times = (("first", first), ("last", last))
            if rec.get("odd_timestamps"):
                # Out-of-range sub-second fields: capinfos wraps them in 32
                # bits, we carry them into the seconds; the times differ by design.
                odd += 1
                print(f"note: {name}: {rec['odd_timestamps']} out-of-range sub-second fields; times not compared")
                times = ()
            elif straddles_2038(os.path.join(corpus, name)):
                # capinfos orders seconds >= 2^31 as negative but prints them
                # unsigned, so its earliest and latest are wrong for a file
                # with times on both sides. libpcap reads them unsigned, as
                # the pcap format says: compare with an independent walk of
                # the file by that rule.
                odd += 1
                first, last = pcap_extremes(os.path.join(corpus, name))
                print(f"note: {name}: times on both sides of 2^31 s; compared with the format's rule: {first} {last}")
                times = (("first", first), ("last", last))
            for key, theirs in times:
                if theirs == "n/a":
                    checks.append((key, "(absent)", "(absent)" if key not in rec else rec[key]))
                elif not valid_time(theirs):
                    odd += 1
                    print(f"note: {name}: capinfos prints an invalid {key} time {theirs}; ours {rec.get(key)}")
                else:
                    checks.append((key, theirs, iso_to_epoch(rec[key]) if key in rec else "(absent)"))
            for key, want, got in checks:
                if want != got:
                    print(f"DIFFER: {name}: {key}: capinfos {want}, cap-info {got}")
                    problems += 1
    print(f"{compared} files compared with capinfos, {problems} disagreements, {odd} files with capinfos time quirks noted")
    sys.exit(1 if problems or compared == 0 else 0)


if __name__ == "__main__":
    main()
