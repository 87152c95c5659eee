"use client";
import Link from "next/link";
import { startTransition, useActionState, useEffect, useRef, useState, type ChangeEvent, type FormEvent } from "react";
import { Field, SelectField, TextAreaField } from "@/components/ui/field";
import { SubmitButton, buttonClass, Spinner } from "@/components/ui/button";
import { Alert } from "@/components/ui/alert";
import { FormErrorSummary } from "@/components/ui/form-errors";
import { KEY_ALGORITHMS, DEFAULT_KEY_ALGORITHM, type KeyAlgorithm } from "@/lib/pki/key-algorithms.ts";
import { fileNameRootProblem } from "@/lib/ca/file-name-root.ts";
import type { RequestFormState } from "@/app/(public)/request/actions.ts";
import { derToPem } from "./encrypted-pkcs8.ts";
import { GroupedFingerprint } from "./fingerprint";
import type { GeneratedCsr } from "./browser-csr.ts";

type Action = (prev: RequestFormState, fd: FormData) => Promise<RequestFormState>;
type Source = "generate" | "paste" | "upload";

/** The same limit the server applies to a CSR, checked before the file is read. */
export const MAX_CSR_FILE_BYTES = 64 * 1024;
const MIN_KEY_PASSWORD = 10;
const KEYGEN_FORM = "keygen-form";
const UPLOAD_FORM = "csr-file-form";

const SUBJECT = [
  { key: "C", label: "Country", hint: "Two letters, ISO 3166 (for example US, DE, GB).", maxLength: 2, autoComplete: "country" },
  { key: "ST", label: "State or Province", maxLength: 64, autoComplete: "address-level1" },
  { key: "L", label: "Locality", maxLength: 64, autoComplete: "address-level2" },
  { key: "O", label: "Organization", maxLength: 64, autoComplete: "organization" },
  { key: "OU", label: "Organizational Unit", maxLength: 64, autoComplete: "off" },
  { key: "CN", label: "Common Name", hint: "Usually the server's fully qualified host name, e.g. server1.example.com.", maxLength: 64, autoComplete: "off" },
] as const;

const SOURCES: { id: Source; label: string; hint: string }[] = [
  { id: "generate", label: "Generate a key pair in this browser", hint: "The private key is created here, encrypted with your password and saved to your computer. It is never sent." },
  { id: "paste", label: "Paste a CSR", hint: "PEM text: -----BEGIN CERTIFICATE REQUEST----- …" },
  { id: "upload", label: "Upload a CSR file", hint: "PEM or DER, at most 64 KB." },
];

interface Uploaded {
  name: string;
  size: number;
  kind: "DER" | "PEM";
  csr: string;
}

interface Generated extends GeneratedCsr {
  keyUrl: string;
  csrUrl: string;
}

function blobUrl(text: string, type: string): string {
  return URL.createObjectURL(new Blob([text], { type }));
}

