"""PostgreSQL over TLS: a throw-away cluster that accepts only TLS connections, reached with
`sslmode=verify-full` and our own CA through the same DATABASE_URL parsing the settings use.

The test makes a CA and a server certificate (cryptography), starts its own cluster with
initdb/pg_ctl on a spare port, and stops it at the end. It is skipped only when the PostgreSQL
server binaries are not installed.
"""

from __future__ import annotations

import datetime as dt
import glob
import ipaddress
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import dj_database_url
import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.db.utils import ConnectionHandler

PORT = int(os.environ.get("PULSE_TLS_TEST_PORT", "5441"))
BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str, issuer_key: ec.EllipticCurvePrivateKey | None, issuer: str | None, ca: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer or subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def _write_pem(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def tls_cluster() -> Iterator[dict[str, Path]]:
    if not BINARIES:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) not installed")
    bin_dir = Path(BINARIES[-1]).parent
    # initdb refuses to run as root: run the cluster as the postgres system user then.
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="pulse-pg-tls-"))
    data, certs = root / "data", root / "certs"
    certs.mkdir()
    ca_key, ca_cert = _certificate("Pulse test CA", None, None, ca=True)
    server_key, server_cert = _certificate("localhost", ca_key, "Pulse test CA", ca=False)
    _other_key, other_ca = _certificate("Some other CA", None, None, ca=True)
    _write_pem(certs / "ca.pem", _cert_pem(ca_cert))
    _write_pem(certs / "other-ca.pem", _cert_pem(other_ca))
    _write_pem(certs / "server.crt", _cert_pem(server_cert))
    _write_pem(certs / "server.key", _key_pem(server_key))
    if owner is not None:
        for path in (root, certs, *certs.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # Only TLS over TCP; no plain TCP at all. The socket is for pg_ctl's own readiness check.
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "hostssl all all 127.0.0.1/32 trust\n"
        "hostnossl all all 0.0.0.0/0 reject\n"
    )
    options = (
        f"-p {PORT} -k {root} -c listen_addresses=127.0.0.1 -c ssl=on "
        f"-c ssl_cert_file={certs / 'server.crt'} -c ssl_key_file={certs / 'server.key'}"
    )
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield {"ca": certs / "ca.pem", "other_ca": certs / "other-ca.pem"}
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(root, ignore_errors=True)


def test_verify_full_with_our_ca_connects_through_the_database_url(tls_cluster, django_db_blocker):
    url = (
        f"postgres://postgres@localhost:{PORT}/postgres"
        f"?sslmode=verify-full&sslrootcert={tls_cluster['ca']}"
    )
    handler = ConnectionHandler({"default": dj_database_url.parse(url)})
    connection = handler["default"]
    # Our own throw-away server, not the test database: pytest-django's guard does not apply.
    with django_db_blocker.unblock():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                ssl, version = cursor.fetchone()
        finally:
            connection.close()
    assert ssl is True
    assert version.startswith("TLSv1.")


def test_a_connection_without_tls_is_refused(tls_cluster):
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(
            host="127.0.0.1", port=PORT, user="postgres", dbname="postgres", sslmode="disable"
        )


def test_a_server_certificate_from_another_ca_is_refused(tls_cluster):
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(
            host="localhost",
            port=PORT,
            user="postgres",
            dbname="postgres",
            sslmode="verify-full",
            sslrootcert=str(tls_cluster["other_ca"]),
        )
