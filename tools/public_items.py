#!/usr/bin/env python3
"""Counts the public items of each workspace crate (a surface measure, not rustdoc's).

How it counts: starting at `src/lib.rs`, follow `pub mod x;` declarations (a plain `mod x;` or
`pub(crate) mod x;` is private and not followed; `#[cfg(test)]` modules are skipped). In each
reachable file it counts top-level `pub` declarations (`fn struct enum trait type const static
mod`, not `pub(crate)`), and separately `pub fn` inside `impl` blocks (methods, 4-space
indent). `pub use` re-exports add paths, not items, and are counted separately as `reexports`
(names inside the braces; nested braces are flattened). The surface a user sees is
roughly `items + reexports` (re-exports of private modules' items are the only way those
are public). Usage: `python3 tools/public_items.py [crates-dir]`.
"""
import os
import re
import sys

DECL = re.compile(r'^pub (?:unsafe )?(?:async )?(fn|struct|enum|trait|type|const|static|mod)\b')
METHOD = re.compile(r'^    pub (?:const )?(?:unsafe )?fn\b')
MOD = re.compile(r'^pub mod (\w+)\s*;')
INLINE_MOD = re.compile(r'^pub mod (\w+)\s*\{')
USE = re.compile(r'^pub use ([^;]+);', re.M | re.S)


def module_file(dirpath, name):
    for cand in (os.path.join(dirpath, name + '.rs'), os.path.join(dirpath, name, 'mod.rs')):
        if os.path.exists(cand):
            return cand, os.path.join(dirpath, name)
    return None, None


def count_file(path, subdir, acc):
    text = open(path, encoding='utf-8').read()
    lines = text.split('\n')
    skip_next = False
    for i, line in enumerate(lines):
        if line.startswith('#[cfg(test)]'):
            skip_next = True
            continue
        if skip_next:
            skip_next = False
            if line.startswith('mod ') or line.startswith('pub mod '):
                continue
        m = DECL.match(line)
        if m:
            acc['items'] += 1
        if METHOD.match(line):
            acc['methods'] += 1
        mm = MOD.match(line)
        if mm:
            f, d = module_file(subdir, mm.group(1))
            if f:
                count_file(f, d, acc)
    for m in USE.finditer(text):
        body = re.sub(r'\s+', '', m.group(1))
        inner = re.findall(r'\{([^{}]*)\}', body)
        if not inner:
            acc['reexports'] += 1
            continue
        names = [x for part in inner for x in part.split(',') if x and x != 'self']
        acc['reexports'] += len(names)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else 'crates'
    total = {'items': 0, 'methods': 0, 'reexports': 0}
    print(f"{'crate':<14}{'items':>7}{'methods':>9}{'reexports':>11}")
    for c in sorted(os.listdir(root)):
        lib = os.path.join(root, c, 'src', 'lib.rs')
        if not os.path.exists(lib):
            continue
        acc = {'items': 0, 'methods': 0, 'reexports': 0}
        count_file(lib, os.path.join(root, c, 'src'), acc)
        for k in total:
            total[k] += acc[k]
        print(f"{c:<14}{acc['items']:>7}{acc['methods']:>9}{acc['reexports']:>11}")
    print(f"{'total':<14}{total['items']:>7}{total['methods']:>9}{total['reexports']:>11}")


if __name__ == '__main__':
    main()
