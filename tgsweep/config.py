"""Settings: TOML on disk, `${ENV}` for secrets, validated once at load.

Every key is declared here with its default; an unknown key or section, a missing required
key or a wrong type stops loading with one message that names the file, the key and what
was expected. Secrets are `SecretStr`, so they never print; an error about a secret-bearing key
(or anything in [telethon] or [[alerts.sinks]]) names the key and the problem, never the value.
Every secret of a loaded config is registered with tgsweep/redact.py, so no log line carries it.
"""
from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from tgsweep import redact

DEFAULT_PATH = "config.toml"
ENV_PATH = "TGSWEEP_CONFIG"
USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# where t.me serves pages and media: the default of [web] egress_hosts (crawler/egress.py)
TELEGRAM_HOSTS = ("t.me", "telegram.me", "telegram.org", "*.telegram.org", "telesco.pe", "*.telesco.pe",
                  "*.telegram-cdn.org", "*.cdn-telegram.org")
_SECRET_KEYS = {"api_id", "api_hash", "secret", "session", "string_session", "token", "token_file", "url"}
_SECRET_SECTIONS = {("telethon",), ("alerts", "sinks")}  # a value anywhere in them is never echoed either
_HOST = re.compile(r"[\w-]+(?:\.[\w-]+)*\.?")


class ConfigError(Exception):
    """A config problem a person can fix; the message says where and what."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


_TME_NAME = re.compile(r"^(?:(?:https?://)?(?:www\.)?(?:t|telegram)\.me/(?:s/)?)?@?([^/?#\s]+)/?(?:[?#].*)?$", re.I)


def channel_name(value: str) -> str:
    """The one channel-name parser of every command and the config: `name`, `@name`, `t.me/name`,
    `https://t.me/name` and `https://t.me/s/name` all give `name` (lower case)."""
    match = _TME_NAME.match(value.strip())
    name = match.group(1) if match else ""
    if not USERNAME.match(name):
        raise ValueError(f"{value!r} is not a Telegram username (letters, digits, _; 4-32 chars; or a t.me link)")
    return name.lower()


_username = channel_name  # the validators below use this name




class Storage(_Section):
    database: Path = Path("tgsweep.db")  # the SQLite store; with `url`, the prefix of this machine's own files
    # the store on PostgreSQL instead: "postgresql+psycopg://user@host/db"; a password as "${ENV_VAR}"
    url: SecretStr | None = None
    media_dir: Path = Path("media")
    warc: bool = True  # every fetch also written as WARC records (crawler/warc.py)
    warc_dir: Path = Path("warc")
    warc_max_bytes: int = Field(1 << 30, ge=1 << 20)  # a WARC file is closed past this size


    @property
    def url_value(self) -> str | None:
        """The PostgreSQL URL with its secret, for the engine only (never printed)."""
        return self.url.get_secret_value() if self.url else None

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("postgresql+psycopg://"):
            raise ValueError('expected a PostgreSQL URL "postgresql+psycopg://user@host:port/database"')
        return value


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
    # hosts a page-named URL may be fetched from, besides base_url's (crawler/egress.py); "*." = subdomains
    egress_hosts: list[str] = Field(default_factory=lambda: list(TELEGRAM_HOSTS))
    max_pages_per_channel: int = Field(1000, ge=1)  # per sweep; the next sweep resumes where this one stopped
    max_bot_lookups_per_post: int = Field(10, ge=0)  # entity pages read for the bots one post names
    max_media_per_post: int = Field(20, ge=0)  # downloads for one post (an album has at most 10 items)
    max_nesting_depth: int = Field(512, ge=16)  # deeper pages are refused unparsed (parsing them is quadratic)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected an http(s) URL such as https://t.me")
        return value.rstrip("/")


class BankSource(_Section):
    """A hash list kept elsewhere, synced into a bank (`tgsweep media sync`, job `sync_banks`)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")  # the bank
    path: Path | None = None  # the list, or a folder of lists (*.csv, *.txt), relative to the config file
    url: str | None = None  # ... or an HTTPS URL serving it (http:// only to loopback)
    token: SecretStr | None = None  # sent as `Authorization: Bearer` to url; write "${ENV_VAR}"
    format: Literal["csv", "threatexchange"] = "csv"  # CSV hash_type,hash[,label]; or "signal_type signal" lines
    max_bytes: int = Field(1024 * 1024 * 1024, gt=0)  # a larger download is refused

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is None:
            return value
        problem = url_problem(value)
        if problem:
            raise ValueError(problem)
        parts = urlsplit(value)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("a hash list is fetched over https:// (http:// only from this machine)")
        return value

    @field_validator("token")
    @classmethod
    def _header_safe(cls, value: SecretStr | None) -> SecretStr | None:
        """A token goes into an HTTP header: printable ASCII, no spaces (a stray newline from an
        environment variable would otherwise end up in an error message)."""
        if value is not None:
            text = value.get_secret_value().strip()
            if not text or not all(33 <= ord(c) <= 126 for c in text):
                raise ValueError("must be printable ASCII without spaces")
            return SecretStr(text)
        return value

    @model_validator(mode="after")
    def _one_place(self) -> "BankSource":
        if (self.path is None) == (self.url is None):
            raise ValueError("give the list's path or its url (one of them)")
        if self.token is not None and self.url is None:
            raise ValueError("token is sent to url: give url")
        return self


