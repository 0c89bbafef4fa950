/**
 * The reference tool's command lines (open-pryv.io `tools/performance`), shared by the side by
 * side (./side-by-side.ts) and its diagnosis of ours alone (./tool-trace.ts), which both run
 * their `main()` when loaded and so cannot import each other.
 */

/** `datasets/seed.js`: users with the manual profile's streams and events, and their HF series through `hfsTarget`. */
export function seedArgs(o: { target: string; hfsTarget: string; users: number; events: number; adminKey: string }): string[] {
  const args = ['datasets/seed.js', '--target', o.target, '--users', String(o.users), '--events', String(o.events)];
  return [...args, '--profile', 'manual', '--admin-key', o.adminKey, '--hfs-target', o.hfsTarget];
}
