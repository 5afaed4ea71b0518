# SPDX-License-Identifier: MIT
"""Read a manual page as scdoc typesets it (roff) for tests/pkg/man.sh.

Usage: python3 manpage.py PAGE text            the page as plain text
       python3 manpage.py PAGE terms SECTION   definition terms of SECTION,
                                               one per line
       python3 manpage.py PAGE entry SECTION WORD
                                               term and text of every entry
                                               of SECTION whose term starts
                                               with WORD
"""
import re
import sys


def plain(line):
    line = line.replace("\\-", "-").replace("\\&", "").replace("\\(em", "-")
    line = re.sub(r"\\f[BIRP]", "", line)
    return line.replace("\\e", "\\")


def sections(path):
    """{SECTION: [(term, [text lines])]} and the plain text of the page."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, text, sec = {}, [], ""
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".SH ") or line.startswith(".SS "):
            name = plain(line[4:]).strip('"')
            if line.startswith(".SH "):
                sec = name
            out.setdefault(sec, [])
            text.append(name)
        elif i + 1 < len(lines) and lines[i + 1] == ".RS 4" and not line.startswith("."):
            term, body, depth = plain(line), [], 0
            i += 2
            while i < len(lines) and not (lines[i] == ".RE" and depth == 0):
                if lines[i].startswith(".RS"):
                    depth += 1
                elif lines[i] == ".RE":
                    depth -= 1
                elif not lines[i].startswith("."):
                    body.append(plain(lines[i]))
                i += 1
            out.setdefault(sec, []).append((term, body))
            text.append(term)
            text.extend(body)
        elif not line.startswith("."):
            text.append(plain(line))
        i += 1
    return out, text


def main():
    page, what = sys.argv[1], sys.argv[2]
    secs, text = sections(page)
    if what == "text":
        print("\n".join(text))
    elif what == "terms":
        for term, _ in secs.get(sys.argv[3], []):
            print(term)
    elif what == "entry":
        word = sys.argv[4]
        for term, body in secs.get(sys.argv[3], []):
            if term == word or term.startswith(word + " "):
                print(term)
                print("\n".join(body))


if __name__ == "__main__":
    main()
