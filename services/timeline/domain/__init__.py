"""The timeline's pure rules: .entries (what becomes an entry, how it reads), .reading (who
sees what, the access log, paging)."""
