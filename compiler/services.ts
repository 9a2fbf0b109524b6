// Well-known service names: `expose ssh as 2222` means guest port 22. Deliberately short —
// a name that is not here needs an explicit guest port, and the diagnostic says so.
import type { Protocol } from "./ir.js";

export interface Service { port: number; protocol: Protocol }

export const SERVICES: Readonly<Record<string, Service>> = {
  ssh: { port: 22, protocol: "tcp" },
  smtp: { port: 25, protocol: "tcp" },
  dns: { port: 53, protocol: "tcp+udp" },
  http: { port: 80, protocol: "tcp" },
  pop3: { port: 110, protocol: "tcp" },
  ntp: { port: 123, protocol: "udp" },
  imap: { port: 143, protocol: "tcp" },
  https: { port: 443, protocol: "tcp" },
  syslog: { port: 514, protocol: "udp" },
  submission: { port: 587, protocol: "tcp" },
  imaps: { port: 993, protocol: "tcp" },
  openvpn: { port: 1194, protocol: "udp" },
  mqtt: { port: 1883, protocol: "tcp" },
  mysql: { port: 3306, protocol: "tcp" },
  rdp: { port: 3389, protocol: "tcp" },
  postgres: { port: 5432, protocol: "tcp" },
  vnc: { port: 5900, protocol: "tcp" },
  redis: { port: 6379, protocol: "tcp" },
  "http-alt": { port: 8080, protocol: "tcp" },
  minecraft: { port: 25565, protocol: "tcp" },
  mongodb: { port: 27017, protocol: "tcp" },
  wireguard: { port: 51820, protocol: "udp" },
};
