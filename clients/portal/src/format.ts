// Small presentation helpers shared by the pages. Money stays a decimal string end to end: never a float.
import type { Money } from "./api.js";

export function money(value: Money): string {
    return `${value.amount} ${value.currency}`;
}

/** Compile-time proof that a switch handled every value of a union the API documents. */
export function unreachable(value: never): never {
    throw new Error(`unhandled value ${String(value)}`);
}