class Media(_Section):
    download: bool = True
    max_bytes: int = Field(20 * 1024 * 1024, gt=0)
    max_pixels: int = Field(40_000_000, gt=0)
    keep: Literal["all", "none"] = "all"
    max_video_seconds: float = Field(600.0, gt=0)  # detectors/media/video.py: keyframes of the first N seconds
    video_dedupe_distance: int = Field(12, ge=0, le=256)
    bank_sources: list[BankSource] = Field(default_factory=list)  # hash lists synced into banks

    @field_validator("bank_sources")
    @classmethod
    def _one_source_per_bank(cls, value: list[BankSource]) -> list[BankSource]:
        names = [s.name for s in value]
        if len(set(names)) != len(names):
            raise ValueError(f"two sources for one bank: {sorted({n for n in names if names.count(n) > 1})}")
        return value


class WatchGroup(_Section):
    """A named watchlist group (`[[watch.groups]]`): its channels swept on an interval of their own."""

    name: str
    channels: list[str] = Field(default_factory=list)
    interval_minutes: float = Field(60, gt=0)
    sources: list[Literal["web", "telethon"]] = Field(default_factory=lambda: ["web", "telethon"])

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9_-]{1,32}", value) or value == "default":
            raise ValueError("expected a group name of a-z, 0-9, _ and - (1-32 chars, not 'default')")
        return value

    @field_validator("channels")
    @classmethod
    def _usernames(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_username(v) for v in value))

    @field_validator("sources")
    @classmethod
    def _some_source(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("expected at least one of web, telethon")
        return list(dict.fromkeys(value))


class Watch(_Section):
    channels: list[str] = Field(default_factory=list)
    interval_minutes: float = Field(60, gt=0)
    groups: list[WatchGroup] = Field(default_factory=list)  # [[watch.groups]]: the rest is the default group

    @field_validator("channels")
    @classmethod
    def _usernames(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_username(v) for v in value))

    @model_validator(mode="after")
    def _groups_apart(self) -> "Watch":
        """Group names are unique and a channel is in one group at most, so nothing is swept twice."""
        seen: dict[str, str] = {}
        names: set[str] = set()
        for group in self.groups:
            if group.name in names:
                raise ValueError(f"[[watch.groups]] name {group.name!r} is used twice")
            names.add(group.name)
            for channel in group.channels:
                if channel in seen:
                    raise ValueError(f"channel {channel!r} is in two groups ({seen[channel]!r} and {group.name!r})")
                seen[channel] = group.name
        return self

    @property
    def grouped(self) -> dict[str, str]:
        """Channel -> its named group."""
        return {c: g.name for g in self.groups for c in g.channels}

    @property
    def configured(self) -> list[str]:
        """Every channel the config file watches: [watch] channels and those of the groups."""
        return list(dict.fromkeys([*self.channels, *self.grouped]))

    def group(self, name: str) -> WatchGroup | None:
        return next((g for g in self.groups if g.name == name), None)


