/** Thrown by argument parsing: the CLI prints it with the command's usage and exits 2. */
export class UsageError extends Error {}
