"""DEVELOPMENT-ONLY RSA key pair for signing and verifying local demo tokens.

The private key is committed on purpose so `make demo` and the tests work out of the box.
It is public knowledge and therefore worthless as a secret: `BaseServiceSettings` refuses to
start a service with `TAC_ENVIRONMENT=production` while this public key is configured.
"""
