// A memory limit for a core WebAssembly module, set in the module itself.
//
// JavaScript gives no store limits: a module's linear memory grows until its
// declared maximum (4 GiB for a 32-bit memory without one). So the sandbox
// rewrites the memory section of each core module before compiling it: every
// memory the module defines gets a maximum of at most `limit` bytes, and
// `memory.grow` past it fails inside the guest, which the engine reports as a
// trap. A module this cannot read the way the runtime will (a shared or 64-bit
// memory, a malformed section) is refused rather than run without a limit.

const PAGE = 65536;
const MEMORY_SECTION = 5;

/** Reads an unsigned LEB128 number at `at`; returns [value, next offset]. */
function readU32(bytes, at) {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && i < at + 5; i++) {
    value += (bytes[i] & 0x7f) * 2 ** shift;
    if ((bytes[i] & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new Error(`finegrain sandbox: malformed number at byte ${at} of a core module`);
}

function writeU32(out, value) {
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
}

/** The memory section's payload with every maximum at most `maxPages`. */
function limitedMemories(payload, maxPages) {
  const out = [];
  let [count, at] = readU32(payload, 0);
  writeU32(out, count);
  for (; count > 0; count--) {
    const flags = payload[at++];
    if (flags !== 0 && flags !== 1) {
      throw new Error(`finegrain sandbox: a memory with flags ${flags} (shared or 64-bit) cannot be limited`);
    }
    let min;
    [min, at] = readU32(payload, at);
    let max = maxPages;
    if (flags === 1) {
      let declared;
      [declared, at] = readU32(payload, at);
      max = Math.min(declared, maxPages);
    }
    if (min > max) {
      throw new Error(
        `finegrain sandbox: the component starts with ${min * PAGE} bytes of memory, above the limit of ${maxPages * PAGE}`,
      );
    }
    out.push(1);
    writeU32(out, min);
    writeU32(out, max);
  }
  if (at !== payload.length) throw new Error("finegrain sandbox: malformed memory section in a core module");
  return Uint8Array.from(out);
}

/**
 * The core module `bytes` with each memory it defines capped at `limit` bytes
 * (rounded down to whole 64 KiB pages). Imported memories are the exporter's
 * business: that module is rewritten when it is compiled.
 */
export function withMemoryLimit(bytes, limit) {
  const maxPages = Math.floor(limit / PAGE);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error("finegrain sandbox: not a core WebAssembly module");
  }
  const parts = [bytes.subarray(0, 8)];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at];
    const [size, start] = readU32(bytes, at + 1);
    const end = start + size;
    if (end > bytes.length) throw new Error("finegrain sandbox: a section runs past the end of a core module");
    if (id === MEMORY_SECTION) {
      const payload = limitedMemories(bytes.subarray(start, end), maxPages);
      const header = [id];
      writeU32(header, payload.length);
      parts.push(Uint8Array.from(header), payload);
    } else {
      parts.push(bytes.subarray(at, end));
    }
    at = end;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
