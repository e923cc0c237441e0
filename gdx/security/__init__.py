"""Identities and credentials of the exchange: who is asking, and how they prove it."""
