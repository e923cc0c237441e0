"""Security of the exchange: identities, access rights, field-level encryption, audit."""
