// A long-running Node.js service: one STSClient from the default credential chain
// (AWS_PROFILE -> credential_process), GetCallerIdentity every INTERVAL seconds for
// DURATION seconds; one JSON line per call on stdout: {"t", "done", "arn"} or {"t", "error"}.
import { createRequire } from "node:module";

// The SDK is installed in tests/js (scripts/setup); ESM ignores NODE_PATH, so resolve there.
const require = createRequire(new URL("../../js/package.json", import.meta.url));
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");

const duration = Number(process.argv[2] ?? 60) * 1000;
const interval = Number(process.argv[3] ?? 1) * 1000;
const client = new STSClient({});
const end = Date.now() + duration;
while (Date.now() < end) {
  const started = Date.now();
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    console.log(JSON.stringify({ t: started / 1000, done: Date.now() / 1000, arn: out.Arn }));
  } catch (err) {
    console.log(JSON.stringify({ t: started / 1000, error: `${err.name}: ${err.message}`.slice(0, 300) }));
  }
  await new Promise((r) => setTimeout(r, Math.max(0, interval - (Date.now() - started))));
}
