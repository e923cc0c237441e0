"""The tamper-evident audit log of who did what (issue 11): `AuditLog(lake).append(...)`.

log       the hash chain: append, entries, verify                 (log.py)
detail    what an entry may carry (no personal data, no secrets)  (detail.py)
ledger_chain  the landing ledger on the chain (`ingest.batch`)    (ledger_chain.py)
"""

from gdx.audit.log import GENESIS, AuditEntry, AuditError, AuditLog, Problem, VerifyReport

__all__ = ["GENESIS", "AuditEntry", "AuditError", "AuditLog", "Problem", "VerifyReport"]
