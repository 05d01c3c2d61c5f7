"""The botocore session every AWS client of the process is created from: PynamoDB's (``storage``) and the KMS,
SES, SNS and Step Functions clients (``outbound``).

Creating a client from a fresh session reads botocore's endpoint, partition and retry data and lists every service
directory again: ~45 ms of CPU per session on a cold start, against ~2 ms for another client of a session that
already did (``benchmarks/cold_start.py``). One session per thread, since botocore sessions are not thread-safe
(clients are); a Lambda has one thread, so one session.
"""

from __future__ import annotations

import gzip
import json
import os
import sys
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.session import Session

_per_thread = threading.local()


def session() -> Session:
    current: Session | None = getattr(_per_thread, "session", None)
    if current is None:
        import_botocore()
        from botocore.session import get_session

        current = _per_thread.session = get_session()
        current.get_component("data_loader").file_loader = PlainJsonFiles()
    return current


class PlainJsonFiles:
    """The file loader of botocore's data ``Loader``, reading JSON objects as plain dicts.

    botocore's own (``JSONFileLoader``) builds every object as an ``OrderedDict``, a Python call per object; dicts
    keep the order as well and parse in about half the time. The first client of a cold start reads ~1.9 MB of these
    files (``endpoints.json`` alone is 1.2 MB): ~10-25 ms of CPU less.
    """

    SUFFIXES = (".json", ".json.gz")  # as botocore: plain, or gzip-compressed

    def exists(self, file_path: str) -> bool:
        return any(os.path.isfile(file_path + suffix) for suffix in self.SUFFIXES)

    def load_file(self, file_path: str) -> Any:
        for suffix in self.SUFFIXES:
            if os.path.isfile(file_path + suffix):
                opener = gzip.open if suffix.endswith(".gz") else open
                with opener(file_path + suffix, "rb") as data:
                    return json.loads(data.read().decode("utf-8"))
        return None


def import_botocore() -> None:
    """Import botocore's HTTP layer without its pyOpenSSL probe.

    ``botocore.httpsession`` imports ``urllib3.contrib.pyopenssl`` only to get back urllib3's own ``SSLContext``
    class, and falls back to that same class when the import fails. pysaml2 puts pyOpenSSL in the package, so the
    probe would load pyOpenSSL and cryptography's X.509 modules on every cold start (~25-40 ms of CPU). Whatever
    imports botocore first calls this; afterwards pyOpenSSL imports normally (pysaml2 uses it directly).
    """
    probe = "urllib3.contrib.pyopenssl"
    if "botocore.httpsession" in sys.modules or probe in sys.modules:
        return
    sys.modules[probe] = None  # type: ignore[assignment]  # makes ``import`` of it raise ImportError
    try:
        import botocore.httpsession  # noqa: F401
    finally:
        del sys.modules[probe]
