"""The referrals service: children, concerns, referrals, the team around the child, EHC and
the statutory clock, caseloads (DESIGN §1, §2, §4, §5)."""
