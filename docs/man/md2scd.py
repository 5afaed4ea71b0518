#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Turn one of docs/*.md (written as a manual page: "# NAME(N)", "## NAME",
definition lists, pipe tables, code blocks) into scdoc source, so the
Markdown manual stays the one text and scdoc typesets it.

Usage: md2scd.py IN.md > OUT.scd
"""
import re
import sys

INLINE = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_(?!\w)")


def esc(text):
    """Escape what scdoc would interpret in plain text."""
    return re.sub(r"([\\*_])", r"\\\1", text)


def inline(text):
    """Markdown spans to scdoc: code and strong are bold, emphasis underlined."""
    out, pos = [], 0
    for m in INLINE.finditer(text):
        if m.group(4) is not None and m.start() > 0 and text[m.start() - 1].isalnum():
            continue  # an underscore inside a word (api_key_file)
        out.append(esc(text[pos:m.start()]))
        code, strong, em, em2 = m.groups()
        if code is not None or strong is not None:
            out.append("*" + esc(code if code is not None else strong) + "*")
        else:
            out.append("_" + esc(em if em is not None else em2) + "_")
        pos = m.end()
    out.append(esc(text[pos:]))
    line = "".join(out)
    # A line that starts like scdoc syntax (comment, numbered list) is text.
    if re.match(r"^(; |\. )", line):
        line = "\\" + line
    return line


def cells(row):
    """The cells of a pipe-table row; a | inside `code` is text."""
    out, cur, code = [], "", False
    for ch in row.strip()[1:]:
        if ch == "`":
            code = not code
        if ch == "|" and not code:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def convert(lines):
    out = []
    i = 0
    head = lines[0]
    m = re.match(r"#\s+(\S+?)\((\d)\)", head)
    if not m:
        sys.exit("md2scd: first line is not '# NAME(SECTION)'")
    out.append("%s(%s)" % (m.group(1).lower(), m.group(2)))
    i = 1
    prev_blank = True
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            out.append("```")
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                out.append(lines[i].replace("\\", "\\\\"))
                i += 1
            out.append("```")
            i += 1
            prev_blank = False
            continue
        if prev_blank and line.startswith("    ") and line.strip():
            out.append("```")
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                if not lines[i].strip() and not (i + 1 < len(lines) and lines[i + 1].startswith("    ")):
                    break
                out.append(lines[i][4:].replace("\\", "\\\\"))
                i += 1
            out.append("```")
            prev_blank = False
            continue
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|?\s*$", lines[i + 1]):
            header = cells(line)
            out.append("[[ " + "*" + inline(header[0]) + "*")
            for n, c in enumerate(header[1:]):
                out.append((":< " if n == len(header) - 2 else ":[ ") + "*" + inline(c) + "*")
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                row = cells(lines[i])
                out.append("|  " + inline(row[0]))
                for c in row[1:]:
                    out.append(":  " + inline(c))
                i += 1
            prev_blank = False
            continue
        if out and out[-2:] == ["# NAME", ""] and line.strip():
            # whatis(1) and lintian want "name - summary" with a plain dash.
            line = line.replace(" — ", " - ").replace(" -- ", " - ")
        hm = re.match(r"^(#{2,3})\s+(.*)$", line)
        if hm:
            out.append("#" * (len(hm.group(1)) - 1) + " " + hm.group(2).upper())
            i += 1
            prev_blank = False
            continue
        if line.startswith(": "):
            # Definition: the term is the line before, the text indented.
            out.append("\t" + inline(line[2:]))
            i += 1
            in_item = False
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item = re.match(r"^  [-*] (.*)$", lines[i])
                if item:
                    if not in_item:
                        out.append("")
                    out.append("\t- " + inline(item.group(1)))
                    in_item = True
                else:
                    out.append("\t" + ("  " if in_item else "") + inline(lines[i].strip()))
                i += 1
            prev_blank = False
            continue
        if re.match(r"^\s*[-*] ", line) and not line.startswith("  ") or \
                (line.startswith("  ") and re.match(r"^\s*[-*] ", line) and out and
                 re.match(r"^\t*(- |  )", out[-1])):
            # Bullets; two spaces of Markdown indent are one tab of scdoc.
            while i < len(lines) and lines[i].strip():
                ind = len(lines[i]) - len(lines[i].lstrip(" "))
                item = re.match(r"^\s*[-*] (.*)$", lines[i])
                if item:
                    depth = ind // 2
                    out.append("\t" * depth + "- " + inline(item.group(1)))
                elif ind >= 2 and out:
                    out.append("\t" * depth + "  " + inline(lines[i].strip()))
                else:
                    break
                i += 1
            prev_blank = False
            continue
        out.append(inline(line.rstrip()))
        prev_blank = not line.strip()
        i += 1
    return out


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = f.read().split("\n")
    sys.stdout.write("\n".join(convert(lines)).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