export function RequestForm({ action, initialValues }: { action: Action; initialValues?: Record<string, string> }) {
  const [state, formAction] = useActionState(action, {});
  const [source, setSource] = useState<Source>("generate");
  const [cryptoOk, setCryptoOk] = useState(true);
  const [pasted, setPasted] = useState("");
  const [uploaded, setUploaded] = useState<Uploaded | null>(null);
  const [reading, setReading] = useState(false);
  const [generated, setGenerated] = useState<Generated | null>(null);
  const [generating, setGenerating] = useState(false);
  const [keyDownloaded, setKeyDownloaded] = useState(false);
  const [genErrors, setGenErrors] = useState<Record<string, string>>({});
  const [localErrors, setLocalErrors] = useState<Record<string, string>>({});
  const [filename, setFilename] = useState(state.values?.filename ?? "");
  const urls = useRef<string[]>([]);

  useEffect(() => {
    // WebCrypto exists only in a secure context (HTTPS, or http://localhost).
    if (typeof globalThis.crypto?.subtle?.generateKey !== "function") {
      setCryptoOk(false);
      setSource("paste");
    }
    const owned = urls.current;
    return () => owned.forEach((u) => URL.revokeObjectURL(u));
  }, []);

  if (state.ok && state.data) return <Submitted data={state.data} generated={source === "generate" ? generated : null} filename={filename} />;

  const v = state.values ?? initialValues ?? {};
  const serverFields = state.fields ?? {};
  const f: Record<string, string | undefined> = { ...serverFields, ...localErrors };
  const fileProblem = fileNameRootProblem(filename);
  const keyFileName = `${fileProblem ? "private" : filename.trim()}.key`;

  function discardGenerated() {
    setGenerated(null);
    setKeyDownloaded(false);
  }

  async function generate(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const s = (k: string) => String(fd.get(k) ?? "");
    const errors: Record<string, string> = {};
    const password = s("keyPassword");
    if (password.length < MIN_KEY_PASSWORD) errors.keyPassword = `Use at least ${MIN_KEY_PASSWORD} characters: the password protects the private key file`;
    else if (password !== s("keyPasswordConfirm")) errors.keyPasswordConfirm = "The two passwords differ";
    const fp = fileNameRootProblem(filename);
    setLocalErrors(fp ? { filename: `${fp}. The private key is saved as <file name>.key` } : {});
    setGenErrors(errors);
    setGenerating(true);
    try {
      const mod = await import("./browser-csr.ts");
      const input = {
        subject: { C: s("subject.C"), ST: s("subject.ST"), L: s("subject.L"), O: s("subject.O"), OU: s("subject.OU"), CN: s("subject.CN") },
        dnsNames: s("sans.dns"),
        ipAddresses: s("sans.ip"),
        algorithm: (s("keyAlgorithm") || DEFAULT_KEY_ALGORITHM) as KeyAlgorithm,
        password,
      };
      try {
        mod.checkGenerateInput(input);
      } catch (err) {
        if (err instanceof mod.GenerateProblems) Object.assign(errors, err.fields);
        else throw err;
      }
      if (Object.keys(errors).length || fp) {
        setGenErrors(errors);
        return;
      }
      const g = await mod.generateKeyAndCsr(input);
      const keyUrl = blobUrl(g.keyPem, "application/x-pem-file");
      const csrUrl = blobUrl(g.csrPem, "application/pkcs10");
      urls.current.push(keyUrl, csrUrl);
      // The password fields are cleared: the password is needed again only to use the key.
      for (const name of ["keyPassword", "keyPasswordConfirm"]) {
        const el = document.querySelector<HTMLInputElement>(`input[form="${KEYGEN_FORM}"][name="${name}"]`);
        if (el) el.value = "";
      }
      setGenerated({ ...g, keyUrl, csrUrl });
      setKeyDownloaded(false);
    } catch (err) {
      if (err && typeof err === "object" && "fields" in err) setGenErrors({ ...errors, ...(err as { fields: Record<string, string> }).fields });
      else setGenErrors({ generate: `The key pair could not be generated in this browser: ${err instanceof Error ? err.message : String(err)}` });
    } finally {
      setGenerating(false);
    }
  }

  async function onFile(e: ChangeEvent<HTMLInputElement>) {
    const input = e.currentTarget;
    const file = input.files?.[0];
    setUploaded(null);
    setLocalErrors((prev) => {
      const { csr: _csr, ...rest } = prev;
      return rest;
    });
    if (!file) return;
    // Refused before reading: a CSR is small, anything larger is the wrong file.
    if (file.size > MAX_CSR_FILE_BYTES) {
      setLocalErrors((prev) => ({ ...prev, csr: `"${file.name}" is ${Math.ceil(file.size / 1024)} KB: a certificate signing request file is at most 64 KB. Choose the .csr file.` }));
      input.value = "";
      return;
    }
    if (file.size === 0) {
      setLocalErrors((prev) => ({ ...prev, csr: `"${file.name}" is empty` }));
      input.value = "";
      return;
    }
    setReading(true);
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes[0] === 0x30) {
        setUploaded({ name: file.name, size: file.size, kind: "DER", csr: derToPem(bytes, "CERTIFICATE REQUEST") });
        return;
      }
      const text = new TextDecoder().decode(bytes);
      if (/PRIVATE KEY/.test(text)) {
        setLocalErrors((prev) => ({ ...prev, csr: `"${file.name}" contains a private key. It was not sent: choose the certificate signing request (.csr) file instead, and keep the key to yourself.` }));
        input.value = "";
        return;
      }
      setUploaded({ name: file.name, size: file.size, kind: "PEM", csr: text });
    } catch {
      setLocalErrors((prev) => ({ ...prev, csr: `"${file.name}" could not be read` }));
    } finally {
      setReading(false);
    }
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const fd = new FormData(e.currentTarget);
    const errors: Record<string, string> = {};
    let csr = "";
    if (source === "paste") {
      csr = pasted.trim();
      if (!csr) errors.csr = "Paste the certificate signing request (PEM)";
      else if (/PRIVATE KEY/.test(csr)) errors.csr = "The text contains a private key. It was not sent: paste only the certificate signing request, and keep the key to yourself.";
    } else if (source === "upload") {
      if (!uploaded) errors.csr = "Choose the certificate signing request file";
      else csr = uploaded.csr;
    } else if (!generated) {
      errors.csr = "Generate the key pair and certificate signing request first";
    } else if (!keyDownloaded) {
      errors.csr = `Download the private key (${keyFileName}) first: it exists only in this browser tab, and the certificate is useless without it`;
    } else {
      csr = generated.csrPem;
    }
    setLocalErrors(errors);
    if (Object.keys(errors).length) {
      document.getElementById("csr-section")?.scrollIntoView({ block: "start" });
      return;
    }
    fd.set("csr", csr);
    startTransition(() => formAction(fd));
  }

  const g = genErrors;
  return (
    <>
      {/* Owners of the inputs that must never be part of the submission (key password, subject, file chooser). */}
      <form id={KEYGEN_FORM} onSubmit={generate} noValidate hidden />
      <form id={UPLOAD_FORM} hidden onSubmit={(e) => e.preventDefault()} />
      <form action={formAction} onSubmit={onSubmit} className="space-y-6" noValidate aria-describedby="request-intro">
        <FormErrorSummary title="The request was not submitted" message={state.message} fields={f} />
        <p id="request-intro" className="text-sm text-slate-600">
          After you submit, the CA administrator calls you to compare the request&rsquo;s SHA-1 fingerprint before issuing the certificate. Fields marked <span className="text-red-700">*</span> are required.
        </p>

        <Field
          name="filename"
          label="File name root"
          required
          defaultValue={v.filename}
          onChange={(e) => setFilename(e.currentTarget.value)}
          error={f.filename}
          hint="Names the request and the files: server1 gives server1.key and, once issued, server1.cer. Letters, digits, hyphen and underscore; not “cache”."
          autoComplete="off"
          spellCheck={false}
          maxLength={64}
        />

        <fieldset id="csr-section" className="space-y-4 rounded-lg border border-slate-200 p-3 sm:p-4" aria-describedby={f.csr ? "csr-error" : undefined}>
          <legend className="px-1 text-base font-semibold">Certificate Signing Request</legend>
          <div role="radiogroup" aria-label="How do you provide the certificate signing request?" className="grid gap-2 sm:grid-cols-3">
            {SOURCES.map((s) => {
              const disabled = s.id === "generate" && !cryptoOk;
              return (
                <label key={s.id} className={`flex cursor-pointer gap-2 rounded-md border p-3 text-sm ${source === s.id ? "border-brand-600 bg-brand-50" : "border-slate-200"} ${disabled ? "cursor-not-allowed opacity-60" : ""}`}>
                  <input type="radio" name="csrSource" value={s.id} checked={source === s.id} disabled={disabled} onChange={() => setSource(s.id)} className="mt-0.5" />
                  <span>
                    <span className="block font-medium text-slate-900">{s.label}</span>
                    <span className="block text-xs text-slate-600">{disabled ? "Needs a secure (HTTPS) connection to this portal." : s.hint}</span>
                  </span>
                </label>
              );
            })}
          </div>

          <div hidden={source !== "paste"}>
            <label htmlFor="f-csr" className="block text-sm font-medium text-slate-800">
              Certificate signing request (PEM)<span className="text-red-700" aria-hidden="true"> *</span>
            </label>
            <textarea
              id="f-csr"
              name="csr"
              rows={10}
              value={pasted}
              onChange={(e) => setPasted(e.currentTarget.value)}
              spellCheck={false}
              autoComplete="off"
              aria-invalid={f.csr ? true : undefined}
              aria-describedby={f.csr ? "csr-error" : "csr-hint"}
              placeholder={"-----BEGIN CERTIFICATE REQUEST-----\n…\n-----END CERTIFICATE REQUEST-----"}
              className={`mt-1 block w-full rounded-md border bg-white px-3 py-2 font-mono text-xs shadow-sm focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/30 ${f.csr ? "border-red-600" : "border-slate-300"}`}
            />
            <p id="csr-hint" className="mt-1 text-xs text-slate-500">
              For example the output of <code>openssl req -new -key server1.key -out server1.csr</code>. Exactly one request; never paste the private key.
            </p>
          </div>

          <div hidden={source !== "upload"}>
            <label htmlFor="f-csr-file" className="block text-sm font-medium text-slate-800">
              Certificate signing request file<span className="text-red-700" aria-hidden="true"> *</span>
            </label>
            <input
              id="f-csr-file"
              type="file"
              form={UPLOAD_FORM}
              accept=".csr,.req,.pem,.der,.p10,application/pkcs10"
              onChange={onFile}
              aria-invalid={f.csr ? true : undefined}
              aria-describedby={f.csr ? "csr-error" : "csr-file-hint"}
              className="mt-1 block w-full text-sm file:mr-3 file:rounded-md file:border file:border-slate-300 file:bg-white file:px-3 file:py-1.5 file:text-sm file:font-semibold"
            />
            <p id="csr-file-hint" className="mt-1 text-xs text-slate-500">
              PEM or DER (binary), at most 64 KB. The file is read in your browser.
            </p>
            {reading ? (
              <p className="mt-2 flex items-center gap-2 text-sm text-slate-600">
                <Spinner /> Reading…
              </p>
            ) : null}
            {uploaded ? (
              <p className="mt-2 text-sm text-slate-700" data-testid="uploaded-file" role="status">
                Loaded <span className="font-medium break-all">{uploaded.name}</span> ({uploaded.kind}, {uploaded.size} bytes).
              </p>
            ) : null}
          </div>

          <div hidden={source !== "generate"}>
            {generated ? (
              <GeneratedPanel generated={generated} keyFileName={keyFileName} csrFileName={keyFileName.replace(/\.key$/, ".csr")} keyDownloaded={keyDownloaded} onKeyDownload={() => setKeyDownloaded(true)} onDiscard={discardGenerated} />
            ) : null}
            <div className="space-y-4" hidden={generated !== null}>
              <fieldset className="rounded-lg border border-slate-200 p-3 sm:p-4" aria-describedby="dn-hint">
                <legend className="px-1 text-sm font-semibold">Subject Distinguished Name</legend>
                <p id="dn-hint" className="mb-3 text-xs text-slate-500">
                  Provide a value for at least one attribute.
                </p>
                <div className="grid gap-4 sm:grid-cols-2">
                  {SUBJECT.map((s) => (
                    <Field key={s.key} form={KEYGEN_FORM} name={`subject.${s.key}`} label={s.label} hint={"hint" in s ? s.hint : undefined} maxLength={s.maxLength} error={g[`subject.${s.key}`]} autoComplete={s.autoComplete} />
                  ))}
                </div>
              </fieldset>
              <fieldset className="rounded-lg border border-slate-200 p-3 sm:p-4">
                <legend className="px-1 text-sm font-semibold">Subject Alternative Names</legend>
                <div className="grid gap-4 sm:grid-cols-2">
                  <TextArea form={KEYGEN_FORM} name="sans.dns" label="DNS names" hint="One per line (or separated by commas). Include the common name if it is a host name." error={g["sans.dns"]} />
                  <TextArea form={KEYGEN_FORM} name="sans.ip" label="IP addresses" hint="IPv4 or IPv6, one per line." error={g["sans.ip"]} />
                </div>
              </fieldset>
              <div className="grid gap-4 sm:grid-cols-3">
                <SelectField form={KEYGEN_FORM} name="keyAlgorithm" label="Key algorithm" options={KEY_ALGORITHMS.map((a) => ({ value: a.id, label: a.label }))} defaultValue={DEFAULT_KEY_ALGORITHM} error={g.keyAlgorithm} hint="RSA 4096 can take a few seconds." />
                <Field form={KEYGEN_FORM} name="keyPassword" type="password" label="Private key password" required error={g.keyPassword} autoComplete="new-password" hint={`At least ${MIN_KEY_PASSWORD} characters. Encrypts the key file; it is never sent.`} />
                <Field form={KEYGEN_FORM} name="keyPasswordConfirm" type="password" label="Confirm password" required error={g.keyPasswordConfirm} autoComplete="new-password" />
              </div>
              {g.generate ? <Alert tone="error">{g.generate}</Alert> : null}
              <div className="flex flex-wrap items-center gap-3">
                <button type="submit" form={KEYGEN_FORM} className={buttonClass("secondary")} disabled={generating}>
                  {generating ? <Spinner /> : null}
                  {generating ? "Generating…" : "Generate key pair and CSR"}
                </button>
                <p className="text-xs text-slate-500">Runs in this browser; nothing is sent until you submit the request below.</p>
              </div>
            </div>
          </div>

          {f.csr ? (
            <p id="csr-error" className="text-sm font-medium text-red-700" data-testid="csr-error">
              {f.csr}
            </p>
          ) : null}
        </fieldset>

        <fieldset className="space-y-4">
          <legend className="text-base font-semibold">Technical contact</legend>
          <p className="text-xs text-slate-500">The person the CA administrator calls to verify the request&rsquo;s fingerprint.</p>
          <Field name="contact.name" label="Contact name" required defaultValue={v["contact.name"]} error={f["contact.name"] ?? f.contact} autoComplete="name" maxLength={128} />
          <div className="grid gap-4 sm:grid-cols-2">
            <Field name="contact.phone" type="tel" label="Phone" defaultValue={v["contact.phone"]} error={f["contact.phone"]} autoComplete="tel" maxLength={40} />
            <Field name="contact.email" type="email" label="E-mail" defaultValue={v["contact.email"]} error={f["contact.email"]} autoComplete="email" hint="Receives the certificate number once it is issued." />
          </div>
        </fieldset>

        <fieldset className="space-y-4">
          <legend className="text-base font-semibold">Where the certificate will be used</legend>
          <div className="grid gap-4 sm:grid-cols-2">
            <Field name="hostname" label="Host name" defaultValue={v.hostname} error={f.hostname} hint="The server that will use the certificate, e.g. server1.example.com." autoComplete="off" spellCheck={false} />
            <Field name="instance" label="Instance" defaultValue={v.instance} error={f.instance} hint="The instance (application) name, if any." autoComplete="off" spellCheck={false} />
          </div>
        </fieldset>

        <SubmitButton pendingText="Submitting…">Submit Certificate Signing Request</SubmitButton>
      </form>
    </>
  );
}

