// The seed workloads, in table order, and the arrays each one reads.
// Every peer reads the same arrays (written once by data.ts), so this file is
// the single place where shapes live.

export interface Workload {
  id: string;
  title: string;
  variants: string[];
}

export const WORKLOADS: Workload[] = [
  {
    id: "W1",
    title: "Jacobian, Din = Dout = 16",
    variants: ["vjp-loop", "vmap(vjp)", "jacrev", "jacfwd"],
  },
  {
    id: "W2",
    title: "tall Jacobian, Din 32, Dout 2048",
    variants: ["jacfwd", "jacrev"],
  },
  {
    id: "W3",
    title: "wide Jacobian, Din 2048, Dout 32",
    variants: ["jacfwd", "jacrev"],
  },
  {
    id: "W4",
    title: "Hessian wrt x, Din 512, Dout 32 → [32,512,512]",
    variants: ["hessian", "jacfwd(jacfwd)", "jacrev(jacrev)"],
  },
  {
    id: "W5",
    title: "batched, B 64, Din 31, Dout 33",
    variants: ["vmap(jacrev)", "vmap(hessian)"],
  },
  {
    id: "W6",
    title: "hvp of sum(sin(x)), n 2048",
    variants: ["jvp(grad)", "vjp(grad)"],
  },
  { id: "W7", title: "jacrev wrt (W, b), D 16", variants: ["jacrev(W,b)"] },
];

/** One input array: its name (`W1.W`), shape and the scale of its entries. */
export interface ArraySpec {
  name: string;
  shape: number[];
  scale: number;
}

// W is scaled by 1/sqrt(Din) so that W x + b stays O(1): with plain randn the
// 2048-wide layers saturate tanh, 1 - y² underflows to 0 and every Jacobian
// check would pass trivially.
function layer(id: string, dout: number, din: number, batch?: number) {
  return [
    { name: `${id}.W`, shape: [dout, din], scale: 1 / Math.sqrt(din) },
    { name: `${id}.b`, shape: [dout], scale: 0.5 },
    { name: `${id}.x`, shape: batch ? [batch, din] : [din], scale: 1 },
  ];
}

export const ARRAYS: ArraySpec[] = [
  ...layer("W1", 16, 16),
  ...layer("W2", 2048, 32),
  ...layer("W3", 32, 2048),
  ...layer("W4", 32, 512),
  ...layer("W5", 33, 31, 64),
  { name: "W6.x", shape: [2048], scale: 1 },
  { name: "W6.v", shape: [2048], scale: 1 },
  ...layer("W7", 16, 16),
];
