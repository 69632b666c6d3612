// Owns: madd, the f32x4 multiply-add every matmul inner loop (and the f32 peak loop) is made of, in
// the two builds of the kernels: acc + a·b as a mul then an add (baseline SIMD, two roundings), or
// f32x4.relaxed_madd where the build enables relaxed SIMD (assembly/build.mjs, kernels-relaxed*).
// Does not own: which build a runtime loads (src/kernels/, by probing WebAssembly.validate).
//
// Why: the 4×8 Linear tile already runs at 91–98 % of the mul+add peak, so baseline SIMD has no more
// to give; one fused instruction instead of two is the next step (V8 emits vfmadd231ps where the CPU
// has FMA3, else a mul and an add). relaxed_madd may round once or twice depending on the hardware:
// on one machine every call rounds the same way, so results stay bitwise the same across thread
// counts and tile shapes; across machines they may differ in the last bits (within the parity
// tolerances either way).

/** a·b + acc on four f32 lanes (one fused rounding in the relaxed build, where the CPU fuses). */
// @ts-ignore: decorator
@inline
export function madd(a: v128, b: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** 1 in the relaxed build, 0 in the baseline one (the loader checks it got the build it asked for). */
export function relaxedBuild(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
