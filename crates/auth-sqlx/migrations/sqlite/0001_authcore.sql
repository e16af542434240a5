-- authcore stores, SQLite. Timestamps are unix seconds.
CREATE TABLE authcore_users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL COLLATE NOCASE UNIQUE,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL DEFAULT '[]',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE authcore_refresh_families (
    id      TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX authcore_refresh_families_user_id ON authcore_refresh_families (user_id);

CREATE TABLE authcore_refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    family_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    spent_at   BIGINT
);
CREATE INDEX authcore_refresh_tokens_family_id ON authcore_refresh_tokens (family_id);
CREATE INDEX authcore_refresh_tokens_expires_at ON authcore_refresh_tokens (expires_at);

CREATE TABLE authcore_revocations (
    id         TEXT PRIMARY KEY NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX authcore_revocations_expires_at ON authcore_revocations (expires_at);
