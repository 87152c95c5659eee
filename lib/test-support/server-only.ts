// Stands in for the "server-only" marker package when route handlers are imported by tests.
export {};
