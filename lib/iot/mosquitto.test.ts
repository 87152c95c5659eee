/**
 * The proof with real parts (issue 4): Mosquitto on loopback with TLS, using the
 * exported default messaging server certificate and key, `require_certificate true` and
 * the trust bundle of the registered device CAs as `cafile`. A device certificate of a
 * registered CA connects and publishes; once that CA is deactivated and the broker
 * restarted with the re-exported bundle, the same device is refused.
 *
 * Needs the Debian packages mosquitto and mosquitto-clients (scripts/test.sh installs them).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { userInfo } from "node:os";
import { EMPTY_REQ_CONFIG, GENPKEY_ARGS, opensslOk } from "../pki/test-support.ts";
import { parseCertificate } from "../pki/certificates.ts";
import { parseCsr } from "../pki/csr.ts";
import { issueCertificate } from "../pki/issue.ts";
import { useIsolatedDataDir } from "../test-support/data-dir.ts";
import { unusedPort } from "../test-support/ports.ts";
import { addIotCaCertificate, setIotCaCertificateActive, trustBundlePem } from "./ca-certificates.ts";
import { ensureDefaultMessagingCertificate, exportDefaultMessagingCertificate } from "./messaging-certificates.ts";

const scratch = useIsolatedDataDir("mosquitto", { PORTCULLIS_PUBLIC_URL: undefined });
const STEP_TIMEOUT_MS = 15_000;

function installed(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
}

/** A CA made with OpenSSL: it stands for a device CA an operator registers. */
function opensslCa(name: string): { key: string; cer: string; pem: string } {
  const key = scratch.path(`${name}.key`);
  const cer = scratch.path(`${name}.cer`);
  const conf = scratch.file(`${name}.cnf`, EMPTY_REQ_CONFIG);
  opensslOk(["genpkey", ...GENPKEY_ARGS.p256, "-out", key]);
  opensslOk([
    "req", "-x509", "-config", conf, "-key", key, "-subj", `/O=Example Devices/CN=${name}`, "-days", "30",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    "-addext", "subjectKeyIdentifier=hash", "-out", cer,
  ]);
  return { key, cer, pem: readFileSync(cer, "utf8") };
}

interface Device {
  cert: string;
  key: string;
}

