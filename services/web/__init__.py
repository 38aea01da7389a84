"""TAC's web interface for people (../shared/UI.md): server-rendered GOV.UK Frontend pages over
the four services' HTTP APIs. It holds no case data and no rule about who sees what."""
