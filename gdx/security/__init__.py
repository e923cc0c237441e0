"""Identities and credentials of the exchange: who is asking, and how they prove it — principals,
the broker's TLS material, client connections, SCRAM credential provisioning, the catalog's API
tokens and (in `acls`) the Kafka access rights derived from the contracts."""
