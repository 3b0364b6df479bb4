/** A response body size the benchmark measures every mode at. */
export interface BodySize {
  /** In paths (`/products/2kb`) and in the results file. */
  id: string;
  /** In tables and the chart. */
  label: string;
  /** The size the product list is built to reach, give or take one product. */
  bytes: number;
}

export const SIZES: readonly BodySize[] = [
  { id: '2kb', label: '2 KB', bytes: 2 * 1024 },
  { id: '20kb', label: '20 KB', bytes: 20 * 1024 },
  { id: '200kb', label: '200 KB', bytes: 200 * 1024 },
];

export function sizeById(id: string): BodySize | undefined {
  return SIZES.find((size) => size.id === id);
}