class Schedule(_Section):
    """`tgsweep run`: the scheduled service (scheduler.py)."""

    jobs_database: Path = Path("jobs.db")
    jitter_seconds: float = Field(30.0, ge=0)
    sweep_timeout_minutes: float = Field(120.0, gt=0)
    stop_grace_seconds: float = Field(30.0, ge=0)
    misfire_grace_minutes: float = Field(60.0, gt=0)
    takedown_check_minutes: float = Field(360.0, gt=0)  # job recheck_takedowns (`tgsweep takedown check`)
    bot_refresh_minutes: float = Field(1440.0, gt=0)  # job refresh_profiles (`tgsweep bots refresh`)
    bank_sync_minutes: float = Field(1440.0, gt=0)  # job sync_banks (`tgsweep media sync`), with bank sources


class Distributed(_Section):
    """Distributed mode (`tgsweep worker`, `dispatch`, `collector`; tgsweep/work/): needs `[storage] url`."""

    buckets: int = Field(16, ge=1, le=4096)  # the watchlist in this many batches: one collect job per due batch
    tick_seconds: float = Field(30.0, ge=1)  # how often the dispatcher looks for due channels (a periodic job)
    stalled_seconds: float = Field(60.0, ge=2)  # a worker silent this long is dead: its jobs are run again
    analysis_minutes: float = Field(15.0, gt=0)  # enrich, detect, automation, graph, deliver over the whole store
    heartbeat_seconds: float = Field(10.0, gt=0)  # a worker's sign of life (Procrastinate's heartbeat)


class Discovery(_Section):
    enabled: bool = False
    max_depth: int = Field(1, ge=0)
    max_channels: int = Field(100, ge=0)
    interval_minutes: float = Field(0, ge=0)  # > 0: a job `discover` of its own; 0: inside every sweep


class Telethon(_Section):
    """The MTProto collector (crawler/telethon/collect.py): the unit's own account, public channels only."""

    api_id: int | None = None
    api_hash: SecretStr | None = None
    session: str = "tgsweep.session"  # session file, relative to the config file; created 0600
    string_session: SecretStr | None = None  # a StringSession instead of the file, e.g. "${TG_SESSION}"
    flood_sleep_threshold: int = Field(60, ge=0)  # FloodWait up to this many seconds: slept through
    profile_refresh_hours: float = Field(24.0, gt=0)  # GetFullChannel / GetFullUser at most this often
    retry_unavailable_hours: float = Field(24.0, gt=0)  # a username that did not resolve: tried again after
    download_full_media: bool = True  # false: thumbnails only (full files stay as recorded, not fetched)
    interval_minutes: float = Field(60, gt=0)  # `tgsweep run`: minutes between Telethon sweeps

    @property
    def configured(self) -> bool:
        return self.api_id is not None and self.api_hash is not None


def url_problem(url: str) -> str | None:
    """What is wrong with a webhook URL, worded without repeating any of it (it may carry a token)."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "contains spaces or control characters (percent-encode them)"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "is not a valid URL (an unclosed [ of an IPv6 address?)"
    if parts.scheme.lower() not in ("http", "https") or not url.lower().startswith(f"{parts.scheme.lower()}://"):
        return "must start with http:// or https://"
    host = parts.hostname
    if not host:
        return "has no host"
    if ":" in host or "[" in parts.netloc:
        try:
            ipaddress.IPv6Address(host.partition("%")[0])
        except ValueError:
            return "host is not a valid IPv6 address"
    elif not _HOST.fullmatch(host):
        return "host is not a valid host name"
    port = parts.netloc.rpartition("@")[2].rpartition("]")[2].partition(":")[2]
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        return "port must be a number from 1 to 65535"
    return None


class Sink(_Section):
    type: Literal["webhook", "jsonl", "misp"]
    url: str | None = None
    secret: SecretStr | None = None
    path: Path | None = None
    key: SecretStr | None = None  # misp: the automation key (Authorization header); write "${ENV_VAR}"
    min_severity: Literal["medium", "high", "critical"] = "high"  # misp: alerts below this are not sent

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Checked at load, so that a bad URL stops the config, not every delivery pass."""
        problem = None if value is None else url_problem(value)
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _fields_for_type(self) -> "Sink":
        if self.type == "webhook" and not self.url:
            raise ValueError("a webhook sink needs url")
        if self.type == "jsonl" and not self.path:
            raise ValueError("a jsonl sink needs path")
        if self.type == "misp" and (not self.url or self.key is None):
            raise ValueError('a misp sink needs url (the MISP instance) and key (write "${ENV_VAR}")')
        if self.type == "webhook" and self.secret is None:
            raise ValueError('a webhook sink needs secret (whsec_<base64>; write "${ENV_VAR}")')
        return self

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: SecretStr | None) -> SecretStr | None:
        """Standard Webhooks secrets: `whsec_` then base64 of the key (checked here, never echoed)."""
        if value is None:
            return value
        import base64
        import binascii

        text = value.get_secret_value()
        body = text.removeprefix("whsec_")
        try:
            key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not text.startswith("whsec_") or not key:
            raise ValueError("expected whsec_ followed by the base64 of the key")
        return value


