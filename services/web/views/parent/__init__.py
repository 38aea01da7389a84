"""A parent's pages (UI.md "Parent or carer"; issue 13): their child's whole timeline, who can
see it and a way to change that, the team around the child, who has looked, their own entries
("what we see at home", their views for an EHC needs assessment). Every page is `ParentPage`
(a practitioner gets "Page not found"), and every child is the APIs' to show: a child not in the
parent's token is the API's 404, the same "Page not found" as a made-up id.

    /your-child                                   the parent's children (one: straight to it)
    /your-child/{id}                              My child: key person, timeline, filter
    /your-child/{id}/who-can-see                  consents as sentences, the matrix
    /your-child/{id}/consents/{cid}/withdraw      what changes at once -> withdrawn panel
    /your-child/{id}/consents/new, /check, /given give a consent, check answers, panel
    /your-child/{id}/team, /team/add, /team/{org}/remove
    /your-child/{id}/who-has-looked               the access log in sentences, paged
    /your-child/{id}/at-home                      a "what we see at home" observation
    /your-child/{id}/ehc/{request_id}/views       the parent's and the child's views
"""

from fastapi import APIRouter

from services.web.views.parent import child, consents, looked, team, two_way

router = APIRouter()
for _module in (child, consents, team, looked, two_way):
    router.include_router(_module.router)
