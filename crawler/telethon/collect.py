"""The Telethon collector: per watched public channel, only what is new since its cursor.

I/O edge around the pure mapping (crawler/telethon/mapping.py). For each channel:

- the entity comes from the store's cache (id + access hash), so a channel is resolved once,
  not every sweep; a stale hash (ChannelInvalidError) is dropped and the name resolved again;
- `GetFullChannelRequest` (about, participants, linked chat, bots in the chat) only when the
  cached profile is older than `profile_refresh_hours`;
- `iter_messages(min_id=cursor, reverse=True)`: oldest first, 100 per request, each page
  stored with its raw `to_dict()` JSON, custody entry and new cursor in one transaction;
- media of the new posts: thumbnails first, then full files within `[media] max_bytes`;

then `GetFullUserRequest` for every bot the store knows of whose API profile is missing or
stale. Never presses Start, never sends, never joins: the only requests are reads of
public channels and public bot profiles.

Flood waits: Telethon sleeps through waits up to `flood_sleep_threshold` (and so does this
module, for a wait that reaches it); a longer one sets a not-before time, on the channel's
cursor for a history request (a second one in the same sweep makes it account-wide) or
account-wide for the kind of request, and the sweep moves on; later sweeps skip until then.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

from telethon import errors, functions, types

from crawler.media import FingerprintHook, keep_fetched, require_fingerprint
from crawler.paging import Cursor
from crawler.warc import WarcLog, telethon_urn
from crawler.web.spider import SweepStats
from store.records import Capture
from store.collection import CollectionStore
from crawler.telethon.mapping import (
    bot_profile, capture_bytes, channel_kind, channel_profile, known_entities, map_messages, size_of, user_kind,
)
from store.telethon import DEFAULT_ACCOUNT, SOURCE, TelethonStateStore, older_than
from store.work import LeaseLost
from tgsweep.config import Config


class TelethonCollectorStore(CollectionStore, TelethonStateStore, Protocol):
    """What the API collector reads and writes: collection plus its own memory between sweeps."""


log = logging.getLogger(__name__)
PAGE = 100  # messages per GetHistory request (Telethon's chunk size)
_NOT_FOUND = (errors.UsernameNotOccupiedError, errors.UsernameInvalidError)
_UNAVAILABLE = (errors.ChannelPrivateError, errors.ChannelPublicGroupNaError, errors.ChatForbiddenError,
                errors.ChannelBannedError if hasattr(errors, "ChannelBannedError") else errors.ChannelPrivateError)


class AccountWait(Exception):
    """A flood wait in force for a kind of request: skip that kind for the rest of the sweep."""


@dataclass
class TelethonStats(SweepStats):
    """SweepStats plus what only this collector does."""

    requests: dict[str, int] = field(default_factory=dict)  # history, resolve, full_channel, full_user, media
    flood_waits: list[str] = field(default_factory=list)  # "<channel or <account>:<kind>> until <time>"
    skipped: list[str] = field(default_factory=list)  # channels skipped (a wait in force, unavailable)
    bots_profiled: int = 0

    def as_dict(self) -> dict[str, Any]:
        return super().as_dict() | {"requests": self.requests, "flood_waits": self.flood_waits,
                                    "skipped": self.skipped, "bots_profiled": self.bots_profiled}


class TelethonCollector:
    """One sweep's worth of Telethon collection into the store (a client that is connected and logged in)."""

    def __init__(self, client: Any, store: TelethonCollectorStore, config: Config, sweep_id: int, stats: TelethonStats,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, fingerprint: FingerprintHook | None = None,
                 guard: Callable[[], Awaitable[None]] | None = None, account: str = DEFAULT_ACCOUNT):
        self.client, self.store, self.config, self.sweep_id, self.stats = client, store, config, sweep_id, stats
        self.account = account  # whose access hashes and flood waits these are
        self.guard = guard  # before every request: the account's lease still held (tgsweep collector)
        self.fingerprint = fingerprint
        self.sleep = sleep
        self.tg = config.telethon
        self.waits: dict[str, str] = {}
        self.history_floods = 0
        self.media_tried: set[tuple[str, int]] = set()  # (channel, post id) whose media this sweep went for
        self.warc = WarcLog(config.storage.warc_dir, config.storage.warc_max_bytes) if config.storage.warc else None

    def _archived(self, capture: Capture, channel: str) -> Capture:
        """The raw answer also kept as a WARC `resource` record (crawler/warc.py)."""
        if self.warc is not None:
            self.warc.resource(telethon_urn(capture.url), capture.content, meta={
                "kind": capture.kind, "channel": channel, "sweep": self.sweep_id, "sha256": capture.sha256,
                "url": capture.url})
        return capture

    # -- requests, with flood handling ------------------------------------------------------------

    async def _request(self, kind: str) -> None:
        """Before every request: the guard (LeaseLost: another process may hold the account now), then counted."""
        if self.guard is not None:
            await self.guard()
        self.stats.requests[kind] = self.stats.requests.get(kind, 0) + 1

    async def _call(self, kind: str, make: Callable[[], Awaitable[Any]], channel: str | None = None) -> Any:
        """One request; a FloodWait up to the threshold is slept through once, a longer one is recorded."""
        if kind in self.waits:
            raise AccountWait(f"account flood wait on {kind} until {self.waits[kind]}")
        for attempt in range(2):
            await self._request(kind)
            try:
                return await make()
            except errors.FloodWaitError as exc:
                if exc.seconds <= self.tg.flood_sleep_threshold and attempt == 0:
                    self.stats.retries += 1
                    log.info("flood wait of %d s on %s: sleeping through it", exc.seconds, kind)
                    await self.sleep(exc.seconds)
                    continue
                raise AccountWait(await self._flood(kind, exc.seconds, channel)) from None
        raise AssertionError("unreachable")

    async def _flood(self, kind: str, seconds: int, channel: str | None) -> str:
        """Record a wait over the threshold; returns what is waiting until when."""
        if kind == "history" and channel is not None and self.history_floods == 0:
            self.history_floods += 1
            at = await self.store.record_channel_wait(channel, seconds)
            self.stats.flood_waits.append(f"{channel} until {at}")
            await self.store.record_error(self.sweep_id, "flood_wait", f"FloodWait of {seconds} s on {kind}: "
                                          f"{channel} not fetched before {at}", channel)
            return f"flood wait until {at}"
        at = await self.store.record_account_wait(kind, seconds, kind, self.account)
        self.waits[kind] = at
        if channel is not None and kind == "history":
            await self.store.record_channel_wait(channel, seconds)
        self.stats.flood_waits.append(f"{self.account}:{kind} until {at}")
        await self.store.record_error(self.sweep_id, "flood_wait", f"FloodWait of {seconds} s on {kind}: no "
                                      f"{kind} requests from this account before {at}", channel)
        return f"account flood wait on {kind} until {at}"

    # -- entities ------------------------------------------------------------------------------------

    async def _resolve(self, username: str) -> tuple[Any, str]:
        """(input peer, kind) of a public username: from the cache, else resolved once (get_entity) and cached."""
        cached = await self.store.cached_entity(username, self.account)
        if cached and cached.kind in ("not_found", "invalid"):
            if not older_than(cached.resolved_at, self.tg.retry_unavailable_hours):
                raise LookupError(f"@{username} did not resolve at {cached.resolved_at} ({cached.error}); "
                                  f"tried again after {self.tg.retry_unavailable_hours:g} h")
        elif cached and cached.peer_id is not None and cached.access_hash is not None:
            if cached.kind in ("channel", "group"):
                return types.InputPeerChannel(cached.peer_id, cached.access_hash), cached.kind
            return types.InputPeerUser(cached.peer_id, cached.access_hash), cached.kind
        try:
            entity = await self._call("resolve", lambda: self.client.get_entity(username))
        except _NOT_FOUND as exc:
            await self._cache([(username, None, "not_found", None, type(exc).__name__)])
            raise LookupError(f"@{username} does not exist ({type(exc).__name__})") from None
        except ValueError as exc:  # "Cannot find any entity corresponding to ..." / "No user has ... as username"
            await self._cache([(username, None, "not_found", None, "no entity")])
            raise LookupError(f"@{username} could not be resolved ({exc})") from None
        if isinstance(entity, types.Channel) and entity.access_hash is not None:
            kind = channel_kind(entity)
            peer: Any = types.InputPeerChannel(entity.id, entity.access_hash)
        elif isinstance(entity, types.User) and entity.access_hash is not None:
            kind = user_kind(entity)
            peer = types.InputPeerUser(entity.id, entity.access_hash)
        else:
            await self._cache([(username, None, "invalid", None, type(entity).__name__)])
            raise LookupError(f"@{username} is not a public channel, group or bot ({type(entity).__name__})")
        await self._cache([(username, entity.id, kind, entity.access_hash, None)])
        return peer, kind

    async def _cache(self, entries: list[tuple[str, int | None, str, int | None, str | None]]) -> None:
        await self.store.cache_entities(entries, self.account)

    async def _cache_from_messages(self, messages: list[Any]) -> None:
        """Entities Telegram sent with the messages (via bots, forward sources): cached for free."""
        entries = []
        for msg in messages:
            for entity in known_entities(msg).values():
                name = getattr(entity, "username", None)
                ah = getattr(entity, "access_hash", None)
                if not name or ah is None or getattr(entity, "min", False):
                    continue
                if isinstance(entity, types.User):
                    entries.append((name, entity.id, user_kind(entity), ah, None))
                elif isinstance(entity, types.Channel):
                    entries.append((name, entity.id, channel_kind(entity), ah, None))
        await self._cache(list({e[0].lower(): e for e in entries}.values()))

    # -- channels ------------------------------------------------------------------------------------

    async def channel(self, name: str) -> None:
        """Collect one channel; every failure is recorded and the sweep goes on."""
        self.stats.channels.add(name)
        try:
            wait = await self.store.channel_wait(name)
            if wait:
                self.stats.skipped.append(f"{name}: flood wait until {wait}")
                return
            await self._collect(name)
        except AccountWait as exc:
            self.stats.skipped.append(f"{name}: {exc}")
        except LookupError as exc:
            self.stats.errors += 1
            self.stats.skipped.append(f"{name}: {exc}")
            await self.store.record_error(self.sweep_id, "unavailable", str(exc), name)
        except _UNAVAILABLE as exc:
            self.stats.errors += 1
            await self.store.record_error(self.sweep_id, "unavailable", f"@{name} is not available "
                                          f"({type(exc).__name__}): deleted, private or banned; stored posts kept",
                                          name)
        except errors.RPCError as exc:
            self.stats.errors += 1
            await self.store.record_error(self.sweep_id, "telethon", f"@{name}: {type(exc).__name__}: {exc}", name)
        finally:
            self.stats.channels_done += 1

    async def _collect(self, name: str) -> None:
        peer, kind = await self._resolve(name)
        if not isinstance(peer, types.InputPeerChannel):
            raise LookupError(f"@{name} is a {kind}, not a channel: nothing to collect")
        stored_id = await self.store.stored_channel_id(name)
        if stored_id and stored_id != peer.channel_id:
            raise LookupError(f"@{name} now names channel id {peer.channel_id}, but its stored posts are from "
                              f"channel id {stored_id}: the username was reassigned; not merged")
        try:
            await self._profile(name, peer)
            await self._history(name, peer)
        except errors.ChannelInvalidError:  # the cached access hash is not valid for this account: resolve again
            await self.store.forget_access_hash(name, self.account)
            peer, _ = await self._resolve(name)
            await self._profile(name, peer)
            await self._history(name, peer)
        await self._leftover_media(name, peer)

    async def _leftover_media(self, name: str, peer: Any) -> None:
        """Media an earlier sweep left pending (a flood wait, a crash): their messages again, by id, then the files."""
        if not self.config.media.download or "media" in self.waits:
            return
        rows = await self.store.pending_api_media_posts(name, 100)
        rows = [r for r in rows if (name, r[0]) not in self.media_tried]
        if not rows:
            return
        messages = await self._call("history", lambda: self.client.get_messages(peer, ids=[r[1] for r in rows]))
        by_id = {m.id: m for m in messages if m is not None and getattr(m, "media", None) is not None}
        await self._media(name, by_id, sorted({r[0] for r in rows}))

    async def _profile(self, name: str, peer: Any) -> None:
        cached = await self.store.cached_entity(name, self.account)
        if cached is not None and not older_than(cached.full_at, self.tg.profile_refresh_hours):
            return
        try:
            full = await self._call("full_channel", lambda: self.client(functions.channels.GetFullChannelRequest(
                types.InputChannel(peer.channel_id, peer.access_hash))))
        except AccountWait:
            return  # the profile waits; the history need not
        profile = channel_profile(full)
        await self._cache([(u.username, u.id, user_kind(u), u.access_hash, None) for u in full.users
                                          if u.username and u.access_hash is not None and not u.min])
        capture = self._archived(Capture("telethon_json", f"tg://{name}?full_channel",
                                         capture_bytes("channels.GetFullChannel", name, [full])), name)
        await self.store.save_api_channel_profile(name, profile, capture, self.sweep_id)
        self.stats.profiles += 1

    async def _history(self, name: str, peer: Any) -> None:
        cursor = await self.store.get_cursor(name, SOURCE)
        stalled = False  # a short wait came and nothing was stored since: a second one is not slept through
        while True:
            try:
                await self._pages(name, peer, cursor)
                return
            except errors.FloodWaitError as exc:  # raised mid-iteration (Telethon did not sleep through it)
                moved = await self.store.get_cursor(name, SOURCE)  # what was committed stays
                progress, cursor = moved.last_id != cursor.last_id, moved
                if exc.seconds <= self.tg.flood_sleep_threshold and (progress or not stalled):
                    stalled = not progress
                    self.stats.retries += 1
                    await self.sleep(exc.seconds)
                    continue
                raise AccountWait(await self._flood("history", exc.seconds, name)) from None

    async def _pages(self, name: str, peer: Any, cursor: Cursor) -> None:
        """iter_messages from the cursor, oldest first; one stored page per 100 messages."""
        if "history" in self.waits:
            raise AccountWait(f"account flood wait on history until {self.waits['history']}")
        buffer: list[Any] = []
        last = cursor.last_id
        await self._request("history")
        seen = 0
        async for msg in self.client.iter_messages(peer, min_id=cursor.last_id, reverse=True, limit=None):
            buffer.append(msg)
            seen += 1
            if seen % PAGE == 0:
                await self._request("history")  # the next message comes from the next request
                split = len(buffer) - _trailing_album(buffer)  # never 0: a whole-album buffer is stored
                last = await self._store_page(name, buffer[:split], last)
                buffer = buffer[split:]
        if buffer:
            last = await self._store_page(name, buffer, last)
        await self.store.mark_channel_done(name, SOURCE)

    async def _mentioned(self, messages: list[Any]) -> dict[int, Any]:
        """Users named by id in the text (MessageEntityMentionName) whose username the entity cache knows."""
        ids = {e.user_id for m in messages for e in (getattr(m, "entities", None) or [])
               if isinstance(e, types.MessageEntityMentionName)}
        if not ids:
            return {}
        known = await self.store.known_users(ids)
        return {peer: types.User(id=peer, username=username, bot=kind == "bot") for peer, username, kind in known}

    async def _store_page(self, name: str, messages: list[Any], last: int) -> int:
        posts = map_messages(messages, name, await self._mentioned(messages))
        newest = max([last] + [m.id for m in messages])
        capture = self._archived(Capture("telethon_json", f"tg://{name}?history&min_id={last}&max_id={newest}",
                                         capture_bytes("messages.GetHistory", name, messages)), name)
        new_ids = (await self.store.ingest_page(self.sweep_id, name, None, posts, capture, Cursor(last_id=newest),
                                                done=False, source=SOURCE)).new_ids
        self.stats.pages += 1
        self.stats.new_posts += len(new_ids)
        await self._cache_from_messages(messages)
        if posts and posts[0].channel_id:
            await self.store.note_channel_id(name, posts[0].channel_id)
        if new_ids and self.config.media.download:
            await self._media(name, {m.id: m for m in messages}, new_ids)
        return newest

    # -- media ---------------------------------------------------------------------------------------

    async def _media(self, name: str, by_id: dict[int, Any], post_ids: list[int]) -> None:
        """Thumbnails of every new item first (cheap triage), then full files within the size limit."""
        self.media_tried.update((name, p) for p in post_ids)
        rows = await self.store.pending_api_media(name, post_ids)
        try:
            for r in rows:
                if r["thumb_url"]:
                    msg = by_id.get(_item_id(r))
                    if msg is not None:
                        data = await self._call("media", lambda m=msg: self.client.download_media(m, file=bytes, thumb=-1))
                        if data:
                            await keep_fetched(self.store, self.config, self.sweep_id, name, r["post_id"],
                                               r["position"], r["thumb_url"], data, r["kind"], "thumb",
                                               self.fingerprint)
            for r in rows:
                msg = by_id.get(_item_id(r))
                if msg is None:
                    continue
                await self._full(name, r, msg)
        except AccountWait:
            return  # left pending; recorded as a flood wait
        except errors.RPCError as exc:
            self.stats.media_errors += 1
            await self.store.record_error(self.sweep_id, "media", f"{type(exc).__name__}: {exc}", name)

    async def _full(self, name: str, row: Any, msg: Any) -> None:
        url, limit = row["url"], self.config.media.max_bytes
        if not self.tg.download_full_media:
            await self.store.media_not_offered(name, row["post_id"], row["position"],
                                               "thumbnails only ([telethon] download_full_media = false)")
            return
        media = msg.media
        size = size_of(media)
        thumb: Any = None
        if size is not None and size > limit:
            photo = getattr(media, "photo", None) or getattr(getattr(media, "webpage", None), "photo", None)
            fitting = [s for s in getattr(photo, "sizes", []) or []
                       if isinstance(s, types.PhotoSize) and s.size <= limit]
            if not fitting:
                self.stats.media_errors += 1
                await self.store.store_media(self.sweep_id, name, row["post_id"], row["position"], url, None,
                                             f"larger than [media] max_bytes ({limit} bytes, the file has {size}): "
                                             "not downloaded")
                return
            thumb = max(fitting, key=lambda s: s.w * s.h)  # the largest picture within the limit
        data = await self._call("media", lambda: self.client.download_media(msg, file=bytes, thumb=thumb))
        if data is None:
            self.stats.media_errors += 1
            await self.store.store_media(self.sweep_id, name, row["post_id"], row["position"], url, None,
                                         "Telegram offered no file for this item")
            return
        error = await keep_fetched(self.store, self.config, self.sweep_id, name, row["post_id"], row["position"],
                                   url, data, row["kind"], fingerprint=self.fingerprint)
        if error:
            self.stats.media_errors += 1
        else:
            self.stats.media_stored += 1

    # -- bots ----------------------------------------------------------------------------------------

    async def bots(self) -> None:
        """GetFullUserRequest for every referenced bot whose API profile is missing or stale."""
        names = await self.store.bots_for_api_profiles()
        for name in names:
            cached = await self.store.cached_entity(name, self.account)
            if cached is not None and cached.kind == "bot" and not older_than(cached.full_at, self.tg.profile_refresh_hours):
                continue
            if cached is not None and cached.kind in ("not_found", "invalid") and not older_than(
                    cached.resolved_at, self.tg.retry_unavailable_hours):
                continue  # recorded when it failed; tried again after retry_unavailable_hours
            try:
                await self._bot(name)
            except AccountWait:
                return
            except LookupError as exc:
                await self._not_a_bot(name, None, str(exc))
            except errors.RPCError as exc:
                await self.store.record_error(self.sweep_id, "telethon", f"bot @{name}: {type(exc).__name__}: {exc}")

    async def _bot(self, name: str) -> None:
        peer, kind = await self._resolve(name)
        if kind != "bot":  # a channel, a group or a person: no profile of a person is read or kept
            await self._not_a_bot(name, kind, f"a {kind}, not a bot")
            return
        full = await self._call("full_user", lambda: self.client(functions.users.GetFullUserRequest(
            types.InputUser(peer.user_id, peer.access_hash))))
        profile = bot_profile(full)
        capture = self._archived(Capture("telethon_json", f"tg://{name}?full_user",
                                         capture_bytes("users.GetFullUser", name, [full])), name)
        await self.store.save_api_bot_profile(name, profile, capture, self.sweep_id)
        self.stats.bots_profiled += 1

    async def _not_a_bot(self, name: str, kind: str | None, why: str) -> None:
        """Not a bot (confirmed = 0: the classifier skips it) or not resolvable (recorded)."""
        if kind is not None:
            await self.store.mark_not_a_bot(name)
            return
        await self.store.record_error(self.sweep_id, "unavailable", f"bot @{name}: {why}")


