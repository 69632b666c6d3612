// Owns: the GPUBufferUsage / GPUMapMode bit values as plain numbers (fixed by the WebGPU spec), so
// modules that load where no WebGPU globals exist (Node, Deno without a GPU) never touch them.
export const BUFFER_USAGE = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080 } as const;
export const MAP_MODE_READ = 0x0001;
