/**
 * Single-flight: concurrent misses for one key in this process share one handler run. The leader
 * settles its flight with what it stored (or `undefined`); waiters then serve that or run their
 * own handler.
 */
export class Flights<T> {
  readonly #flights = new Map<string, Promise<T | undefined>>();

  /** The flight in progress for `key`, if any. */
  join(key: string): Promise<T | undefined> | undefined {
    return this.#flights.get(key);
  }

  /** Starts the flight for `key`; call the returned function exactly once to settle it. */
  lead(key: string): (result: T | undefined) => void {
    let settle!: (result: T | undefined) => void;
    const flight = new Promise<T | undefined>((resolve) => (settle = resolve));
    this.#flights.set(key, flight);
    return (result) => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
      settle(result);
    };
  }

  /** After an invalidation, later requests must not wait for responses computed before it. */
  clear(): void {
    this.#flights.clear();
  }
}
