"""Identities and credentials of the exchange: who is asking, and how they prove it.

Principals (`principals`), the broker's TLS material (`tls`), client connections
(`kafka_conn`), SCRAM credential provisioning (`provision`), the Docker broker's configuration
(`compose`), the catalog's API tokens (`tokens`) and the Kafka access rights derived from the
contracts (`acls`)."""
