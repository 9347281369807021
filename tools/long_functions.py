#!/usr/bin/env python3
"""Lists library functions longer than a limit (default 120 lines), longest first.

A function starts at a line matching `fn name` (any visibility, any indent) outside
`#[cfg(test)]` modules of `crates/*/src/**/*.rs`, and ends at the line where its braces
balance again (strings and comments are not parsed: good enough for rustfmt-formatted code).
Usage: `python3 tools/long_functions.py [limit] [crates-dir]`.
"""
import os
import re
import sys

FN = re.compile(r'^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:unsafe\s+)?fn\s+(\w+)')


def scan(path, limit, out):
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    in_test = False
    while i < len(lines):
        line = lines[i]
        if line.startswith('#[cfg(test)]'):
            in_test = True
        m = FN.match(line)
        if m and not in_test:
            depth, started, j = 0, False, i
            while j < len(lines):
                depth += lines[j].count('{') - lines[j].count('}')
                if '{' in lines[j]:
                    started = True
                if started and depth <= 0:
                    break
                if not started and lines[j].rstrip().endswith(';'):
                    break
                j += 1
            n = j - i + 1
            if started and n > limit:
                out.append((n, path, i + 1, m.group(1)))
            i = j + 1 if started else i + 1
            continue
        i += 1


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 120
    root = sys.argv[2] if len(sys.argv) > 2 else 'crates'
    out = []
    for c in sorted(os.listdir(root)):
        src = os.path.join(root, c, 'src')
        for d, _, files in os.walk(src):
            for f in files:
                if f.endswith('.rs'):
                    scan(os.path.join(d, f), limit, out)
    for n, path, line, name in sorted(out, reverse=True):
        print(f"{n:>5}  {path}:{line}  {name}")
    print(f"{len(out)} functions over {limit} lines")


if __name__ == '__main__':
    main()
