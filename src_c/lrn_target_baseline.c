/* The baseline target: whatever the compiler targets by default
 * (SSE2 on x86-64, NEON on aarch64). */
#define LRN_ITEM_FN lrn_item_baseline
#include "lrn_target.h"
