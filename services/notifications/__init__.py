"""TAC notifications: tell the team around the child what they may see, and remind them of
what is due (DESIGN §3-§5)."""
