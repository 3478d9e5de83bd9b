// Library internals that tests look at (not part of the public API).
#ifndef QGEMM_SRC_API_INTERNAL_H_
#define QGEMM_SRC_API_INTERNAL_H_

#include <qgemm/qgemm.h>

#include <cstdint>

namespace qgemm {

// The kernel variant qgemm_pack_b chose for p (KernelTable::choose_variant);
// 0 for NULL.
uint32_t PackedBVariant(const qgemm_packed_b* p);

}  // namespace qgemm

#endif  // QGEMM_SRC_API_INTERNAL_H_
