// Is a host port already served by a process on this Mac? An rdr on the WAN interface would
// silently steal that service's external clients, so `up` refuses. Binding is the test:
// no lsof/netstat parsing, and it answers for TCP and UDP alike.
import dgram from "node:dgram";
import net from "node:net";

export type PortProbe = "free" | "in-use" | "unknown";

export class Listeners {
  /**
   * A port found taken is asked again a moment later: a listener stays, while another command's
   * own brief probe of the same port (two `up`s at once) has gone.
   */
  async probe(protocol: "tcp" | "udp", port: number): Promise<PortProbe> {
    const once = () => (protocol === "tcp" ? probeTcp(port) : probeUdp(port));
    const first = await once();
    if (first !== "in-use") return first;
    await new Promise((resolve) => setTimeout(resolve, 150));
    return once();
  }
}

function probeTcp(port: number): Promise<PortProbe> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE" ? "in-use" : "unknown"));
    server.listen({ port, host: "0.0.0.0", exclusive: true }, () => server.close(() => resolve("free")));
  });
}

function probeUdp(port: number): Promise<PortProbe> {
  return new Promise((resolve) => {
    const socket = dgram.createSocket({ type: "udp4" });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code === "EADDRINUSE" ? "in-use" : "unknown");
    });
    socket.bind({ port, address: "0.0.0.0", exclusive: true }, () => socket.close(() => resolve("free")));
  });
}
