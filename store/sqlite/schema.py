"""The SQLite schema: one migration per version, applied in order (store/sqlite/database.py)."""

# the data of the per-account Telethon migration, the same statements on both engines (store/postgres/schema.py)
PER_ACCOUNT_TELETHON = """
-- which account a hash or wait came from was not kept: each goes to `default` and to every account a
-- collector held (lease_log); a hash wrong for an account costs one refused request, then a resolve
INSERT INTO telethon_access(account, username, access_hash)
    SELECT a.account, e.username, e.access_hash FROM telethon_entities e,
        (SELECT 'default' AS account UNION SELECT account FROM lease_log) a
    WHERE e.access_hash IS NOT NULL;
ALTER TABLE telethon_entities DROP COLUMN access_hash;
INSERT INTO telethon_waits(scope, until, seconds, request, recorded_at)
    SELECT a.account || substr(w.scope, 8), w.until, w.seconds, w.request, w.recorded_at
    FROM telethon_waits w, (SELECT DISTINCT account FROM lease_log WHERE account != 'default') a
    WHERE substr(w.scope, 1, 8) = 'account:';
UPDATE telethon_waits SET scope = 'default:' || substr(scope, 9) WHERE substr(scope, 1, 8) = 'account:';
"""

# Each entry is one schema version; never edit a released one, append a new one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE channels (            -- every public username seen: watched, discovered, referenced
        username        TEXT PRIMARY KEY,   -- lower case, no @
        channel_id      INTEGER,            -- Telegram's numeric id (web: data-view; API: peer id)
        kind            TEXT,               -- channel, group, user, bot, unknown (from the entity page)
        title           TEXT,
        description     TEXT,
        verified        INTEGER,
        photo_url       TEXT,
        counters        TEXT,               -- JSON: subscribers, photos, videos, links, files
        has_preview     INTEGER,            -- 1: t.me/s works; 0: no public preview; NULL: not yet known
        watched         INTEGER NOT NULL DEFAULT 0,
        discovered_from TEXT,               -- "forward in news/12": how discovery found it
        depth           INTEGER,            -- hops from the watchlist (0 = watched)
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL,
        profile_at      TEXT                -- when title/description were last read
    );
    CREATE TABLE posts (
        channel         TEXT NOT NULL,
        id              INTEGER NOT NULL,
        channel_id      INTEGER,
        date            TEXT,
        text            TEXT NOT NULL DEFAULT '',
        views           INTEGER,
        edited          INTEGER NOT NULL DEFAULT 0,
        author          TEXT,
        forwarded_channel TEXT,
        forwarded_post  INTEGER,
        forwarded_name  TEXT,
        reply_channel   TEXT,
        reply_post      INTEGER,
        via_bot         TEXT,
        service         TEXT,
        source          TEXT NOT NULL,      -- web or telethon: who saw it first
        record          TEXT NOT NULL,      -- the whole record as JSON (links, buttons, media, reactions...)
        capture_sha256  TEXT REFERENCES raw_captures(sha256),  -- the page it was read from
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL,
        PRIMARY KEY (channel, id)
    );
    CREATE INDEX posts_forwarded ON posts(forwarded_channel) WHERE forwarded_channel IS NOT NULL;
    CREATE TABLE media (                -- one row per distinct file (content-addressed)
        sha256          TEXT PRIMARY KEY,
        md5             TEXT NOT NULL,
        size            INTEGER NOT NULL,
        mime            TEXT,
        width           INTEGER,
        height          INTEGER,
        path            TEXT,               -- relative to media_dir; NULL in hash-only mode
        pdq             TEXT,
        pdq_quality     INTEGER,
        phash           TEXT,
        first_seen      TEXT NOT NULL
    );
    CREATE TABLE media_items (          -- media appearances: one per media item of a post
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        position        INTEGER NOT NULL,   -- order within the post
        item_post_id    INTEGER,            -- album items have their own id
        kind            TEXT NOT NULL,
        url             TEXT,               -- as shown (expires)
        thumb_url       TEXT,
        duration        INTEGER,
        status          TEXT NOT NULL,      -- pending, stored, error, not_offered (too big / no url)
        sha256          TEXT REFERENCES media(sha256),
        thumb_sha256    TEXT REFERENCES media(sha256),
        error           TEXT,
        fetched_at      TEXT,
        PRIMARY KEY (channel, post_id, position),
        FOREIGN KEY (channel, post_id) REFERENCES posts(channel, id)
    );
    CREATE INDEX media_items_sha ON media_items(sha256);
    CREATE INDEX media_items_pending ON media_items(status) WHERE status = 'pending';
    CREATE TABLE bots (                 -- bot candidates and confirmed bots
        username        TEXT PRIMARY KEY,
        confirmed       INTEGER,            -- 1: a profile says it is a bot; 0: it is not; NULL: unknown
        title           TEXT,
        description     TEXT,
        profile         TEXT,               -- JSON profile (entity page or API)
        label           TEXT,               -- deepfake_generator, benign, unknown
        score           REAL,
        reasons         TEXT,               -- JSON list of strings
        first_seen      TEXT NOT NULL,
        last_seen       TEXT NOT NULL
    );
    CREATE TABLE bot_refs (             -- every reference from a post to a bot
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        bot             TEXT NOT NULL,
        how             TEXT NOT NULL,      -- mention, link, deep_link, button, via
        param           TEXT NOT NULL DEFAULT '',  -- deep-link start parameter
        PRIMARY KEY (channel, post_id, bot, how, param)
    );
    CREATE INDEX bot_refs_bot ON bot_refs(bot);
    CREATE TABLE channel_refs (         -- forwards, t.me links and @mentions between channels
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        target          TEXT NOT NULL,
        how             TEXT NOT NULL,      -- forward, link, mention
        target_post     INTEGER,
        PRIMARY KEY (channel, post_id, target, how)
    );
    CREATE INDEX channel_refs_target ON channel_refs(target);
    CREATE TABLE cursors (              -- how far each channel has been collected, per source
        channel         TEXT NOT NULL,
        source          TEXT NOT NULL,      -- web or telethon
        last_id         INTEGER NOT NULL DEFAULT 0,   -- every post <= last_id is stored
        pending_top     INTEGER,            -- an unfinished sweep stored [pending_bottom, pending_top]
        pending_bottom  INTEGER,
        not_before      TEXT,               -- do not fetch before this time (flood wait, Retry-After)
        last_success    TEXT,
        last_error      TEXT,
        updated_at      TEXT NOT NULL,
        PRIMARY KEY (channel, source)
    );
    CREATE TABLE raw_captures (         -- evidence: every page and API answer, unaltered
        sha256          TEXT PRIMARY KEY,   -- of the original bytes
        kind            TEXT NOT NULL,      -- channel_page, entity_page, telethon_json
        url             TEXT NOT NULL,
        size            INTEGER NOT NULL,
        encoding        TEXT NOT NULL,      -- how content is stored: zlib (lossless) or identity
        content         BLOB NOT NULL,
        first_fetched   TEXT NOT NULL
    );
    CREATE TABLE custody_log (          -- append-only; each entry carries the previous entry's hash
        seq             INTEGER PRIMARY KEY,
        at              TEXT NOT NULL,
        action          TEXT NOT NULL,      -- capture, media
        sha256          TEXT NOT NULL,      -- of the captured bytes
        url             TEXT NOT NULL,
        sweep_id        INTEGER,
        prev_hash       TEXT NOT NULL,
        entry_hash      TEXT NOT NULL
    );
    CREATE TRIGGER custody_log_no_update BEFORE UPDATE ON custody_log
        BEGIN SELECT RAISE(ABORT, 'custody_log is append-only'); END;
    CREATE TRIGGER custody_log_no_delete BEFORE DELETE ON custody_log
        BEGIN SELECT RAISE(ABORT, 'custody_log is append-only'); END;
    CREATE TABLE sweeps (
        id              INTEGER PRIMARY KEY,
        source          TEXT NOT NULL,
        started_at      TEXT NOT NULL,
        finished_at     TEXT,
        status          TEXT NOT NULL,      -- running, ok, failed, interrupted
        stats           TEXT                -- JSON summary
    );
    CREATE TABLE sweep_errors (         -- recorded failures: what went wrong, where, nothing lost
        id              INTEGER PRIMARY KEY,
        sweep_id        INTEGER REFERENCES sweeps(id),
        at              TEXT NOT NULL,
        channel         TEXT,
        url             TEXT,
        kind            TEXT NOT NULL,      -- http, media, parse, no_preview, empty_feed, ...
        message         TEXT NOT NULL
    );
    CREATE TABLE alerts (               -- outbox for the case system
        id              TEXT PRIMARY KEY,   -- stable: webhook-id
        type            TEXT NOT NULL,
        subject         TEXT NOT NULL,
        severity        TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        payload         TEXT NOT NULL,      -- JSON body
        state           TEXT NOT NULL DEFAULT 'pending',  -- pending, delivered, dead
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,
        last_error      TEXT,
        delivered_at    TEXT
    );
    """,
    """
    -- v2: bot verdicts, analyst overrides and mirrors (detectors/bots/stage.py).
    -- bots.label is the effective label (an analyst override wins); the automatic one is
    -- kept beside it, with score and reasons, so both can be shown side by side.
    ALTER TABLE bots ADD COLUMN auto_label TEXT;    -- the classifier's label, whatever the override
    ALTER TABLE bots ADD COLUMN scored_at TEXT;     -- when the classifier last scored this bot
    CREATE TABLE bot_overrides (        -- analyst decisions; the newest per bot applies; never overwritten
        id              INTEGER PRIMARY KEY,
        username        TEXT NOT NULL,      -- bot, lower case, no @
        label           TEXT NOT NULL,      -- deepfake_generator or benign
        note            TEXT NOT NULL DEFAULT '',
        decided_by      TEXT NOT NULL,      -- who
        decided_at      TEXT NOT NULL       -- when (ISO 8601, UTC)
    );
    CREATE INDEX bot_overrides_username ON bot_overrides(username, id);
    CREATE TABLE bot_mirrors (          -- mirror_of: a bot that replaces another (banned) one
        bot             TEXT NOT NULL,      -- the new bot
        predecessor     TEXT NOT NULL,      -- the bot it replaces
        kind            TEXT NOT NULL,      -- notice (a post announces it), referral (a start code moved), profile
        evidence        TEXT NOT NULL,      -- what shows it, a person can read, naming the post
        first_seen      TEXT NOT NULL,
        PRIMARY KEY (bot, predecessor, kind, evidence)
    );
    CREATE INDEX bot_mirrors_predecessor ON bot_mirrors(predecessor);
    """,
    """
    -- v3: `tgsweep watch remove` (scheduler issue). A channel removed from the watchlist keeps
    -- watched = 0 and the time of its removal, which overrides [watch] channels in the config
    -- file until `tgsweep watch add` puts it back.
    ALTER TABLE channels ADD COLUMN unwatched_at TEXT;
    """,
    """
    -- v4: fingerprints, hash banks and repost clusters (detectors/media/stage.py, detectors/media/banks.py).
    ALTER TABLE media ADD COLUMN pdq_alt TEXT;          -- JSON: PDQ of the trimmed picture and its centre crop
    ALTER TABLE media ADD COLUMN pdq_lookup TEXT;       -- JSON: rotations/flips and alternates, for lookups
    ALTER TABLE media ADD COLUMN fingerprint_error TEXT;  -- why it could not be fingerprinted
    ALTER TABLE media ADD COLUMN fingerprinted_at TEXT;
    ALTER TABLE media ADD COLUMN cluster TEXT;          -- repost cluster id (media_clusters.id)
    CREATE INDEX media_cluster ON media(cluster);
    CREATE TABLE media_clusters (       -- repost clusters: media that are the same picture
        id              TEXT PRIMARY KEY,   -- sha256[:16] of the first member fingerprinted (stable)
        origin_sha256   TEXT NOT NULL,      -- the earliest appearance: the origin candidate
        origin_channel  TEXT,
        origin_post     INTEGER,
        origin_date     TEXT,
        files           INTEGER NOT NULL,   -- distinct files in it
        appearances     INTEGER NOT NULL,   -- media items (posts) showing it
        channels        TEXT NOT NULL,      -- JSON list of channels, in order of first appearance
        max_distance    INTEGER,            -- largest PDQ distance of a link inside it
        updated_at      TEXT NOT NULL
    );
    CREATE TABLE hash_banks (           -- imported hash lists (victims' requests, case lists, StopNCII-style)
        name            TEXT PRIMARY KEY,
        source          TEXT,               -- file it was imported from
        imported_at     TEXT NOT NULL,
        hashes          INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE bank_hashes (
        bank            TEXT NOT NULL REFERENCES hash_banks(name),
        hash_type       TEXT NOT NULL,      -- pdq, md5, sha256, phash
        hash            TEXT NOT NULL,      -- lower-case hex
        label           TEXT NOT NULL DEFAULT '',
        line            INTEGER,            -- line of the imported file
        PRIMARY KEY (bank, hash_type, hash)
    );
    CREATE INDEX bank_hashes_lookup ON bank_hashes(hash_type, hash);
    CREATE TABLE bank_matches (         -- a collected media file matching a bank hash
        sha256          TEXT NOT NULL,      -- media
        bank            TEXT NOT NULL,
        hash_type       TEXT NOT NULL,
        hash            TEXT NOT NULL,
        label           TEXT NOT NULL DEFAULT '',
        distance        INTEGER NOT NULL,
        tier            TEXT NOT NULL,      -- near-certain, match, weak lead
        via             TEXT NOT NULL,      -- which of the file's hashes matched (whole, rotated 90, trimmed...)
        matched_at      TEXT NOT NULL,
        PRIMARY KEY (sha256, bank, hash_type, hash)
    );
    CREATE INDEX bank_matches_bank ON bank_matches(bank);
    """,
    """
    -- v5?: takedown re-checks of escalated posts (graph/takedown/check.py)
    CREATE TABLE takedown_checks (      -- one row per escalated post URL, updated by each re-check
        url             TEXT PRIMARY KEY,   -- https://t.me/<channel>/<id>
        channel         TEXT NOT NULL,
        post_id         INTEGER NOT NULL,
        subject         TEXT,               -- the escalated node id behind it
        escalated_at    TEXT,               -- when the subject was first seen escalated by a check
        post_first_seen TEXT,               -- when the post was first collected
        first_checked_at TEXT NOT NULL,
        last_checked_at TEXT NOT NULL,
        last_seen_up_at TEXT,
        taken_down_at   TEXT,               -- first check that found it gone (NULL while up)
        checks          INTEGER NOT NULL DEFAULT 0,
        last_status     TEXT NOT NULL,      -- up, down, error
        last_detail     TEXT,               -- "Post not found", "http 502", ...
        capture_sha256  TEXT                -- raw capture of the last definitive answer
    );
    """,
    """
    -- v6?: escalation scores of graph nodes (graph/escalation.py)
    CREATE TABLE escalations (          -- one row per channel, bot or media cluster scored by `graph build`
        subject         TEXT PRIMARY KEY,   -- graph node id: channel:<u>, bot:<u>, media:<cluster>
        kind            TEXT NOT NULL,      -- channel, bot, media
        score           REAL NOT NULL,      -- 0..1
        reasons         TEXT NOT NULL,      -- JSON list of strings a person can read
        pagerank        REAL,
        community       INTEGER,
        computed_at     TEXT NOT NULL,
        signals         TEXT,               -- JSON object: each signal's value 0..1 before weighting
        escalated_at    TEXT                -- first time the score reached [graph] escalation_threshold
    );
    CREATE INDEX escalations_score ON escalations(score);
    """,
    """
    -- v7?: alert delivery state per sink (graph/alerts/delivery.py). alerts.state sums it up:
    -- pending until every configured sink has the alert delivered or dead.
    CREATE TABLE alert_deliveries (
        alert_id        TEXT NOT NULL,      -- alerts.id (the webhook-id)
        sink            TEXT NOT NULL,      -- stable sink identity: webhook:<url without query/credentials>, jsonl:<path>
        state           TEXT NOT NULL DEFAULT 'pending',  -- pending, delivered, dead
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT,               -- due time of the next try (ISO 8601, UTC)
        window_start    TEXT NOT NULL,      -- retries go on until this + [alerts] max_age_days (`alerts retry` resets it)
        last_status     INTEGER,            -- HTTP status of the last try (webhook)
        last_error      TEXT,               -- why the last try failed / why it was dead-lettered
        delivered_at    TEXT,
        PRIMARY KEY (alert_id, sink)
    );
    CREATE INDEX alert_deliveries_due ON alert_deliveries(sink, state, next_attempt_at);
    CREATE INDEX alerts_state ON alerts(state, created_at);
    """,
    """
    -- v8?: automation scores of channels and posting accounts (detectors/automation/stage.py).
    -- Rewritten whole by every detect stage; insufficient_data subjects have score 0.
    CREATE TABLE automation_scores (
        subject         TEXT PRIMARY KEY,   -- channel:<username> or account:<from_id | channel/signature>
        kind            TEXT NOT NULL,      -- channel or account
        score           REAL NOT NULL,      -- 0..1, noisy-OR of the weighted subscores
        reasons         TEXT NOT NULL,      -- JSON list of strings a person can read
        features        TEXT NOT NULL,      -- JSON object: verdict, subscores, the measured values
        computed_at     TEXT NOT NULL
    );
    CREATE INDEX automation_scores_score ON automation_scores(score);
    """,
    """
    -- v9?: the Telethon collector (crawler/telethon/collect.py): entity cache and flood waits.
    CREATE TABLE telethon_entities (    -- resolved once, reused by every sweep (no ResolveUsername each time)
        username        TEXT PRIMARY KEY,   -- lower case, no @
        peer_id         INTEGER,            -- bare id (channel_id / user_id); NULL: not resolvable
        kind            TEXT NOT NULL,      -- channel, group, bot, user, not_found, invalid
        access_hash     INTEGER,            -- bound to this account's session (moved to telethon_access)
        resolved_at     TEXT NOT NULL,
        full_at         TEXT,               -- last GetFullChannel / GetFullUser (refreshed after profile_refresh_hours)
        profile         TEXT,               -- JSON: the mapped full profile
        error           TEXT                -- why it could not be resolved
    );
    CREATE INDEX telethon_entities_peer ON telethon_entities(peer_id);
    CREATE TABLE telethon_waits (       -- account-wide flood waits (a channel's own wait is cursors.not_before)
        scope           TEXT PRIMARY KEY,   -- <account>:<request kind> (history, resolve, full_channel, full_user, media)
        until           TEXT NOT NULL,      -- ISO 8601 UTC: no request of this kind before then
        seconds         INTEGER NOT NULL,
        request         TEXT NOT NULL,
        recorded_at     TEXT NOT NULL
    );
    """,
    """
    -- v10?: video keyframes (detectors/media/video.py): JSON list of {t, pdq, pdq_quality, phash, pdq_alt, pdq_lookup}
    ALTER TABLE media ADD COLUMN frames TEXT;
    """,
    """
    -- v11: every version of a post (edits and deletions), each citing the capture it was read from.
    -- posts holds the newest; a version is never overwritten (nothing silently lost).
    CREATE TABLE post_versions (
        channel         TEXT NOT NULL,
        id              INTEGER NOT NULL,
        version         INTEGER NOT NULL,   -- 1, 2, ... per post
        kind            TEXT NOT NULL,      -- first, edit, deleted
        source          TEXT NOT NULL,      -- web, telethon, embed (a takedown re-check)
        text            TEXT,
        content         TEXT,               -- JSON of what an edit can change (tgsweep's content key)
        capture_sha256  TEXT,               -- the capture this version was read from
        seen_at         TEXT NOT NULL,
        sweep_id        INTEGER,
        PRIMARY KEY (channel, id, version)
    );
    INSERT INTO post_versions(channel, id, version, kind, source, text, content, capture_sha256, seen_at)
        SELECT channel, id, 1, 'first', source, text, NULL, capture_sha256, first_seen FROM posts;
    ALTER TABLE sweeps ADD COLUMN pid INTEGER;      -- the process running it: a dead one's sweep is 'killed'
    ALTER TABLE media_items ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    """,
    """
    ALTER TABLE hash_banks ADD COLUMN version TEXT;     -- SHA-256 of the list as last synced (`media sync`)
    ALTER TABLE hash_banks ADD COLUMN synced_at TEXT;
    """,
    """
    -- crop hypotheses of a picture (detectors/media/crops.py): per hypothesis 32 bytes of PDQ bits and
    -- 32 of the bits it trusts; what finds a cropped re-post in a list made elsewhere. Pictures hashed
    -- before whose file is kept get theirs from the next enrich (`media_without_crops`); hash-only
    -- ones cannot. An empty value: computed, none (a low-quality picture).
    ALTER TABLE media ADD COLUMN pdq_crops BLOB;
    ALTER TABLE hash_banks ADD COLUMN etag TEXT;        -- the list's HTTP ETag at the last sync (If-None-Match)
    -- a file and a crop candidate of it compared on their pixels (detectors/media/geometry.py), once
    CREATE TABLE media_pair_checks (
        a           TEXT NOT NULL,          -- sha256, the smaller of the two
        b           TEXT NOT NULL,
        same        INTEGER NOT NULL,       -- 1: the same source (a repost-cluster link), 0: not
        reason      TEXT NOT NULL,          -- "312 of 340 keypoint matches agree with one transform (scale 0.60)"
        checked_at  TEXT NOT NULL,
        PRIMARY KEY (a, b)
    );
    -- case notes and the record of who revealed, decided or exported what (store/audit.py); append-only
    CREATE TABLE audit_log (
        id          INTEGER PRIMARY KEY,
        at          TEXT NOT NULL,
        who         TEXT NOT NULL,
        action      TEXT NOT NULL,          -- note, reveal, decision, export
        subject     TEXT NOT NULL,          -- a node id (bot:x, channel:x, media:<cluster>) or file:<sha256>
        detail      TEXT NOT NULL           -- JSON: the note and its tags, the label, the format...
    );
    CREATE INDEX audit_log_subject ON audit_log(subject, id);
    """,
    """
    -- the store's generation: one more on every committed write transaction (Database.transaction),
    -- whichever process wrote; what tells a saved explorer graph from a store that moved on since
    CREATE TABLE store_generation (n INTEGER NOT NULL);
    INSERT INTO store_generation VALUES (0);
    -- the queue's order, walked from the index alone: its last page of 100,000 in milliseconds
    DROP INDEX escalations_score;
    CREATE INDEX escalations_rank ON escalations(score DESC, subject);
    CREATE INDEX alerts_created ON alerts(created_at DESC, id);  -- the alerts page, newest first
    """,
    """
    -- distributed mode (tgsweep/work/): when the dispatcher last queued each channel, so a channel that
    -- keeps failing is tried once per interval, not at every tick
    CREATE TABLE dispatch_marks (
        source      TEXT NOT NULL,          -- web
        channel     TEXT NOT NULL,
        deferred_at TEXT NOT NULL,
        PRIMARY KEY (source, channel)
    );
    -- who held which Telethon account when (store/postgres/lease.py): acquired, released, lost
    CREATE TABLE lease_log (
        id          INTEGER PRIMARY KEY,
        account     TEXT NOT NULL,
        holder      TEXT NOT NULL,          -- host:pid
        event       TEXT NOT NULL,
        at          TEXT NOT NULL
    );
    """,
    """
    -- several Telethon accounts on one store (tgsweep collector --account NAME): an access hash is good
    -- only for the account that received it, and a flood wait binds only the account that got it;
    -- what one account had so far is the account `default`'s (tgsweep sweep --source telethon)
    CREATE TABLE telethon_access (
        account     TEXT NOT NULL,
        username    TEXT NOT NULL,          -- lower case, no @ (telethon_entities.username)
        access_hash INTEGER NOT NULL,
        PRIMARY KEY (account, username)
    );
    """ + PER_ACCOUNT_TELETHON,
]
