/** One line for an error on the command line: a `SocketError`'s message with its cause's code. */
import { SocketError } from '../base/socket-error.ts';

/** The message of `e`, with the code of a `SocketError`'s cause (`ECONNREFUSED`, say) when it has one. */
export function describeError(e: unknown): string {
  if (e instanceof SocketError) {
    const cause = (e.cause as { code?: unknown } | undefined)?.code;
    return cause !== undefined ? `${e.message} (${String(cause)})` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
