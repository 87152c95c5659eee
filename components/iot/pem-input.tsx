"use client";
import { useId, useRef, useState, type ChangeEvent, type DragEvent } from "react";
import { buttonClass } from "@/components/ui/button-styles";
import { derToPem } from "@/components/public/encrypted-pkcs8.ts";

/** The largest file read in the browser: certificates, chains and keys are far smaller. */
export const MAX_PEM_FILE_BYTES = 64 * 1024;

type Kind = "certificate" | "private key" | "chain";

function base64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * A certificate (or key) given as a file — dropped on the zone or chosen with Browse,
 * read here in the browser, at most 64 KB; DER is turned into PEM (a DER key is sent as
 * base64) — or pasted as PEM text. The text area is the value sent as `name`.
 */
export function PemInput({
  name,
  label,
  kind,
  error,
  hint,
  rows = 6,
  value,
  onChange,
  required,
}: {
  name: string;
  label: string;
  kind: Kind;
  error?: string;
  hint?: string;
  rows?: number;
  value: string;
  onChange: (text: string) => void;
  required?: boolean;
}) {
  const uid = useId().replace(/[^A-Za-z0-9_-]/g, "");
  const fid = `pem-${name.replace(/[^A-Za-z0-9_-]/g, "-")}-${uid}`;
  const fileRef = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const [fileNote, setFileNote] = useState<string | null>(null);
  const [fileError, setFileError] = useState<string | null>(null);

  async function read(file: File) {
    setFileError(null);
    setFileNote(null);
    if (file.size > MAX_PEM_FILE_BYTES) {
      setFileError(`"${file.name}" is ${Math.ceil(file.size / 1024)} KB: a ${kind} file is at most 64 KB. Choose the right file.`);
      return;
    }
    if (file.size === 0) {
      setFileError(`"${file.name}" is empty`);
      return;
    }
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      if (bytes[0] === 0x30) {
        // DER: a certificate becomes PEM; a key is sent as base64, as the API accepts it.
        onChange(kind === "private key" ? base64(bytes) : derToPem(bytes, "CERTIFICATE"));
        setFileNote(`Read "${file.name}" (DER, ${file.size} bytes)${kind === "private key" ? ", sent as base64" : ", shown below as PEM"}.`);
        return;
      }
      const text = new TextDecoder().decode(bytes);
      if (kind !== "private key" && /PRIVATE KEY-----/.test(text)) {
        setFileError(`"${file.name}" contains a private key. It was not used: choose the ${kind} file, and keep the key to yourself.`);
        return;
      }
      onChange(text);
      setFileNote(`Read "${file.name}" (PEM, ${file.size} bytes).`);
    } catch {
      setFileError(`"${file.name}" could not be read`);
    }
  }

  function onFile(e: ChangeEvent<HTMLInputElement>) {
    const f = e.currentTarget.files?.[0];
    if (f) void read(f);
    e.currentTarget.value = "";
  }

  function onDrop(e: DragEvent<HTMLDivElement>) {
    e.preventDefault();
    setOver(false);
    const f = e.dataTransfer.files?.[0];
    if (f) void read(f);
  }

  const shown = fileError ?? error;
  const describedBy = [hint ? `${fid}-hint` : null, shown ? `${fid}-error` : null, fileNote ? `${fid}-note` : null].filter(Boolean).join(" ") || undefined;
  return (
    <div>
      <label htmlFor={fid} className="block text-sm font-medium text-slate-800">
        {label}
        {required ? <span className="text-red-700" aria-hidden="true"> *</span> : null}
      </label>
      <div
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
        data-testid={`${name}-dropzone`}
        className={`mt-1 flex flex-wrap items-center gap-3 rounded-md border-2 border-dashed px-3 py-3 text-sm ${over ? "border-brand-600 bg-brand-50" : "border-slate-300 bg-slate-50"}`}
      >
        <button type="button" className={buttonClass("secondary")} onClick={() => fileRef.current?.click()}>
          Browse…<span className="sr-only"> for the {label.toLowerCase()} file</span>
        </button>
        <span className="text-slate-600">or drop a PEM or DER file here (at most 64 KB) — or paste PEM below.</span>
        <input ref={fileRef} type="file" className="sr-only" tabIndex={-1} aria-label={`${label} file`} data-testid={`${name}-file`} accept=".pem,.crt,.cer,.der,.key,.p8,.txt,application/x-pem-file,application/x-x509-ca-cert,application/pkix-cert" onChange={onFile} />
      </div>
      {fileNote ? (
        <p id={`${fid}-note`} className="mt-1 text-xs text-emerald-800" role="status">
          {fileNote}
        </p>
      ) : null}
      <textarea
        id={fid}
        name={name}
        rows={rows}
        value={value}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => {
          setFileNote(null);
          setFileError(null);
          onChange(e.currentTarget.value);
        }}
        placeholder={kind === "private key" ? "-----BEGIN PRIVATE KEY-----" : "-----BEGIN CERTIFICATE-----"}
        aria-invalid={shown ? true : undefined}
        aria-describedby={describedBy}
        className={`mt-2 block w-full rounded-md border bg-white px-3 py-2 font-mono text-xs shadow-sm placeholder:text-slate-400 focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/30 ${shown ? "border-red-600" : "border-slate-300"}`}
      />
      {hint ? (
        <p id={`${fid}-hint`} className="mt-1 text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
      {shown ? (
        <p id={`${fid}-error`} className="mt-1 text-sm font-medium text-red-700" data-testid={`${name}-error`}>
          {shown}
        </p>
      ) : null}
    </div>
  );
}
