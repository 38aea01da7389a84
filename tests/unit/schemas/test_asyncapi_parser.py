"""schemas/asyncapi.yaml passes the official AsyncAPI parser (@asyncapi/parser, npm; installed by
`make install` into tools/asyncapi) with no error and no warning."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
TOOL = REPO / "tools" / "asyncapi"


def _run(document: Path) -> subprocess.CompletedProcess:
    node = shutil.which("node")
    if node is None or not (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI parser is not installed: run `make install` (needs node and npm)")
    return subprocess.run([node, str(TOOL / "validate.mjs"), str(document)], capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_asyncapi_document_has_no_error_and_no_warning():
    result = _run(REPO / "schemas" / "asyncapi.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "errors=0 warnings=0 document=parsed" in result.stdout


def test_the_check_fails_on_a_broken_document(tmp_path):
    broken = tmp_path / "asyncapi.yaml"
    text = (REPO / "schemas" / "asyncapi.yaml").read_text(encoding="utf-8")
    broken.write_text(text.replace("asyncapi: 3.0.0", "asyncapi: 3.0.0\nnot_a_field: 1", 1), encoding="utf-8")
    result = _run(broken)
    assert result.returncode == 1
    assert "errors=0 warnings=0" not in result.stdout
