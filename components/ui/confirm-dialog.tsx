"use client";
import { useId, useRef, type ReactNode } from "react";
import { buttonClass, SubmitButton } from "./button";

/**
 * A button that opens a modal confirmation (native <dialog>: focus trapped, Escape
 * closes) whose confirm button submits `action`.
 */
export function ConfirmDialog({
  trigger,
  title,
  children,
  confirmLabel,
  pendingLabel,
  action,
  hidden,
  variant = "danger",
}: {
  trigger: ReactNode;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  pendingLabel?: string;
  action: (fd: FormData) => void | Promise<void>;
  hidden?: Record<string, string>;
  variant?: "danger" | "primary";
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = `dlg-${useId().replace(/[^A-Za-z0-9_-]/g, "")}`;
  return (
    <>
      <button type="button" className={buttonClass(variant === "danger" ? "danger" : "primary")} onClick={() => ref.current?.showModal()}>
        {trigger}
      </button>
      <dialog ref={ref} aria-labelledby={`${id}-title`} className="m-auto w-[min(32rem,calc(100vw-2rem))] rounded-xl p-0 shadow-xl">
        <form action={action} className="space-y-4 p-6">
          {hidden ? Object.entries(hidden).map(([k, v]) => <input key={k} type="hidden" name={k} value={v} />) : null}
          <h2 id={`${id}-title`} className="text-lg font-semibold">
            {title}
          </h2>
          <div className="text-sm text-slate-700">{children}</div>
          <div className="flex justify-end gap-3">
            <button type="button" className={buttonClass("secondary")} onClick={() => ref.current?.close()} autoFocus>
              Cancel
            </button>
            <SubmitButton variant={variant} pendingText={pendingLabel}>
              {confirmLabel}
            </SubmitButton>
          </div>
        </form>
      </dialog>
    </>
  );
}
