"""A failure's signature: what identifies its root cause across scenarios and runs.

Exception type + normalised message + the top in-app frames (`module:function`, innermost
first, no line numbers), from the error's type, message and trace text (Python's native and
pytest's tracebacks, Java's and JavaScript's stack traces). Deterministic: the same failure
text gives the same signature on any machine (paths are cut to their last two parts). The
rules are versioned (`VERSION`): a signature is stored with its version, and changing the rules
means a new version and an explicit regrouping (`python -m chalicelib.cli regroup`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

VERSION = 1
TOP_FRAMES = 3
MESSAGE_MAX = 200

# -- the message's placeholders, applied in this order -----------------------------------------
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*)://([^/\s:'\"<>)\]]+)(:\d+)?([^\s'\"<>)\]]*)")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_TEMP = re.compile(
    r"(?:(?:/private)?/(?:tmp|var/tmp|var/folders)/|[A-Za-z]:\\[^\s'\"]*?\\Temp\\)[^\s'\")\]]*"
)
_UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_TIMESTAMP = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
    r"|\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"
    r"|\b1\d{9}(?:\d{3})?\b"  # epoch seconds or milliseconds
)
_IP = re.compile(
    r"\b\d{1,3}(?:\.\d{1,3}){3}\b"
    r"|(?<![\w:])(?=[0-9a-fA-F:]*::)(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{1,4}\b"
    r"|(?<![\w:])(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}\b"
)
_PORT = re.compile(r"(?<=[\w>\]]):\d{2,5}\b|\b(?<=port )\d{2,5}\b", re.IGNORECASE)
_DURATION = re.compile(
    r"\b\d+(?:\.\d+)?\s?(?:ns|us|µs|ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b"
)
_LOCATOR = re.compile(
    r"(?<![:\w/])//[\w*-]+(?:\[[^\]]*\])?(?:/{1,2}[\w*-]+(?:\[[^\]]*\])?)*"  # XPath
    r"|\bBy\.\w+\(\s*(['\"]).*?\1\s*\)"  # Selenium
    r"|\b(?:locator|getByTestId|getByRole|getByText|getByLabel|querySelector(?:All)?|find_element)"
    r"\(\s*(['\"]).*?\2"  # Playwright, DOM, Selenium (Python)
    r"|\[data-[\w-]+(?:=['\"]?[^\]]*?['\"]?)?\]"  # [data-testid="..."]
    r"|(?<=element )[#.][A-Za-z][\w-]*"  # "element #login-button"
)
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b")
_ID = re.compile(r"\b(?=(?:[A-Za-z_-]*\d){2})(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]{7,}\b")
_NUMBER = re.compile(r"(?<![A-Za-z<])[-+]?\d+(?:\.\d+)?")
_SPACE = re.compile(r"\s+")


def _url(m: re.Match[str]) -> str:
    scheme, host, port, rest = m.group(1), m.group(2), m.group(3), m.group(4)
    return (
        f"{scheme.lower()}://{host.lower()}"
        + (":<port>" if port else "")
        + ("/<path>" if rest.strip("/") else "")
    )


PLACEHOLDERS: tuple[tuple[str, re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    ("ansi", _ANSI, ""),
    ("url", _URL, _url),
    ("email", _EMAIL, "<email>"),
    ("temp path", _TEMP, "<tmp>"),
    ("uuid", _UUID, "<uuid>"),
    ("timestamp", _TIMESTAMP, "<ts>"),
    ("ip", _IP, "<ip>"),
    ("port", _PORT, lambda m: ":<port>" if m.group(0).startswith(":") else "<port>"),
    ("duration", _DURATION, "<duration>"),
    ("locator", _LOCATOR, "<locator>"),
    ("hex", _HEX, "<hex>"),
    ("id", _ID, "<id>"),
    ("number", _NUMBER, "<n>"),
)


# An assertion's compared values are data (which parameter, which record): its shape and its
# place (the frames) say which check failed. Applied to assertion failures only.
_COMPARISONS = (
    (
        re.compile(r"^assert .+? (==|!=|<=|>=|<|>|not in|in|is not|is) .+$"),
        r"assert <value> \1 <value>",
    ),
    (re.compile(r"^(?:(\w+(?: \w+)? differ): )?.+? (!=|==) .+$"), r"\1 <value> \2 <value>"),
    (re.compile(r"expected:? ?<.*> but was:? ?<.*>"), "expected:<value> but was:<value>"),
    (
        re.compile(r"^expected .+? to (deep equal|equal|be|include|contain|have|match) .+$"),
        r"expected <value> to \1 <value>",
    ),
)
_ASSERTION = re.compile(r"Assert|Failure|Comparison|Expectation")


def normalise(message: str, exception: str = "") -> str:
    """The message with what varies between occurrences of one cause replaced by placeholders:
    its first non-empty line, whitespace collapsed, at most MESSAGE_MAX characters. For an
    assertion failure (`exception`), the compared values too."""
    text = _ANSI.sub("", message or "")
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if not exception or _ASSERTION.search(exception):
        for comparison, shape in _COMPARISONS:
            if comparison.search(line):
                line = comparison.sub(shape, line, count=1).strip()
                break
    for _, pattern, repl in PLACEHOLDERS[1:]:
        line = pattern.sub(repl, line)
    return _SPACE.sub(" ", line).strip()[:MESSAGE_MAX]


# -- frames ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    module: str
    function: str
    in_app: bool

    def __str__(self) -> str:
        return f"{self.module}:{self.function}"


_PY_NATIVE = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+, in (?P<func>\S+)', re.M)
_PY_PYTEST = re.compile(r"^(?P<file>[^\s:]+\.py):\d+: (?:in (?P<func>\S+)|(?P<exc>[\w.]+))$", re.M)
_PY_DEF = re.compile(r"^\s*(?:async\s+)?def (\w+)\(", re.M)
_JAVA = re.compile(r"^\s*at (?P<cls>[\w$.]+)\.(?P<func>[\w$<>]+)\((?P<where>[^)]*)\)", re.M)
_JS = re.compile(
    r"^\s*at (?:(?:async )?(?P<func>[^\s(]+) \()?(?P<file>[^()\s]+?):\d+:\d+\)?\s*$", re.M
)
_PY_LIBRARY = ("site-packages", "dist-packages", "/lib/python", "_pytest", "pluggy", "<frozen")
_PY_LIBRARY_MODULES = ("unittest.", "_pytest.", "pluggy.", "importlib.", "runpy.")
_JAVA_LIBRARY = (
    "java.", "javax.", "jdk.", "sun.", "com.sun.", "org.junit.", "junit.", "org.testng.",
    "org.apache.maven.", "org.gradle.", "kotlin.", "kotlinx.", "scala.", "org.openqa.selenium.",
    "com.microsoft.playwright.", "org.springframework.", "io.cucumber.", "cucumber.",
    "org.mockito.", "net.bytebuddy.", "org.assertj.", "org.hamcrest.",
)  # fmt: skip
_JS_LIBRARY = ("node_modules", "node:", "internal/", "<anonymous>")
_CHAINED = re.compile(
    r"^(?:During handling of the above exception|The above exception was the direct cause)", re.M
)


def _module_of(path: str) -> str:
    parts = [p for p in re.split(r"[\\/]+", path) if p and p != "."]
    if parts:
        parts[-1] = re.sub(r"\.(py|js|mjs|cjs|ts|tsx|jsx)$", "", parts[-1])
    return ".".join(parts[-2:])


def _python_frames(trace: str) -> list[Frame]:
    """Innermost first. Only the last exception of a chained traceback."""
    trace = _CHAINED.split(trace)[-1]
    found: list[tuple[int, Frame]] = []
    for m in _PY_NATIVE.finditer(trace):
        file = m.group("file")
        lib = any(s in file for s in _PY_LIBRARY)
        found.append((m.start(), Frame(_module_of(file), m.group("func"), not lib)))
    last = 0
    for m in _PY_PYTEST.finditer(trace):
        file, func = m.group("file"), m.group("func")
        if func is None:  # pytest's long style names the exception on the last frame's line
            defs = _PY_DEF.findall(trace, last, m.start())
            func = defs[-1] if defs else "<module>"
        lib = any(s in file for s in _PY_LIBRARY)
        found.append((m.start(), Frame(_module_of(file), func, not lib)))
        last = m.end()
    found.sort(key=lambda pair: pair[0])
    frames = [f for _, f in reversed(found)]
    return [
        Frame(f.module, f.function, f.in_app and not f.module.startswith(_PY_LIBRARY_MODULES))
        for f in frames
    ]


def _java_frames(trace: str) -> list[Frame]:
    """Innermost first: the root cause's frames (the last `Caused by:`), else the whole trace."""
    sections = re.split(r"^Caused by: ", trace, flags=re.M)
    for section in (sections[-1], trace) if len(sections) > 1 else (trace,):
        frames = []
        for m in _JAVA.finditer(section):
            cls = re.sub(r"\$\$.*|\$\d+$", "", m.group("cls"))
            func = re.sub(r"\$\d+$", "", m.group("func"))
            frames.append(Frame(cls, func, not cls.startswith(_JAVA_LIBRARY)))
        if any(f.in_app for f in frames):
            return frames
    return frames


