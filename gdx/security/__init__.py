"""Inter-agency trust: identities (principals), the broker's TLS material, client connections,
SCRAM credential provisioning and (in `acls`) access rights derived from the contracts."""
