/** Number and time formats of the page. */

/** `12 345` (thin spaces between thousands). */
export function count(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '\u2009');
}

/** `812 B`, `14.2 kB`, `3.10 MB` (decimal units). */
export function bytes(n: number): string {
  if (n < 1000) return `${Math.round(n)} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 2 : 1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

/** A rate per second: `3.5/s`, `12/s`. */
export function perSecond(n: number): string {
  return `${n < 10 ? n.toFixed(1) : Math.round(n)}/s`;
}

/** A byte rate: `1.20 kB/s`. */
export function bytesPerSecond(n: number): string {
  return `${bytes(n)}/s`;
}

/** Time since the start of the run: `7.3 s`, `1:04.2`. */
export function elapsed(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(1).padStart(4, '0')}`;
}
