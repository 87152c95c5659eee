import type { InputHTMLAttributes, ReactNode, SelectHTMLAttributes, TextareaHTMLAttributes } from "react";

/** What every field has besides its control's own attributes. */
interface FieldBase {
  name: string;
  label: ReactNode;
  hint?: ReactNode;
  error?: string;
}

type FieldProps = Omit<InputHTMLAttributes<HTMLInputElement>, "name"> & FieldBase;

const inputClass =
  "mt-1 block w-full rounded-md border bg-white px-3 py-2 text-sm shadow-sm placeholder:text-slate-400 focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/30 disabled:bg-slate-100";

function fieldId(name: string, id: string | undefined): string {
  return id ?? `f-${name.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

/** The attributes of a field's control: id and name, the error state and what describes it, the look (`extraClass` added). */
function controlProps(name: string, id: string | undefined, hint: ReactNode, error: string | undefined, extraClass = "") {
  const fid = fieldId(name, id);
  return {
    id: fid,
    name,
    "aria-invalid": error ? true : undefined,
    "aria-describedby": [hint ? `${fid}-hint` : null, error ? `${fid}-error` : null].filter(Boolean).join(" ") || undefined,
    className: `${inputClass}${extraClass} ${error ? "border-red-600" : "border-slate-300"}`,
  };
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
  const control = controlProps(name, id, hint, error);
  return (
    <FieldFrame fid={control.id} label={label} required={required} hint={hint} error={error} className={className}>
      <input {...control} required={required} {...rest} />
    </FieldFrame>
  );
}

type TextAreaFieldProps = Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, "name"> & FieldBase;

/** A labelled textarea in a monospace font (names, addresses), its hint and error tied to it as Field's are. */
export function TextAreaField({ name, label, hint, error, id, className, required, ...rest }: TextAreaFieldProps) {
  const control = controlProps(name, id, hint, error, " font-mono");
  return (
    <FieldFrame fid={control.id} label={label} required={required} hint={hint} error={error} className={className}>
      <textarea {...control} required={required} {...rest} />
    </FieldFrame>
  );
}

type SelectFieldProps = Omit<SelectHTMLAttributes<HTMLSelectElement>, "name"> & FieldBase & { options: readonly { value: string; label: string }[] };

export function SelectField({ name, label, hint, error, options, id, className, ...rest }: SelectFieldProps) {
  const control = controlProps(name, id, hint, error);
  return (
    <FieldFrame fid={control.id} label={label} hint={hint} error={error} className={className}>
      <select {...control} {...rest}>
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
  const fid = fieldId(name, id);
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
