import type { Redis } from 'ioredis';
import { redisScript, runScript } from './redis-script.js';

/**
 * Appends one entry to a task's timeline and keeps the timeline under its cap, atomically, in one round
 * trip. KEYS[1] is the stream of entries, KEYS[2] a hash of the tool outputs by entry id (prefixed `=`
 * as written, `~` once shortened) and of the log's own fields: `~bytes` (what entries and outputs
 * hold), `~c1` and `~c2` (the last entry each shortening pass looked at), `~noted` (the note was
 * written). A stream entry cannot be changed, which is why the outputs live beside it.
 *
 * ARGV: 1 the entry's JSON (a tool call's without its output), 2 '1' when it has an output, 3 the
 * output, 4 the cap in bytes, 5 the expiry in seconds, 6 the bytes a shortened output keeps (head
 * and tail), 7 the JSON of the note said when outputs are first shortened.
 *
 * Past the cap, outputs are shortened oldest first, each to its head and tail with a line saying how
 * many bytes were cut; when every output is down to that and the log is still over, oldest first again
 * to a line alone. Entries are never dropped. Each pass resumes where it stopped, so an append costs
 * at most a few entries' worth of work however long the log.
 */
const APPEND = `
local stream, hash = KEYS[1], KEYS[2]
local cap, ttl, keep = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local id
if ARGV[2] == '1' then
  id = redis.call('XADD', stream, '*', 'e', ARGV[1], 'o', '1')
  redis.call('HSET', hash, id, '=' .. ARGV[3])
else
  id = redis.call('XADD', stream, '*', 'e', ARGV[1])
end
local bytes = redis.call('HINCRBY', hash, '~bytes', #ARGV[1] + #ARGV[3])

local function continuation(b) return b ~= nil and b >= 128 and b < 192 end

-- head and tail of text (keepBytes in all), never splitting a UTF-8 sequence; nil when nothing is gained
local function cut(text, keepBytes)
  local n = #text
  if keepBytes == 0 then
    local line = "[… output cut to keep this task's log under its cap …]"
    if n <= #line then return nil end
    return line
  end
  if n <= keepBytes + 100 then return nil end
  local head = math.floor(keepBytes / 2)
  local tail = n - (keepBytes - head) + 1
  while head > 0 and continuation(text:byte(head + 1)) do head = head - 1 end
  while tail <= n and continuation(text:byte(tail)) do tail = tail + 1 end
  return text:sub(1, head) .. "\\n[… " .. (tail - 1 - head) .. " bytes cut to keep this task's log under its cap …]\\n" .. text:sub(tail)
end

local shortened = 0
local function pass(cursorField, keepBytes)
  local cursor = redis.call('HGET', hash, cursorField) or '0-0'
  while bytes > cap do
    local batch = redis.call('XRANGE', stream, '(' .. cursor, '+', 'COUNT', 64)
    if #batch == 0 then break end
    for _, item in ipairs(batch) do
      cursor = item[1]
      if item[2][3] == 'o' then
        local stored = redis.call('HGET', hash, cursor)
        local shorter = stored and cut(stored:sub(2), keepBytes)
        if shorter then
          redis.call('HSET', hash, cursor, '~' .. shorter)
          bytes = redis.call('HINCRBY', hash, '~bytes', #shorter - (#stored - 1))
          shortened = shortened + 1
        end
      end
      if bytes <= cap then break end
    end
  end
  redis.call('HSET', hash, cursorField, cursor)
end

if bytes > cap then pass('~c1', keep) end
if bytes > cap then pass('~c2', 0) end
if shortened > 0 and redis.call('HSETNX', hash, '~noted', '1') == 1 then
  redis.call('XADD', stream, '*', 'e', ARGV[7])
  redis.call('HINCRBY', hash, '~bytes', #ARGV[7])
end
redis.call('EXPIRE', stream, ttl)
redis.call('EXPIRE', hash, ttl)
return id`;

const APPEND_SCRIPT = redisScript(APPEND);

export interface AppendArgs {
  json: string;
  output: string | undefined;
  capBytes: number;
  ttlSeconds: number;
  keepBytes: number;
  noteJson: string;
}

/** Runs the append script by its hash, sending the script itself only when Redis does not know it yet. */
export async function appendWithCap(redis: Redis, keys: [string, string], a: AppendArgs): Promise<string> {
  const args = [
    a.json,
    a.output === undefined ? '0' : '1',
    a.output ?? '',
    String(a.capBytes),
    String(a.ttlSeconds),
    String(a.keepBytes),
    a.noteJson,
  ];
  return (await runScript(redis, APPEND_SCRIPT, keys, args)) as string;
}
