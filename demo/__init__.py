"""`make demo`: run TAC on this machine and tell the story of ../shared/SCENARIO.md."""
