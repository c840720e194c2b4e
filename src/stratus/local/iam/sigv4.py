"""Signature Version 4, checked as AWS checks it: the request's signature recomputed from what was received.

Both forms: the ``Authorization`` header (``AWS4-HMAC-SHA256 Credential=AKID/DATE/REGION/SERVICE/aws4_request,
SignedHeaders=..., Signature=...``) and a presigned URL's query (``X-Amz-Credential``, ``X-Amz-Signature``, ...).
https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html

The canonical URI is the path as sent, encoded once more for every service but S3 (which signs it as is); the
payload hash is ``x-amz-content-sha256`` where the client sent it (S3, and the streaming forms it names) and the
SHA-256 of the body otherwise; presigned S3 URLs sign ``UNSIGNED-PAYLOAD``.
"""

from __future__ import annotations

import base64
import calendar
import dataclasses
import functools
import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote

from botocore.auth import HmacV1Auth

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = 15 * 60  # seconds: AWS refuses a signature dated further from its clock
MAX_PRESIGN = 7 * 24 * 3600


class Unsigned(Exception):
    """No signature at all (AWS: ``MissingAuthenticationToken``; S3 treats it as anonymous)."""


class Malformed(Exception):
    """A signature that cannot be read (AWS: ``IncompleteSignature`` / ``AuthorizationHeaderMalformed``)."""


@dataclass(frozen=True, slots=True)
class Signed:
    """What a request claims: who signed it, for which region and service, and how to check it."""

    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    amz_date: str  # the request's timestamp, YYYYMMDDTHHMMSSZ
    signed_headers: tuple[str, ...]
    signature: str
    session_token: str | None
    presigned: bool
    expires: int = 0  # a presigned URL's lifetime in seconds (SigV2: the epoch second it expires at)
    version: int = 4

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True)
class Received:
    """A request as it reached the server."""

    method: str
    raw_path: str  # percent-encoded, as sent
    query: str  # the raw query string
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    body_sha256: str = ""  # the body's hash, when the body itself is elsewhere (the local Invoke API's check)
    source_ip: str = ""


def read(request: Received) -> Signed:
    """The signature a request claims (not yet checked)."""
    authorization = request.headers.get("authorization", "")
    if authorization:
        return _from_header(authorization, request.headers)
    params = dict(parse_qsl(request.query, keep_blank_values=True))
    if "X-Amz-Signature" in params or "X-Amz-Credential" in params:
        return _from_query(params)
    if "AWSAccessKeyId" in params and "Signature" in params:
        return _from_query_v2(params)
    raise Unsigned


def _from_header(authorization: str, headers: Mapping[str, str]) -> Signed:
    algorithm, _, rest = authorization.partition(" ")
    if algorithm != ALGORITHM:
        raise Malformed(f"Unsupported AWS 'algorithm': {algorithm!r}")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, _, value = part.strip().partition("=")
        fields[key] = value
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise Malformed(f"Authorization header requires '{missing[0]}' parameter.")
    amz_date = headers.get("x-amz-date") or ""
    if not amz_date:
        raise Malformed("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    return _signed(fields["Credential"], amz_date, fields["SignedHeaders"], fields["Signature"],
                   headers.get("x-amz-security-token"), presigned=False)  # fmt: skip


def _from_query(params: Mapping[str, str]) -> Signed:
    if params.get("X-Amz-Algorithm") != ALGORITHM:
        raise Malformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    for key in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires"):
        if not params.get(key):
            raise Malformed(f"Query-string authentication version 4 requires the {key} parameter.")
    try:
        expires = int(params["X-Amz-Expires"])
    except ValueError:
        raise Malformed("X-Amz-Expires should be a number") from None
    if not 0 < expires <= MAX_PRESIGN:
        raise Malformed("X-Amz-Expires must be less than a week (in seconds) that is 604800")
    signed = _signed(params["X-Amz-Credential"], params["X-Amz-Date"], params["X-Amz-SignedHeaders"],
                     params["X-Amz-Signature"], params.get("X-Amz-Security-Token"), presigned=True)  # fmt: skip
    return dataclasses.replace(signed, expires=expires)


def _from_query_v2(params: Mapping[str, str]) -> Signed:
    """S3's presigned URL of Signature Version 2 (what boto3 makes by default for an endpoint of its own)."""
    try:
        expires = int(params.get("Expires", ""))
    except ValueError:
        raise Malformed("Expires should be a number") from None
    return Signed(params["AWSAccessKeyId"], "", "", "s3", "", (), params["Signature"],
                  params.get("x-amz-security-token"), presigned=True, expires=expires, version=2)  # fmt: skip


def _signed(credential: str, amz_date: str, signed_headers: str, signature: str, token: str | None,
            *, presigned: bool) -> Signed:  # fmt: skip
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise Malformed(f"Credential should be scoped to a valid region, not '{credential}'.")
    return Signed(parts[0], parts[1], parts[2], parts[3], amz_date, tuple(signed_headers.split(";")), signature,
                  token, presigned)  # fmt: skip


