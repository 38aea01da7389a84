"""What every route of this service depends on: the handlers' Deps (built by bootstrap, kept on
the app) and the shape of an organisation id in a path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from services.referrals.service_layer.unit_of_work import Deps


def get_deps(request: Request) -> Deps:
    return request.app.state.deps


DepsDep = Annotated[Deps, Depends(get_deps)]
OrgPath = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]
