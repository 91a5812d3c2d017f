#!/usr/bin/python3
"""The host's structure, checked (docs/ARCHITECTURE.md, "Layers"):

1. every #include "..." in gateway/ names a header of its own folder, of a
   layer below it, the SDK or a protocol codec: none reaches up;
2. no circle between the host's files: the graph of which object file uses a
   symbol another defines (read from the built objects with nm, so calls,
   variables and tables all count) has no cycle;
3. no file in gateway/ is longer than 600 lines.

Usage: layers.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import subprocess
import sys
from pathlib import Path

# Each folder and the folders it may include from (besides itself, the SDK
# header and protocols/).  The build enforces the same with per-library
# include directories (gateway/CMakeLists.txt); this says which line is wrong.
LAYERS = {
    "common": [],
    "transport": ["common"],
    "device": ["transport", "common"],
    "bus": ["common"],
    "busclient": ["common"],
    "discovery": ["transport", "common"],
    "daemon": ["discovery", "busclient", "bus", "device", "transport", "common"],
    "plugin_host": ["device", "transport", "common"],
    "ctl": ["bus", "busclient", "common"],
    "web": ["busclient", "common"],
    "uplink": ["busclient", "common"],
    "tests": ["bus", "common"],
}
MAX_LINES = 600
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def headers_by_name(gateway, protocols):
    where = {}
    for folder in LAYERS:
        for h in (gateway / folder).glob("*.h"):
            where.setdefault(h.name, set()).add(folder)
    shared = {h.name for h in protocols.rglob("*.h")}
    return where, shared


def upward_includes(gateway, protocols):
    where, shared = headers_by_name(gateway, protocols)
    problems = []
    for folder, below in LAYERS.items():
        allowed = {folder, *below}
        for src in sorted((gateway / folder).glob("*.[ch]")):
            text = src.read_text(errors="replace")
            for m in INCLUDE.finditer(text):
                name = m.group(1)
                line = text.count("\n", 0, m.start()) + 1
                if name.startswith("accessgw/") or name in shared:
                    continue
                homes = where.get(Path(name).name)
                if not homes:
                    continue  # generated or relative (web_assets.c): the build checks those
                if not homes & allowed:
                    problems.append(f"{src.relative_to(gateway.parent)}:{line}: includes "
                                    f"{name} of {'/'.join(sorted(homes))}/, a layer above "
                                    f"or beside {folder}/")
    return problems


LIBRARIES = ("agwcommon", "agwtransport", "agwdevice", "agwbus", "agwbusclient",
             "agwdiscovery", "agwdaemon", "agwweb", "accessgwd", "accessgw-plugin-host",
             "accessgwctl", "accessgw-uplink", "accessgw-web")


def symbol_graph(gateway, build):
    """{object: set(objects whose symbols it uses)} for the host's objects (of the
    libraries as built now: a build tree keeps objects of files since moved)."""
    objects = sorted(p for lib in LIBRARIES
                     for p in (build / "gateway" / "CMakeFiles" / f"{lib}.dir").rglob("*.c.o")
                     if (gateway / str(p).split(f"{lib}.dir/")[1][: -len(".o")]).exists())
    names = {str(obj): re.sub(r".*/[a-z-]+\.dir/", "", str(obj))[: -len(".o")] for obj in objects}
    defined, used = {}, {name: set() for name in names.values()}
    if not objects:
        return {}
    # one nm for all objects: "file.o: ADDRESS TYPE NAME" (-A names the file)
    out = subprocess.run(["nm", "-A", "--defined-only", "-g", *names], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        where, _, rest = line.partition(".o:")
        where += ".o"
        parts = rest.split()
        if len(parts) == 3:
            defined[parts[2]] = names[where]
    out = subprocess.run(["nm", "-A", "-u", *names], capture_output=True, text=True,
                         check=True).stdout
    for line in out.splitlines():
        where, _, rest = line.partition(".o:")
        where += ".o"
        if rest.split():
            used[names[where]].add(rest.split()[-1])
    graph = {}
    for name, symbols in used.items():
        graph[name] = {defined[s] for s in symbols if s in defined and defined[s] != name}
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def long_files(gateway):
    return [f"{p.relative_to(gateway.parent)}: {n} lines (at most {MAX_LINES})"
            for p in sorted(gateway.rglob("*.[ch]"))
            if (n := p.read_text(errors="replace").count("\n")) > MAX_LINES]


def check_the_checks():
    """The checks catch what they are for (a checker that finds nothing proves nothing)."""
    import tempfile
    assert find_cycle({"a.c": {"b.c"}, "b.c": {"c.c"}, "c.c": {"a.c"}}) == ["a.c", "b.c", "c.c", "a.c"]
    assert find_cycle({"a.c": {"b.c"}, "b.c": set()}) is None
    with tempfile.TemporaryDirectory() as tmp:
        gateway, protocols = Path(tmp) / "gateway", Path(tmp) / "protocols"
        for folder in LAYERS:
            (gateway / folder).mkdir(parents=True)
        protocols.mkdir()
        (gateway / "daemon" / "daemon.h").write_text("")
        (gateway / "common" / "config.c").write_text('#include "config.h"\n#include "daemon.h"\n')
        (gateway / "common" / "config.h").write_text("")
        found = upward_includes(gateway, protocols)
        assert found and "common/config.c:2: includes daemon.h" in found[0], found


def main():
    check_the_checks()
    source, build = Path(sys.argv[1]), Path(sys.argv[2])
    gateway = source / "gateway"
    problems = upward_includes(gateway, source / "protocols")
    graph = symbol_graph(gateway, build)
    if not graph:
        problems.append(f"{build}: no object files of the host found (build first)")
    cycle = find_cycle(graph)
    if cycle:
        problems.append("a circle between files: " + " -> ".join(cycle))
    problems += long_files(gateway)
    for p in problems:
        print(p)
    print(f"{len(graph)} object files, {sum(len(v) for v in graph.values())} uses between them; "
          f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
