// Types of scripts/serve-web.mjs for the TypeScript tests and benches that start it.
export interface StartServerOptions {
  /** Folder the allowed URL prefixes are served from (default: the repository root). */
  root?: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Send COOP/COEP (default true). */
  isolation?: boolean;
  /** Extra URL prefixes (ending in '/') mapped to folders. */
  mounts?: Record<string, string>;
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function startServer(options?: StartServerOptions): Promise<RunningServer>;
