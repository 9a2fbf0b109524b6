// The codes a router answers with, as data: each protocol's number, its name in the
// specification, and what it means for the user. Reports quote the router's own code and name.
//   PCP: RFC 6887 §7.4. NAT-PMP: RFC 6886 §3.5. UPnP: WANIPConnection:2 Service (UPnP Forum,
//   2010) §2.4 error codes, and UPnP Device Architecture 1.1 §3.2.2 for 401–501.

export type RouterProtocol = "pcp" | "nat-pmp" | "upnp";

export interface ResultCode {
  protocol: RouterProtocol;
  code: number;
  name: string;
  meaning: string;
}

type Table = Readonly<Record<number, readonly [name: string, meaning: string]>>;

const PCP: Table = {
  0: ["SUCCESS", "the router did what was asked"],
  1: ["UNSUPP_VERSION", "the router does not speak this version of PCP"],
  2: ["NOT_AUTHORIZED", "the router's policy does not let this Mac map ports (often: PCP or port mapping is turned off in its settings)"],
  3: ["MALFORMED_REQUEST", "the router could not read the request"],
  4: ["UNSUPP_OPCODE", "the router does not support this PCP operation"],
  5: ["UNSUPP_OPTION", "the router does not support a mandatory option of the request"],
  6: ["MALFORMED_OPTION", "the router could not read an option of the request"],
  7: ["NETWORK_FAILURE", "the router has no working external connection at the moment"],
  8: ["NO_RESOURCES", "the router cannot create more mappings at the moment"],
  9: ["UNSUPP_PROTOCOL", "the router does not map this transport protocol"],
  10: ["USER_EX_QUOTA", "this Mac has used up its quota of mappings on the router"],
  11: ["CANNOT_PROVIDE_EXTERNAL", "the router cannot give the external port or address asked for"],
  12: ["ADDRESS_MISMATCH", "the router sees the request coming from another address than the one it names (another NAT in between?)"],
  13: ["EXCESSIVE_REMOTE_PEERS", "the router cannot create the filters the request asked for"],
};

const NAT_PMP: Table = {
  0: ["Success", "the router did what was asked"],
  1: ["Unsupported Version", "the router does not speak NAT-PMP version 0"],
  2: ["Not Authorized/Refused", "the router supports port mapping but refuses it (often: turned off in its settings)"],
  3: ["Network Failure", "the router has no working external connection (for example, no address from its ISP yet)"],
  4: ["Out of resources", "the router cannot create more mappings at the moment"],
  5: ["Unsupported opcode", "the router does not support this NAT-PMP operation"],
};

const UPNP: Table = {
  401: ["Invalid Action", "the router's service has no such action"],
  402: ["Invalid Args", "the router refused the action's arguments (some routers say this for a lease they do not support)"],
  501: ["Action Failed", "the router failed to carry out the action"],
  606: ["Action not authorized", "the router's UPnP settings do not let this Mac change port mappings"],
  713: ["SpecifiedArrayIndexInvalid", "the router has no mapping at that index"],
  714: ["NoSuchEntryInArray", "the router has no such port mapping"],
  715: ["WildCardNotPermittedInSrcIP", "the router needs a specific remote host"],
  716: ["WildCardNotPermittedInExtPort", "the router needs a specific external port"],
  718: ["ConflictInMappingEntry", "the external port is already mapped to another host on the router"],
  724: ["SamePortValuesRequired", "the router maps only an external port equal to the internal one"],
  725: ["OnlyPermanentLeasesSupported", "the router grants only permanent mappings (lease 0)"],
  726: ["RemoteHostOnlySupportsWildcard", "the router accepts no specific remote host"],
  727: ["ExternalPortOnlySupportsWildcard", "the router accepts no specific external port"],
  728: ["NoPortMapsAvailable", "the router has no room for more port mappings"],
  729: ["ConflictWithOtherMechanisms", "the mapping conflicts with one made by other means (another protocol, or the router's own settings)"],
  732: ["WildCardNotPermittedInIntPort", "the router needs a specific internal port"],
};

const TABLES: Readonly<Record<RouterProtocol, Table>> = { pcp: PCP, "nat-pmp": NAT_PMP, upnp: UPNP };

/** A code with its name and meaning; one the tables do not know is named by its number. */
export function resultCode(protocol: RouterProtocol, code: number): ResultCode {
  const known = Object.hasOwn(TABLES[protocol], code) ? TABLES[protocol][code] : undefined;
  return known ? { protocol, code, name: known[0], meaning: known[1] } : { protocol, code, name: `code ${code}`, meaning: "a code LimaWAN does not know" };
}

export const PCP_RESULT = {
  SUCCESS: 0,
  UNSUPP_VERSION: 1,
  NOT_AUTHORIZED: 2,
  MALFORMED_REQUEST: 3,
  UNSUPP_OPCODE: 4,
  NETWORK_FAILURE: 7,
  NO_RESOURCES: 8,
  UNSUPP_PROTOCOL: 9,
  CANNOT_PROVIDE_EXTERNAL: 11,
} as const;

export const NAT_PMP_RESULT = {
  SUCCESS: 0,
  UNSUPPORTED_VERSION: 1,
  NOT_AUTHORIZED: 2,
  NETWORK_FAILURE: 3,
  OUT_OF_RESOURCES: 4,
  UNSUPPORTED_OPCODE: 5,
} as const;

export const UPNP_ERROR = {
  INVALID_ARGS: 402,
  ACTION_FAILED: 501,
  NOT_AUTHORIZED: 606,
  NO_SUCH_ENTRY: 714,
  CONFLICT: 718,
  SAME_PORT_VALUES_REQUIRED: 724,
  ONLY_PERMANENT_LEASES: 725,
  NO_PORT_MAPS_AVAILABLE: 728,
} as const;

/** "NOT_AUTHORIZED (PCP 2): the router's policy …" — for reports; names and meanings are ours, the code the router's. */
export function describeResult(result: ResultCode): string {
  const protocol = result.protocol === "pcp" ? "PCP" : result.protocol === "nat-pmp" ? "NAT-PMP" : "UPnP";
  return `${result.name} (${protocol} ${result.code}): ${result.meaning}`;
}
