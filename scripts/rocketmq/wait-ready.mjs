#!/usr/bin/env node
// Waits until a RocketMQ NameServer routes to the given brokers.
//
// Each broker registers a topic named after itself (brokerTopicEnable, on by default), so a
// GET_ROUTEINFO_BY_TOPIC for topic=<brokerName> succeeds exactly when that broker is registered.
// Dependency-free on purpose: start.sh runs it before (or without) the project's own build.
//
// Usage:
//   node wait-ready.mjs --namesrv 127.0.0.1:9876 --broker broker-a=127.0.0.1:10911 [--broker ...]
//                       [--timeout 120] [--watch-pid 1234 ...] [--quiet] [--tls-dir DIR]
// --tls-dir: poll over TLS with DIR/ca.pem, DIR/client.pem and DIR/client.key (start.sh's tls profile).
// A --broker value without "=addr" accepts any address. Exit 0 when every broker is routable,
// 1 on timeout or when a watched process exits first, 2 on bad arguments.

import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

const GET_ROUTEINFO_BY_TOPIC = 105;
const RESPONSE_SUCCESS = 0;
const SERIALIZE_JSON = 0;
const SERIALIZE_ROCKETMQ = 1;
// MQVersion ordinal; any value >= 401 (V4_9_4) also makes the NameServer answer with standard JSON.
const CLIENT_VERSION = 407;
const ATTEMPT_TIMEOUT_MS = 2000;
const POLL_INTERVAL_MS = 250;

function parseArgs(argv) {
  const options = { namesrv: null, brokers: [], timeoutSeconds: 120, watchPids: [], quiet: false, tlsDir: null };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    switch (flag) {
      case '--namesrv':
        options.namesrv = value();
        break;
      case '--broker': {
        const [name, addr] = value().split('=');
        options.brokers.push({ name, addr: addr ?? null });
        break;
      }
      case '--timeout':
        options.timeoutSeconds = Number(value());
        break;
      case '--watch-pid':
        options.watchPids.push(Number(value()));
        break;
      case '--tls-dir':
        options.tlsDir = value();
        break;
      case '--quiet':
        options.quiet = true;
        break;
      default:
        throw new Error(`unknown argument ${flag}`);
    }
  }
  if (!options.namesrv || options.brokers.length === 0) throw new Error('--namesrv and at least one --broker are required');
  if (!(options.timeoutSeconds > 0)) throw new Error('--timeout must be a positive number of seconds');
  return options;
}

function encodeRequest(code, opaque, extFields) {
  const header = Buffer.from(JSON.stringify({ code, language: 'JAVA', version: CLIENT_VERSION, opaque, flag: 0, extFields }));
  const frame = Buffer.alloc(8 + header.length);
  frame.writeInt32BE(4 + header.length, 0);
  frame.writeInt32BE((SERIALIZE_JSON << 24) | header.length, 4);
  header.copy(frame, 8);
  return frame;
}

// Only the fields this script needs (code, remark) are read from the binary ROCKETMQ header.
function decodeBinaryHeader(buf) {
  const code = buf.readInt16BE(0);
  const remarkLength = buf.readInt32BE(13);
  const remark = remarkLength > 0 ? buf.subarray(17, 17 + remarkLength).toString('utf8') : null;
  return { code, remark };
}

function decodeResponse(frame) {
  const headerWord = frame.readInt32BE(0);
  const serializeType = (headerWord >>> 24) & 0xff;
  const headerLength = headerWord & 0xffffff;
  const headerBytes = frame.subarray(4, 4 + headerLength);
  let header;
  if (serializeType === SERIALIZE_JSON) header = JSON.parse(headerBytes.toString('utf8'));
  else if (serializeType === SERIALIZE_ROCKETMQ) header = decodeBinaryHeader(headerBytes);
  else throw new Error(`unknown header serialize type ${serializeType}`);
  return { header, body: frame.subarray(4 + headerLength) };
}

