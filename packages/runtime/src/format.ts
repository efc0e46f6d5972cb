/**
 * Bytes for a person: `B` below 1 KiB, else KiB … TiB with one decimal; `-` for unknown (`null`).
 * The CLIs' tables and the gateway's overview page print sizes with it.
 */
export function bytesText(bytes: number | null): string {
  if (bytes === null) return '-';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit] ?? 'TiB'}`;
}
