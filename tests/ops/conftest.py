"""Real servers for the operations tests: OpenLDAP's slapd and moto's S3 server, on loopback.

Each is started once per test session on a free port with its own temp directory, and
stopped at the end. Missing binaries skip (a failure under CONTORL_REQUIRE_SERVICES=1).
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from deploy.stack.launcher import free_port  # noqa: F401 (the ops tests import it from here)

HERE = Path(__file__).parent
SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
LDAP_SUFFIX = "dc=contorl,dc=test"
LDAP_ROOT_DN = f"cn=admin,{LDAP_SUFFIX}"
LDAP_ROOT_PW = "directory-root-secret"
LDAP_PASSWORD = "Directory-Pass-1"  # every test user's directory password


def need(condition: bool, what: str) -> None:
    if not condition:
        pytest.skip(f"{what} is not available")


def fresh_rate_window(identity: str = "ip:127.0.0.1", period: int = 60, room: float = 10) -> None:
    """Rate limits use fixed windows: if this caller's window closes within `room` seconds,
    wait for the next one so every counted call lands in one window (a clock boundary)."""
    from django_ratelimit.core import _get_window

    left = _get_window(identity, period) - time.time()
    if left < room:
        time.sleep(max(0.0, left) + 0.05)


def wait_for_port(port: int, process: subprocess.Popen, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not open port {port}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


SLAPD_CONF = """\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 10485760
suffix "{suffix}"
rootdn "{rootdn}"
rootpw {rootpw}
directory {dir}/db
TLSCertificateFile {dir}/server.crt
TLSCertificateKeyFile {dir}/server.key
access to attrs=userPassword by self auth by anonymous auth by * none
access to * by * read
"""


def directory_ldif() -> str:
    people, groups = f"ou=people,{LDAP_SUFFIX}", f"ou=groups,{LDAP_SUFFIX}"

    def person(uid, given, sn, mail, extra=""):
        return (
            f"dn: uid={uid},{people}\nobjectClass: inetOrgPerson\nobjectClass: shadowAccount\n"
            f"uid: {uid}\ncn: {given} {sn}\ngivenName: {given}\nsn: {sn}\nmail: {mail}\n"
            f"userPassword: {LDAP_PASSWORD}\n{extra}\n"
        )

    def group(cn, *members):
        lines = "".join(f"member: uid={m},{people}\n" for m in members)
        return f"dn: cn={cn},{groups}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}\n"

    return (
        f"dn: {LDAP_SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: contorl\no: CONTORL test\n\n"
        f"dn: {people}\nobjectClass: organizationalUnit\nou: people\n\n"
        f"dn: {groups}\nobjectClass: organizationalUnit\nou: groups\n\n"
        + person("ada", "Ada", "Lovelace", "ada@corp.test")
        + person("eve", "Eve", "Operator", "eve@corp.test")
        + person("carl", "Carl", "Maint", "carl@corp.test", "departmentNumber: MAINT\n")
        + person("dora", "Dora", "Gone", "dora@corp.test", "shadowExpire: 1\n")
        + person("root", "Shadow", "Root", "root@corp.test")
        + group("CONTORL-Admins", "ada")
        + group("prod-managers", "ada")
        + group("prod-operators", "eve", "dora")
    )


class Slapd:
    def __init__(self, uri: str, ldaps_uri: str, workdir: Path):
        self.uri = uri
        self.ldaps_uri = ldaps_uri  # same directory over TLS, certificate for 127.0.0.1
        self.workdir = workdir
        self.ca_file = str(workdir / "server.crt")  # self-signed: the certificate is its own CA

    def modify(self, ldif: str) -> None:
        """ldapmodify as the root DN: change the directory between sign-ins."""
        subprocess.run(
            ["ldapmodify", "-x", "-H", self.uri, "-D", LDAP_ROOT_DN, "-w", LDAP_ROOT_PW],
            input=ldif.encode(),
            check=True,
            capture_output=True,
            timeout=10,
        )


@pytest.fixture(scope="session")
def slapd():
    need(os.path.exists(SLAPD) and bool(shutil.which("ldapmodify")), "OpenLDAP slapd + ldap-utils")
    need(bool(shutil.which("openssl")), "openssl (test certificate for ldaps)")
    workdir = Path(tempfile.mkdtemp(prefix="contorl-slapd-"))
    (workdir / "db").mkdir()
    conf = workdir / "slapd.conf"
    conf.write_text(SLAPD_CONF.format(dir=workdir, suffix=LDAP_SUFFIX, rootdn=LDAP_ROOT_DN, rootpw=LDAP_ROOT_PW))
    data = workdir / "data.ldif"
    data.write_text(directory_ldif())
    subprocess.run(
        [SLAPD.replace("slapd", "slapadd"), "-f", str(conf), "-l", str(data)], check=True, capture_output=True
    )
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE",
         "-keyout", str(workdir / "server.key"), "-out", str(workdir / "server.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    port, tls_port = free_port(), free_port()
    uri, ldaps_uri = f"ldap://127.0.0.1:{port}", f"ldaps://127.0.0.1:{tls_port}"
    # -d 0: stay in the foreground (we own the process) without debug output.
    process = subprocess.Popen(
        [SLAPD, "-f", str(conf), "-h", f"{uri}/ {ldaps_uri}/", "-d", "0"],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "slapd.log").open("wb"),  # a file, not a pipe nobody drains
    )
    try:
        wait_for_port(port, process, "slapd")
        wait_for_port(tls_port, process, "slapd (ldaps)")
        yield Slapd(uri, ldaps_uri, workdir)
    finally:
        stop(process)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_server():
    """moto's standalone S3 API (a real HTTP server speaking S3) on a loopback port."""
    binary = Path(sys.executable).with_name("moto_server")
    need(binary.exists(), "moto_server (pip install 'moto[server]')")
    port = free_port()
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process, "moto_server")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)