class Alerts(_Section):
    """Alert rules (store/alerts.py) and delivery to the sinks (graph/alerts/delivery.py)."""

    rules: list[Literal["bank_match", "deepfake_bot", "mirror", "escalation"]] = Field(
        default_factory=lambda: ["bank_match", "deepfake_bot", "mirror", "escalation"])
    min_bank_tier: Literal["near-certain", "match", "weak lead"] = "match"
    mirror_flagged_only: bool = True
    deliver_interval_minutes: float = Field(5.0, gt=0)
    timeout: float = Field(10.0, gt=0)
    retry_base_seconds: float = Field(30.0, gt=0)
    retry_max_seconds: float = Field(21600.0, gt=0)
    max_age_days: float = Field(3.0, gt=0)
    max_retry_after_seconds: float = Field(3600.0, ge=0)  # a receiver's Retry-After is honoured up to this
    sinks: list[Sink] = Field(default_factory=list)


class Bots(_Section):
    """The deepfake-bot classifier's cut-offs: precision first, so the generator bar is high."""

    generator_threshold: float = Field(0.8, gt=0, le=1)
    benign_threshold: float = Field(0.3, ge=0, lt=1)
    max_promotions: int = Field(50, ge=0)
    refresh_after_days: float = Field(7.0, ge=0)  # `tgsweep bots refresh`: profiles older than this
    refresh_limit: int = Field(200, ge=1)  # at most this many profiles per refresh

    @model_validator(mode="after")
    def _ordered(self) -> "Bots":
        if self.benign_threshold >= self.generator_threshold:
            raise ValueError("benign_threshold must be below generator_threshold")
        return self


class Automation(_Section):
    """Automation scores of channels and posting accounts (detectors/automation/scores.py): thresholds, weights."""

    enabled: bool = True
    min_posts: int = Field(20, ge=2)  # fewer dated posts: insufficient_data, never scored
    min_text_posts: int = Field(10, ge=1)  # fewer text posts: the duplicate signal is left out
    min_text_length: int = Field(30, ge=1)  # shorter normalised texts are not compared
    max_posts: int = Field(500, ge=2)  # the newest posts read per channel
    threshold: float = Field(0.7, gt=0, le=1)  # verdict `automated` at or above
    near_duplicate_jaccard: float = Field(0.8, gt=0, le=1)  # 1.0: exact copies only
    burst_posts: int = Field(5, ge=2)
    burst_seconds: float = Field(60.0, gt=0)
    weight_regularity: float = Field(0.8, ge=0, le=1)
    weight_exact_seconds: float = Field(0.4, ge=0, le=1)
    weight_bursts: float = Field(0.4, ge=0, le=1)
    weight_duplicates: float = Field(0.6, ge=0, le=1)
    weight_repeats: float = Field(0.3, ge=0, le=1)
    weight_forwards: float = Field(0.3, ge=0, le=1)
    weight_links: float = Field(0.2, ge=0, le=1)
    weight_bot_promotions: float = Field(0.4, ge=0, le=1)
    weight_views: float = Field(0.3, ge=0, le=1)


