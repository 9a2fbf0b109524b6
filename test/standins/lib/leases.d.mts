export const LEASE_SECONDS: number;
export function bootpdMac(mac: string): string;
export function leasedAddress(file: string, mac: string): string | null;
export function upsertLease(
  file: string,
  lease: { hostname: string; mac: string; address: string | null; network?: { gateway: string; dhcpEnd?: string }; nowSeconds?: number },
): string;
export function removeLease(file: string, mac: string): void;
