"""The layering rules of docs/architecture.md, checked by parsing imports (no module is imported).

* Domain modules (`domain.py`, `decision.py`, `clock.py`, `state_machine.py`, or anything in a
  `domain/` package) anywhere under `services/` import no infrastructure: no Kafka, Faust,
  database, web framework, logging library or HTTP client.
* The consent policy's rules (`consent_policy/decision.py`, `state.py`, `records.py`, `holds.py`, `freshness.py`) are pure
  in the same way; its `store.py` is the adapter that may import SQLAlchemy.
* No module in `services/<svc>/` imports another service, except the shared library
  `services.common`. The published packages beside `services/` (`schemas`, `consent_policy`) are
  not services, so importing them is always allowed; they import no service themselves, and
  `schemas` imports nothing else of TAC.
* A `service_layer/` module imports no web framework and no stream client: only entrypoints do.
* The web interface imports no service and not the consent policy: it asks the APIs.

Because the files are parsed rather than imported, the rules hold before a service exists and keep
holding as services are added; each file gets its own test id.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "services"

DOMAIN_FILE_NAMES = {"domain.py", "decision.py", "clock.py", "state_machine.py", "caseload.py"}
INFRASTRUCTURE = {"aiokafka", "faust", "sqlalchemy", "fastapi", "starlette", "structlog", "alembic", "httpx"}
PUBLISHED = {"services.common"}
POLICY = REPO / "consent_policy"
PURE_POLICY_MODULES = [POLICY / name for name in ("decision.py", "state.py", "records.py", "holds.py", "freshness.py")]


@dataclass(frozen=True)
class Import:
    module: str  # absolute dotted name of what is imported (module, or module.name for `from m import name`)
    line: int


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(path: Path, root: Path) -> str:
    module = _module_name(path, root)
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(path: Path, root: Path = REPO) -> list[Import]:
    """Every import in the file (top level, inside functions, under TYPE_CHECKING), made absolute.
    `from m import a, b` yields `m.a` and `m.b` (a name or a submodule: the rules treat both alike)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Import] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path, root).split(".")
                base_parts = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found += [
                Import(base if alias.name == "*" else f"{base}.{alias.name}", node.lineno) for alias in node.names
            ]
    return found


def _python_files() -> list[Path]:
    if not SERVICES.is_dir():
        return []
    return sorted(p for p in SERVICES.rglob("*.py") if "__pycache__" not in p.parts)


def is_domain_module(path: Path) -> bool:
    inside = path.relative_to(SERVICES).parts
    return path.name in DOMAIN_FILE_NAMES or "domain" in inside[:-1]


DOMAIN_MODULES = [p for p in _python_files() if is_domain_module(p)]
SERVICE_MODULES = [p for p in _python_files() if len(p.relative_to(SERVICES).parts) > 1]


