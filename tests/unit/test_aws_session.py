"""Cold start: every AWS client comes from one botocore session per thread, and every item type of the main
table shares one PynamoDB connection (each new session or connection builds its client again on first use)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from pynamodb.connection import Connection

from chalicelib.aws_session import PlainJsonFiles, session
from chalicelib.storage.models import AuditItem, ClientItem, GuardItem, MainItem, TierNodeItem

ROOT = Path(__file__).resolve().parents[2]


def test_item_types_of_the_main_table_share_one_connection() -> None:
    shared = MainItem._get_connection()
    assert TierNodeItem._get_connection() is shared
    assert GuardItem._get_connection() is shared
    assert ClientItem._get_connection() is shared
    assert AuditItem._get_connection() is not shared  # another table
    assert shared.table_name == TierNodeItem.Meta.table_name


def test_pynamodb_connections_use_the_shared_session() -> None:
    assert Connection(region="us-east-1").session is session()
    assert MainItem._get_connection().connection.session is session()
    assert AuditItem._get_connection().connection.session is session()


def test_each_thread_has_its_own_session() -> None:
    seen: list[object] = []
    worker = threading.Thread(target=lambda: seen.extend([session(), session()]))
    worker.start()
    worker.join()
    assert seen[0] is seen[1]
    assert seen[0] is not session()


def test_botocore_is_imported_without_its_pyopenssl_probe() -> None:
    """storage imports botocore's HTTP layer with ``urllib3.contrib.pyopenssl`` unavailable: botocore falls back to
    the very class the probe returns, and pyOpenSSL/cryptography stay out of the cold start."""
    code = (
        "import sys; import chalicelib.storage.models; import botocore.httpsession, urllib3.util.ssl_; "
        "print(botocore.httpsession.SSLContext is urllib3.util.ssl_.SSLContext, "
        "[m for m in ('OpenSSL', 'cryptography', 'urllib3.contrib.pyopenssl') if m in sys.modules]); "
        "import urllib3.contrib.pyopenssl; print('importable afterwards')"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["True []", "importable afterwards"]


def test_the_discovery_route_loads_no_heavy_library() -> None:
    """What a cold Lambda serving ``/.well-known/openid-configuration`` imports before its DynamoDB query."""
    code = (
        "import sys, app; from chalicelib.web.oidc.discovery import discovery_endpoint; from chalicelib import "
        "container; container.tenants(); print(','.join(m for m in ('jose', 'joserfc', 'jinja2', 'saml2', 'argon2', "
        "'webauthn', 'segno', 'phonenumbers', 'cryptography', 'OpenSSL', 'boto3', 'urllib3.contrib.pyopenssl', "
        "'chalicelib.core.federation', 'chalicelib.core.saml', 'chalicelib.outbound') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_botocore_data_files_load_as_the_same_values() -> None:
    from botocore.loaders import JSONFileLoader, Loader

    data = Path(Loader.BUILTIN_DATA_PATH)
    for name in ("endpoints", "partitions", "dynamodb/2012-08-10/service-2", "kms/2014-11-01/service-2"):
        path = str(data / name)
        assert PlainJsonFiles().exists(path)
        assert PlainJsonFiles().load_file(path) == JSONFileLoader().load_file(path)
    assert not PlainJsonFiles().exists(str(data / "no-such-file"))
    assert PlainJsonFiles().load_file(str(data / "no-such-file")) is None


def test_clients_of_the_shared_session_work() -> None:
    dynamodb = session().create_client("dynamodb", region_name="eu-west-1", endpoint_url="http://127.0.0.1:9")
    assert "Query" in dynamodb.meta.service_model.operation_names
    assert dynamodb.meta.region_name == "eu-west-1"
