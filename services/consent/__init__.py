"""Consent service: parental consent, the sharing decision, safeguarding access (DESIGN §3)."""
