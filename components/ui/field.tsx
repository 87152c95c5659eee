import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes } from "react";

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, "name"> {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
}

const inputClass =
  "mt-1 block w-full rounded-md border bg-white px-3 py-2 text-sm shadow-sm placeholder:text-slate-400 focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/30 disabled:bg-slate-100";


function fieldIds(name: string, id: string | undefined, hint: ReactNode, error: string | undefined) {
  const fid = id ?? `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  const describedBy = [hint ? `${fid}-hint` : null, error ? `${fid}-error` : null].filter(Boolean).join(" ") || undefined;
  return { fid, describedBy };
}

/** Label above, hint and error below, each tied to the control by id. */
function FieldFrame({ fid, label, required, hint, error, className, children }: { fid: string; label: ReactNode; required?: boolean; hint?: ReactNode; error?: string; className?: string; children: ReactNode }) {
  return (
    <div className={className}>
      <label htmlFor={fid} className="block text-sm font-medium text-slate-800">
        {label}
        {required ? <span className="text-red-700" aria-hidden="true"> *</span> : null}
      </label>
      {children}
      {hint ? (
        <p id={`${fid}-hint`} className="mt-1 text-xs text-slate-500">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={`${fid}-error`} className="mt-1 text-sm font-medium text-red-700">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/** A labelled input whose hint and error are tied to it for assistive technology. */
export function Field({ name, label, hint, error, id, className, required, ...rest }: FieldProps) {
  const { fid, describedBy } = fieldIds(name, id, hint, error);
  return (
    <FieldFrame fid={fid} label={label} required={required} hint={hint} error={error} className={className}>
      <input
        id={fid}
        name={name}
        required={required}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        className={`${inputClass} ${error ? "border-red-600" : "border-slate-300"}`}
        {...rest}
      />
    </FieldFrame>
  );
}

interface SelectFieldProps extends Omit<SelectHTMLAttributes<HTMLSelectElement>, "name"> {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
  options: readonly { value: string; label: string }[];
}

export function SelectField({ name, label, hint, error, options, id, className, ...rest }: SelectFieldProps) {
  const { fid, describedBy } = fieldIds(name, id, hint, error);
  return (
    <FieldFrame fid={fid} label={label} hint={hint} error={error} className={className}>
      <select id={fid} name={name} aria-invalid={error ? true : undefined} aria-describedby={describedBy} className={`${inputClass} ${error ? "border-red-600" : "border-slate-300"}`} {...rest}>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </FieldFrame>
  );
}

export function CheckboxField({ name, label, hint, defaultChecked, id }: { name: string; label: ReactNode; hint?: ReactNode; defaultChecked?: boolean; id?: string }) {
  const fid = id ?? `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
  return (
    <div className="flex items-start gap-2">
      <input id={fid} name={name} type="checkbox" defaultChecked={defaultChecked} aria-describedby={hint ? `${fid}-hint` : undefined} className="mt-1 h-4 w-4 rounded border-slate-300 text-brand-600" />
      <div>
        <label htmlFor={fid} className="text-sm font-medium text-slate-800">
          {label}
        </label>
        {hint ? (
          <p id={`${fid}-hint`} className="text-xs text-slate-500">
            {hint}
          </p>
        ) : null}
      </div>
    </div>
  );
}
