// qgemm_last_error() for library code outside src/api.cc (the quantization
// helpers): the same thread-local message the C API entry points set.
#ifndef QGEMM_SRC_LAST_ERROR_H_
#define QGEMM_SRC_LAST_ERROR_H_

#include <qgemm/qgemm.h>

namespace qgemm {

// Records message as this thread's qgemm_last_error() and returns status.
qgemm_status SetLastError(qgemm_status status, const char* message);
// Clears qgemm_last_error() and returns QGEMM_OK.
qgemm_status ClearLastError();

}  // namespace qgemm

#endif  // QGEMM_SRC_LAST_ERROR_H_
