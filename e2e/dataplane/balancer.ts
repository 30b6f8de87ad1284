/**
 * Smooth weighted round robin: over any window of sum(weights) picks, each item
 * is chosen exactly in proportion to its weight, evenly interleaved. A short
 * analysis interval then sees the configured share, without sampling noise.
 */
export class WeightedRoundRobin<T> {
  private current: number[];

  constructor(private readonly items: readonly { readonly item: T; readonly weight: number }[]) {
    this.current = items.map(() => 0);
  }

  /** The next item, or undefined when every weight is zero. */
  next(): T | undefined {
    let total = 0;
    let best = -1;
    this.items.forEach(({ weight }, i) => {
      if (weight <= 0) return;
      total += weight;
      this.current[i] += weight;
      if (best < 0 || this.current[i] > this.current[best]) best = i;
    });
    if (best < 0) return undefined;
    this.current[best] -= total;
    return this.items[best].item;
  }
}

/** Plain round robin over a list that can change between picks. */
export class RoundRobin {
  private cursor = 0;

  pick<T>(items: readonly T[]): T | undefined {
    if (items.length === 0) return undefined;
    this.cursor = (this.cursor + 1) % items.length;
    return items[this.cursor];
  }
}
