/**
 * The hand-written parts of the Python SDK: the runtime (standard library only, Python 3.9+) and
 * an in-tree PEP 517 build backend (standard library only, so `pip install ./folder` works
 * without network: `requires = []`, `backend-path`), which builds a wheel and an sdist.
 */

export const PY_RUNTIME = `import email.utils
import http.client
import json
import random
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Iterable, Iterator, List, Literal, Optional, Tuple, TypedDict, Union


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are not followed: a 3xx would carry the credential to wherever it points."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)

try:
    from typing import NotRequired, Required
except ImportError:  # Python < 3.11: the models' annotations stay unevaluated strings
    pass

_IDEMPOTENT = {"GET", "HEAD", "PUT", "OPTIONS"}


class AtollError(Exception):
    """Base of every error the SDK raises: the HTTP status (0 without an answer), the problem document, the raw body."""

    def __init__(self, message: str, status: int = 0, problem: Optional[Dict[str, Any]] = None, body: str = "", headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.status = status
        self.problem: Dict[str, Any] = problem if problem is not None else {"type": "about:blank", "title": message, "status": status}
        self.body = body
        self.headers: Dict[str, str] = headers or {}

    @property
    def type(self) -> str:
        """The problem type's slug: "rate-limited", "validation-failed", ..."""
        return str(self.problem.get("type", "")).rsplit("/", 1)[-1]


class BadRequestError(AtollError):
    """400 or 422 (also raised before sending when a required field or parameter is missing)."""


class AuthError(AtollError):
    """401 or 403."""


class NotFoundError(AtollError):
    pass


class ConflictError(AtollError):
    pass


class RateLimitError(AtollError):
    @property
    def retry_after(self) -> Optional[float]:
        return _retry_after(self.headers.get("retry-after"))


class ServerError(AtollError):
    pass


class AtollConnectionError(AtollError):
    """No answer: the connection failed."""


class AtollTimeoutError(AtollError):
    """No answer within the timeout."""


def _retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Retry-After in seconds: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    v = value.strip()
    try:
        return max(0.0, float(v))
    except ValueError:
        pass
    try:
        at = email.utils.parsedate_to_datetime(v)
    except (TypeError, ValueError, IndexError):
        return None
    if at is None:
        return None
    return max(0.0, at.timestamp() - (time.time() if now is None else now))


def _class_for(status: int) -> type:
    if status in (400, 422):
        return BadRequestError
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 429:
        return RateLimitError
    if status >= 500:
        return ServerError
    return AtollError


def _error_for(status: int, raw: bytes, headers: Dict[str, str], reason: str = "") -> AtollError:
    text = raw.decode("utf-8", "replace") if raw else ""
    problem: Optional[Dict[str, Any]] = None
    try:
        parsed = json.loads(text) if text else None
        if isinstance(parsed, dict):
            problem = parsed
    except ValueError:
        problem = None
    if problem is None:
        problem = {"type": "about:blank", "title": reason or "HTTP %d" % status, "status": status}
        if text:
            problem["detail"] = text[:2000]
    message = str(problem.get("detail") or problem.get("title") or "HTTP %d" % status)
    return _class_for(status)(message, status=status, problem=problem, body=text, headers=headers)


def _quote(value: Any) -> str:
    s = urllib.parse.quote(str(value), safe="@")
    # "." and ".." would be dot segments that climb out of the path: refused before sending.
    if s in (".", ".."):
        raise BadRequestError("A path parameter may not be . or ..")
    return s


def _quote_rest(value: Any) -> str:
    # The rest of a path (a plugin route's *): slashes kept, each segment encoded, never . or ..
    return "/".join("" if part == "" else _quote(part) for part in str(value).split("/"))


def _require(value: Any, keys: Tuple[str, ...], what: str) -> None:
    """Raises BadRequestError before sending when a required key is missing."""
    if not isinstance(value, dict):
        raise BadRequestError("%s must be a dict" % what)
    missing = [k for k in keys if value.get(k) is None]
    if missing:
        raise BadRequestError("%s is missing required field(s): %s" % (what, ", ".join(missing)))


def _require_param(value: Any, name: str) -> None:
    if value is None:
        raise BadRequestError("the parameter %s is required" % name)


class AtollClient:
    def __init__(self, base_url: Optional[str] = None, api_key: Optional[str] = None, access_token: Optional[str] = None, client_id: Optional[str] = None, client_secret: Optional[str] = None, timeout: float = 30.0, max_retries: int = 2, max_retry_delay: float = 60.0):
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = api_key
        self.access_token = access_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_delay = max_retry_delay
        self._token: Optional[str] = None
        self._token_expires = 0.0

    def _authorization(self) -> Dict[str, str]:
        if self.api_key:
            return {"X-API-Key": self.api_key}
        if self.access_token:
            return {"Authorization": "Bearer " + self.access_token}
        if not (self.client_id and self.client_secret):
            return {}
        if not self._token or self._token_expires - 30 < time.time():
            body = self.request("POST", TOKEN_PATH, body={"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret}, body_kind="form", content_type="application/x-www-form-urlencoded", auth=False)
            if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
                raise AuthError("the token endpoint answered no access_token", status=401)
            self._token = body["access_token"]
            self._token_expires = time.time() + float(body.get("expires_in") or 300)
        return {"Authorization": "Bearer " + str(self._token)}

    def request(self, method: str, path: str, query: Optional[Dict[str, Any]] = None, headers: Optional[Dict[str, Optional[str]]] = None, body: Any = None, body_kind: str = "json", content_type: str = "application/json", response_kind: str = "json", auth: bool = True, idempotency: Optional[str] = None, timeout: Optional[float] = None) -> Any:
        """Sends one operation; retries network errors, 408, 429 and 5xx (max_retries, backoff, Retry-After) when the method is idempotent or carries an Idempotency-Key, which it creates (a random UUID, the same for every retry) when the operation takes one and none was passed."""
        params: List[Tuple[str, str]] = []
        for k, v in (query or {}).items():
            if v is None:
                continue
            for item in (v if isinstance(v, (list, tuple)) else [v]):
                params.append((k, "true" if item is True else "false" if item is False else str(item)))
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        extra = {k.lower(): str(v) for k, v in (headers or {}).items() if v is not None}
        if idempotency is not None and "idempotency-key" not in extra:
            extra["idempotency-key"] = str(uuid.uuid4())
        retryable = method in _IDEMPOTENT or "idempotency-key" in extra
        data: Optional[bytes] = None
        if body is not None:
            extra["content-type"] = content_type
            if body_kind == "binary":
                if not isinstance(body, (bytes, bytearray, memoryview)):
                    raise BadRequestError("body must be bytes")
                data = bytes(body)
            elif body_kind == "form":
                data = urllib.parse.urlencode({k: v for k, v in body.items() if v is not None}).encode()
            else:
                data = json.dumps(body).encode()
        wait = self.timeout if timeout is None else timeout
        attempt = 0
        while True:
            h = {"Accept": "*/*" if response_kind == "binary" else "application/json", "User-Agent": "atoll-python"}
            if auth:
                h.update(self._authorization())
            h.update(extra)
            req = urllib.request.Request(url, data=data, method=method, headers=h)
            backoff = min(8.0, 0.25 * 2 ** attempt) * (0.5 + random.random() / 2)
            try:
                with _OPENER.open(req, timeout=wait) as res:
                    raw = res.read()
            except urllib.error.HTTPError as err:
                raw = err.read() or b""
                answer_headers = {k.lower(): v for k, v in err.headers.items()}
                after = _retry_after(err.headers.get("Retry-After"))
                # A wait longer than max_retry_delay is the caller's decision: raised at once.
                if (err.code in (408, 429) or err.code >= 500) and retryable and attempt < self.max_retries and (after is None or after <= self.max_retry_delay):
                    time.sleep(backoff if after is None else after)
                    attempt += 1
                    continue
                raise _error_for(err.code, raw, answer_headers, str(err.reason)) from None
            except (socket.timeout, TimeoutError) as err:
                if retryable and attempt < self.max_retries:
                    time.sleep(backoff)
                    attempt += 1
                    continue
                raise AtollTimeoutError("no answer within %s s" % wait) from err
            except (urllib.error.URLError, http.client.HTTPException, OSError) as err:
                reason = getattr(err, "reason", err)
                is_timeout = isinstance(reason, (socket.timeout, TimeoutError))
                if retryable and attempt < self.max_retries:
                    time.sleep(backoff)
                    attempt += 1
                    continue
                if is_timeout:
                    raise AtollTimeoutError("no answer within %s s" % wait) from err
                raise AtollConnectionError("connection failed: %s" % reason) from err
            if response_kind == "binary":
                return raw
            if not raw or response_kind == "none":
                return None
            try:
                return json.loads(raw)
            except ValueError:
                raise AtollError("the answer is not JSON", status=200, body=raw.decode("utf-8", "replace")) from None
`;

