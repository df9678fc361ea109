import type { Redis } from 'ioredis';

/**
 * The Redis session backend's operations, each one Lua script: one round trip per COLLECT,
 * COMMIT take, lease acquire, renew and release, and interrupt. ioredis `defineCommand` sends a
 * script's text once per connection (EVAL) and its SHA1 after that (EVALSHA).
 *
 * The scripts touch keys they do not declare (evicted buffers, a hardware id's buffers), so they
 * need a standalone Redis (or one primary with replicas), not Redis Cluster.
 */

/**
 * COLLECT: sequence guard, the merge rule of src/protocol/collect-merge.ts, the length limit,
 * TTL, the per-hardware set and the touch index, and eviction past the bound, atomically.
 *
 * The merge compares word keys that TypeScript computed (Unicode case folding and punctuation
 * classes are not available in Lua): the buffer keeps its keys joined by ' ' (a key never holds
 * whitespace) beside its text, and the piece arrives with its keys and each word's byte offsets.
 * Every branch mirrors `mergeSpeech`; the property test in redis-collect-store.test.ts holds the
 * two to the same results. Lengths are counted in UTF-16 units, as `String.length` does.
 *
 * KEYS: buffer hash, the hardware id's set of buffers, the index (sorted set by last touch).
 * ARGV: seq, piece, piece keys, word count, word starts, word ends (byte offsets, ','-separated),
 * piece starts with whitespace (1/0), piece ends with whitespace (1/0), piece UTF-16 length,
 * max chars, TTL ms, now ms, max buffers, has screenshot (1/0), screenshot, width, height.
 * Returns {1 accepted | 0 stale | -1 too long, buffers in the index}.
 */
const COLLECT = `
local buffer, hw, index = KEYS[1], KEYS[2], KEYS[3]
local current = redis.call('HMGET', buffer, 'seq', 'text', 'words', 'ws', 'len')
if current[1] and tonumber(ARGV[1]) <= tonumber(current[1]) then
  return {0, redis.call('ZCARD', index)}
end
local B, BW = current[2] or '', current[3] or ''
local P, PW, np = ARGV[2], ARGV[3], tonumber(ARGV[4])
local text, words, ws, len = B, BW, current[4] or '0', tonumber(current[5] or '0')

local function offsets(csv)
  local out = {}
  for n in string.gmatch(csv, '%d+') do out[#out + 1] = tonumber(n) end
  return out
end
local function utf16(s)
  local _, units = string.gsub(s, '[^\\128-\\191]', '')
  local _, astral = string.gsub(s, '[\\240-\\247]', '')
  return units + astral
end
local function startsWith(h, n)
  return h == n or string.sub(h, 1, #n + 1) == n .. ' '
end
local function wordStarts(joined)
  local out = {1}
  for i in string.gmatch(joined, '() ') do out[#out + 1] = i + 1 end
  return out
end

if np == 0 then
  -- no words: the buffer stays as it is
elseif BW == '' or (not startsWith(BW, PW) and startsWith(PW, BW)) then
  text, words, ws, len = P, PW, ARGV[8], tonumber(ARGV[9])
elseif not startsWith(BW, PW) then
  local bstarts, pstarts = wordStarts(BW), wordStarts(PW)
  local nb = #bstarts
  local overlap = 0
  for k = math.min(nb, np), 1, -1 do
    local tail = string.sub(BW, bstarts[nb - k + 1])
    local l = #tail
    if string.sub(PW, 1, l) == tail and (#PW == l or string.sub(PW, l + 1, l + 1) == ' ') then
      overlap = k
      break
    end
  end
  if overlap < np then
    local starts, ends = offsets(ARGV[5]), offsets(ARGV[6])
    local suffix
    if ws == '1' then suffix = string.sub(P, starts[overlap + 1] + 1)
    elseif overlap > 0 then suffix = string.sub(P, ends[overlap] + 1)
    elseif ARGV[7] == '1' then suffix = P
    else suffix = ' ' .. P end
    text = B .. suffix
    words = BW .. ' ' .. string.sub(PW, pstarts[overlap + 1])
    ws = ARGV[8]
    len = len + utf16(suffix)
  end
end
if len > tonumber(ARGV[10]) then
  return {-1, redis.call('ZCARD', index)}
end

local ttl, now = tonumber(ARGV[11]), tonumber(ARGV[12])
redis.call('HSET', buffer, 'seq', ARGV[1], 'text', text, 'words', words, 'ws', ws, 'len', len)
if ARGV[14] == '1' then redis.call('HSET', buffer, 'shot', ARGV[15], 'w', ARGV[16], 'h', ARGV[17]) end
redis.call('PEXPIRE', buffer, ttl)
redis.call('SADD', hw, buffer)
redis.call('PEXPIRE', hw, ttl)
-- This buffer is out of the index while the bound is applied, so it is never the one evicted.
redis.call('ZREM', index, buffer)
redis.call('ZREMRANGEBYSCORE', index, '-inf', now - ttl)
local count = redis.call('ZCARD', index) + 1
local excess = count - tonumber(ARGV[13])
if excess > 0 then
  local oldest = redis.call('ZPOPMIN', index, excess)
  for i = 1, #oldest, 2 do redis.call('DEL', oldest[i]) end
  count = count - #oldest / 2
end
redis.call('ZADD', index, now, buffer)
return {1, count}`;

