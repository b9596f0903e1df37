// CBLAS: the one door from Swift to C linear algebra.
// DistillLab calls OpenBLAS (cblas_sgemm, thread and core queries) and LAPACKE (SVD) through
// this system-library target; Debian's libopenblas-dev and liblapacke-dev provide both.
#ifndef DISTILLLAB_CBLAS_SHIM_H
#define DISTILLLAB_CBLAS_SHIM_H
#include <cblas.h>
#include <lapacke.h>
#endif
