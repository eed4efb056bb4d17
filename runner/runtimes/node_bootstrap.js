// bucketd's Node.js runtime: the program an execution environment of a
// nodejs function runs. It speaks the Lambda Runtime API
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html) with the
// bucketd that started it: it loads the handler once (init), then takes
// invocations from /invocation/next for as long as it lives, answering each
// with /response or /error. Handlers may be async, return a promise, or take
// Lambda's callback. Written by bucketd from AWS's documentation.
"use strict";
const http = require("http");
const path = require("path");
const url = require("url");

const [HOST, PORT] = process.env.AWS_LAMBDA_RUNTIME_API.split(":");
const PREFIX = "/2018-06-01/runtime";
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function call(method, where, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: HOST, port: Number(PORT), method, path: PREFIX + where, agent,
                               headers: Object.assign({ "Content-Type": "application/json" }, headers || {}) },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Node's error document, as Lambda's Node runtimes send it.
function errorDocument(e, type) {
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    errorType: type || err.name || "Error",
    errorMessage: err.message,
    trace: String(err.stack || "").split("\n"),
  };
}

let requestId = "";
// Lambda's console format: time, request id, level, message.
for (const [method, level] of [["log", "INFO"], ["info", "INFO"], ["warn", "WARN"], ["error", "ERROR"],
                               ["debug", "DEBUG"], ["trace", "TRACE"]]) {
  console[method] = (...args) => {
    const text = require("util").format(...args);
    process.stdout.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${text.replace(/\n/g, "\r")}\n`);
  };
}

async function loadHandler() {
  const name = process.env._HANDLER;
  const dot = name.lastIndexOf(".");
  const modulePath = name.slice(0, dot);
  const exportName = name.slice(dot + 1);
  const root = process.env.LAMBDA_TASK_ROOT;
  let mod;
  try {
    const base = path.resolve(root, modulePath);
    const fs = require("fs");
    const file = [".mjs", ".cjs", ".js"].map((ext) => base + ext).find((f) => fs.existsSync(f));
    if (file === undefined) {
      const e = new Error(`Cannot find module '${modulePath}'`);
      e.code = "MODULE_NOT_FOUND";
      throw e;
    }
    mod = file.endsWith(".mjs") ? await import(url.pathToFileURL(file).href) : require(file);
  } catch (e) {
    const kind = e && e.code === "MODULE_NOT_FOUND" ? "Runtime.ImportModuleError"
               : e instanceof SyntaxError ? "Runtime.UserCodeSyntaxError" : undefined;
    const doc = errorDocument(e, kind);
    if (kind === "Runtime.ImportModuleError") doc.errorMessage = `Error: ${e.message}`;
    await failInit(doc);
  }
  const handler = mod[exportName] || (mod.default && mod.default[exportName]);
  if (typeof handler !== "function") {
    await failInit({ errorType: "Runtime.HandlerNotFound", errorMessage: `${name} is undefined or not exported`,
                     trace: [] });
  }
  return handler;
}

async function failInit(doc) {
  process.stderr.write(JSON.stringify(doc) + "\n");
  await call("POST", "/init/error", JSON.stringify(doc), { "Lambda-Runtime-Function-Error-Type": doc.errorType });
  process.exit(1);
}

function context(headers) {
  const deadline = Number(headers["lambda-runtime-deadline-ms"] || 0);
  return {
    awsRequestId: headers["lambda-runtime-aws-request-id"] || "",
    invokedFunctionArn: headers["lambda-runtime-invoked-function-arn"] || "",
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME || "",
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION || "$LATEST",
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE || "128",
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME || "",
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME || "",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

// The handler's answer: its promise, or what it gives its callback.
function run(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    const callback = (err, value) => (err ? reject(err) : resolve(value));
    try {
      const out = handler(event, ctx, callback);
      if (out && typeof out.then === "function") out.then(resolve, reject);
      else if (handler.length < 3) resolve(out);
    } catch (e) {
      reject(e);
    }
  });
}

async function main() {
  const handler = await loadHandler();
  for (;;) {
    const next = await call("GET", "/invocation/next");
    if (next.status !== 200) {
      process.stderr.write(`bucketd's runtime API answered ${next.status} to /invocation/next\n`);
      process.exit(1);
    }
    requestId = next.headers["lambda-runtime-aws-request-id"] || "";
    process.env._X_AMZN_TRACE_ID = next.headers["lambda-runtime-trace-id"] || "";
    let event = null;
    try {
      event = next.body.length ? JSON.parse(next.body.toString("utf8")) : null;
      const value = await run(handler, event, context(next.headers));
      await call("POST", `/invocation/${requestId}/response`, JSON.stringify(value === undefined ? null : value));
    } catch (e) {
      const doc = errorDocument(e);
      process.stderr.write(`${new Date().toISOString()}\t${requestId}\tERROR\tInvoke Error \t${JSON.stringify(doc)}\n`);
      await call("POST", `/invocation/${requestId}/error`, JSON.stringify(doc),
                 { "Lambda-Runtime-Function-Error-Type": "Unhandled" });
    }
  }
}

main().catch((e) => {
  process.stderr.write(String(e && e.stack || e) + "\n");
  process.exit(1);
});
