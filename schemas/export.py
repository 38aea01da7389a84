"""Export the contracts: one JSON Schema per event type and one AsyncAPI 3.0.0 document.

    python -m schemas.export           # (re)write schemas/jsonschema/*.json and schemas/asyncapi.yaml
    python -m schemas.export --check   # exit 1, listing stale, missing and extra files
    python -m schemas.export --release # copy the current JSON Schemas into schemas/released/

Every mode first runs the compatibility gate (schemas/compatibility.py): a released `vN` that
changed incompatibly since its release fails the run, naming the rule it broke. Releasing is
refused while the gate fails, so `released/` only ever moves forward compatibly.

The pydantic models are the source of truth; the exported files are generated and checked in so
that other teams and tools can read the contracts without Python. CI runs `--check` (and the unit
tests compare the same way), so a contract change without re-exporting fails the build.

What is exported is built by schemas/json_schemas.py and schemas/asyncapi_document.py; this
module renders the files (JSON: sorted keys, 2-space indent, trailing newline; YAML: a fixed
layout without anchors) and writes or checks them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from schemas.asyncapi_document import asyncapi_document, dump_yaml
from schemas.compatibility import BreakingChange, breaking_changes
from schemas.json_schemas import dump_json, json_schemas

SCHEMAS_DIR = Path(__file__).resolve().parent
JSONSCHEMA_DIR = "jsonschema"
ASYNCAPI_FILE = "asyncapi.yaml"
RELEASED_DIR = "released"


def render() -> dict[str, str]:
    """Every exported file, path relative to `schemas/` -> exact content."""
    files = {f"{JSONSCHEMA_DIR}/{name}.json": dump_json(schema) for name, schema in json_schemas().items()}
    files[ASYNCAPI_FILE] = dump_yaml(asyncapi_document())
    return files


def _existing(root: Path) -> set[str]:
    found = {f"{JSONSCHEMA_DIR}/{p.name}" for p in (root / JSONSCHEMA_DIR).glob("*") if p.is_file()}
    if (root / ASYNCAPI_FILE).is_file():
        found.add(ASYNCAPI_FILE)
    return found


def check(root: Path = SCHEMAS_DIR) -> list[str]:
    """What is wrong with the checked-in files under `root`: `stale: ...`, `missing: ...`, `extra: ...`."""
    expected = render()
    existing = _existing(root)
    problems = []
    for rel, content in sorted(expected.items()):
        if rel not in existing:
            problems.append(f"missing: {root.name}/{rel}")
        elif (root / rel).read_text(encoding="utf-8") != content:
            problems.append(f"stale: {root.name}/{rel}")
    problems += [f"extra: {root.name}/{rel}" for rel in sorted(existing - expected.keys())]
    return problems


def write(root: Path = SCHEMAS_DIR) -> list[str]:
    """Write every file that differs and delete extra ones; return what changed."""
    expected = render()
    changed = []
    (root / JSONSCHEMA_DIR).mkdir(parents=True, exist_ok=True)
    for rel, content in sorted(expected.items()):
        path = root / rel
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8", newline="\n")
            changed.append(f"wrote: {root.name}/{rel}")
    for rel in sorted(_existing(root) - expected.keys()):
        (root / rel).unlink()
        changed.append(f"removed: {root.name}/{rel}")
    return changed


def released(root: Path = SCHEMAS_DIR) -> dict[str, dict]:
    """The released JSON Schemas under `root/released/`, by type name."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted((root / RELEASED_DIR).glob("*.json"))}


def gate(root: Path = SCHEMAS_DIR) -> list[BreakingChange]:
    """Every incompatible change of a released schema under `root` (empty: the gate passes)."""
    return breaking_changes(released(root), json_schemas())


def release(root: Path = SCHEMAS_DIR) -> list[str]:
    """Copy every current JSON Schema into `root/released/`; returns what changed."""
    target = root / RELEASED_DIR
    target.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, schema in json_schemas().items():
        path, content = target / f"{name}.json", dump_json(schema)
        if not path.is_file() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8", newline="\n")
            changed.append(f"released: {root.name}/{RELEASED_DIR}/{name}.json")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m schemas.export", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="do not write; exit 1 if any exported file is stale, missing or extra")
    mode.add_argument("--release", action="store_true", help="copy the current JSON Schemas into schemas/released/")
    args = parser.parse_args(argv)
    broken = gate(SCHEMAS_DIR)
    if broken:
        print("a released contract changed incompatibly (make a new vN type instead):", file=sys.stderr)
        for change in broken:
            print(f"  {change}", file=sys.stderr)
        return 1
    if args.release:
        changed = release()
        for c in changed:
            print(c)
        print(f"{len(changed)} schema(s) released")
        return 0
    if args.check:
        problems = check()
        if problems:
            print("exported schemas are out of date (run `python -m schemas.export`):", file=sys.stderr)
            for p in problems:
                print(f"  {p}", file=sys.stderr)
            return 1
        print(f"exported schemas are up to date ({len(render())} files)")
        return 0
    changed = write()
    for c in changed:
        print(c)
    print(f"{len(changed)} file(s) changed, {len(render())} exported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
