// `pnpm dev` for the tests: a small Node.js dev server on the AWS SDK for JavaScript v3, as
// a developer's would be. One STSClient from the default credential chain (AWS_PROFILE ->
// the shared files), made at start and kept; GET /whoami answers with GetCallerIdentity.
// The process calls its own /whoami every second for DEV_SECONDS seconds (default 60),
// prints one JSON line per call on stdout, {"t", "arn"} or {"t", "error"}, and exits 0.
import http from "node:http";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";

const seconds = Number(process.env.DEV_SECONDS ?? 60);
const client = new STSClient({});

const server = http.createServer(async (req, res) => {
  let status = 200;
  let body;
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    body = { arn: out.Arn };
  } catch (err) {
    status = 500;
    body = { error: `${err.name}: ${err.message}`.slice(0, 300) };
  }
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
});

server.listen(0, "127.0.0.1", async () => {
  const url = `http://127.0.0.1:${server.address().port}/whoami`;
  console.error(`dev server on ${url}`);
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const started = Date.now();
    let line;
    try {
      line = await (await fetch(url)).json();
    } catch (err) {
      line = { error: String(err).slice(0, 300) };
    }
    console.log(JSON.stringify({ t: started / 1000, ...line }));
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
  }
  server.closeAllConnections();
  server.close();
});
