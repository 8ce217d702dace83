const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `4 GiB`, `256 MiB`, `1.5 GiB`: binary units, as patchbay.yml's `_mb` keys mean them. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const shown = value >= 10 || Number.isInteger(value) ? Math.round(value) : Math.round(value * 10) / 10;
  return `${shown} ${UNITS[unit]}`;
}