def _js_frames(trace: str) -> list[Frame]:
    frames = []
    for m in _JS.finditer(trace):
        file = m.group("file")
        if "." not in file.rsplit("/", 1)[-1] and not file.startswith("node:"):
            continue  # a Java frame (`at pkg.Class.method(File.java:12)` is matched above)
        func = re.sub(r"^(?:Object|Module|Function)\.", "", m.group("func") or "<anonymous>")
        lib = any(s in file for s in _JS_LIBRARY)
        frames.append(Frame(_module_of(file), func, not lib))
    return frames


def frames_of(trace: str) -> list[Frame]:
    """Every frame the trace names, innermost first (whichever language's format it has)."""
    if not trace:
        return []
    for parse in (_python_frames, _java_frames, _js_frames):
        frames = parse(trace)
        if frames:
            return frames
    return []


# -- exception type and message ----------------------------------------------------------------
_TYPE = r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*"
_TYPED_MESSAGE = re.compile(rf"^(?:E\s+|Caused by: |Uncaught )?(?P<type>{_TYPE}): ?(?P<msg>.*)$")
_LOOKS_LIKE_TYPE = re.compile(r"(?:Error|Exception|Exit|Interrupt|Failure|Warning|Fault)$")


def _typed(line: str) -> tuple[str, str] | None:
    m = _TYPED_MESSAGE.match(line.strip())
    if m and _LOOKS_LIKE_TYPE.search(m.group("type")):
        return m.group("type"), m.group("msg")
    return None


