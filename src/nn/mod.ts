/**
 * Neural-network helpers. `nn.init`: initialisers that take a random key.
 * @module
 */
export * as init from "./init.ts";
