"""Consent-driven privacy: the registry of subjects, consents, artifact lineage and audit log.

>>> from headforge.privacy import Registry, ConsentError, Scope
>>> reg = Registry.from_config()                     # paths.registry_url in params.yaml
>>> reg.require_consent("s0001", Scope.CAPTURE)      # raises ConsentError naming the fix
"""

from headforge.privacy.records import (
    AuditEntry,
    AuditVerification,
    Consent,
    ConsentError,
    InvalidInputError,
    LineageRecord,
    RegistryError,
    Scope,
    Subject,
)
from headforge.privacy.registry import REGISTRY_URL_ENV, LineageRow, Registry

__all__ = [
    "AuditEntry",
    "AuditVerification",
    "Consent",
    "ConsentError",
    "InvalidInputError",
    "LineageRecord",
    "LineageRow",
    "REGISTRY_URL_ENV",
    "Registry",
    "RegistryError",
    "Scope",
    "Subject",
]
