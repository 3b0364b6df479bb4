/** `value` with `digits` decimals, or `–` for NaN. */
export function fixed(value: number, digits: number): string {
  return Number.isNaN(value) ? '–' : value.toFixed(digits);
}

/** A count, grouped by thousands (`12,345`), or `–` for NaN. */
export function count(value: number): string {
  return Number.isNaN(value) ? '–' : Math.round(value).toLocaleString('en');
}

/** CPU microseconds: one decimal below 100, whole above. */
export function micros(value: number): string {
  return Number.isNaN(value) ? '–' : value < 100 ? value.toFixed(1) : Math.round(value).toString();
}

/** ✓ / ✗ for a goal met or missed, nothing where there is no goal. */
export function mark(met: boolean | undefined): string {
  return met === undefined ? '' : met ? ' ✓' : ' ✗';
}