function TextArea({ name, label, hint, error, form }: { name: string; label: string; hint?: string; error?: string; form?: string }) {
  return <TextAreaField name={name} label={label} hint={hint} error={error} form={form} rows={3} spellCheck={false} autoComplete="off" />;
}

function GeneratedPanel({ generated, keyFileName, csrFileName, keyDownloaded, onKeyDownload, onDiscard }: { generated: Generated; keyFileName: string; csrFileName: string; keyDownloaded: boolean; onKeyDownload: () => void; onDiscard: () => void }) {
  return (
    <div className="space-y-4" data-testid="generated">
      <Alert tone={keyDownloaded ? "success" : "warning"} title={keyDownloaded ? `Private key saved as ${keyFileName}` : "Download the private key now"}>
        {keyDownloaded
          ? "Keep the file and its password: the certificate works only with this key. You can now submit the request."
          : "The key pair exists only in this browser tab. Save the encrypted private key before you submit; it is never sent to the server and cannot be recovered."}
      </Alert>
      <div className="flex flex-wrap gap-3">
        <a href={generated.keyUrl} download={keyFileName} onClick={onKeyDownload} className={buttonClass(keyDownloaded ? "secondary" : "primary")}>
          Download private key ({keyFileName})
        </a>
        <a href={generated.csrUrl} download={csrFileName} className={buttonClass("secondary")}>
          Download CSR ({csrFileName})
        </a>
        <button type="button" onClick={onDiscard} className={buttonClass("secondary")}>
          Discard and start over
        </button>
      </div>
      <dl className="grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-[minmax(8rem,auto)_1fr]">
        <dt className="font-medium text-slate-600">Subject</dt>
        <dd className="break-all" data-testid="generated-subject">
          {generated.subject}
        </dd>
        <dt className="font-medium text-slate-600">Alternative names</dt>
        <dd className="break-all">{generated.sans.length ? generated.sans.join(", ") : "—"}</dd>
        <dt className="font-medium text-slate-600">Key</dt>
        <dd>{generated.algorithmLabel}, encrypted (PKCS#8, PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC)</dd>
        <dt className="font-medium text-slate-600">SHA-1 fingerprint</dt>
        <dd className="break-all font-mono text-xs">{generated.sha1Fingerprint}</dd>
      </dl>
      <details>
        <summary className="cursor-pointer text-sm font-medium text-brand-700">Show the certificate signing request</summary>
        <textarea readOnly rows={8} value={generated.csrPem} data-testid="generated-csr" aria-label="Generated certificate signing request" className="mt-2 block w-full rounded-md border border-slate-300 bg-slate-50 px-3 py-2 font-mono text-xs" />
      </details>
    </div>
  );
}

function Submitted({ data, generated, filename }: { data: NonNullable<RequestFormState["data"]>; generated: Generated | null; filename: string }) {
  const statusHref = `/request/${data.id}`;
  const [origin, setOrigin] = useState("");
  useEffect(() => setOrigin(window.location.origin), []);
  return (
    <div className="space-y-6" data-testid="request-submitted">
      <Alert tone="success" title={`Certificate Signing Request “${data.filename}” successfully submitted to the Certificate Authority`}>
        The CA administrator will contact you to verify the fingerprint below before issuing the certificate.
      </Alert>
      <section aria-labelledby="sha1-label" className="rounded-xl border-2 border-brand-600 bg-white p-5">
        <h2 id="sha1-label" className="text-sm font-semibold uppercase tracking-wide text-slate-600">
          SHA-1 Fingerprint:
        </h2>
        <div className="mt-2">
          <GroupedFingerprint value={data.sha1Fingerprint} testId="sha1-fingerprint" />
        </div>
        <p className="mt-3 text-sm text-slate-600">Read it back group by group when the CA administrator calls. If it does not match, the request must not be issued.</p>
        <h3 className="mt-4 text-sm font-semibold text-slate-600">SHA-256 fingerprint</h3>
        <div className="mt-1">
          <GroupedFingerprint value={data.sha256Fingerprint} size="small" testId="sha256-fingerprint" />
        </div>
      </section>
      <div className="space-y-2 text-sm">
        <p>
          <span className="font-medium">Subject:</span> <span className="[overflow-wrap:anywhere]">{data.subject}</span>
        </p>
        <p>
          <span className="font-medium">Status of this request:</span>{" "}
          <Link href={statusHref} className="break-all text-brand-700 underline" data-testid="status-link">
            {origin}
            {statusHref}
          </Link>
        </p>
        <p className="text-slate-600">Bookmark it: it shows the certificate number and the download links once the certificate is issued.</p>
        {generated ? (
          <p className="text-slate-600">
            Keep <code>{`${filename.trim() || "private"}.key`}</code> and its password: the certificate will only work with that private key.
          </p>
        ) : null}
      </div>
      <a href="/request" className={buttonClass("secondary")}>
        Submit another request
      </a>
    </div>
  );
}
