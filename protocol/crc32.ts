/**
 * CRC-32/IEEE for the frames, and its 8-digit spelling. The MCU passes E.CRC32 and
 * uses only hexUpper; the table-driven crc32 is for Node and is built on first use.
 */

// Built on first use only: the firmware passes E.CRC32 and never pays for the table.
let crcTable: Int32Array | null = null;

/** The byte table of CRC-32/IEEE (reflected polynomial 0xEDB88320), shared by the string and byte forms. */
export function crc32Table(): Int32Array {
  let t = crcTable;
  if (!t) {
    t = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
      t[n] = c;
    }
    crcTable = t;
  }
  return t;
}

/** CRC-32/IEEE (as zlib, PNG, E.CRC32) of the string's characters taken as bytes. */
export function crc32(text: string): number {
  const t = crc32Table();
  let crc = -1;
  for (let i = 0; i < text.length; i++) crc = (crc >>> 8) ^ t[(crc ^ text.charCodeAt(i)) & 0xff];
  return (crc ^ -1) >>> 0;
}

/** Uppercase hex, zero-padded to `digits` (8 for a CRC, 4 for the fault word). */
export function hexUpper(n: number, digits: number): string {
  // >>> 0 because some CRC implementations return the signed 32-bit form.
  let h = (n >>> 0).toString(16).toUpperCase();
  while (h.length < digits) h = '0' + h;
  return h;
}
