/**
 * Broadcast helpers the public operations share; they are the core's
 * unchecked compositions (src/core/lax.ts).
 * @module
 */
export { broadcastTo, instantiate, sumToShape, zerosOf } from "../core/lax.ts";
