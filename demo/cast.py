"""The people of ../shared/SCENARIO.md (all fictional) and the tokens they carry."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from services.common.dev_tokens import dev_private_key_pem, issue_token
from schemas.vocabulary import DSL_ROLE, Agency


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    organisation: str | None
    organisation_id: str | None
    agency: Agency
    role: str
    team: str = ""  # how the organisation is named on one line of the grid

    def token(self, *, children: tuple[UUID, ...] = (), issuer: str = "tac-dev", audience: str = "tac") -> str:
        return issue_token(
            dev_private_key_pem(),
            practitioner=self.key,
            organisation=self.organisation_id,
            agency=self.agency,
            role=self.role,
            children=children if self.agency is Agency.PARENT else (),
            ttl_s=4 * 3600,
            issuer=issuer,
            audience=audience,
        )


PRIYA = Person("priya-shah", "Priya Shah (SENCO)", "Sunflower Nursery", "sunflower-nursery", Agency.SETTING, "senco", "Sunflower")
TOM = Person("tom-reed", "Tom Reed (key person)", "Sunflower Nursery", "sunflower-nursery", Agency.SETTING, "key_person", "Sunflower")
DANA = Person("dana-hughes", "Dana Hughes (area SENCO)", "Northbridge Early Years Inclusion", "northbridge-inclusion",
              Agency.AREA_SENCO, "area_senco", "inclusion team")
SAM = Person("sam-okafor", "Sam Okafor (SLT)", "Riverside Speech and Language Therapy", "riverside-slt",
             Agency.SLT_SERVICE, "slt", "Riverside SLT")
GRACE = Person("grace-mensah", "Grace Mensah (health visitor)", "Northbridge Health Visiting", "northbridge-hv",
               Agency.HEALTH_VISITING, "health_visitor", "health visiting")
LEE = Person("lee-chen", "Dr Lee Chen (EP)", "Northbridge EP Service", "northbridge-ep", Agency.EP_SERVICE,
             "educational_psychologist", "EP service")
MARIA = Person("maria-lopez", "Maria Lopez (SEN caseworker)", "Northbridge SEN Team", "northbridge-sen",
               Agency.LA_SEN_TEAM, "sen_caseworker", "SEN team")
JO = Person("jo-patel", "Jo Patel (family worker)", "Elm Street Family Hub", "elm-street-hub", Agency.CHILDRENS_CENTRE,
            "family_worker", "family hub")
HALL = Person("ms-hall", "Ms Hall (reception teacher)", "Oak Lane Primary", "oak-lane-primary", Agency.SCHOOL,
              "reception_teacher", "Oak Lane")
ADA = Person("ada-okoro", "Ada Okoro (mother)", None, None, Agency.PARENT, "parent")
# The nursery's designated safeguarding lead: the only person at Sunflower who may open
# safeguarding (break-glass) access, and the one told when another organisation does.
HANNAH = Person("hannah-price", "Hannah Price (designated safeguarding lead)", "Sunflower Nursery", "sunflower-nursery",
                Agency.SETTING, DSL_ROLE, "Sunflower")
# Step 13: an area SENCO in another local authority, of the kind of agency consent C1a names,
# with no relationship to Amara.
KIT = Person("kit-ward", "Kit Ward (area SENCO, Westshire)", "Westshire Early Years Inclusion", "westshire-inclusion",
             Agency.AREA_SENCO, "area_senco", "Westshire")

CAST: tuple[Person, ...] = (PRIYA, TOM, HANNAH, DANA, SAM, GRACE, LEE, MARIA, JO, HALL, KIT, ADA)
