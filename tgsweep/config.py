"""Settings: TOML on disk, `${ENV}` for secrets, validated once at load.

Every key is declared here with its default; an unknown key or section, a missing required
key or a wrong type stops loading with one message that names the file, the key and what
was expected. Secrets are `SecretStr`, so they never print.
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

DEFAULT_PATH = "config.toml"
ENV_PATH = "TGSWEEP_CONFIG"
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_KEYS = {"api_hash", "secret", "session"}


class ConfigError(Exception):
    """A config problem a person can fix; the message says where and what."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _username(value: str) -> str:
    name = value.strip().lstrip("@")
    if not USERNAME.match(name):
        raise ValueError(f"{value!r} is not a Telegram username (letters, digits, _; 4-32 chars)")
    return name.lower()




class Storage(_Section):
    database: Path = Path("tgsweep.db")
    media_dir: Path = Path("media")


class Web(_Section):
    base_url: str = "https://t.me"
    request_delay: float = Field(1.0, ge=0)
    timeout: float = Field(30.0, gt=0)
    max_retries: int = Field(5, ge=0)
    max_retry_after: float = Field(900.0, ge=0)
    empty_feed_retries: int = Field(3, ge=0)
    backoff: float = Field(2.0, ge=0)
    concurrent_requests: int = Field(4, ge=1)
    user_agent: str = "Mozilla/5.0 (compatible; tgsweep/0.1; public web previews)"

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http(s) URL such as https://t.me")
        return value.rstrip("/")


class Media(_Section):
    download: bool = True
    max_bytes: int = Field(20 * 1024 * 1024, gt=0)
    max_pixels: int = Field(40_000_000, gt=0)
    keep: Literal["all", "none"] = "all"


class Watch(_Section):
    channels: list[str] = Field(default_factory=list)
    interval_minutes: float = Field(60, gt=0)

    @field_validator("channels")
    @classmethod
    def _usernames(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_username(v) for v in value))


class Schedule(_Section):
    """`tgsweep run`: the scheduled service (scheduler.py)."""

    jobs_database: Path = Path("jobs.db")
    jitter_seconds: float = Field(30.0, ge=0)
    sweep_timeout_minutes: float = Field(120.0, gt=0)
    stop_grace_seconds: float = Field(30.0, ge=0)
    misfire_grace_minutes: float = Field(60.0, gt=0)


class Discovery(_Section):
    enabled: bool = False
    max_depth: int = Field(1, ge=0)
    max_channels: int = Field(100, ge=0)


class Telethon(_Section):
    api_id: int | None = None
    api_hash: SecretStr | None = None
    session: str = "tgsweep.session"


class Sink(_Section):
    type: Literal["webhook", "jsonl"]
    url: str | None = None
    secret: SecretStr | None = None
    path: Path | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> "Sink":
        if self.type == "webhook" and not self.url:
            raise ValueError("a webhook sink needs url")
        if self.type == "jsonl" and not self.path:
            raise ValueError("a jsonl sink needs path")
        return self


class Alerts(_Section):
    sinks: list[Sink] = Field(default_factory=list)


