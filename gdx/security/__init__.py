"""Identities and credentials of the exchange: who is asking, and how they prove it.

Principals (`principals`), the broker's TLS material (`tls`), client connections
(`kafka_conn`), SCRAM credential provisioning (`provision`), the Docker broker's configuration
(`compose`), the catalog's API tokens (`tokens`), the Kafka access rights derived from the
contracts (`acls`), and the field-level encryption that keeps personal data unreadable on the
wire (`field_crypto`, `field_keys`)."""
