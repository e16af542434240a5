//! The Lua scripts: each store operation that touches more than one key, or decides
//! something from what it reads, runs as one script, atomically on the server.
//!
//! Keys under the prefix `P`:
//!
//! | key | type | expiry |
//! |---|---|---|
//! | `P:rev:{id}` | string | the revocation's end (`PXAT`, milliseconds) |
//! | `P:idx:rev` | sorted set: id by end (ms) | the latest end |
//! | `P:rt:{sha256 hex}` | hash `fam user iat exp spent` | the token's `exp` |
//! | `P:rf:{family}` | hash `user revoked` | its latest token's `exp` |
//! | `P:ru:{user}` | set of family ids | its latest token's `exp` |
//! | `P:idx:rt` | sorted set: token hash by `exp` (s) | the latest `exp` |
//!
//! The two sorted sets let `purge_expired(now)` delete exactly what expired by `now`; keys
//! also expire on their own, and each insert trims index entries the wall clock has passed.
//! Scripts read keys they derive from others (a token's family): use a standalone server,
//! or a prefix with a hash tag (`{app}`) so that every key lands in one cluster slot.

use std::sync::LazyLock;

use redis::Script;

/// `EXTEND(key, at_ms)`: sets the expiry to `at_ms` unless it is already later.
const EXTEND: &str = r"
local function extend(key, at)
  local cur = redis.call('PEXPIRETIME', key)
  if cur ~= -2 and cur < at then redis.call('PEXPIREAT', key, at) end
end
";

/// KEYS: token, family, user's families, token index.
/// ARGV: hash hex, family, user, iat, exp (s), exp (ms), now (s).
pub(crate) static INSERT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{EXTEND}
local exp_ms = tonumber(ARGV[6])
redis.call('HSETNX', KEYS[2], 'user', ARGV[3])
redis.call('HSETNX', KEYS[2], 'revoked', '0')
redis.call('HSET', KEYS[1], 'fam', ARGV[2], 'user', ARGV[3], 'iat', ARGV[4], 'exp', ARGV[5], 'spent', '0')
redis.call('PEXPIREAT', KEYS[1], exp_ms)
extend(KEYS[2], exp_ms)
redis.call('SADD', KEYS[3], ARGV[2])
extend(KEYS[3], exp_ms)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[7])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
extend(KEYS[4], exp_ms)
return 1"
    ))
});

/// KEYS: token. ARGV: now (s), family key prefix (`P:rf:`).
/// Returns `{'0'}` (Invalid), or `{'1' | '2', fam, user, iat, exp}` (Rotated | Reused).
pub(crate) static CONSUME: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('HMGET', KEYS[1], 'fam', 'user', 'iat', 'exp', 'spent')
if not t[1] then return {'0'} end
if tonumber(t[4]) <= tonumber(ARGV[1]) then return {'0'} end
if t[5] == '1' then return {'2', t[1], t[2], t[3], t[4]} end
if redis.call('HGET', ARGV[2] .. t[1], 'revoked') ~= '0' then return {'0'} end
redis.call('HSET', KEYS[1], 'spent', '1')
return {'1', t[1], t[2], t[3], t[4]}",
    )
});

/// KEYS: family. ARGV: expiry (ms) of the marker when the family has no token yet.
pub(crate) static REVOKE_FAMILY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
else
  redis.call('HSET', KEYS[1], 'user', '', 'revoked', '1')
  redis.call('PEXPIREAT', KEYS[1], ARGV[1])
end
return 1",
    )
});

/// KEYS: user's families. ARGV: family key prefix (`P:rf:`).
/// Returns the families it revoked.
pub(crate) static REVOKE_USER: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local out = {}
for _, f in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. f
  local revoked = redis.call('HGET', key, 'revoked')
  if revoked == '0' then
    redis.call('HSET', key, 'revoked', '1')
    table.insert(out, f)
  elseif not revoked then
    redis.call('SREM', KEYS[1], f)
  end
end
return out",
    )
});

/// KEYS: an index. ARGV: now (the index's unit), member key prefix.
/// Deletes the members whose score is `<= now`; returns how many keys existed.
pub(crate) static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local n = 0
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  n = n + redis.call('DEL', ARGV[2] .. m)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return n",
    )
});

/// KEYS: revocation, revocation index. ARGV: id, until (ms), now (ms).
/// An earlier `until` never shortens a revocation.
pub(crate) static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{EXTEND}
local at = tonumber(ARGV[2])
if at <= tonumber(ARGV[3]) then return 0 end
local cur = redis.call('PEXPIRETIME', KEYS[1])
if cur == -2 or (cur ~= -1 and cur < at) then
  redis.call('SET', KEYS[1], '1', 'PXAT', at)
  redis.call('ZADD', KEYS[2], at, ARGV[1])
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
extend(KEYS[2], at)
return 1"
    ))
});
