#!/usr/bin/python3
"""The docs a newcomer reads, checked against what they describe:

1. README.md is short (at most 120 lines) and begins with the two commands;
   docs/ARCHITECTURE.md is there and at most 150 lines;
2. every relative link in README.md and docs/*.md reaches a file;
3. docs/EVENTS.md and docs/schemas/events/ agree: every schema's topic is in the
   catalogue, every topic the catalogue lists has a schema, and every field a schema
   defines is named in its class's section.

Usage: docs.py SOURCE_DIR
"""
import json
import re
import sys
from pathlib import Path

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
TOPIC = re.compile(r"`([a-z][a-z0-9-]*)/<[a-z]+>/([a-z][a-z0-9_-]*)`")


def readme_and_architecture(src):
    problems = []
    lines = (src / "README.md").read_text().splitlines()
    if len(lines) > 120:
        problems.append(f"README.md: {len(lines)} lines (at most 120)")
    first_block = "\n".join(lines[: 12])
    if "./scripts/demo.sh\n./scripts/test.sh" not in first_block:
        problems.append("README.md does not begin with ./scripts/demo.sh and ./scripts/test.sh")
    arch = src / "docs" / "ARCHITECTURE.md"
    if not arch.exists():
        problems.append("docs/ARCHITECTURE.md is missing")
    elif len(arch.read_text().splitlines()) > 150:
        problems.append("docs/ARCHITECTURE.md: over 150 lines")
    return problems


def broken_links(src):
    problems = []
    for page in [src / "README.md", *sorted((src / "docs").glob("*.md"))]:
        for n, line in enumerate(page.read_text().splitlines(), 1):
            for target in LINK.findall(line):
                if re.match(r"[a-z]+:", target):
                    continue  # http:, mailto:
                if not (page.parent / target).exists():
                    problems.append(f"{page.relative_to(src)}:{n}: link to {target}: no such file")
    return problems


def sections(text):
    """{class: the text of its '## class' section}"""
    out, current = {}, None
    for line in text.splitlines():
        m = re.match(r"## ([a-z][a-z0-9-]*)\b", line)
        if m:
            current = m.group(1)
            out.setdefault(current, "")
        elif current:
            out[current] += line + "\n"
    return out


def events_against_schemas(src):
    problems = []
    text = (src / "docs" / "EVENTS.md").read_text()
    # accessgw/<gateway>/... are the uplink's MQTT topics, not events of the bus
    listed = {f"{c}.{e}" for c, e in TOPIC.findall(text) if c != "accessgw"}
    schemas = {p.stem: p for p in (src / "docs" / "schemas" / "events").glob("*.json")}
    for name in sorted(set(schemas) - listed):
        cls, event = name.split(".", 1)
        problems.append(f"docs/EVENTS.md: no `{cls}/<dev>/{event}` for schemas/events/{name}.json")
    for name in sorted(listed - set(schemas)):
        problems.append(f"docs/EVENTS.md lists {name.replace('.', '/<dev>/', 1)}, which has no schema")
    by_class = sections(text)
    for name, path in sorted(schemas.items()):
        cls = name.split(".", 1)[0]
        section = by_class.get(cls, "")
        for field in json.loads(path.read_text()).get("properties", {}):
            if f"`{field}`" not in section and field != "location":
                problems.append(f"docs/EVENTS.md, section {cls}: field `{field}` of {name} "
                                "is not described")
    return problems


def main():
    src = Path(sys.argv[1])
    problems = readme_and_architecture(src) + broken_links(src) + events_against_schemas(src)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