def _id(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_the_domain_module_finder_finds_domain_modules_exactly_when_they_exist():
    on_disk = (
        [p for name in DOMAIN_FILE_NAMES for p in SERVICES.rglob(name)]
        + [p for d in SERVICES.rglob("domain") if d.is_dir() for p in d.rglob("*.py")]
        if SERVICES.is_dir()
        else []
    )
    on_disk = [p for p in on_disk if "__pycache__" not in p.parts]
    assert sorted(set(on_disk)) == DOMAIN_MODULES
    if on_disk:
        assert DOMAIN_MODULES, "domain modules exist but none was found"


def infrastructure_imports(path: Path, root: Path = REPO) -> list[str]:
    return sorted({f"line {i.line}: {i.module}" for i in imports_of(path, root) if i.module.split(".")[0] in INFRASTRUCTURE})


@pytest.mark.parametrize("path", DOMAIN_MODULES + PURE_POLICY_MODULES, ids=_id)
def test_a_domain_module_imports_no_infrastructure(path: Path):
    leaks = infrastructure_imports(path)
    assert not leaks, f"{_id(path)} is a domain module but imports infrastructure: {leaks}"


def _owning_service(path: Path, root: Path = REPO) -> str:
    return path.relative_to(root / "services").parts[0]


def _is_other_service(module: str, own: str) -> bool:
    parts = module.split(".")
    if parts[0] != "services" or len(parts) < 2:
        return False
    if parts[1] == own:
        return False
    return not any(module == p or module.startswith(p + ".") for p in PUBLISHED)


def cross_service_imports(path: Path, root: Path = REPO) -> list[str]:
    own = _owning_service(path, root)
    return sorted({f"line {i.line}: {i.module}" for i in imports_of(path, root) if _is_other_service(i.module, own)})


@pytest.mark.parametrize("path", SERVICE_MODULES, ids=_id)
def test_a_service_imports_no_other_service_but_the_shared_library(path: Path):
    crossing = cross_service_imports(path)
    assert not crossing, f"{_id(path)} (service {_owning_service(path)!r}) reaches into another service: {crossing}"


# --- the checker itself ----------------------------------------------------------------------------


def _module(tmp_path: Path, rel: str, text: str) -> Path:
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_import_parser_sees_plain_from_nested_and_relative_imports(tmp_path):
    path = _module(
        tmp_path,
        "services/referrals/domain.py",
        "import aiokafka.structs\n"
        "from sqlalchemy import select\n"
        "from ..consent import store\n"
        "from . import rules\n"
        "from .rules import *\n"
        "def f():\n"
        "    import structlog\n",
    )
    assert {i.module for i in imports_of(path, tmp_path)} == {
        "aiokafka.structs", "sqlalchemy.select", "services.consent.store",
        "services.referrals.rules", "structlog",
    }


def test_importing_the_published_consent_policy_is_allowed_but_not_the_consent_service(tmp_path):
    allowed = _module(
        tmp_path,
        "services/timeline/handlers.py",
        "from consent_policy import decision\n"
        "from consent_policy.decision import decide\n"
        "import consent_policy.state\n"
        "from services.common.kafka import envelope_consumer\n"
        "from services.timeline import store\n",
    )
    assert cross_service_imports(allowed, tmp_path) == []
    crossing = _module(
        tmp_path,
        "services/timeline/worker.py",
        "from services.consent import store\n"
        "from services import referrals\n"
        "def f():\n"
        "    from ..notifications.domain import messages\n",
    )
    assert cross_service_imports(crossing, tmp_path) == [
        "line 1: services.consent.store",
        "line 2: services.referrals",
        "line 4: services.notifications.domain.messages",
    ]


@pytest.mark.parametrize(
    ("module", "crosses"),
    [
        ("consent_policy.decision", False),
        ("consent_policy.state.ConsentState", False),
        ("services.consent.decision", True),
        ("services.common.kafka", False),
        ("services.referrals.store", False),  # its own service
        ("services.consent.store", True),
        ("services.consent", True),
        ("services.consent.decisions", True),
        ("services.timeline.handlers", True),
        ("services", False),
        ("schemas.catalogue", False),
    ],
)
def test_the_cross_service_rule_allows_only_the_published_modules(module, crosses):
    assert _is_other_service(module, own="referrals") is crosses


def test_the_infrastructure_check_catches_every_forbidden_library_even_when_imported_lazily(tmp_path):
    path = _module(
        tmp_path,
        "services/referrals/domain.py",
        "".join(f"import {lib}\n" for lib in sorted(INFRASTRUCTURE))
        + "from typing import TYPE_CHECKING\n"
        + "if TYPE_CHECKING:\n    from fastapi.responses import JSONResponse\n"
        + "def f():\n    from starlette.requests import Request\n"
        + "import dataclasses, schemas.catalogue\n",
    )
    leaks = infrastructure_imports(path, tmp_path)
    assert {leak.split(": ")[1].split(".")[0] for leak in leaks} == INFRASTRUCTURE
    assert "line 11: fastapi.responses.JSONResponse" in leaks
    assert "line 13: starlette.requests.Request" in leaks


def test_a_domain_package_counts_as_domain_code(tmp_path):
    assert is_domain_module(SERVICES / "notifications" / "domain" / "anything.py")
    assert is_domain_module(SERVICES / "referrals" / "state_machine.py")
    assert not is_domain_module(SERVICES / "referrals" / "store.py")
    assert not is_domain_module(SERVICES / "referrals" / "domain_events_relay.py")


# --- the web interface -----------------------------------------------------------------------------

WEB_MODULES = [p for p in SERVICE_MODULES if _owning_service(p) == "web"]


@pytest.mark.parametrize("path", WEB_MODULES, ids=_id)
def test_the_web_interface_imports_no_service_but_the_shared_library(path: Path):
    # It asks the APIs (DESIGN §4): not even the published consent decision, so no rule about
    # who sees what is ever applied in the web.
    crossing = sorted({f"line {i.line}: {i.module}" for i in imports_of(path)
                       if (i.module.startswith("services.") and not i.module.startswith(("services.common", "services.web")))
                       or i.module.split(".")[0] == "consent_policy"})
    assert not crossing, f"{_id(path)} reaches into another service or the consent policy: {crossing}"


# --- the published packages and the layers ---------------------------------------------------------

PUBLISHED_PACKAGES = {"schemas": REPO / "schemas", "consent_policy": POLICY}
PACKAGE_MODULES = [p for root in PUBLISHED_PACKAGES.values() for p in sorted(root.rglob("*.py"))
                   if "__pycache__" not in p.parts]
SERVICE_LAYER_MODULES = [p for p in SERVICE_MODULES if "service_layer" in p.relative_to(SERVICES).parts[:-1]]
# What only an entry point may touch: the web framework and the stream clients. A service layer
# is called by routes, consumers and tests alike (cosmicpython), so it knows none of them.
ENTRYPOINT_ONLY = {"fastapi", "starlette", "faust", "aiokafka"}


def forbidden_imports(path: Path, roots: set[str], root: Path = REPO) -> list[str]:
    return sorted({f"line {i.line}: {i.module}" for i in imports_of(path, root) if i.module.split(".")[0] in roots})


@pytest.mark.parametrize("path", PACKAGE_MODULES, ids=_id)
def test_a_published_package_depends_on_no_service(path: Path):
    # schemas and consent_policy are libraries the services use; a library never reaches back
    # into its users. schemas, the contracts, depend on nothing else of TAC.
    forbidden = {"services"} | ({"consent_policy"} if path.is_relative_to(REPO / "schemas") else set())
    found = forbidden_imports(path, forbidden)
    assert not found, f"{_id(path)} imports {found}"


@pytest.mark.parametrize("path", SERVICE_LAYER_MODULES, ids=_id)
def test_a_service_layer_module_imports_no_web_framework_or_stream_client(path: Path):
    found = forbidden_imports(path, ENTRYPOINT_ONLY)
    assert not found, f"{_id(path)} imports what only entrypoints may: {found}"


def test_the_layer_rules_have_something_to_check_and_catch_a_breach(tmp_path):
    assert PACKAGE_MODULES and SERVICE_LAYER_MODULES
    assert {p.parent.parent.name for p in SERVICE_LAYER_MODULES} >= {"referrals", "consent", "timeline", "notifications"}
    breach = _module(tmp_path, "services/x/service_layer/h.py", "def f():\n    from fastapi import Request\n")
    assert forbidden_imports(breach, ENTRYPOINT_ONLY, tmp_path) == ["line 2: fastapi.Request"]
    library = _module(tmp_path, "consent_policy/y.py", "from services.common.clock import utc\n")
    assert forbidden_imports(library, {"services"}, tmp_path) == ["line 1: services.common.clock.utc"]