/**
 * COMMIT's take: the buffer is read and removed with its index entries.
 * KEYS: buffer, hardware set, index. Returns {buffers left} or {buffers left, seq, text,
 * screenshot, width, height} ('' for what is absent).
 */
const TAKE = `
local v = redis.call('HMGET', KEYS[1], 'seq', 'text', 'shot', 'w', 'h')
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[2], KEYS[1])
redis.call('ZREM', KEYS[3], KEYS[1])
local count = redis.call('ZCARD', KEYS[3])
if not v[1] then return {count} end
return {count, v[1], v[2] or '', v[3] or '', v[4] or '', v[5] or ''}`;

/** InterruptSession: every buffer of a hardware id. KEYS: hardware set, index. Returns {dropped, left}. */
const DROP_HARDWARE = `
local dropped = 0
for _, key in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  dropped = dropped + redis.call('DEL', key)
  redis.call('ZREM', KEYS[2], key)
end
redis.call('DEL', KEYS[1])
return {dropped, redis.call('ZCARD', KEYS[2])}`;

/** Buffers held: expired index entries go first. KEYS: index. ARGV: expiry cutoff (ms). */
const SIZE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])`;

/** KEYS: lease, the hardware id's active set. ARGV: lease value, TTL ms, expiry (ms), session id. */
const ACQUIRE = `
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`;

/** KEYS: lease, active set. ARGV: lease value, TTL ms, new expiry (ms), session id. */
const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1`;

/** KEYS: lease, active set. ARGV: lease value, session id. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('ZREM', KEYS[2], ARGV[2])
return 1`;

/** KEYS: active set. ARGV: now (ms). Returns the session ids whose leases have not expired. */
const ACTIVE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)`;

/**
 * InterruptSession across instances: the hardware id's active sessions, and the message that
 * makes every instance abort its turns of it. KEYS: active set. ARGV: now (ms), channel, message.
 */
const INTERRUPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local sessions = redis.call('ZRANGE', KEYS[1], 0, -1)
redis.call('PUBLISH', ARGV[2], ARGV[3])
return sessions`;

const DEFINITIONS = {
  nexyCollect: { lua: COLLECT, numberOfKeys: 3 },
  nexyTake: { lua: TAKE, numberOfKeys: 3 },
  nexyDropHardware: { lua: DROP_HARDWARE, numberOfKeys: 2 },
  nexySize: { lua: SIZE, numberOfKeys: 1 },
  nexyAcquire: { lua: ACQUIRE, numberOfKeys: 2 },
  nexyRenew: { lua: RENEW, numberOfKeys: 2 },
  nexyRelease: { lua: RELEASE, numberOfKeys: 2 },
  nexyActive: { lua: ACTIVE, numberOfKeys: 1 },
  nexyInterrupt: { lua: INTERRUPT, numberOfKeys: 1 },
} as const;

type Arg = string | number;
type ScriptName = keyof typeof DEFINITIONS;

/** The scripts as typed calls on one connection; each call is one round trip. */
export type SessionScripts = { readonly [K in ScriptName]: (...keysThenArgs: Arg[]) => Promise<unknown> };

const defined = new WeakMap<Redis, SessionScripts>();

/** Defines the scripts on `redis` (once per client) and returns them. */
export function sessionScripts(redis: Redis): SessionScripts {
  const existing = defined.get(redis);
  if (existing) return existing;
  for (const [name, definition] of Object.entries(DEFINITIONS)) redis.defineCommand(name, definition);
  const commands = redis as unknown as Record<ScriptName, (...args: Arg[]) => Promise<unknown>>;
  const scripts = Object.fromEntries(
    (Object.keys(DEFINITIONS) as ScriptName[]).map((name) => [name, (...args: Arg[]) => commands[name](...args)]),
  ) as SessionScripts;
  defined.set(redis, scripts);
  return scripts;
}
