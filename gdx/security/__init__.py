"""Identities and credentials of the exchange: who is asking, and how they prove it; and the
field-level encryption that keeps personal data unreadable on the wire (field_crypto, field_keys)."""
