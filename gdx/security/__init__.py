"""Identities and credentials of the exchange: who is asking, and how they prove it.

Principals (`principals`), the broker's TLS material (`tls`), client connections
(`kafka_conn`), SCRAM credential provisioning (`provision`), the Docker broker's configuration
(`compose`), API tokens of the catalog (`tokens`)."""
