/* Instantiates the kernels for float and double and exports the work-item
 * function of one dispatch target.  Each lrn_target_*.c sets the target (with
 * #pragma GCC target) and LRN_ITEM_FN, then includes this file, so that the
 * same source is compiled once per instruction set. */
#include <string.h>
#include "lrn.h"
#include "lrn_math.h"
#include "lrn_simd.h"

#define T float
#define F(name) name##_f32
#define VT lrn_vf32
#define VI lrn_vu32
#define VPOW lrn_vpow_f32
#define VPOW_RCP lrn_vpow_f32_rcp
#include "lrn_kernels.h"
#undef T
#undef F
#undef VT
#undef VI
#undef VPOW
#undef VPOW_RCP
#undef VW

#define T double
#define F(name) name##_f64
#define VT lrn_vf64
#define VI lrn_vu64
#define VPOW lrn_vpow_f64
#define VPOW_RCP lrn_vpow_f64_rcp
#include "lrn_kernels.h"
#undef T
#undef F
#undef VT
#undef VI
#undef VPOW
#undef VPOW_RCP
#undef VW

void LRN_ITEM_FN(const lrn_job *job, ptrdiff_t item, void *work)
{
    if (job->dtype == LRN_FLOAT32)
        item_f32(job, item, work);
    else
        item_f64(job, item, work);
}
