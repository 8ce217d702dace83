export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;

export interface CappedOutput {
  output: string;
  droppedBytes: number;
}

export interface OutputCapper {
  push(chunk: Buffer): void;
  finish(): CappedOutput;
}

/**
 * Keeps the first half and the last half of a byte stream, counting what falls in between. Memory is
 * bounded by `maxBytes` whatever the stream's length: the head is a fixed buffer and the tail a ring,
 * so a command printing gigabytes costs no more than one printing a megabyte.
 */
export function createOutputCapper(maxBytes: number = DEFAULT_MAX_OUTPUT_BYTES): OutputCapper {
  const limit = Math.max(0, Math.floor(maxBytes));
  const headCap = Math.floor(limit / 2);
  const head = Buffer.alloc(headCap);
  const tail = createRing(limit - headCap);
  let headLen = 0;
  let total = 0;

  function push(chunk: Buffer): void {
    total += chunk.length;
    const intoHead = Math.min(headCap - headLen, chunk.length);
    if (intoHead > 0) {
      chunk.copy(head, headLen, 0, intoHead);
      headLen += intoHead;
    }
    if (intoHead < chunk.length) tail.write(chunk.subarray(intoHead));
  }

  function finish(): CappedOutput {
    const tailBytes = tail.read();
    const droppedBytes = total - headLen - tailBytes.length;
    const headText = head.subarray(0, headLen).toString('utf8');
    if (droppedBytes === 0)
      return { output: Buffer.concat([head.subarray(0, headLen), tailBytes]).toString('utf8'), droppedBytes };
    return { output: `${headText}${droppedMarker(droppedBytes)}${tailBytes.toString('utf8')}`, droppedBytes };
  }

  return { push, finish };
}

/** The line that stands where the middle was cut, so a reader (or the model) knows output is missing. */
export function droppedMarker(droppedBytes: number): string {
  return `\n[... ${droppedBytes} bytes of output dropped ...]\n`;
}

interface Ring {
  write(bytes: Buffer): void;
  read(): Buffer;
}

/** A fixed-size ring that remembers the last `cap` bytes written to it. */
function createRing(cap: number): Ring {
  // Allocated on first use: most commands never overflow the head.
  let buf: Buffer | undefined;
  let start = 0;
  let len = 0;

  function write(bytes: Buffer): void {
    if (cap === 0) return;
    buf ??= Buffer.alloc(cap);
    const src = bytes.length > cap ? bytes.subarray(bytes.length - cap) : bytes;
    let pos = (start + len) % cap;
    let offset = 0;
    while (offset < src.length) {
      const n = Math.min(cap - pos, src.length - offset);
      src.copy(buf, pos, offset, offset + n);
      offset += n;
      pos = (pos + n) % cap;
    }
    const overflow = Math.max(0, len + src.length - cap);
    start = (start + overflow) % cap;
    len = Math.min(cap, len + src.length);
  }

  function read(): Buffer {
    if (!buf || len === 0) return Buffer.alloc(0);
    const end = start + len;
    if (end <= cap) return Buffer.from(buf.subarray(start, end));
    return Buffer.concat([buf.subarray(start), buf.subarray(0, end - cap)]);
  }

  return { write, read };
}
