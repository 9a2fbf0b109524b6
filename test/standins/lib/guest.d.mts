import type { InspectedInstance } from "./lima-store.mjs";
export const GUEST_STATE: string;
export const OVERRIDE_FILE: string;
export interface GuestNetwork {
  index: number;
  interface: string;
  mac: string;
  metric: number;
  kind: "leased" | "bridged" | "user-v2" | "socket";
  network?: { gateway: string; dhcpEnd?: string; netmask?: string; mode?: string };
}
export function guestNetworks(home: string, inst: InspectedInstance): GuestNetwork[];
export function overrideAddresses(dir: string): string[];
export function changeAddress(home: string, inst: InspectedInstance, index: number, address: string, leasesFile: string | null): void;
export function readGuestState(dir: string): { booted: boolean; addresses: Record<string, string> | null } | null;
