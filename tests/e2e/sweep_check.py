#!/usr/bin/env python3
"""Checks one invocation of the bad-input sweep (test_bad_input_sweep.sh).

    sweep_check.py TOOL INPUTS STDERR [RECORDS]

INPUTS holds one line per file given to the tool: "PATH<TAB>KIND<TAB>bad|any"
(as mutate_captures writes them; good files are "good"). Checks that

  * every line on stderr is "TOOL: PATH: why", PATH being one of the inputs
    and why not empty: a message always names the file and what is wrong;
  * every "bad" input is named on stderr;
  * no "good" input is named on stderr;
  * with RECORDS (cap-info's --records output): every input is accounted
    for, by a record or a message.

Prints one line per problem (at most 20) and a summary; exits 1 on any problem.
"""
import sys


def main():
    tool, inputs_path, stderr_path = sys.argv[1:4]
    records_path = sys.argv[4] if len(sys.argv) > 4 else None
    kinds = {}
    with open(inputs_path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            path, kind, verdict = line.rstrip("\n").split("\t")
            kinds[path] = (kind, verdict)
    # Longest first: a path that is a prefix of another must not take its messages.
    by_length = sorted(kinds, key=len, reverse=True)
    named = {}
    problems = []
    prefix = tool + ": "
    with open(stderr_path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.startswith(prefix):
                problems.append("a message without the tool's name: " + line[:200])
                continue
            rest = line[len(prefix):]
            path = next((p for p in by_length if rest.startswith(p + ": ")), None)
            if path is None:
                problems.append("a message naming no input: " + line[:200])
                continue
            why = rest[len(path) + 2:].strip()
            if not why:
                problems.append("a message that does not say what is wrong: " + line[:200])
            named.setdefault(path, why)
    described = set()
    if records_path:
        with open(records_path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                for field in line.rstrip("\n").split("\t"):
                    if field.startswith("file="):
                        described.add(field[5:])
    bad = [p for p, (_, v) in kinds.items() if v == "bad"]
    for path in bad:
        if path not in named:
            problems.append("not reported: %s (%s)" % (path, kinds[path][0]))
    for path, (kind, verdict) in kinds.items():
        if verdict == "good" and path in named:
            problems.append("a good file reported: %s: %s" % (path, named[path]))
        if records_path and path not in named and path not in described:
            problems.append("neither described nor reported: %s (%s)" % (path, kind))
    for p in problems[:20]:
        print("  " + p)
    if len(problems) > 20:
        print("  ... and %d more" % (len(problems) - 20))
    print("%s: %d inputs, %d certainly bad, %d named in messages, %d problems"
          % (tool, len(kinds), len(bad), len(named), len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