class Fingerprints(_Section):
    """PDQ/pHash match thresholds (Hamming distances) and the tiers a match is reported in."""

    pdq_threshold: int = Field(31, ge=0, le=128)
    phash_threshold: int = Field(10, ge=0, le=32)
    pdq_near_certain: int = Field(10, ge=0, le=128)
    pdq_match: int = Field(24, ge=0, le=128)
    phash_near_certain: int = Field(4, ge=0, le=32)
    phash_match: int = Field(8, ge=0, le=32)
    min_pdq_quality: int = Field(50, ge=0, le=100)
    crop_matching: bool = True  # look for cropped re-posts of a bank's pictures (detectors/media/crops.py)
    crop_match: int = Field(18, ge=0, le=128)  # crop hypothesis: automatic match at or under (trusted bits, per 256)
    crop_review: int = Field(31, ge=0, le=128)  # ... weak lead (for review) at or under
    crop_min_quality: int = Field(70, ge=0, le=100)  # pictures under this PDQ quality are never searched as crops
    workers: int = Field(0, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Fingerprints":
        if not self.pdq_near_certain <= self.pdq_match <= self.pdq_threshold:
            raise ValueError("expected pdq_near_certain <= pdq_match <= pdq_threshold")
        if not self.phash_near_certain <= self.phash_match <= self.phash_threshold:
            raise ValueError("expected phash_near_certain <= phash_match <= phash_threshold")
        if not self.crop_match <= self.crop_review:
            raise ValueError("expected crop_match <= crop_review")
        return self


class GraphSettings(_Section):
    """The graph, its analysis and escalation (graph/): weights are the most a signal alone gives."""

    escalation_threshold: float = Field(0.6, gt=0, le=1)
    weight_bank_matches: float = Field(0.8, ge=0, le=1)
    weight_flagged_bots: float = Field(0.7, ge=0, le=1)
    weight_mirrors: float = Field(0.4, ge=0, le=1)
    weight_reach: float = Field(0.4, ge=0, le=1)
    weight_automation: float = Field(0.3, ge=0, le=1)
    weight_centrality: float = Field(0.2, ge=0, le=1)
    min_bot_score: float = Field(0.3, ge=0, le=1)
    hub_min_reach: int = Field(2, ge=1)
    community_seed: int = 42
    community_resolution: float = Field(1.0, gt=0)
    community_iterations: int = Field(2, ge=-1)
    max_edge_posts: int = Field(20, ge=0)
    incremental: bool = True
    interval_minutes: float = Field(60, gt=0)


class Logging(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


class Serve(_Section):
    """`tgsweep serve`, the analyst's explorer (tgsweep/explorer)."""

    host: str = "127.0.0.1"  # anything but loopback needs a token
    port: int = Field(8765, ge=0, le=65535)
    token: SecretStr | None = None  # required for every request when set; required to bind beyond loopback
    token_file: Path | None = None  # the token read from this file instead (relative to the config file)
    blur: float = Field(12.0, ge=6.0, le=64.0)  # Gaussian blur radius of media previews (px of a 256 px preview)
    analyst: str = ""  # who confirms or rejects bots from the explorer (default: the login name)
    max_nodes: int = Field(20000, ge=1)  # nodes sent to the graph view at most (highest escalation first)


class Sharing(_Section):
    """What other agencies' and platforms' tools receive: STIX 2.1 bundles and MISP events (graph/stix.py,
    graph/misp.py)."""

    unit: str = "tgsweep"  # the identity every exported object is created by (the unit's name)
    tlp: Literal["clear", "white", "green", "amber", "red"] = "amber"  # the TLP marking of every exported object


class Config(_Section):
    storage: Storage = Field(default_factory=Storage)
    web: Web = Field(default_factory=Web)
    media: Media = Field(default_factory=Media)
    watch: Watch = Field(default_factory=Watch)
    discovery: Discovery = Field(default_factory=Discovery)
    schedule: Schedule = Field(default_factory=Schedule)
    distributed: Distributed = Field(default_factory=Distributed)
    telethon: Telethon = Field(default_factory=Telethon)
    alerts: Alerts = Field(default_factory=Alerts)
    bots: Bots = Field(default_factory=Bots)
    automation: Automation = Field(default_factory=Automation)
    fingerprints: Fingerprints = Field(default_factory=Fingerprints)
    graph: GraphSettings = Field(default_factory=GraphSettings)
    logging: Logging = Field(default_factory=Logging)
    serve: Serve = Field(default_factory=Serve)
    sharing: Sharing = Field(default_factory=Sharing)
    source: Path | None = Field(None, exclude=True)  # the file it came from

    def resolved(self, base: Path) -> "Config":
        """Make relative storage paths relative to the config file, not the working dir."""
        storage = self.storage.model_copy(
            update={"database": base / self.storage.database, "media_dir": base / self.storage.media_dir,
                    "warc_dir": base / self.storage.warc_dir}
        )
        schedule = self.schedule.model_copy(update={"jobs_database": base / self.schedule.jobs_database})
        sinks = [s.model_copy(update={"path": base / s.path}) if s.path else s for s in self.alerts.sinks]
        alerts = self.alerts.model_copy(update={"sinks": sinks})
        serve = self.serve.model_copy(update={"token_file": base / self.serve.token_file}) \
            if self.serve.token_file else self.serve
        media = self.media.model_copy(update={"bank_sources": [
            s.model_copy(update={"path": base / s.path}) if s.path is not None else s for s in self.media.bank_sources]})
        return self.model_copy(update={"storage": storage, "schedule": schedule, "alerts": alerts, "serve": serve,
                                       "media": media})

    def secrets(self) -> list[str]:
        """Every secret value this config holds, for tgsweep/redact.py (webhook URLs: their token-like parts)."""
        given = [self.telethon.api_hash, self.telethon.string_session, self.serve.token,
                 *(s.secret for s in self.alerts.sinks), *(s.token for s in self.media.bank_sources)]
        values = [v.get_secret_value() for v in given if v is not None]
        for sink in self.alerts.sinks:
            if sink.secret is not None:
                values.append(sink.secret.get_secret_value().removeprefix("whsec_"))  # the key's base64
            values += redact.url_secrets(sink.url) if sink.url else []
        for source in self.media.bank_sources:
            values += redact.url_secrets(source.url) if source.url else []
        return values


def default(section: type[BaseModel], key: str) -> Any:
    """One setting's default. Components take theirs from here, so each default is written once
    (this module is a leaf every layer may import; tests/test_settings.py keeps them agreeing)."""
    return section.model_fields[key].get_default(call_default_factory=True)


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


def _keys_of(path: list[str]) -> list[str]:
    """The keys the section at `path` ("web", "alerts.sinks.0") accepts, for a "did you mean"."""
    model: Any = Config
    for part in path:
        if part.isdigit():
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        annotation = field.annotation
        for arg in (*getattr(annotation, "__args__", ()), annotation):
            if hasattr(arg, "model_fields"):
                model = arg
                break
        else:
            return []
    return list(getattr(model, "model_fields", {}))


def _describe(error: dict) -> str:
    loc = [str(p) for p in error["loc"] if not str(p).startswith("function-after")]
    where = ".".join(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        if len(loc) == 1:
            names = [n for n in Config.model_fields if n != "source"]
            close = difflib.get_close_matches(loc[0], names, n=1, cutoff=0.6)
            hint = f"; did you mean [{close[0]}]?" if close else ""
            sections = ", ".join(f"[{n}]" for n in names)
            return f"[{loc[0]}]: unknown section{hint} (expected one of {sections})"
        close = difflib.get_close_matches(loc[-1], _keys_of(loc[:-1]), n=1, cutoff=0.6)
        return f"{_key(where)}: unknown key" + (f"; did you mean {close[0]}?" if close else "")
    if kind == "missing":
        return f"{_key(where)}: missing (required)"
    message = error["msg"].removeprefix("Value error, ")
    value = error.get("input")
    secret = _SECRET_KEYS & set(loc) or any(tuple(loc[:len(s)]) == s for s in _SECRET_SECTIONS)
    shown = "" if secret or isinstance(value, (dict, list)) else f" (got {value!r})"
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
    redact.add(*config.secrets())
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
