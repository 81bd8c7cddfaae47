#!/usr/bin/env python3
"""Builds a fuzz target's seed corpus from the files in this checkout (nothing is committed).

    seeds.py TARGET OUTDIR            write the seeds into OUTDIR (one file each)
    seeds.py TARGET --replay BINARY   write them to a temporary folder and run BINARY on it once
                                      (libFuzzer with -runs=0, or the GCC build's replay main)

Sources: JSON/YAML/Lua/Tengo files in the repository, raw string literals in the C++ tests
(codec_test.cpp's provider events become SSE and NDJSON streams, one per test), and the Tengo
snippets tengo_test.cpp runs.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {"build", ".git", "third_party_data", "node_modules"}

RAW = re.compile(r'R"([^()\\\s]{0,16})\((.*?)\)\1"', re.S)
CSTR = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def repo_files(*suffixes):
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for f in sorted(filenames):
            if f.endswith(suffixes):
                yield Path(dirpath) / f


def read(p):
    return p.read_bytes()


def raw_literals(path):
    return [m.group(2) for m in RAW.finditer(path.read_text(errors="replace"))]


def tests_by_block(path):
    """The raw literals of each TEST(...) block of a C++ test file."""
    text = path.read_text(errors="replace")
    return [[m.group(2) for m in RAW.finditer(block)] for block in re.split(r"\nTEST\(", text)]


def is_json(s):
    try:
        json.loads(s)
        return True
    except ValueError:
        return False


def json_literals():
    out = []
    for p in repo_files(".cpp"):
        if "/tests/" in str(p):
            out += [s for s in raw_literals(p) if s.lstrip()[:1] in "{[" and is_json(s)]
    return out


def codec_streams():
    """Lists of provider events, one list per codec test."""
    streams = []
    for block in tests_by_block(ROOT / "tests/llm/codec_test.cpp"):
        events = [s for s in block if s.lstrip()[:1] == "{" and is_json(s)]
        if events:
            streams.append(events)
    return streams


def sse_stream(events):
    out = ""
    for e in events:
        name = json.loads(e).get("type") if e.lstrip().startswith("{") else None
        if isinstance(name, str) and name:
            out += "event: " + name + "\n"
        out += "data: " + e.replace("\n", "\ndata: ") + "\n\n"
    return out + "data: [DONE]\n\n"


def c_string(body):
    return bytes(body, "utf-8").decode("unicode_escape").encode("latin-1", "replace")


def tengo_snippets():
    text = (ROOT / "tests/engines/tengo/tengo_test.cpp").read_text(errors="replace")
    out = []
    for m in re.finditer(r'\brun\(\s*((?:"(?:[^"\\\n]|\\.)*"\s*)+)', text):
        out.append(b"".join(c_string(s) for s in CSTR.findall(m.group(1))))
    out += [s.encode() for s in raw_literals(ROOT / "tests/engines/tengo/tengo_test.cpp")]
    return out


MANIFEST = """name: all-keys
version: 1.0.0
description: every key a manifest may have
engine: lua
entry: main.lua
model: openai/gpt-4o-mini
author: a
tags: [x, y]
params:
  n: {type: integer, required: true, description: count}
  s: {type: string, enum: [a, b], default: a}
  f: {type: number, default: 1.5}
  b: {type: boolean}
  l: {type: array}
  o: {type: object}
permissions:
  net: [example.com]
  read: [data]
  write: [out]
  env: [HOME]
  run: false
limits: {timeout: 10, memory_mb: 64, instructions: 1000000}
config: {k: v}
outputs: [a]
tools: [t]
agents: [a]
"""


def seeds(target):
    if target == "json":
        out = [read(p) for p in repo_files(".json")]
        for p in repo_files(".jsonl"):
            out.append(read(p))
            out += read(p).splitlines()
        return out + [s.encode() for s in json_literals()]
    if target == "yaml":
        return [read(p) for p in repo_files(".yaml", ".yml")] + [MANIFEST.encode()] + [
            s.encode() for s in json_literals()[:200]]
    if target == "manifest":
        return [read(p) for p in repo_files("spell.yaml")] + [MANIFEST.encode()]
    if target in ("sse_codecs", "net_sse"):
        out = [sse_stream(events).encode() for events in codec_streams()]
        return [b"\x00\x07" + s for s in out] if target == "net_sse" else out
    if target in ("ndjson_codecs", "net_ndjson"):
        out = ["\n".join(events).encode() + b"\n" for events in codec_streams()]
        out += [read(p) for p in repo_files(".jsonl")]
        return [b"\x05" + s for s in out] if target == "net_ndjson" else out
    if target in ("tengo", "tengo_parser"):
        return [read(p) for p in repo_files(".tengo")] + tengo_snippets()
    if target == "lua":
        return [read(p) for p in repo_files(".lua")]
    sys.exit("seeds.py: unknown target " + target)


def write(target, outdir):
    outdir.mkdir(parents=True, exist_ok=True)
    n = 0
    for s in seeds(target):
        if not s:
            continue
        (outdir / hashlib.sha1(s).hexdigest()).write_bytes(s)
        n += 1
    return n


def main():
    if len(sys.argv) == 4 and sys.argv[2] == "--replay":
        with tempfile.TemporaryDirectory(prefix="llmspell-seeds-") as d:
            n = write(sys.argv[1], Path(d))
            if n == 0:
                sys.exit("seeds.py: no seeds for " + sys.argv[1])
            # -runs=0: libFuzzer executes the corpus once and exits (the replay main ignores it).
            # Spells print: their output is not the test's.
            binary = os.path.abspath(sys.argv[3])
            r = subprocess.run([binary, "-runs=0", d], stdout=subprocess.DEVNULL, cwd=d)
            sys.exit(r.returncode)
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(write(sys.argv[1], Path(sys.argv[2])), "seeds")


if __name__ == "__main__":
    main()