// Set from --tls-dir: the CA, certificate and key to connect with, or null for plain TCP.
let tlsFiles = null;

// One request on a fresh connection: the NameServer may not be listening yet, so nothing is kept open between polls.
function requestOnce(hostPort, code, extFields) {
  const [host, port] = hostPort.split(':');
  const opaque = Math.floor(Math.random() * 0x7fffffff);
  return new Promise((resolve, reject) => {
    // TLS (--tls-dir: ca.pem, client.pem, client.key as start.sh's tls profile writes them) or plain TCP.
    const socket = tlsFiles
      ? tls.connect({ host, port: Number(port), ...tlsFiles })
      : net.connect({ host, port: Number(port) });
    let received = Buffer.alloc(0);
    const fail = (err) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(ATTEMPT_TIMEOUT_MS, () => fail(new Error('no answer within ' + ATTEMPT_TIMEOUT_MS + ' ms')));
    socket.on('error', fail);
    socket.on(tlsFiles ? 'secureConnect' : 'connect', () => socket.write(encodeRequest(code, opaque, extFields)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      const frameLength = received.readInt32BE(0);
      if (received.length < 4 + frameLength) return;
      socket.destroy();
      try {
        resolve(decodeResponse(received.subarray(4, 4 + frameLength)));
      } catch (err) {
        reject(err);
      }
    });
    socket.on('end', () => fail(new Error('connection closed before a full response')));
  });
}

// Returns the broker addresses the NameServer routes to for topic=brokerName, or a reason why there are none yet.
async function lookUpBroker(namesrv, brokerName) {
  let response;
  try {
    response = await requestOnce(namesrv, GET_ROUTEINFO_BY_TOPIC, { topic: brokerName, acceptStandardJsonOnly: 'true' });
  } catch (err) {
    return { addrs: null, reason: `NameServer ${namesrv}: ${err.message}` };
  }
  if (response.header.code !== RESPONSE_SUCCESS) {
    return { addrs: null, reason: `route code ${response.header.code}${response.header.remark ? ` (${response.header.remark})` : ''}` };
  }
  const route = JSON.parse(response.body.toString('utf8'));
  const brokerData = (route.brokerDatas ?? []).find((data) => data.brokerName === brokerName);
  const addrs = Object.values(brokerData?.brokerAddrs ?? {});
  return addrs.length > 0 ? { addrs, reason: null } : { addrs: null, reason: 'route has no brokerAddrs yet' };
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`wait-ready: ${err.message}`);
    return 2;
  }
  if (options.tlsDir) {
    const file = (name) => readFileSync(`${options.tlsDir}/${name}`);
    tlsFiles = { ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key') };
  }
  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const found = new Map();
  const lastReason = new Map();
  for (;;) {
    for (const broker of options.brokers) {
      if (found.has(broker.name)) continue;
      const { addrs, reason } = await lookUpBroker(options.namesrv, broker.name);
      if (addrs && (broker.addr === null || addrs.includes(broker.addr))) found.set(broker.name, addrs);
      else lastReason.set(broker.name, reason ?? `routed to ${addrs.join(',')}, expected ${broker.addr}`);
    }
    if (found.size === options.brokers.length) {
      if (!options.quiet) {
        for (const [name, addrs] of found) console.log(`${name} routable at ${addrs.join(',')} via ${options.namesrv}`);
      }
      return 0;
    }
    const deadPid = options.watchPids.find((pid) => !isAlive(pid));
    if (deadPid !== undefined) {
      console.error(`wait-ready: process ${deadPid} exited before all brokers were routable`);
      return 1;
    }
    if (Date.now() >= deadline) {
      console.error(`wait-ready: not all brokers routable via ${options.namesrv} after ${options.timeoutSeconds}s`);
      for (const broker of options.brokers) {
        if (!found.has(broker.name)) console.error(`  ${broker.name}: ${lastReason.get(broker.name)}`);
      }
      return 1;
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

process.exitCode = await main();
