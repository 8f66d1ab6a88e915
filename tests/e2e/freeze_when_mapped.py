#!/usr/bin/env python3
"""Runs a command, freezes it once it has files mapped, changes them, lets it go on.

usage: freeze_when_mapped.py STATUS TEXT COUNT ACTION -- COMMAND [ARG]...

Starts COMMAND (with this script's standard input, output and error) and
polls /proc/PID/maps as fast as it can; once COUNT mappings name a path
holding TEXT it sends SIGSTOP, runs ACTION with bash, and sends SIGCONT.
Writes "frozen" to the file STATUS, or "missed" when COMMAND ended (or 20
seconds passed) first, in which case ACTION runs after it. Exits with
COMMAND's exit status. The fault tests use it to change an archive file
while a tool walks it: a walk lasts milliseconds, too short for a shell
loop to catch.
"""
import os
import signal
import subprocess
import sys
import time

status, text, count, action = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
assert sys.argv[5] == "--"
proc = subprocess.Popen(sys.argv[6:])
maps = f"/proc/{proc.pid}/maps"
deadline = time.monotonic() + 20
frozen = False
while proc.poll() is None and time.monotonic() < deadline:
    try:
        with open(maps) as f:
            found = sum(1 for line in f if text in line)
    except OSError:
        break
    if found >= count:
        os.kill(proc.pid, signal.SIGSTOP)
        frozen = True
        break
if not frozen:
    proc.wait()
subprocess.run(["bash", "-c", action], check=True)
if frozen:
    os.kill(proc.pid, signal.SIGCONT)
with open(status, "w") as f:
    f.write("frozen\n" if frozen else "missed\n")
sys.exit(proc.wait())