/** A device key and CSR by OpenSSL, the certificate signed by OpenSSL as a TLS client certificate. */
function opensslDevice(ca: { key: string; cer: string }, name: string, cn: string): Device {
  const key = scratch.path(`${name}.key`);
  const csr = scratch.path(`${name}.csr`);
  const cert = scratch.path(`${name}.crt`);
  const conf = scratch.file(`${name}.cnf`, EMPTY_REQ_CONFIG);
  opensslOk(["req", "-new", "-config", conf, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", `/CN=${cn}`, "-out", csr]);
  const ext = scratch.file(`${name}.ext`, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n");
  opensslOk(["x509", "-req", "-in", csr, "-CA", ca.cer, "-CAkey", ca.key, "-set_serial", `0x${Date.now().toString(16)}01`, "-days", "1", "-extfile", ext, "-out", cert]);
  return { cert, key };
}

/** A device key and CSR by OpenSSL, the certificate issued by Portcullis with the "IoT device" usage. */
async function portcullisDevice(ca: { key: string; cer: string }, name: string, cn: string): Promise<Device> {
  const key = scratch.path(`${name}.key`);
  const csr = scratch.path(`${name}.csr`);
  const conf = scratch.file(`${name}.cnf`, EMPTY_REQ_CONFIG);
  opensslOk(["req", "-new", "-config", conf, "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-subj", `/CN=${cn}`, "-out", csr]);
  const issued = await issueCertificate({
    csr: await parseCsr(readFileSync(csr, "utf8")),
    usage: "iot-device",
    ca: { certificate: parseCertificate(readFileSync(ca.cer, "utf8")), privateKey: createPrivateKey(readFileSync(ca.key, "utf8")) },
    validityDays: 1,
  });
  return { cert: scratch.file(`${name}.crt`, issued.pem), key };
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command without blocking the event loop; killed after `timeoutMs`. */
function run(cmd: string, args: string[], timeoutMs = STEP_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

interface Broker {
  port: number;
  child: ChildProcess;
  log: () => string;
}

let broker: Broker | undefined;
let brokerCert = "";

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/** Starts Mosquitto with TLS on 127.0.0.1 at a free port, trusting the devices of `bundleFile`. */
async function startBroker(bundleFile: string, certFile: string, keyFile: string): Promise<Broker> {
  const port = await unusedPort();
  const conf = scratch.file(
    `mosquitto-${port}.conf`,
    [
      // As root Mosquitto would switch to the user "mosquitto", who cannot read the scratch files.
      `user ${userInfo().username}`,
      "persistence false",
      "log_dest stderr",
      "log_type all",
      `listener ${port} 127.0.0.1`,
      `cafile ${bundleFile}`,
      `certfile ${certFile}`,
      `keyfile ${keyFile}`,
      "require_certificate true",
      "use_identity_as_username true",
      "allow_anonymous false",
      "",
    ].join("\n"),
  );
  const child = spawn("mosquitto", ["-c", conf], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout?.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (log += d.toString()));
  const started: Broker = { port, child, log: () => log };
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mosquitto exited (${child.exitCode ?? child.signalCode}) at start:\n${log}`);
    if (await canConnect(port)) return started;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopBroker(started);
  throw new Error(`mosquitto did not listen on 127.0.0.1:${port} within ${STEP_TIMEOUT_MS} ms:\n${log}`);
}

async function stopBroker(b: Broker | undefined): Promise<void> {
  if (!b || b.child.exitCode !== null || b.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => b.child.once("exit", () => r()));
  b.child.kill("SIGTERM");
  const timer = setTimeout(() => b.child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

function tlsArgs(device: Device | null): string[] {
  return [
    "-h", "127.0.0.1", "-p", String(broker!.port),
    // The broker's certificate is self-signed: it is its own trust anchor, and its SAN IP:127.0.0.1 matches the host.
    "--cafile", brokerCert,
    ...(device ? ["--cert", device.cert, "--key", device.key] : []),
    "--tls-version", "tlsv1.2",
  ];
}

function publish(device: Device | null, message = "hello", extra: string[] = []): Promise<Run> {
  return run("mosquitto_pub", [...tlsArgs(device), "-t", "t", "-m", message, ...extra]);
}

describe("Mosquitto with the default messaging server certificate and the trust bundle", () => {
  let deviceCa: { key: string; cer: string; pem: string };
  let otherCa: { key: string; cer: string; pem: string };
  let deviceCaId = "";
  let sensor: Device; // issued by OpenSSL
  let meter: Device; // issued by Portcullis, "IoT device" usage
  let otherDevice: Device; // a device of the CA that stays active
  let keyFile = "";

  beforeAll(async () => {
    for (const cmd of ["mosquitto", "mosquitto_pub", "mosquitto_sub"]) {
      if (!installed(cmd)) throw new Error(`${cmd} is not installed: apt-get install mosquitto mosquitto-clients (scripts/test.sh installs them)`);
    }
    deviceCa = opensslCa("Sensor Fleet CA");
    otherCa = opensslCa("Other Fleet CA");
    sensor = opensslDevice(deviceCa, "sensor", "d:sensor:abc-1");
    meter = await portcullisDevice(deviceCa, "meter", "d:meter:m-42");
    otherDevice = opensslDevice(otherCa, "gateway", "d:gateway:gw-7");

    deviceCaId = (await addIotCaCertificate({ certificate: deviceCa.pem, description: "Sensor fleet" })).id;
    await addIotCaCertificate({ certificate: otherCa.pem, description: "Other fleet" });

    await ensureDefaultMessagingCertificate();
    const exported = await exportDefaultMessagingCertificate();
    brokerCert = scratch.file("broker.crt", exported.certificate);
    keyFile = scratch.file("broker.key", exported.privateKey); // written 0600
    expect(exported.privateKey).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });

  afterAll(async () => {
    await stopBroker(broker);
  });

  it("lets a device of an active registered CA connect and publish", async () => {
    const bundle = await trustBundlePem();
    expect(bundle).toContain(deviceCa.pem.trim());
    broker = await startBroker(scratch.file("bundle-1.pem", bundle), brokerCert, keyFile);

    const pub = await publish(sensor);
    expect(pub, broker.log()).toMatchObject({ code: 0, timedOut: false });
    // The broker took the certificate's CN as the user name.
    expect(broker.log()).toContain("u'd:sensor:abc-1'");

    // The message really arrives: published retained, read back by a subscriber.
    expect((await publish(meter, "hello from the meter", ["-r"])).code).toBe(0);
    const sub = await run("mosquitto_sub", [...tlsArgs(meter), "-t", "t", "-C", "1", "-W", "10"]);
    expect(sub, broker.log()).toMatchObject({ code: 0, timedOut: false });
    expect(sub.stdout.trim()).toBe("hello from the meter");

    // No client certificate, no connection.
    const anonymous = await publish(null);
    expect(anonymous.code).not.toBe(0);
  });

  it("refuses the same device once its CA is deactivated and the broker restarted with the re-exported bundle", async () => {
    await setIotCaCertificateActive(deviceCaId, false);
    const bundle = await trustBundlePem();
    expect(bundle).not.toContain(deviceCa.pem.trim());
    expect(bundle).toContain(otherCa.pem.trim());
    await stopBroker(broker);
    broker = await startBroker(scratch.file("bundle-2.pem", bundle), brokerCert, keyFile);

    for (const device of [sensor, meter]) {
      const refused = await publish(device);
      expect(refused.timedOut).toBe(false);
      expect(refused.code, `${refused.stdout}${refused.stderr}`).not.toBe(0);
      // mosquitto_pub says "Protocol error" or "A TLS error occurred": the broker ended the handshake.
      expect(refused.stderr).toMatch(/error/i);
    }
    // The broker refused each of them at the TLS handshake, for their certificate.
    expect(broker.log().match(/certificate verify failed/g)).toHaveLength(2);

    // The broker itself works: a device of the CA that is still active gets in.
    const other = await publish(otherDevice);
    expect(other, broker.log()).toMatchObject({ code: 0, timedOut: false });
  });
});
