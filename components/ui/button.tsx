"use client";
import type { ButtonHTMLAttributes, ReactNode } from "react";
import { useFormStatus } from "react-dom";
import { buttonClass, type ButtonVariant } from "./button-styles";

export { buttonClass };

export function Spinner() {
  return <span aria-hidden="true" className="inline-block h-4 w-4 animate-spin rounded-full border-2 border-current border-r-transparent" />;
}

/** A submit button that shows progress while its form's action runs. */
export function SubmitButton({ children, pendingText, variant = "primary", ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { pendingText?: ReactNode; variant?: ButtonVariant }) {
  const { pending } = useFormStatus();
  return (
    <button type="submit" disabled={pending || rest.disabled} aria-disabled={pending || undefined} className={buttonClass(variant)} {...rest}>
      {pending ? <Spinner /> : null}
      {pending && pendingText ? pendingText : children}
    </button>
  );
}
