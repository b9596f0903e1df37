// CVector: vector operations Swift's SIMD types lower to one scalar library call per lane.
// `SIMD16<Float>.squareRoot()` calls sqrtf sixteen times; clang's element-wise builtin lowers to the
// target's vector square root (four sqrtps on baseline x86-64). Both are correctly rounded, so the
// results are the same bits. Swift sees `lab_float16` as `SIMD16<Float>`.
#ifndef DISTILLLAB_CVECTOR_H
#define DISTILLLAB_CVECTOR_H

typedef float lab_float16 __attribute__((ext_vector_type(16)));

/// √x lane by lane, correctly rounded.
static inline __attribute__((always_inline)) lab_float16 lab_sqrt16(lab_float16 x) {
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
    return __builtin_elementwise_sqrt(x);
#else
    lab_float16 r;
    for (int i = 0; i < 16; i++) r[i] = __builtin_sqrtf(x[i]);
    return r;
#endif
}

#endif
