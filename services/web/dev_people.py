"""Development only: the people of ../shared/SCENARIO.md (all fictional) whom the sign-in page
offers, with the claims a development token gives them. A copy of demo/cast.py's data, so the
service imports nothing from the demo; `tests/unit/web` checks the two agree."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.vocabulary import DSL_ROLE, Agency


@dataclass(frozen=True)
class DevPerson:
    key: str  # the practitioner id (`sub`) of their token
    name: str
    description: str
    organisation: str | None
    organisation_id: str | None
    agency: Agency
    role: str


DEV_PEOPLE: tuple[DevPerson, ...] = (
    DevPerson("priya-shah", "Priya Shah", "SENCO", "Sunflower Nursery", "sunflower-nursery", Agency.SETTING, "senco"),
    DevPerson("tom-reed", "Tom Reed", "key person", "Sunflower Nursery", "sunflower-nursery", Agency.SETTING, "key_person"),
    DevPerson("hannah-price", "Hannah Price", "designated safeguarding lead", "Sunflower Nursery", "sunflower-nursery",
              Agency.SETTING, DSL_ROLE),
    DevPerson("dana-hughes", "Dana Hughes", "area SENCO", "Northbridge Early Years Inclusion", "northbridge-inclusion",
              Agency.AREA_SENCO, "area_senco"),
    DevPerson("sam-okafor", "Sam Okafor", "speech and language therapist", "Riverside Speech and Language Therapy",
              "riverside-slt", Agency.SLT_SERVICE, "slt"),
    DevPerson("grace-mensah", "Grace Mensah", "health visitor", "Northbridge Health Visiting", "northbridge-hv",
              Agency.HEALTH_VISITING, "health_visitor"),
    DevPerson("lee-chen", "Dr Lee Chen", "educational psychologist", "Northbridge EP Service", "northbridge-ep",
              Agency.EP_SERVICE, "educational_psychologist"),
    DevPerson("maria-lopez", "Maria Lopez", "SEN caseworker", "Northbridge SEN Team", "northbridge-sen",
              Agency.LA_SEN_TEAM, "sen_caseworker"),
    DevPerson("jo-patel", "Jo Patel", "family worker", "Elm Street Family Hub", "elm-street-hub",
              Agency.CHILDRENS_CENTRE, "family_worker"),
    DevPerson("ms-hall", "Ms Hall", "reception teacher", "Oak Lane Primary", "oak-lane-primary", Agency.SCHOOL,
              "reception_teacher"),
    DevPerson("ada-okoro", "Ada Okoro", "mother, with parental responsibility", None, None, Agency.PARENT, "parent"),
    DevPerson("kit-ward", "Kit Ward", "area SENCO in another authority", "Westshire Early Years Inclusion",
              "westshire-inclusion", Agency.AREA_SENCO, "area_senco"),
)

BY_KEY = {p.key: p for p in DEV_PEOPLE}