@functools.lru_cache(maxsize=256)
def timestamp(amz_date: str) -> float:
    """``YYYYMMDDTHHMMSSZ`` as epoch seconds (by hand: ``strptime`` costs more than the whole signature)."""
    d = amz_date
    if len(d) != 16 or d[8] != "T" or d[15] != "Z" or not (d[:8] + d[9:15]).isdigit():
        raise Malformed(f"Invalid date {amz_date!r}: must be in ISO8601 basic format")
    try:
        parts = (int(d[0:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]), int(d[13:15]))
        datetime(*parts)  # a real date
    except ValueError:
        raise Malformed(f"Invalid date {amz_date!r}: must be in ISO8601 basic format") from None
    return float(calendar.timegm((*parts, 0, 0, 0)))


def expired(signed: Signed, now: float | None = None) -> str | None:
    """Why the signature's time is not acceptable (AWS's wording), or ``None``."""
    now = time.time() if now is None else now
    if signed.version == 2:
        return "Request has expired" if now > signed.expires else None
    at = timestamp(signed.amz_date)
    if signed.presigned:
        return "Request has expired" if now > at + signed.expires else None
    if signed.date != signed.amz_date[:8]:
        raise Malformed(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{signed.date}' != '{signed.amz_date[:8]}', from '{signed.amz_date}'."
        )
    if now - at > MAX_SKEW:
        earliest, current = _basic(now - MAX_SKEW), _basic(now)
        return f"Signature expired: {signed.amz_date} is now earlier than {earliest} ({current} - 15 min.)"
    if at - now > MAX_SKEW:
        latest, current = _basic(now + MAX_SKEW), _basic(now)
        return f"Signature not yet current: {signed.amz_date} is still later than {latest} ({current} + 15 min.)"
    return None


def _basic(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y%m%dT%H%M%SZ")


def valid(signed: Signed, request: Received, secret: str) -> bool:
    """Whether ``signed`` is the signature of ``request`` with ``secret``."""
    expected = signature(signed, request, secret)
    return hmac.compare_digest(expected.encode(), signed.signature.encode(errors="replace"))


def signature(signed: Signed, request: Received, secret: str) -> str:
    if signed.version == 2:
        return _signature_v2(request, secret)
    key = _signing_key(secret, signed.date, signed.region, signed.service)
    return hmac.digest(key, string_to_sign(signed, request).encode(), "sha256").hex()


def string_to_sign(signed: Signed, request: Received) -> str:
    canonical = canonical_request(signed, request)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{signed.amz_date}\n{signed.scope}\n{digest}"


def canonical_request(signed: Signed, request: Received) -> str:
    path = request.raw_path or "/"
    uri = path if signed.service == "s3" else _encoded(path)
    query = _canonical_query(request.query, signed.presigned) if request.query else ""
    headers = "".join(f"{name}:{' '.join(request.headers.get(name, '').split())}\n" for name in signed.signed_headers)
    return "\n".join((request.method, uri, query, headers, ";".join(signed.signed_headers), _payload(signed, request)))


@functools.lru_cache(maxsize=1024)
def _encoded(path: str) -> str:
    return quote(path, safe="/~")


def _canonical_query(raw: str, presigned: bool) -> str:
    pairs = parse_qsl(raw, keep_blank_values=True)
    if presigned:
        pairs = [(k, v) for k, v in pairs if k != "X-Amz-Signature"]
    return "&".join(f"{k}={v}" for k, v in sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs))


# The subresources S3's Signature Version 2 signs, as botocore signs them.
_V2_SUBRESOURCES = frozenset(HmacV1Auth.QSAOfInterest)


def _signature_v2(request: Received, secret: str) -> str:
    params = parse_qsl(request.query, keep_blank_values=True)
    amz = {k.lower(): v for k, v in params if k.lower().startswith("x-amz-")}
    amz.update({k: v for k, v in request.headers.items() if k.startswith("x-amz-")})
    expires = next((v for k, v in params if k == "Expires"), "")
    sub = sorted((k, v) for k, v in params if k in _V2_SUBRESOURCES)
    resource = request.raw_path + ("?" + "&".join(f"{k}={v}" if v else k for k, v in sub) if sub else "")
    text = "\n".join((request.method, request.headers.get("content-md5", ""), request.headers.get("content-type", ""),
                      expires, "".join(f"{k}:{amz[k]}\n" for k in sorted(amz)) + resource))  # fmt: skip
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _payload(signed: Signed, request: Received) -> str:
    # S3 signs the hash the client declares in x-amz-content-sha256 (and checks it against the body:
    # :func:`payload_mismatch`); every other service hashes the body it received.
    if signed.service == "s3":
        declared = request.headers.get("x-amz-content-sha256")
        if declared and "x-amz-content-sha256" in signed.signed_headers:
            return declared
        if signed.presigned:
            return "UNSIGNED-PAYLOAD"
    return request.body_sha256 or hashlib.sha256(request.body).hexdigest()


def payload_mismatch(request: Received) -> bool:
    """An S3 request whose declared ``x-amz-content-sha256`` is a hash, and not the body's (AWS:
    ``XAmzContentSHA256Mismatch``); the unsigned and streaming forms declare no hash."""
    declared = request.headers.get("x-amz-content-sha256", "")
    if len(declared) != 64 or not all(c in "0123456789abcdef" for c in declared):
        return False
    return declared != (request.body_sha256 or hashlib.sha256(request.body).hexdigest())


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key