def _item_id(row: Any) -> int:
    """The message holding a media item: album items name their own message."""
    return row["item_post_id"] or row["post_id"]


def _trailing_album(messages: list[Any]) -> int:
    """How many messages at the end belong to an album that may go on in the next page (kept back)."""
    grouped = getattr(messages[-1], "grouped_id", None)
    if not grouped:
        return 0
    n = 0
    for msg in reversed(messages):
        if getattr(msg, "grouped_id", None) != grouped:
            break
        n += 1
    return n if n < len(messages) else 0


async def sweep_telethon(config: Config, store: TelethonCollectorStore, client: Any, channels: list[str] | None = None,
                         on_progress: Callable[[SweepStats], None] | None = None,
                         sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, group: str | None = None,
                         discovered: bool = False, fingerprint: FingerprintHook | None = None,
                         guard: Callable[[], Awaitable[None]] | None = None,
                         account: str = DEFAULT_ACCOUNT) -> tuple[int, TelethonStats, float]:
    """Collect every channel to sweep with a connected, logged-in client; returns (sweep id, stats, seconds).

    `group`, `discovered`: which channels, as in crawler.web.stage.channels_to_sweep. `guard`: awaited before
    every request (distributed mode: the account's lease, store/postgres/lease.py); what it raises ends the sweep.
    `account`: whose access hashes and flood waits the store gives and keeps (`tgsweep collector --account`)."""
    from crawler.web.stage import _on_signals, channels_to_sweep, close_warcs
    from tgsweep.logs import bind

    require_fingerprint(config, fingerprint)
    await store.watch(config.watch.configured)
    names = await channels_to_sweep(store, config, channels, group, discovered)
    sweep_id = await store.start_sweep(SOURCE)
    bind(sweep_id=sweep_id)
    log.info("telethon sweep %d started: %d channels", sweep_id, len(names))
    stats = TelethonStats()
    collector = TelethonCollector(client, store, config, sweep_id, stats, sleep, fingerprint, guard, account)
    collector.waits = await store.account_waits(account)
    started = time.monotonic()
    status = "failed"
    task = asyncio.current_task()
    stopping: list[bool] = []
    stop = _on_signals(lambda: stopping or (stopping.append(True), task.cancel()))
    try:
        for name in names:
            await collector.channel(name)
            if on_progress:
                on_progress(stats)
        if "resolve" not in collector.waits and "full_user" not in collector.waits:
            await collector.bots()
        status = "ok"
    except asyncio.CancelledError:
        status = "interrupted"  # SIGINT/SIGTERM: every stored page is committed; the next sweep resumes
        if not stopping:
            raise
        task.uncancel()
    except LeaseLost:
        status = "interrupted"  # the account's lease is gone: what was stored stays, the new holder resumes
        raise
    finally:
        stop()
        elapsed = time.monotonic() - started
        if collector.warc is not None:
            collector.warc.close()
        await asyncio.shield(close_warcs(config, store, sweep_id))
        await asyncio.shield(store.finish_sweep(sweep_id, status, stats.as_dict() | {"seconds": round(elapsed, 2)}))
        log.info("telethon sweep %d %s in %.1f s: %d requests, %d new posts", sweep_id, status, elapsed,
                 sum(stats.requests.values()), stats.new_posts)
    return sweep_id, stats, elapsed
