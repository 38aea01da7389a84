"""The organisation directory: reference data naming every organisation a request may name
(DESIGN §4 "Reference data": id, display name, agency, national code — ODS code for NHS
bodies, URN for settings and schools, LA code for local authority teams).

Loaded once at start from a versioned YAML file whose path is configuration
(``TAC_DIRECTORY_PATH``, default ``reference/organisations.yaml``), so people see names, never
ids, and a request naming an organisation that does not exist, or naming it as the wrong kind
of agency, is refused with a 422 naming the field. Pure apart from reading the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.vocabulary import Agency
from services.common.errors import Invalid

DEFAULT_DIRECTORY_PATH = Path(__file__).resolve().parents[2] / "reference" / "organisations.yaml"
ENV_DIRECTORY_PATH = "TAC_DIRECTORY_PATH"


class NationalCode(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    scheme: Literal["ods", "urn", "la_code"]
    value: str = Field(min_length=1, max_length=32)


class Organisation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    name: str = Field(min_length=1, max_length=200)
    agency: Agency
    national_code: NationalCode

    def summary(self) -> dict:
        """How API responses name an organisation: its id with its display name and agency."""
        return {"organisation_id": self.id, "name": self.name, "agency": self.agency.value}


class _DirectoryFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    organisations: tuple[Organisation, ...]


class DirectoryError(ValueError):
    """The directory file is missing or malformed (a configuration error: fail at start)."""


class Directory:
    """Organisations by id. Parents are not organisations and are never in it."""

    def __init__(self, organisations: Mapping[str, Organisation], version: int = 1) -> None:
        if any(o.agency is Agency.PARENT for o in organisations.values()):
            raise DirectoryError("a parent is not an organisation: agency 'parent' cannot be in the directory")
        self._by_id = MappingProxyType(dict(organisations))
        self.version = version

    @classmethod
    def of(cls, *organisations: Organisation, version: int = 1) -> "Directory":
        return cls({o.id: o for o in organisations}, version)

    @classmethod
    def load(cls, path: str | Path = DEFAULT_DIRECTORY_PATH) -> "Directory":
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise DirectoryError(f"{ENV_DIRECTORY_PATH}: cannot read the organisation directory {path}: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise DirectoryError(f"{ENV_DIRECTORY_PATH}: {path} is not valid YAML: {exc}") from None
        try:
            parsed = _DirectoryFile.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise DirectoryError(f"{ENV_DIRECTORY_PATH}: {path}: {where}: {first['msg']}") from None
        by_id: dict[str, Organisation] = {}
        for org in parsed.organisations:
            if org.id in by_id:
                raise DirectoryError(f"{ENV_DIRECTORY_PATH}: {path}: organisation {org.id!r} is listed twice")
            by_id[org.id] = org
        return cls(by_id, parsed.version)

    def __iter__(self) -> Iterator[Organisation]:
        return iter(sorted(self._by_id.values(), key=lambda o: o.name))

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, organisation_id: object) -> bool:
        return organisation_id in self._by_id

    def get(self, organisation_id: str | None) -> Organisation | None:
        return self._by_id.get(organisation_id) if organisation_id else None

    def name_of(self, organisation_id: str | None) -> str | None:
        org = self.get(organisation_id)
        return org.name if org else None

    def of_agency(self, agency: Agency | str) -> list[Organisation]:
        return [o for o in self if o.agency.value == str(agency)]

    def require(self, organisation_id: str, field: str, agency: Agency | str | None = None) -> Organisation:
        """The organisation a request names, or a 422 naming ``field``: unknown to the
        directory, or (when ``agency`` is given) of another kind of agency."""
        org = self.get(organisation_id)
        if org is None:
            raise Invalid(f"{field}: {organisation_id!r} is not an organisation in the directory", field=field)
        if agency is not None and org.agency.value != str(agency):
            raise Invalid(f"{field}: {org.name} is a {org.agency.value}, not a {Agency(str(agency)).value}", field=field)
        return org