def exception_of(error: dict[str, Any] | None, actual: str | None = None) -> tuple[str, str]:
    """(exception type, raw message): the error's type if it names one, else the trace's last
    `Type: message` line (Java: the last `Caused by:`), else the message's own `Type: ` prefix."""
    error = error or {}
    kind = str(error.get("type") or "").strip()
    message = str(error.get("message") or actual or "").strip()
    trace = _ANSI.sub("", str(error.get("trace") or ""))
    from_trace = None
    for line in trace.splitlines():
        typed = _typed(line)
        if typed and (from_trace is None or not line.startswith(("\t", "    at"))):
            from_trace = typed
    pytest_type = [m.group("exc") for m in _PY_PYTEST.finditer(trace) if m.group("exc")]
    own = _typed(_ANSI.sub("", message).splitlines()[0]) if message else None
    if own:
        kind, message = kind or own[0], own[1]
    elif from_trace and not kind:  # the trace's last exception (Java: the root cause)
        kind, message = from_trace
    if not kind and pytest_type:
        kind = pytest_type[-1]
    kind = kind.removeprefix("builtins.")
    return kind or "Failure", message


# -- the signature -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Signature:
    version: int
    exception: str
    message: str  # normalised
    frames: tuple[str, ...]  # top in-app frames, innermost first
    key: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "key": self.key,
            "exception": self.exception,
            "message": self.message,
            "frames": list(self.frames),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        return cls(
            int(data["version"]),
            str(data["exception"]),
            str(data["message"]),
            tuple(data.get("frames") or ()),
            str(data["key"]),
        )

    @property
    def summary(self) -> str:
        """One line for people: `ConnectionError: could not reach db at <ip>:<port>`."""
        text = f"{self.exception}: {self.message}" if self.message else self.exception
        return text if len(text) <= 120 else text[:119] + "…"


def signature_of(error: dict[str, Any] | None, actual: str | None = None) -> Signature:
    kind, message = exception_of(error, actual)
    normalised = normalise(message, kind)
    frames = frames_of(str((error or {}).get("trace") or ""))
    top = tuple(str(f) for f in frames if f.in_app)[:TOP_FRAMES]
    raw = "\n".join([str(VERSION), kind, normalised, "|".join(top)])
    key = hashlib.sha256(raw.encode()).hexdigest()[:24]
    return Signature(VERSION, kind, normalised, top, key)
