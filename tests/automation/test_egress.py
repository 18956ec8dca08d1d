"""Webhooks cannot reach loopback, private or otherwise internal addresses (SSRF), unless an
administrator allowed the host; the execution log never tells what lives at such an address."""

import ipaddress
import socket

import httpcore
import pytest

from automation import egress, services
from automation.models import Trigger, TriggerExecution
from notifications.models import Notification

from .factories import make_task

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("address", "refusal"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:7f00:1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:192.168.0.1", "private"),
        ("fc00::1", "private"),  # fc00::/7 unique local
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),  # deprecated site-local
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("::ffff:169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("febf::1", "link-local"),
        ("100.64.0.1", "shared"),  # CGNAT 100.64/10
        ("100.127.255.254", "shared"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("ff02::1", "multicast"),
        ("ff0e::1", "multicast"),
        ("240.0.0.1", "refused"),
        ("255.255.255.255", "refused"),  # limited broadcast
        ("192.0.2.10", "refused"),  # documentation ranges
        ("198.18.0.1", "refused"),  # benchmarking
        ("2001:db8::1", "refused"),
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("2002:c0a8:101::", "private"),  # 6to4 of 192.168.1.1
        ("::7f00:1", "refused"),  # IPv4-compatible (deprecated)
        # Public addresses pass.
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("100.63.255.255", None),  # just below CGNAT
        ("100.128.0.0", None),  # just above
        ("172.32.0.1", None),  # just outside 172.16/12
        ("::ffff:8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("2a00:1450:4001:80b::200e", None),
    ],
)
def test_address_policy(address, refusal):
    """ "refused": the category depends on the Python version's registry tables; refused is what counts."""
    for value in (address, ipaddress.ip_address(address)):
        got = egress.address_refusal(value)
        assert (got is not None) if refusal == "refused" else (got == refusal), (address, got)


def test_allowed_hosts_are_compared_as_written_in_urls(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = [" Hooks.Internal.Example. ", "127.0.0.1", "[::1]", ""]
    assert egress.host_allowed("hooks.internal.example")
    assert egress.host_allowed("HOOKS.internal.example.")
    assert egress.host_allowed("127.0.0.1") and egress.host_allowed("::1")
    assert not egress.host_allowed("internal.example")
    assert not egress.host_allowed("127.0.0.2")
    assert not egress.host_allowed("")
    settings.WEBHOOK_ALLOWED_HOSTS = []
    assert not egress.host_allowed("127.0.0.1")


def _fake_dns(monkeypatch, answers: dict[str, list[list[str]]]):
    """getaddrinfo that answers names from `answers` (one list of addresses per lookup, the
    last repeating) and numeric hosts as the system does. Returns the lookups made."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def fake(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(name)
        seq = answers[name]
        addresses = seq[min(len(lookups) - 1, len(seq) - 1)]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return lookups


def test_a_name_with_any_internal_address_is_refused(monkeypatch, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    _fake_dns(monkeypatch, {"mixed.example": [["93.184.215.14", "10.0.0.7"]]})
    with pytest.raises(egress.TargetNotAllowed) as info:
        egress.resolve_checked("mixed.example", 443)
    assert info.value.reason == "private"


def test_connects_to_the_checked_address_without_a_second_lookup(monkeypatch, settings, unlisted_receiver):
    """DNS rebinding: the name answers an allowed address once, then an internal one. The
    connection goes to the first answer (the one checked) and keeps the name in Host."""
    settings.WEBHOOK_ALLOWED_HOSTS = []
    port = unlisted_receiver.server.server_address[1]
    # For this test only, 127.0.0.1 stands in for a public address (the receiver lives there).
    monkeypatch.setattr(egress, "address_refusal", lambda ip: None if str(ip) == "127.0.0.1" else "private")
    lookups = _fake_dns(monkeypatch, {"rebind.example": [["127.0.0.1"], ["10.9.9.9"]]})
    with egress.client() as http:
        response = http.post(f"http://rebind.example:{port}/hook", content=b"{}", timeout=5)
    assert response.status_code == 200
    assert lookups == ["rebind.example"]  # exactly one lookup of the name
    assert len(unlisted_receiver.requests) == 1
    assert unlisted_receiver.requests[0]["headers"]["Host"] == f"rebind.example:{port}"


def test_guarded_backend_refuses_before_connecting(settings, unlisted_receiver):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    port = unlisted_receiver.server.server_address[1]
    for host in ("127.0.0.1", "localhost", "::ffff:127.0.0.1", "0.0.0.0", "::"):
        with pytest.raises(egress.TargetNotAllowed):
            egress.GuardedBackend().connect_tcp(host, port, timeout=2, socket_options=[])
    assert unlisted_receiver.requests == []
    with pytest.raises(httpcore.ConnectError):
        egress.GuardedBackend().connect_tcp("no-such-host.invalid", 80, timeout=2, socket_options=[])


# --- end to end: triggers, the execution log and notifications --------------------------------


def _hook_trigger(project, owner, url):
    return services.trigger_create(
        project=project, by=owner, name="hook", event="task_created", actions=[{"type": "webhook", "url": url}]
    )


def _fire(django_capture_on_commit_callbacks, project, owner):
    with django_capture_on_commit_callbacks(execute=True):
        make_task(project, owner, title="ssrf")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]", "127.1", "2130706433"])
def test_trigger_to_a_loopback_server_is_refused_and_not_retried(
    eager, project, people, settings, unlisted_receiver, django_capture_on_commit_callbacks, api_for, host
):
    owner = people["owner"]
    settings.WEBHOOK_ALLOWED_HOSTS = []
    port = unlisted_receiver.server.server_address[1]
    target = f"http://{host}:{port}/hook"
    trigger = _hook_trigger(project, owner, "https://example.com/hook")
    # Stored as an older version (or a bypassed save check) could have stored it: the send-time
    # check is the one that counts.
    Trigger.objects.filter(pk=trigger.pk).update(actions=[{"type": "webhook", "url": target}])
    _fire(django_capture_on_commit_callbacks, project, owner)
    assert unlisted_receiver.requests == []
    rows = list(TriggerExecution.objects.all())
    assert [(r.attempt, r.outcome) for r in rows] == [(1, "failed")]  # permanent: no retry
    assert rows[0].error == egress.REFUSED_MESSAGE
    assert "target address not allowed" in rows[0].error
    log = api_for(people["member"]).get(f"/api/triggers/{trigger.pk}/executions/").json()["results"]
    shown = log[0]["error"]
    assert shown == egress.REFUSED_MESSAGE
    for secret in ("127.0.0.1", "::1", str(port), "refused", "loopback", "Errno"):
        assert secret not in shown
    note = Notification.objects.get(type="trigger_failed")
    assert "target address not allowed" in note.body and "127.0.0.1" not in note.body


def test_allowed_host_is_delivered(eager, project, people, settings, receiver, django_capture_on_commit_callbacks):
    owner = people["owner"]
    port = receiver.server.server_address[1]
    settings.WEBHOOK_ALLOWED_HOSTS = ["localhost"]  # by name; the receiver listens on 127.0.0.1
    _hook_trigger(project, owner, f"http://localhost:{port}/hook")
    _fire(django_capture_on_commit_callbacks, project, owner)
    assert len(receiver.requests) == 1
    assert TriggerExecution.objects.get().outcome == "success"
    # Taken off the list: the same trigger is refused from now on.
    settings.WEBHOOK_ALLOWED_HOSTS = []
    _fire(django_capture_on_commit_callbacks, project, owner)
    assert len(receiver.requests) == 1
    assert TriggerExecution.objects.order_by("-id").first().error == egress.REFUSED_MESSAGE


def test_redirect_to_loopback_is_not_followed(
    eager, project, people, receiver, unlisted_receiver, django_capture_on_commit_callbacks
):
    owner = people["owner"]
    receiver.script = [307]
    receiver.location = f"http://localhost:{unlisted_receiver.server.server_address[1]}/internal"
    _hook_trigger(project, owner, receiver.url)
    _fire(django_capture_on_commit_callbacks, project, owner)
    assert len(receiver.requests) == 1
    assert unlisted_receiver.requests == []
    row = TriggerExecution.objects.get()
    assert (row.attempt, row.outcome) == (1, "failed")
    assert "redirects are not followed" in row.error and "localhost" not in row.error


def test_network_errors_name_no_details(eager, project, people, settings, django_capture_on_commit_callbacks):
    owner = people["owner"]
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _hook_trigger(project, owner, f"http://127.0.0.1:{port}/hook")
    _fire(django_capture_on_commit_callbacks, project, owner)
    rows = list(TriggerExecution.objects.order_by("attempt"))
    assert [r.outcome for r in rows] == ["retrying", "retrying", "retrying", "failed"]  # transient
    assert {r.error for r in rows} == {"Webhook network error: ConnectError"}


def _self_signed(tmp_path, name: str):
    """A certificate for `name` only (not for any IP), and its key, as PEM files."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_to_the_pinned_address_keeps_sni_and_certificate_check_on_the_name(
    monkeypatch, settings, unlisted_receiver, tmp_path
):
    """Connecting to the checked IP must not weaken TLS: the server sees the URL's name as SNI
    and the certificate is verified against that name (it names no IP, so it would fail)."""
    import ssl

    import httpx

    settings.WEBHOOK_ALLOWED_HOSTS = []
    cert, key = _self_signed(tmp_path, "pinned.example")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    sni_seen = []
    server_ctx.sni_callback = lambda sock, name, ctx: sni_seen.append(name)
    server = unlisted_receiver.server
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    port = server.server_address[1]

    real_context = httpx.create_ssl_context

    def trusting_the_test_ca(**kwargs):
        ctx = real_context(**kwargs)
        ctx.load_verify_locations(cafile=str(cert))
        return ctx

    monkeypatch.setattr(egress.httpx, "create_ssl_context", trusting_the_test_ca)
    monkeypatch.setattr(egress, "address_refusal", lambda ip: None if str(ip) == "127.0.0.1" else "private")
    lookups = _fake_dns(monkeypatch, {"pinned.example": [["127.0.0.1"]]})
    with egress.client() as http:
        response = http.post(f"https://pinned.example:{port}/hook", content=b"{}", timeout=5)
        assert response.status_code == 200
        assert sni_seen == ["pinned.example"] and lookups == ["pinned.example"]
        assert unlisted_receiver.requests[0]["headers"]["Host"] == f"pinned.example:{port}"
        # The same certificate does not pass for another name that resolves to the same address.
        _fake_dns(monkeypatch, {"other.example": [["127.0.0.1"]]})
        with pytest.raises(httpx.ConnectError):
            http.post(f"https://other.example:{port}/hook", content=b"{}", timeout=5)
    assert len(unlisted_receiver.requests) == 1
