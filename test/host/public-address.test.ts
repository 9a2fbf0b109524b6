// diagnose --external's lookup: LIMAWAN_PUBLIC_ADDRESS_URL reaches root through the sudoers
// rule, so what it points at is treated as hostile (a server on loopback plays it).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSWER_LIMIT_BYTES, PublicAddress } from "../../plugin/host/public-address.js";

let server: Server;
let base: string;
const served: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    served.push(request.url ?? "");
    if (request.url === "/ok") return void response.end("198.51.100.7\n");
    if (request.url === "/redirect") return void response.writeHead(302, { location: "http://127.0.0.1:1/elsewhere" }).end();
    if (request.url === "/flood") {
      // Far more than the limit, sent for as long as the client reads.
      const chunk = Buffer.alloc(64 * 1024, "1");
      const pump = () => {
        while (response.write(chunk)) if (response.writableLength > 1 << 20) break;
      };
      response.on("drain", pump);
      pump();
      return;
    }
    response.end("not an address");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("the public address lookup", () => {
  it("takes an IPv4 address the service answers with", async () => {
    expect(await new PublicAddress(`${base}/ok`).lookup()).toBe("198.51.100.7");
  });

  it("reads no more than its limit of an answer that does not end", async () => {
    await expect(new PublicAddress(`${base}/flood`).lookup()).rejects.toThrow(new RegExp(`more than ${ANSWER_LIMIT_BYTES} bytes`));
  });

  it("follows no redirect: it names where it was sent instead", async () => {
    served.length = 0;
    await expect(new PublicAddress(`${base}/redirect`).lookup()).rejects.toThrow(/redirects \(HTTP 302\) to http:\/\/127\.0\.0\.1:1\/elsewhere/);
    expect(served).toEqual(["/redirect"]);
  });

  it("asks nothing but http(s)", async () => {
    for (const url of ["file:///etc/master.passwd", "data:text/plain,198.51.100.7", "ftp://example.org/"]) {
      await expect(new PublicAddress(url).lookup()).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/must be an http:\/\/ or https:\/\/ URL/) });
    }
  });

  it("says what else it got", async () => {
    await expect(new PublicAddress(`${base}/other`).lookup()).rejects.toThrow(/did not answer with an IPv4 address/);
  });
});
