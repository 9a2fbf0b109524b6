export function goQuote(text: string): string;
export function goQuoteRaw(text: string): string;
export function nowNs(): bigint;
export function rfc3339Nano(ns?: bigint): string;
export function rfc3339(date?: Date): string;
export function dateTime(date?: Date): string;
export function parseRfc3339Ns(text: string | undefined): bigint | null;