class Bots(_Section):
    """The deepfake-bot classifier's cut-offs: precision first, so the generator bar is high."""

    generator_threshold: float = Field(0.8, gt=0, le=1)
    benign_threshold: float = Field(0.3, ge=0, lt=1)
    max_promotions: int = Field(50, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Bots":
        if self.benign_threshold >= self.generator_threshold:
            raise ValueError("benign_threshold must be below generator_threshold")
        return self


class Fingerprints(_Section):
    """PDQ/pHash match thresholds (Hamming distances) and the tiers a match is reported in."""

    pdq_threshold: int = Field(31, ge=0, le=128)
    phash_threshold: int = Field(10, ge=0, le=32)
    pdq_near_certain: int = Field(10, ge=0, le=128)
    pdq_match: int = Field(24, ge=0, le=128)
    phash_near_certain: int = Field(4, ge=0, le=32)
    phash_match: int = Field(8, ge=0, le=32)
    min_pdq_quality: int = Field(50, ge=0, le=100)
    workers: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Fingerprints":
        if not self.pdq_near_certain <= self.pdq_match <= self.pdq_threshold:
            raise ValueError("expected pdq_near_certain <= pdq_match <= pdq_threshold")
        if not self.phash_near_certain <= self.phash_match <= self.phash_threshold:
            raise ValueError("expected phash_near_certain <= phash_match <= phash_threshold")
        return self


class Logging(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class Config(_Section):
    storage: Storage = Field(default_factory=Storage)
    web: Web = Field(default_factory=Web)
    media: Media = Field(default_factory=Media)
    watch: Watch = Field(default_factory=Watch)
    discovery: Discovery = Field(default_factory=Discovery)
    schedule: Schedule = Field(default_factory=Schedule)
    telethon: Telethon = Field(default_factory=Telethon)
    alerts: Alerts = Field(default_factory=Alerts)
    bots: Bots = Field(default_factory=Bots)
    fingerprints: Fingerprints = Field(default_factory=Fingerprints)
    logging: Logging = Field(default_factory=Logging)
    source: Path | None = Field(None, exclude=True)  # the file it came from

    def resolved(self, base: Path) -> "Config":
        """Make relative storage paths relative to the config file, not the working dir."""
        storage = self.storage.model_copy(
            update={"database": base / self.storage.database, "media_dir": base / self.storage.media_dir}
        )
        schedule = self.schedule.model_copy(update={"jobs_database": base / self.schedule.jobs_database})
        return self.model_copy(update={"storage": storage, "schedule": schedule})


def config_path(given: str | os.PathLike | None) -> Path:
    return Path(given or os.environ.get(ENV_PATH) or DEFAULT_PATH)


def interpolate_env(data: Any, env: dict[str, str], where: str = "") -> Any:
    """Replace `${NAME}` in every string with the environment's value."""
    if isinstance(data, dict):
        return {k: interpolate_env(v, env, f"{where}.{k}" if where else k) for k, v in data.items()}
    if isinstance(data, list):
        return [interpolate_env(v, env, f"{where}[{i}]") for i, v in enumerate(data)]
    if isinstance(data, str):
        def sub(m: re.Match) -> str:
            if m.group(1) not in env:
                raise ConfigError(f"{_key(where)}: environment variable {m.group(1)} is not set")
            return env[m.group(1)]
        return _ENV_REF.sub(sub, data)
    return data


def _key(dotted: str) -> str:
    """('alerts.sinks.0.url') -> '[[alerts.sinks]] #1 url', ('web.timeout') -> '[web] timeout'."""
    section, _, rest = dotted.partition(".")
    m = re.match(r"^(\w+)\.(\d+)\.?(.*)$", rest)
    if m:
        return f"[[{section}.{m.group(1)}]] #{int(m.group(2)) + 1} {m.group(3)}".rstrip()
    return f"[{section}] {rest}" if rest else f"[{section}]"


def _describe(error: dict) -> str:
    loc = [str(p) for p in error["loc"] if not str(p).startswith("function-after")]
    where = ".".join(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        if len(loc) == 1:
            sections = ", ".join(f"[{n}]" for n in Config.model_fields if n != "source")
            return f"[{loc[0]}]: unknown section (expected one of {sections})"
        return f"{_key(where)}: unknown key"
    if kind == "missing":
        return f"{_key(where)}: missing (required)"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    shown = "" if _SECRET_KEYS & set(loc) or isinstance(value, dict) else f" (got {value!r})"
    return f"{_key(where)}: {message}{shown}"


def parse_config(text: str, source: Path, env: dict[str, str] | None = None) -> Config:
    """TOML text to a validated Config, or a ConfigError naming file, key and expectation."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    try:
        raw = interpolate_env(raw, dict(os.environ) if env is None else env)
        config = Config.model_validate(raw)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    except ValidationError as exc:
        lines = [f"{source}: {_describe(e)}" for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None
    return config.resolved(source.resolve().parent).model_copy(update={"source": source})


def load_config(path: str | os.PathLike | None = None) -> Config:
    source = config_path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such config file (run `tgsweep init` to write one)") from None
    return parse_config(text, source)


def starter_config() -> str:
    """The commented starter config that `tgsweep init` writes."""
    return (Path(__file__).with_name("config.example.toml")).read_text(encoding="utf-8")
