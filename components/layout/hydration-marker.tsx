"use client";
import { useEffect } from "react";

/** Marks the document once React has hydrated, so scripted checks know buttons with handlers are live. */
export function HydrationMarker() {
  useEffect(() => {
    document.documentElement.dataset.hydrated = "true";
  }, []);
  return null;
}
