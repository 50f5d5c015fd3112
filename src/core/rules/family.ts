/**
 * Builds the rules of a primitive family (all unary ops, all binary ops, ...)
 * from one function, typed so that a table spread from families plus explicit
 * entries is checked for completeness by the compiler.
 * @module
 */
export function family<K extends string, R>(
  names: readonly K[],
  make: (name: K) => R,
): Record<K, R> {
  const out = {} as Record<K, R>;
  for (const n of names) out[n] = make(n);
  return out;
}