/** The in-tree PEP 517 backend; NAME, VERSION and MODULE are prepended by the generator. */
export const PY_BACKEND = `"""An in-tree PEP 517 build backend (standard library only): a wheel and an sdist of this folder."""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_DIST = re.sub(r"[-_.]+", "_", NAME).lower()
_INFO = "%s-%s.dist-info" % (_DIST, VERSION)


def _metadata():
    readme = ""
    path = os.path.join(_ROOT, "README.md")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            readme = f.read()
    return ("Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\nSummary: %s\\nRequires-Python: >=3.9\\nDescription-Content-Type: text/markdown\\n\\n%s" % (NAME, VERSION, SUMMARY, readme)).encode("utf-8")


def _package_files():
    base = os.path.join(_ROOT, MODULE)
    for folder, _dirs, files in os.walk(base):
        for name in sorted(files):
            if name.endswith((".py", ".typed")):
                full = os.path.join(folder, name)
                yield full, os.path.relpath(full, _ROOT).replace(os.sep, "/")


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    target = os.path.join(metadata_directory, _INFO)
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(target, "METADATA"), "wb") as f:
        f.write(_metadata())
    with open(os.path.join(target, "WHEEL"), "wb") as f:
        f.write(_wheel_file())
    return _INFO


def _wheel_file():
    return b"Wheel-Version: 1.0\\nGenerator: atoll-build\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "%s-%s-py3-none-any.whl" % (_DIST, VERSION)
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as whl:
        def add(path, data):
            whl.writestr(zipfile.ZipInfo(path, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
            records.append(_record_line(path, data))
        for full, rel in _package_files():
            with open(full, "rb") as f:
                add(rel, f.read())
        add(_INFO + "/METADATA", _metadata())
        add(_INFO + "/WHEEL", _wheel_file())
        record = _INFO + "/RECORD"
        records.append(record + ",,")
        whl.writestr(zipfile.ZipInfo(record, date_time=(2026, 1, 1, 0, 0, 0)), ("\\n".join(records) + "\\n").encode("utf-8"), zipfile.ZIP_DEFLATED)
    return name


def build_sdist(sdist_directory, config_settings=None):
    stem = "%s-%s" % (_DIST, VERSION)
    name = stem + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        def add(rel, data):
            info = tarfile.TarInfo("%s/%s" % (stem, rel))
            info.size = len(data)
            info.mtime = 1767225600
            tar.addfile(info, io.BytesIO(data))
        for rel in ("pyproject.toml", "README.md", "_build/atoll_build.py"):
            path = os.path.join(_ROOT, rel)
            if os.path.exists(path):
                with open(path, "rb") as f:
                    add(rel, f.read())
        for full, rel in _package_files():
            with open(full, "rb") as f:
                add(rel, f.read())
        add("PKG-INFO", _metadata())
    return name
`;
