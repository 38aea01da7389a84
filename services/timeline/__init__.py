"""The timeline service: the consent-filtered team-around-the-child timeline (DESIGN §3, §4)."""
