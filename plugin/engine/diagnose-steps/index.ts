// diagnose's steps, in the order a packet from a WAN client meets them.
import { address } from "./address.js";
import { anchorPoints } from "./anchor-points.js";
import { anchorRules } from "./anchor-rules.js";
import { annotation } from "./annotation.js";
import { external } from "./external.js";
import { guestInterface } from "./guest-interface.js";
import { guestListening } from "./guest-listening.js";
import { guestRoute } from "./guest-route.js";
import { hostPort } from "./host-port.js";
import { ipForwarding } from "./ip-forwarding.js";
import { pfEnabled } from "./pf-enabled.js";
import { router } from "./router.js";
import type { DiagnoseStep } from "./step.js";
import { vmRunning } from "./vm-running.js";
import { wanInterface } from "./wan-interface.js";

export const STEPS: readonly DiagnoseStep[] = [
  annotation,
  vmRunning,
  address,
  guestInterface,
  guestRoute,
  guestListening,
  pfEnabled,
  anchorPoints,
  anchorRules,
  ipForwarding,
  hostPort,
  wanInterface,
  router,
  external,
];
