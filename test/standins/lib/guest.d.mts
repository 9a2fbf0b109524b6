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
export interface GuestSocket { protocol: "tcp" | "udp"; address: string; port: number }
/** A guest program that prints `bytes` of junk instead of answering (guest-shell.mjs). */
export interface GuestFlood { program: string; bytes: number; stream?: "stdout" | "stderr" }
export interface GuestService { active: boolean; reloads: number; restarts: number; failed?: string[]; config?: Record<string, string>; jails?: Array<{ name: string; filter: string; port: string; backend: string; ignoreip: string }> }
export interface GuestState {
  booted: boolean;
  addresses: Record<string, string> | null;
  /** Interfaces DHCP left without an IPv4 address (Lima issue 3100): no address, no default route. */
  withoutIpv4?: string[];
  /** Listening sockets replacing those the guest's daemons open. */
  listening?: GuestSocket[];
  /** A program answering with junk, hundreds of MB of it if asked. */
  flood?: GuestFlood;
  /** Each service's reloads and restarts, with what it loaded (guest-shell.mjs). */
  services?: Record<string, GuestService>;
}
export function readGuestState(dir: string): GuestState | null;
export function writeGuestState(dir: string, state: GuestState): void;
